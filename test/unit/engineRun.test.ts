// ModelRunner's feeds and chunking, with a stand-in for onnxruntime whose "model" is plain arithmetic on its
// feeds, so every expectation is computed by hand: a recurrent model runs in chunks only when every output
// can be joined from chunks (a token × token mixing output makes it run in one piece), and integer inputs
// are laid out for [batch, position] and [position, batch] alike.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import { ModelRunner, type OrtModule, integerFeed, runsInChunks } from '../../src/core/engine';
import type { AxisSpec, InputSpec, ModelManifest, OutputSpec } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';

class FakeTensor {
  constructor(
    readonly type: string,
    readonly data: Float32Array | BigInt64Array | Int32Array,
    readonly dims: readonly number[],
  ) {}
}
type Feeds = Record<string, FakeTensor>;
type Model = (feeds: Feeds) => Record<string, { dims: number[]; data: Float32Array }>;

/** An onnxruntime stand-in running `model` on the feeds; `calls` records every run's feeds. */
function fakeOrt(manifest: ModelManifest, model: Model): { ort: OrtModule; calls: Feeds[] } {
  const calls: Feeds[] = [];
  const session = {
    inputNames: manifest.inputs.map((i) => i.name),
    outputNames: manifest.outputs.map((o) => o.name),
    run: async (feeds: Feeds) => {
      calls.push(feeds);
      return model(feeds);
    },
    release: async () => undefined,
  };
  const ort = { InferenceSession: { create: async () => session }, Tensor: FakeTensor };
  return { ort: ort as unknown as OrtModule, calls };
}

const B: AxisSpec = { name: 'batch' };
const P: AxisSpec = { name: 'position', size: 'T' };
const ints = (t: FakeTensor) => Array.from(t.data as BigInt64Array, Number);

function manifestOf(inputs: InputSpec[], outputs: OutputSpec[]): ModelManifest {
  const m = {
    schemaVersion: 2,
    id: 'fake',
    displayName: 'Fake',
    architecture: 'test',
    description: '',
    parameters: 1,
    dimensions: {},
    sequences: { tokens: { length: 'T' } },
    inputs,
    outputs,
    tokenizer: { file: 'tokenizer.json' },
    license: 'MIT',
  };
  const result = validateManifest(m);
  assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
  return result.manifest;
}

// A one-unit recurrent "model": logits[t] = id[t] + h0 + position_ids[t] * 100, h_n = h0 + Σ ids; and,
// when asked, a causal mixing W [T, T] with row t uniform over k ≤ t.
const recurrentInputs: InputSpec[] = [
  { name: 'ids', role: 'input_ids', dtype: 'int64', axes: [B, P] },
  { name: 'pos', role: 'position_ids', dtype: 'int64', axes: [B, P] },
  { name: 'h0', role: 'initial_state', state: 'h', dtype: 'float32', axes: [B, { name: 'unit', size: 1 }] },
];
const logitsOut: OutputSpec = { name: 'logits', role: 'logits', dtype: 'float32', axes: [B, P, { name: 'vocab', size: 1 }] };
const finalOut: OutputSpec = { name: 'h_n', role: 'final_state', state: 'h', dtype: 'float32', axes: [B, { name: 'unit', size: 1 }] };
const mixingOut: OutputSpec = { name: 'mix', role: 'mixing', structure: 'causal', layer: 0, dtype: 'float32', axes: [B, { name: 'query', size: 'T' }, { name: 'key', size: 'T' }] };

const recurrentModel: Model = (feeds) => {
  const ids = ints(feeds.ids);
  const pos = ints(feeds.pos);
  const h0 = (feeds.h0.data as Float32Array)[0];
  const T = ids.length;
  const mix = new Float32Array(T * T);
  for (let t = 0; t < T; t++) for (let k = 0; k <= t; k++) mix[t * T + k] = 1 / (t + 1);
  return {
    logits: { dims: [1, T, 1], data: Float32Array.from(ids, (id, t) => id + h0 + pos[t] * 100) },
    h_n: { dims: [1, 1], data: Float32Array.of(h0 + ids.reduce((a, b) => a + b, 0)) },
    mix: { dims: [1, T, T], data: mix },
  };
};

