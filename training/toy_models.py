"""Writes tiny ONNX language models with a known dependence structure, for the occlusion tests:
test/fixtures/onnx/current-token.onnx   logits[t] depend only on token t
test/fixtures/onnx/previous-token.onnx  logits[t] depend only on token t-1 (position 0 sees a fixed row)
Inputs input_ids int64 [B, T]; output logits float32 [B, T, V] with V = 8. Run with Debian's python3."""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "test", "fixtures", "onnx")
V = 8

rng = np.random.default_rng(7)
table = rng.normal(0, 2, size=(V, V)).astype(np.float32)


def save(name, nodes, inits):
    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["B", "T"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["B", "T", V])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="attention-lens")
    model.ir_version = 8
    onnx.checker.check_model(model)
    os.makedirs(OUT, exist_ok=True)
    onnx.save(model, os.path.join(OUT, name + ".onnx"))


# logits[b, t] = table[ids[b, t]]
save("current-token", [helper.make_node("Gather", ["table", "input_ids"], ["logits"], axis=0)],
     [numpy_helper.from_array(table, "table")])

# logits[b, t] = table[ids[b, t-1]]; position 0 gets the fixed row table[0] of a padded id 0.
save("previous-token", [
    helper.make_node("Pad", ["input_ids", "pads", "zero"], ["padded"], mode="constant"),
    helper.make_node("Shape", ["input_ids"], ["shape"]),
    helper.make_node("Gather", ["shape", "one"], ["t"], axis=0),
    helper.make_node("Slice", ["padded", "start", "t", "axis1"], ["shifted"]),
    helper.make_node("Gather", ["table", "shifted"], ["logits"], axis=0),
], [
    numpy_helper.from_array(table, "table"),
    numpy_helper.from_array(np.array([0, 1, 0, 0], dtype=np.int64), "pads"),
    numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
    numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
    numpy_helper.from_array(np.array([0], dtype=np.int64), "start"),
    numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
])
print("wrote", sorted(os.listdir(OUT)))
