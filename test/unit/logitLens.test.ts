// The logit lens (src/core/logitLens.ts) and the readout weights it reads (src/core/onnxWeights.ts): float16
// bit patterns convert exactly; initialisers are read from raw bytes, float_data and int32_data, float16 and
// float32, a feature_vocab unembedding is transposed, and a readout that names a missing initialiser or one
// of the wrong shape fails naming the manifest field; the norms and ranks are checked on hand-computed values;
// and on the bundled Transformer in onnxruntime-web the lens at the last hidden state equals the model's own
// logits within 1e-4 (no score of the model is assumed: it is retrained from time to time).

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { Root, configure, util as protobufUtil } from 'protobufjs/light';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { type ReadoutWeights, lensCell, lensColumn, lensTargets, logitLens, normalised, readoutLogits } from '../../src/core/logitLens';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { canonicalTensor, modelStructure } from '../../src/core/modelStructure';
import { readOnnxGraph } from '../../src/core/onnxGraph';
import { halfToFloat } from '../../src/core/half';
import { readInitialisers, readoutProblems, readoutWeights } from '../../src/core/onnxWeights';

const root = path.join(__dirname, '../..');
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/**
 * Writes a tiny ModelProto holding only initialisers (the fields onnxWeights.ts reads); `packed` writes
 * float_data and int32_data packed, as onnx.proto declares them.
 */
function onnxWith(initialisers: Array<Record<string, unknown>>, packed = false): Uint8Array {
  const options = { packed };
  const schema = Root.fromJSON({
    nested: {
      ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, graph: { type: 'GraphProto', id: 7 } } },
      GraphProto: { fields: { initializer: { rule: 'repeated', type: 'TensorProto', id: 5 } } },
      TensorProto: {
        fields: {
          dims: { rule: 'repeated', type: 'int64', id: 1 },
          dataType: { type: 'int32', id: 2 },
          floatData: { rule: 'repeated', type: 'float', id: 4, options },
          int32Data: { rule: 'repeated', type: 'int32', id: 5, options },
          name: { type: 'string', id: 8 },
          rawData: { type: 'bytes', id: 9 },
          externalData: { rule: 'repeated', type: 'Entry', id: 13 },
          dataLocation: { type: 'int32', id: 14 },
        },
      },
      Entry: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
    },
  });
  const type = schema.lookupType('ModelProto');
  return type.encode(type.fromObject({ irVersion: 8, graph: { initializer: initialisers } })).finish();
}

const half = (values: number[]) => {
  // Exactly representable values only: 1, 2, 0.5, -1.5, 0.25, 3, -2, 4 and so on.
  const bits = values.map((v) => {
    const sign = v < 0 ? 0x8000 : 0;
    const a = Math.abs(v);
    if (a === 0) return sign;
    const e = Math.floor(Math.log2(a));
    return sign | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
  });
  return bits;
};
const raw16 = (values: number[]) => Uint8Array.from(half(values).flatMap((b) => [b & 0xff, b >> 8]));
const raw32 = (values: number[]) => new Uint8Array(Float32Array.from(values).buffer);

/** A manifest fragment with the roles readoutWeights reads: logits [.., vocab=4], hidden states [.., feature=3]. */
function tinyManifest(readout: ModelManifest['readout']): ModelManifest {
  return {
    id: 'tiny',
    model: 'model.onnx',
    sequences: { tokens: { length: 'T' } },
    inputs: [{ name: 'ids', role: 'input_ids', dtype: 'int64', axes: [{ name: 'batch' }, { name: 'position', size: 'T' }] }],
    outputs: [
      { name: 'logits', role: 'logits', dtype: 'float32', axes: [{ name: 'batch' }, { name: 'position', size: 'T' }, { name: 'vocab', size: 4 }] },
      { name: 'h', role: 'hidden_states', dtype: 'float32', axes: [{ name: 'layer', size: 2 }, { name: 'batch' }, { name: 'position', size: 'T' }, { name: 'feature', size: 3 }] },
    ],
    readout,
  } as unknown as ModelManifest;
}

