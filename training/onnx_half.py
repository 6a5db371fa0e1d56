"""Stores an ONNX model's float32 weights as float16 and casts them back to float32 at load (one Cast node per
weight, so every operator still computes in float32): the file is about half the size. The float16 initialiser
keeps the weight's name (the manifest's readout names it); the Cast's float32 output takes the name's place in
the graph. Round the weights to float16 before exporting (export_family.round_to_half) and the cast is exact.

    python3 onnx_half.py model.onnx   (rewrites the file)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def to_half(model, min_elements=16):
    g = model.graph
    renamed = {}
    casts = []
    for init in g.initializer:
        if init.data_type != TensorProto.FLOAT:
            continue
        data = numpy_helper.to_array(init)
        if data.size < min_elements:
            continue
        half = data.astype(np.float16)
        if not np.array_equal(half.astype(np.float32), data):
            raise SystemExit("weight %s is not exactly representable in float16: round it first" % init.name)
        init.CopyFrom(numpy_helper.from_array(half, init.name))
        renamed[init.name] = init.name + "/float32"
        casts.append(helper.make_node("Cast", [init.name], [renamed[init.name]], to=TensorProto.FLOAT,
                                      name="cast_" + init.name))

    def rewire(graph):
        for node in graph.node:
            for i, name in enumerate(node.input):
                if name in renamed:
                    node.input[i] = renamed[name]
            for attr in node.attribute:
                if attr.type == onnx.AttributeProto.GRAPH:
                    rewire(attr.g)
                for sub in attr.graphs:
                    rewire(sub)
        for out in graph.output:
            if out.name in renamed:
                raise SystemExit("initialiser %s is a graph output" % out.name)
    rewire(g)
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(casts + nodes)
    return model


def main():
    path = sys.argv[1]
    m = to_half(onnx.load(path))
    onnx.checker.check_model(m)
    onnx.save(m, path)


if __name__ == "__main__":
    main()
