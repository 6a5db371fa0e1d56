"""Writes media/probe.onnx: a tiny fixed model (softmax of x @ W) that the webview runs once to prove
that the inference backend it chose (WebGPU or wasm) computes correctly. Run with Debian's python3."""

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "media", "probe.onnx")

w = np.array([[0.1, -0.2, 0.3, 0.0], [0.0, 0.5, -0.1, 0.2], [0.3, 0.1, 0.0, -0.4], [-0.2, 0.0, 0.2, 0.1]], dtype=np.float32)
graph = helper.make_graph(
    [helper.make_node("MatMul", ["x", "w"], ["scores"]), helper.make_node("Softmax", ["scores"], ["probabilities"], axis=-1)],
    "attention_lens_probe",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
    [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 4])],
    [numpy_helper.from_array(w, "w")],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="attention-lens")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, OUT)
print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