describe('readout weights from ONNX initialisers', () => {
  // U as feature_vocab [3, 4] in float16: row f holds vocab entries 0..3.
  const U = [1, 0, -1, 0.5, 0, 2, 0.25, -2, 3, 0, 0, 1];
  const bytes = onnxWith([
    { name: 'U', dims: [3, 4], dataType: 10, rawData: raw16(U) },
    { name: 'g', dims: [3], dataType: 1, floatData: [1, 2, 0.5] },
    { name: 'beta', dims: [3], dataType: 1, rawData: raw32([0.5, 0, -0.5]) },
    { name: 'ub', dims: [4], dataType: 10, int32Data: half([0.5, -1, 0, 2]) },
    { name: 'steps', dims: [2], dataType: 7, rawData: new Uint8Array(16) },
  ]);

  it('converts float16 bit patterns exactly', () => {
    assert.deepStrictEqual([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555].map(halfToFloat), [1, -2, 65504, 2 ** -24, 0.333251953125]);
    assert.strictEqual(halfToFloat(0x7c00), Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    assert.ok(Object.is(halfToFloat(0x8000), -0));
  });

  it('reads float16 and float32 initialisers from raw bytes, float_data and int32_data', () => {
    const { found, infos } = readInitialisers(bytes, ['U', 'g', 'beta', 'ub', 'steps', 'nope']);
    assert.deepStrictEqual([...found.get('U')!.data], U);
    assert.deepStrictEqual(found.get('U')!.dims, [3, 4]);
    assert.deepStrictEqual([...found.get('g')!.data], [1, 2, 0.5]);
    assert.deepStrictEqual([...found.get('beta')!.data], [0.5, 0, -0.5]);
    assert.deepStrictEqual([...found.get('ub')!.data], [0.5, -1, 0, 2]);
    assert.ok(!found.has('steps'), 'integer weights are described, not read');
    assert.deepStrictEqual(
      infos.map((i) => `${i.name} ${i.elemType} [${i.dims.join(', ')}]`),
      ['U float16 [3, 4]', 'g float32 [3]', 'beta float32 [3]', 'ub float16 [4]', 'steps int64 [2]'],
    );
  });

  it('reads packed float_data and int32_data, and values kept in the external-data file', () => {
    const external = new Uint8Array([9, 9, ...raw16([0.5, -4]), ...raw32([1.5, -0.25]), 9]);
    const at = (offset: number, length: number) => [
      { key: 'location', value: 'model.onnx.data' },
      { key: 'offset', value: String(offset) },
      { key: 'length', value: String(length) },
    ];
    const packed = onnxWith(
      [
        { name: 'g', dims: [3], dataType: 1, floatData: [1, 2, 0.5] },
        { name: 'ub', dims: [4], dataType: 10, int32Data: half([0.5, -1, 0, 2]) },
        { name: 'e16', dims: [2], dataType: 10, externalData: at(2, 4), dataLocation: 1 },
        { name: 'e32', dims: [1, 2], dataType: 1, externalData: at(6, 8), dataLocation: 1 },
      ],
      true,
    );
    const { found } = readInitialisers(packed, ['g', 'ub', 'e16', 'e32'], external);
    assert.deepStrictEqual([...found.get('g')!.data], [1, 2, 0.5]);
    assert.deepStrictEqual([...found.get('ub')!.data], [0.5, -1, 0, 2]);
    assert.deepStrictEqual([...found.get('e16')!.data], [0.5, -4]);
    assert.deepStrictEqual([...found.get('e32')!.data], [1.5, -0.25]);
    assert.throws(() => readInitialisers(packed, ['e16']), /initialiser "e16": expected its values in the external-data file "model.onnx.data", but no external data was loaded \(manifest field externalData\)\./);
    assert.throws(() => readInitialisers(packed, ['e32'], external.subarray(0, 10)), /initialiser "e32": expected bytes 6\.\.14 of the external-data file, which has 10\./);
  });

  it('transposes a feature_vocab unembedding to [vocab, feature] and checks every shape', () => {
    const manifest = tinyManifest({ norm: { kind: 'layernorm', weight: 'g', bias: 'beta', epsilon: 1e-5 }, unembedding: { weight: 'U', layout: 'feature_vocab', bias: 'ub' } });
    const r = readoutWeights(manifest, bytes);
    assert.strictEqual(r.vocab, 4);
    assert.strictEqual(r.features, 3);
    assert.deepStrictEqual([...r.unembedding], [1, 0, 3, 0, 2, 0, -1, 0.25, 0, 0.5, -2, 1]);
    assert.deepStrictEqual([...r.bias!], [0.5, -1, 0, 2]);
    assert.deepStrictEqual([...r.norm!.bias!], [0.5, 0, -0.5]);
  });

  it('names the manifest field, the expected and the found initialiser when they disagree', () => {
    const fails = (readout: ModelManifest['readout'], message: string) =>
      assert.throws(
        () => readoutWeights(tinyManifest(readout), bytes),
        (err: Error & { code?: string }) => err.code === 'model-invalid' && err.message === message,
      );
    fails({ unembedding: { weight: 'W_U', layout: 'vocab_feature' } }, 'tiny/model.onnx: readout.unembedding.weight: expected a float32 or float16 initialiser "W_U", found no initialiser of that name.');
    fails({ unembedding: { weight: 'U', layout: 'vocab_feature' } }, 'tiny/model.onnx: readout.unembedding.weight: expected "U" of shape [4, 3] (vocab_feature: the logits\' vocabulary and the hidden states\' features), found [3, 4].');
    fails({ norm: { kind: 'rmsnorm', weight: 'ub', epsilon: 1e-6 }, unembedding: { weight: 'U', layout: 'feature_vocab' } }, 'tiny/model.onnx: readout.norm.weight: expected "ub" of shape [3] (one per feature), found [4].');
    fails({ unembedding: { weight: 'U', layout: 'feature_vocab', bias: 'steps' } }, 'tiny/model.onnx: readout.unembedding.bias: expected a float32 or float16 initialiser "steps", found one of element type int64.');
  });

  it('lists every problem of a readout against a graph\'s initialisers, as the host reads them', () => {
    const graph = [
      { name: 'emb', elemType: 'float16', dims: [4, 3] },
      { name: 'ln', elemType: 'float32', dims: [4] },
      { name: 'lnb', elemType: 'float32', dims: [3] },
      { name: 'bias', elemType: 'float32', dims: [3] },
    ];
    const manifest = (readout: ModelManifest['readout']) => tinyManifest(readout);
    assert.deepStrictEqual(readoutProblems(manifest({ norm: { kind: 'layernorm', weight: 'ln', bias: 'lnb', epsilon: 1e-5 }, unembedding: { weight: 'emb', layout: 'vocab_feature', bias: 'bias' } }), graph), [
      'readout.unembedding.bias: expected "bias" of shape [4] (one per vocabulary entry), found [3].',
      'readout.norm.weight: expected "ln" of shape [3] (one per feature), found [4].',
    ]);
    assert.deepStrictEqual(readoutProblems(manifest({ norm: { kind: 'rmsnorm', weight: 'gamma', epsilon: 1e-5 }, unembedding: { weight: 'emb', layout: 'vocab_feature' } }), graph), [
      'readout.norm.weight: expected a float32 or float16 initialiser "gamma", found no initialiser of that name.',
    ]);
    assert.deepStrictEqual(readoutProblems(manifest({ norm: { kind: 'rmsnorm', weight: 'lnb', epsilon: 1e-5 }, unembedding: { weight: 'emb', layout: 'vocab_feature' } }), graph), []);
    assert.deepStrictEqual(readoutProblems(manifest(undefined), graph), []);
  });
});

describe('logit lens math', () => {
  const readout: ReadoutWeights = {
    norm: { kind: 'layernorm', weight: Float32Array.from([1, 1]), bias: Float32Array.from([0, 1]), epsilon: 0 },
    unembedding: Float32Array.from([1, 0, 0, 1, -1, 0]),
    vocab: 3,
    features: 2,
  };

  it('applies layernorm and rmsnorm as defined', () => {
    assert.deepStrictEqual([...normalised(readout, Float32Array.from([3, 1]))], [1, 0]);
    const rms: ReadoutWeights = { ...readout, norm: { kind: 'rmsnorm', weight: Float32Array.from([2, 1]), epsilon: 0 } };
    const n = normalised(rms, Float32Array.from([3, 4]));
    assert.ok(Math.abs(n[0] - (2 * 3) / Math.sqrt(12.5)) < 1e-6 && Math.abs(n[1] - 4 / Math.sqrt(12.5)) < 1e-6);
    assert.deepStrictEqual([...readoutLogits(readout, Float32Array.from([3, 1]))], [1, 0, -1]);
  });

  it('ranks the final prediction and the target, with probabilities that sum to 1', () => {
    const cell = lensCell(Float32Array.from([0, 2, 1, 2.5]), 2, 2, 0);
    assert.deepStrictEqual(cell.top.map((p) => p.id), [3, 1]);
    assert.strictEqual(cell.final!.rank, 3);
    assert.strictEqual(cell.target!.rank, 4);
    const z = [0, 2, 1, 2.5].map(Math.exp);
    const sum = z.reduce((a, b) => a + b);
    assert.ok(Math.abs(cell.top[0].probability - z[3] / sum) < 1e-12);
    assert.strictEqual(lensCell(Float32Array.from([1, 2]), 1, null, 9).target, null);
  });

  it('finds the ids to rank: the final top prediction and the next token, none after the last or at a special token', () => {
    const tokens = [
      { id: 4, special: false },
      { id: 5, special: false },
      { id: 6, special: true },
    ];
    assert.deepStrictEqual(lensTargets(tokens, [9, 8, undefined], true), { finalIds: [9, 8, null], targetIds: [5, null, null] });
    assert.deepStrictEqual(lensTargets(tokens, [9, 8, 7], false).targetIds, [4, 5, null]);
  });

  it('refuses hidden states of another width, naming both', () => {
    assert.throws(() => lensColumn(readout, { dims: [1, 1, 3], data: new Float32Array(3) }, 0, null, null), /hidden states: expected 2 features \(the readout's unembedding\), found 3/);
  });
});

describe('logit lens on the bundled Transformer', function () {
  this.timeout(120_000);
  let manifest: ModelManifest;
  let runner: ModelRunner;
  let bytes: Uint8Array;

  before(async () => {
    const dir = path.join(root, 'media/models/transformer');
    const result = validateManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
    if (!result.ok) throw new Error(result.errors.join('\n'));
    manifest = result.manifest;
    bytes = readFileSync(path.join(dir, manifest.model ?? 'model.onnx'));
    runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
  });
  after(async () => runner?.release());

  it('declares a readout whose initialisers exist with the right shapes', () => {
    assert.ok(manifest.readout, 'the bundled Transformer manifest declares a readout');
    const r = readoutWeights(manifest, bytes);
    assert.strictEqual(r.unembedding.length, r.vocab * r.features);
    // The host's graph reader (onnxGraph.ts) sees the same initialisers: the check can run there too.
    assert.deepStrictEqual(readoutProblems(manifest, readOnnxGraph(bytes).initializers), []);
  });

  it('reads the same weights with protobufjs\'s int64 reads as numbers, as the webview bundles it (without `long`, esbuild.mjs)', () => {
    const names = [manifest.readout!.unembedding.weight];
    const withLong = { weights: readoutWeights(manifest, bytes), infos: readInitialisers(bytes, names).infos };
    const long = protobufUtil.Long;
    assert.ok(long, 'Node resolves protobufjs\'s optional long package here');
    try {
      protobufUtil.Long = null as unknown as typeof long;
      configure(); // the readers pick toNumber over toLong again
      const infos = readInitialisers(bytes, names).infos;
      assert.ok(infos.length > 0 && infos.every((i) => i.dims.every((d) => typeof d === 'number')), JSON.stringify(infos));
      assert.deepStrictEqual(infos, withLong.infos);
      assert.deepStrictEqual(readoutWeights(manifest, bytes), withLong.weights);
    } finally {
      protobufUtil.Long = long;
      configure();
    }
  });

  it('equals the model\'s own logits within 1e-4 at the last hidden state, every position', async () => {
    const readout = readoutWeights(manifest, bytes);
    const ids = [464, 1001, 17, 3000, 42, 42, 7, 1001, 17, 3000, 256, 99];
    const out = await runner.run(ids);
    const structure = modelStructure(manifest);
    const hidden = canonicalTensor(structure.hiddenStates[0], out[structure.hiddenStates[0].name]);
    const logits = canonicalTensor(structure.logits!, out[structure.logits!.name]);
    const [L, T, F] = hidden.dims;
    const V = logits.dims[1];
    assert.strictEqual(V, readout.vocab);
    let worst = 0;
    for (let t = 0; t < T; t++) {
      const z = readoutLogits(readout, hidden.data.slice(((L - 1) * T + t) * F, ((L - 1) * T + t + 1) * F));
      for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(z[v] - logits.data[t * V + v]));
    }
    assert.ok(worst <= 1e-4, `the lens at the last layer differs from the logits by ${worst}`);
    // The cells agree: at the last layer the final prediction is the lens's top-1 everywhere.
    const finalTop = Array.from({ length: T }, (_, t) => {
      let best = 0;
      for (let v = 1; v < V; v++) if (logits.data[t * V + v] > logits.data[t * V + best]) best = v;
      return best;
    });
    const { finalIds, targetIds } = lensTargets(ids.map((id) => ({ id, special: false })), finalTop, true);
    const lens = logitLens(readout, hidden, finalIds, targetIds);
    assert.strictEqual(lens.length, L);
    lens[L - 1].forEach((cell, t) => {
      assert.strictEqual(cell.top[0].id, finalTop[t], `position ${t}`);
      assert.strictEqual(cell.final!.rank, 1);
    });
    for (const row of lens) for (const cell of row) assert.ok(cell.top.length === 5 && cell.top.every((p, i) => p.probability > 0 && (i === 0 || p.probability <= cell.top[i - 1].probability)));
    assert.strictEqual(lens[0][T - 1].target, null, 'nothing follows the last token');
  });
});
