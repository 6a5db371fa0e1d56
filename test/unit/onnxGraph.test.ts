// Why: the host checks manifests against the ONNX graph read by src/core/onnxGraph.ts, so the reader must give
// exactly what the file declares: names, element types, fixed, symbolic and unknown dimensions, unknown ranks,
// NaN weights in every floating-point encoding, the external-data file a weight is read from, and a clear
// reason when the bytes are not an ONNX model.
// Synthetic models are written with protobufjs from a schema of the same onnx.proto field numbers.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import { Root } from 'protobufjs/light';
import { NAN_PIECE_BYTES, OnnxReadError, readOnnxGraph, readOnnxGraphInPieces } from '../../src/core/onnxGraph';

const root = path.join(__dirname, '../..');

/** A writer for the onnx.proto fields the test sets (field numbers from onnx/onnx.proto). */
const writer = Root.fromJSON({
  nested: {
    ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, graph: { type: 'GraphProto', id: 7 } } },
    GraphProto: {
      fields: {
        node: { rule: 'repeated', type: 'bytes', id: 1 },
        initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
        input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
        output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
      },
    },
    TensorProto: {
      fields: {
        dims: { rule: 'repeated', type: 'int64', id: 1 },
        dataType: { type: 'int32', id: 2 },
        floatData: { rule: 'repeated', type: 'float', id: 4 },
        name: { type: 'string', id: 8 },
        rawData: { type: 'bytes', id: 9 },
        externalData: { rule: 'repeated', type: 'Entry', id: 13 },
        dataLocation: { type: 'int32', id: 14 },
      },
    },
    Entry: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
    TypeProto: { fields: { tensorType: { type: 'Tensor', id: 1 } }, nested: { Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'Shape', id: 2 } } } } },
    Shape: { fields: { dim: { rule: 'repeated', type: 'Dim', id: 1 } } },
    Dim: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
  },
}).lookupType('ModelProto');

const encode = (model: object) => writer.encode(writer.fromObject(model)).finish();
const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