describe('engine: chunking and feeds', () => {
  it('decides to chunk only a recurrent one-sequence model whose outputs all join from chunks', () => {
    assert.strictEqual(runsInChunks(manifestOf(recurrentInputs, [logitsOut, finalOut])), true);
    assert.strictEqual(runsInChunks(manifestOf(recurrentInputs, [logitsOut, finalOut, mixingOut])), false, 'a mixing output has query and key axes');
    const cross = { ...mixingOut, axes: [B, { name: 'key', size: 'T' }, { name: 'feature', size: 2 }] } as OutputSpec;
    assert.strictEqual(runsInChunks({ ...manifestOf(recurrentInputs, [logitsOut, finalOut]), outputs: [logitsOut, finalOut, cross] }), false, 'a key axis alone');
    const cache: OutputSpec = { name: 'mem', role: 'cache', dtype: 'float32', axes: [B, { name: 'feature', size: 2 }] };
    assert.strictEqual(runsInChunks(manifestOf(recurrentInputs, [logitsOut, finalOut, cache])), false, 'an output without a position axis that is no final state');
    const ignored: OutputSpec = { ...cache, role: 'ignored' };
    assert.strictEqual(runsInChunks(manifestOf(recurrentInputs, [logitsOut, finalOut, ignored])), true, 'ignored outputs are not read');
    assert.strictEqual(runsInChunks(manifestOf([recurrentInputs[0]], [logitsOut])), false, 'no initial state');
  });

  it('decides so for the validator fixture base (a recurrent model with a mixing output): one piece', () => {
    const data = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/manifest-cases.json'), 'utf8')) as { base: ModelManifest };
    assert.strictEqual(runsInChunks(data.base), false);
    assert.strictEqual(runsInChunks({ ...data.base, outputs: data.base.outputs.filter((o) => o.role !== 'mixing') }), true);
  });

  it('runs a recurrent model with a token × token output in one piece, whatever the chunk size', async () => {
    const manifest = manifestOf(recurrentInputs, [logitsOut, finalOut, mixingOut]);
    const { ort, calls } = fakeOrt(manifest, recurrentModel);
    const runner = await ModelRunner.create(ort, manifest, new Uint8Array());
    const out = await runner.run([1, 2, 3, 4, 5], { chunkSize: 2, initialState: { h: Float32Array.of(10) } });
    assert.strictEqual(calls.length, 1);
    assert.deepStrictEqual(out.mix.dims, [5, 5]);
    assert.deepStrictEqual(Array.from(out.mix.data.subarray(20, 25)), [0.2, 0.2, 0.2, 0.2, 0.2].map(Math.fround));
    assert.deepStrictEqual(Array.from(out.logits.data), [11, 112, 213, 314, 415]);
    assert.deepStrictEqual(Array.from(out.h_n.data), [25]);
  });

  it('runs a recurrent model without one in chunks that carry the state and the positions', async () => {
    const manifest = manifestOf(recurrentInputs, [logitsOut, finalOut]);
    const { ort, calls } = fakeOrt(manifest, recurrentModel);
    const runner = await ModelRunner.create(ort, manifest, new Uint8Array());
    const out = await runner.run([1, 2, 3, 4, 5], { chunkSize: 2, initialState: { h: Float32Array.of(10) } });
    assert.strictEqual(calls.length, 3);
    assert.deepStrictEqual(calls.map((c) => ints(c.pos)), [[0, 1], [2, 3], [4]]);
    // Chunk states: h = 10, then 10 + 1 + 2 = 13, then 13 + 3 + 4 = 20; the final state 20 + 5 = 25.
    assert.deepStrictEqual(Array.from(out.logits.data), [11, 112, 216, 317, 425]);
    assert.deepStrictEqual(out.logits.dims, [5, 1]);
    assert.deepStrictEqual(Array.from(out.h_n.data), [25]);
  });

  it('lays integer values out batch first or position first', () => {
    const batch = [[7, 8, 9], [4, 5, 6]];
    assert.deepStrictEqual(integerFeed('input_ids', batch, 0, false), [7, 8, 9, 4, 5, 6]);
    assert.deepStrictEqual(integerFeed('input_ids', batch, 0, true), [7, 4, 8, 5, 9, 6]);
    assert.deepStrictEqual(integerFeed('position_ids', batch, 10, true), [10, 10, 11, 11, 12, 12]);
    assert.deepStrictEqual(integerFeed('attention_mask', batch, 0, false), [1, 1, 1, 1, 1, 1]);
    assert.deepStrictEqual(integerFeed('token_type_ids', batch, 0, true), [0, 0, 0, 0, 0, 0]);
  });

  it('feeds a batch to [position, batch] and [batch, position] inputs with the dims they declare', async () => {
    const inputs: InputSpec[] = [
      { name: 'ids', role: 'input_ids', dtype: 'int64', axes: [P, B] },
      { name: 'pos', role: 'position_ids', dtype: 'int64', axes: [B, P] },
    ];
    const manifest = manifestOf(inputs, [logitsOut]);
    // logits[b, t] = id + 10 · position, read in each input's own layout.
    const { ort, calls } = fakeOrt(manifest, (feeds) => {
      const [T, Bn] = feeds.ids.dims;
      const ids = ints(feeds.ids);
      const pos = ints(feeds.pos);
      const data = new Float32Array(Bn * T);
      for (let b = 0; b < Bn; b++) for (let t = 0; t < T; t++) data[b * T + t] = ids[t * Bn + b] + 10 * pos[b * T + t];
      return { logits: { dims: [Bn, T, 1], data } };
    });
    const runner = await ModelRunner.create(ort, manifest, new Uint8Array());
    const logits = await runner.runBatchLogits([{ tokens: [1, 2, 3] }, { tokens: [4, 5, 6] }]);
    assert.deepStrictEqual(calls[0].ids.dims, [3, 2]);
    assert.deepStrictEqual(ints(calls[0].ids), [1, 4, 2, 5, 3, 6]);
    assert.deepStrictEqual(calls[0].pos.dims, [2, 3]);
    assert.deepStrictEqual(Array.from(logits.data), [1, 12, 23, 4, 15, 26]);
  });

  it('refuses to batch an input that has no batch axis, naming it', async () => {
    const inputs: InputSpec[] = [
      { name: 'ids', role: 'input_ids', dtype: 'int64', axes: [B, P] },
      { name: 'pos', role: 'position_ids', dtype: 'int64', axes: [P] },
    ];
    const manifest = manifestOf(inputs, [logitsOut]);
    const { ort, calls } = fakeOrt(manifest, () => ({ logits: { dims: [2, 3, 1], data: new Float32Array(6) } }));
    const runner = await ModelRunner.create(ort, manifest, new Uint8Array());
    await assert.rejects(runner.runBatchLogits([{ tokens: [1, 2, 3] }, { tokens: [4, 5, 6] }]), (err: Error & { code?: string }) => {
      assert.strictEqual(err.code, 'model-invalid');
      assert.strictEqual(err.message, 'Input "pos" has no batch axis, so the model cannot run 2 inputs at once.');
      return true;
    });
    assert.strictEqual(calls.length, 0);
  });
});