describe('ONNX graph reader', () => {
  it('reads the bundled transformer: names, element types, fixed and symbolic sizes', () => {
    const graph = readOnnxGraph(readFileSync(path.join(root, 'media/models/transformer/model.onnx')));
    assert.strictEqual(graph.irVersion, 8);
    assert.deepStrictEqual(graph.inputs, [
      { name: 'input_ids', elemType: 'int64', shape: ['B', 'T'] },
      { name: 'past_keys', elemType: 'float32', shape: [4, 'B', 4, 'P', 32] },
      { name: 'past_values', elemType: 'float32', shape: [4, 'B', 4, 'P', 32] },
    ]);
    // A run from a cache of P tokens sees P + T keys ("PT").
    assert.deepStrictEqual(graph.outputs, [
      { name: 'logits', elemType: 'float32', shape: ['B', 'T', 4096] },
      { name: 'attention', elemType: 'float32', shape: [4, 'B', 4, 'T', 'PT'] },
      { name: 'hidden_states', elemType: 'float32', shape: [5, 'B', 'T', 128] },
      { name: 'present_keys', elemType: 'float32', shape: [4, 'B', 4, 'PT', 32] },
      { name: 'present_values', elemType: 'float32', shape: [4, 'B', 4, 'PT', 32] },
    ]);
    // Its weights are stored in float16 (a Cast gives the graph float32 at load), and read as such.
    const embedding = graph.initializers.find((t) => t.name === 'lm.emb.weight');
    assert.deepStrictEqual(embedding, { name: 'lm.emb.weight', elemType: 'float16', dims: [4096, 128], nanCount: 0 });
  });

  it('tells unknown dimensions, unknown ranks, scalars and non-tensors apart, and skips the nodes', () => {
    const tensor = (elemType: number, dims?: object[]) => ({ tensorType: { elemType, ...(dims ? { shape: { dim: dims } } : {}) } });
    const graph = readOnnxGraph(
      encode({
        irVersion: 9,
        graph: {
          node: [new Uint8Array([1, 2, 3])],
          input: [
            { name: 'x', type: tensor(10, [{ dimValue: 3 }, { dimParam: 'N' }, {}]) },
            { name: 'no_shape', type: tensor(7) },
            { name: 'scalar', type: tensor(6, []) },
            { name: 'seq', type: {} },
          ],
          output: [{ name: 'y', type: tensor(99, [{ dimValue: 0 }]) }],
        },
      }),
    );
    assert.deepStrictEqual(graph.inputs, [
      { name: 'x', elemType: 'float16', shape: [3, 'N', null] },
      { name: 'no_shape', elemType: 'int64', shape: null },
      { name: 'scalar', elemType: 'int32', shape: [] },
      { name: 'seq', elemType: 'not a tensor', shape: null },
    ]);
    assert.deepStrictEqual(graph.outputs, [{ name: 'y', elemType: 'type 99', shape: [0] }]);
  });

  it('counts NaN weights in float32, float16, bfloat16 and float64 (not infinities), when asked', () => {
    const f32 = bytesOf(Float32Array.of(1, NaN, -Infinity, NaN, 0));
    const f64 = bytesOf(Float64Array.of(NaN, Infinity, 2));
    const f16 = Uint8Array.of(0x00, 0x7e, 0x00, 0x7c, 0x00, 0x3c); // NaN, +Inf, 1
    const bf16 = Uint8Array.of(0xc0, 0x7f, 0x80, 0xff, 0x80, 0x3f); // NaN, -Inf, 1
    const model = encode({
      irVersion: 8,
      graph: {
        initializer: [
          { name: 'a', dataType: 1, dims: [5], rawData: f32 },
          { name: 'b', dataType: 11, dims: [3], rawData: f64 },
          { name: 'c', dataType: 10, dims: [3], rawData: f16 },
          { name: 'd', dataType: 16, dims: [3], rawData: bf16 },
          { name: 'e', dataType: 1, dims: [3], floatData: [NaN, 1, NaN] },
          { name: 'f', dataType: 7, dims: [1], rawData: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f) },
        ],
      },
    });
    assert.deepStrictEqual(readOnnxGraph(model, { countNaN: true }).initializers.map((t) => [t.name, t.elemType, t.nanCount]), [
      ['a', 'float32', 2],
      ['b', 'float64', 1],
      ['c', 'float16', 1],
      ['d', 'bfloat16', 1],
      ['e', 'float32', 2],
      ['f', 'int64', 0],
    ]);
    assert.ok(readOnnxGraph(model).initializers.every((t) => t.nanCount === 0), 'no scan unless asked');
  });

  it("counts the same NaNs in pieces, pausing after each piece's worth of bytes, with NaNs on both sides of a piece boundary", async () => {
    const values = new Float32Array(NAN_PIECE_BYTES / 4 + 3); // a piece and 3 values
    const nanAt = [0, NAN_PIECE_BYTES / 4 - 1, NAN_PIECE_BYTES / 4, values.length - 1];
    for (const i of nanAt) values[i] = NaN;
    values[5] = Infinity;
    const half = new Uint8Array(NAN_PIECE_BYTES + 4); // float16: NaN at the piece's last value and the next one
    half.set([0x00, 0x7e], NAN_PIECE_BYTES - 2);
    half.set([0x01, 0x7c], NAN_PIECE_BYTES);
    const model = encode({ irVersion: 8, graph: { initializer: [{ name: 'w', dataType: 1, dims: [values.length], rawData: bytesOf(values) }, { name: 'h', dataType: 10, dims: [half.length / 2], rawData: half }, { name: 'e', dataType: 1, dims: [2], floatData: [NaN, 1] }] } });
    let pauses = 0;
    const pieces = await readOnnxGraphInPieces(model, { countNaN: true, pause: async () => void pauses++ });
    assert.deepStrictEqual(pieces.initializers.map((t) => t.nanCount), [4, 2, 1]);
    assert.deepStrictEqual(pieces, readOnnxGraph(model, { countNaN: true }), 'the same graph as in one go');
    assert.strictEqual(pauses, 2, "a pause after each piece's worth of bytes: one per full piece here, none for the small rest");
    pauses = 0;
    assert.ok((await readOnnxGraphInPieces(model, { pause: async () => void pauses++ })).initializers.every((t) => t.nanCount === 0));
    assert.strictEqual(pauses, 0, 'no scan, no pause');
  });

  it('reads where weights kept as external data lie (TensorProto.external_data "location")', () => {
    const fixture = readOnnxGraph(readFileSync(path.join(root, 'test/fixtures/onnx/external-data/model.onnx')));
    const external = fixture.initializers.filter((t) => t.externalLocation !== undefined);
    assert.strictEqual(external.length, 14);
    assert.ok(external.every((t) => t.externalLocation === 'model.onnx.data'));
    assert.ok(fixture.initializers.some((t) => !('externalLocation' in t)), 'small tensors stay inside, with no location');
    const graph = readOnnxGraph(
      encode({
        irVersion: 8,
        graph: {
          initializer: [
            { name: 'a', dataType: 1, dims: [4], dataLocation: 1, externalData: [{ key: 'offset', value: '0' }, { key: 'location', value: 'w.bin' }, { key: 'length', value: '16' }] },
            { name: 'b', dataType: 1, dims: [4], dataLocation: 1 },
            { name: 'c', dataType: 1, dims: [1], rawData: bytesOf(Float32Array.of(1)) },
          ],
        },
      }),
    );
    assert.deepStrictEqual(graph.initializers.map((t) => [t.name, t.externalLocation]), [['a', 'w.bin'], ['b', ''], ['c', undefined]]);
  });

  it('says why bytes are not an ONNX model', () => {
    const model = readFileSync(path.join(root, 'test/fixtures/models/toy-encoder/model.onnx'));
    const reason = (bytes: Uint8Array) => {
      try {
        readOnnxGraph(bytes);
      } catch (err) {
        assert.ok(err instanceof OnnxReadError, String(err));
        return err.message;
      }
      assert.fail('read without an error');
    };
    assert.strictEqual(reason(new Uint8Array(0)), 'an empty file');
    assert.strictEqual(reason(model.subarray(0, 5000)), 'data that ends early, 5000 bytes (is the file complete?)');
    assert.strictEqual(reason(new TextEncoder().encode('{"model": "not onnx"}')), 'a text file that begins "{\\"model\\": \\"not onnx\\"}"');
    assert.strictEqual(reason(encode({ irVersion: 8 })), 'no graph (is it an ONNX file?)');
    assert.strictEqual(reason(encode({ graph: {} })), 'no IR version (is it an ONNX file?)');
    assert.match(reason(Uint8Array.of(0x1f, 0x01)), /^data that is not protobuf \(invalid wire type 7/);
  });
});
