// Why: exposing attention rewrites a user's model, so the copy must compute exactly what the original computes
// and the tensors it adds must be the attention the model would return if exported with output_attentions=True.
// Each plain export here has an "-attn" twin exported from the same weights with Optimum's output names; both
// run in real onnxruntime-web (wasm, in Node): the logits must be identical and every added tensor must equal
// the twin's. The quirks of real exports (nodes out of order, contrib ops without their import, fused attention,
// a beam-search operator, a merged decoder) each have a fixture from training/surgery_fixtures.py.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { Root } from 'protobufjs/light';
import { LensError } from '../../src/core/errors';
import { readOnnxGraph } from '../../src/core/onnxGraph';
import { appendToGraph, exposeAttention, EXPORT_RECIPE, type SurgeryResult } from '../../src/core/onnxSurgery';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const root = path.join(__dirname, '../..');
const file = (p: string) => new Uint8Array(readFileSync(path.join(root, p)));
const hf = (name: string) => file(`test/fixtures/hf/${name}/model.onnx`);
const fixture = (name: string) => file(`test/fixtures/onnx/surgery-${name}.onnx`);
const reference = JSON.parse(readFileSync(path.join(root, 'test/fixtures/hf/reference.json'), 'utf8')) as {
  models: Record<string, { inputs: Record<string, number[]> }>;
};

type Outputs = Record<string, { dims: readonly number[]; data: Float32Array }>;

/** Feeds for every input the graph declares: ids given (or a fixed pattern), masks of ones, positions, empty caches. */
function feedsFor(bytes: Uint8Array, ids: Record<string, number[]>): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const lengthOf = (name: string) => (ids[name] ?? ids.input_ids).length;
  const int64 = (values: number[]) => new ort.Tensor('int64', BigInt64Array.from(values.map(BigInt)), [1, values.length]);
  for (const input of readOnnxGraph(bytes).inputs) {
    const { name } = input;
    if (ids[name]) feeds[name] = int64(ids[name]);
    else if (name === 'attention_mask') feeds[name] = int64(Array(lengthOf('input_ids')).fill(1));
    else if (name === 'decoder_attention_mask') feeds[name] = int64(Array(lengthOf('decoder_input_ids')).fill(1));
    else if (name === 'token_type_ids') feeds[name] = int64(Array(lengthOf('input_ids')).fill(0));
    else if (name === 'position_ids') feeds[name] = int64(Array.from({ length: lengthOf('input_ids') }, (_, i) => i));
    else if (name.startsWith('past_')) {
      // An empty cache: the first free axis is the batch (1), the others the past (0).
      const free = (input.shape ?? []).findIndex((d) => typeof d !== 'number');
      const dims = (input.shape ?? []).map((d, i) => (typeof d === 'number' ? d : i === free ? 1 : 0));
      feeds[name] = new ort.Tensor('float32', new Float32Array(0), dims);
    } else if (input.elemType === 'float32') {
      const dims = (input.shape ?? []).map((d, i) => (typeof d === 'number' ? d : i === 0 ? 1 : 7));
      const size = dims.reduce((a, b) => a * b, 1);
      feeds[name] = new ort.Tensor('float32', Float32Array.from({ length: size }, (_, i) => Math.sin(i)), dims);
    } else feeds[name] = int64(Array.from({ length: 5 }, (_, i) => (i * 7) % 40));
  }
  return feeds;
}

async function run(bytes: Uint8Array, feeds: Record<string, ort.Tensor>, options: ort.InferenceSession.SessionOptions = {}): Promise<Outputs> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'], ...options });
  try {
    const results = await session.run(feeds);
    const out: Outputs = {};
    for (const [name, tensor] of Object.entries(results)) if (tensor.type === 'float32') out[name] = { dims: tensor.dims, data: tensor.data as Float32Array };
    return out;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.strictEqual(a.length, b.length, 'lengths differ');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Every row of a [..., q, k] attention tensor sums to 1; returns the largest weight above the diagonal. */
function checkRows(name: string, t: Outputs[string]): number {
  const [q, k] = t.dims.slice(-2);
  let above = 0;
  for (let row = 0; row < t.data.length / k; row++) {
    let sum = 0;
    for (let j = 0; j < k; j++) {
      const w = t.data[row * k + j];
      assert.ok(w >= 0 && w <= 1, `${name}: weight ${w} out of [0, 1]`);
      sum += w;
      if (j > row % q) above = Math.max(above, w);
    }
    assert.ok(Math.abs(sum - 1) < 1e-5, `${name}: row ${row} sums to ${sum}`);
  }
  return above;
}

/** Runs the original, the copy and the twin on the same feeds: identical logits, added tensors equal to the twin's. */
async function compareWithTwin(plain: Uint8Array, twin: Uint8Array | undefined, ids: Record<string, number[]>, twinIds = ids) {
  const before = plain.slice();
  const result = exposeAttention(plain);
  assert.deepStrictEqual(plain, before, 'the input bytes changed');
  const original = await run(plain, feedsFor(plain, ids));
  const copy = await run(result.bytes, feedsFor(result.bytes, ids));
  assert.strictEqual(maxAbsDiff(copy.logits.data, original.logits.data), 0, 'the logits changed');
  const reference = twin ? await run(twin, feedsFor(twin, twinIds)) : undefined;
  for (const added of result.added) {
    const tensor = copy[added.name];
    assert.ok(tensor, `${added.name} is not an output of the copy`);
    assert.strictEqual(tensor.dims.length, added.shape.length, `${added.name}: rank`);
    added.shape.forEach((d, i) => { if (typeof d === 'number') assert.strictEqual(tensor.dims[i], d, `${added.name}: axis ${i}`); });
    if (reference) {
      assert.deepStrictEqual(tensor.dims, reference[added.name].dims, `${added.name}: dims differ from the twin's`);
      assert.ok(maxAbsDiff(tensor.data, reference[added.name].data) <= 1e-5, `${added.name} differs from the twin's`);
    }
  }
  return { result, copy };
}

const names = (r: SurgeryResult) => r.added.map((a) => a.name);
const refusal = (pattern: RegExp) => (err: unknown) =>
  err instanceof LensError && err.code === 'model-invalid' && pattern.test(err.message) && err.message.includes(EXPORT_RECIPE);

describe('ONNX attention surgery', () => {
  it('appends to the graph and moves nothing else: no additions give the same bytes, the outputs follow the originals', () => {
    const bytes = hf('gpt2-plain');
    assert.deepStrictEqual(appendToGraph(bytes, new Uint8Array(0)), bytes);
    const result = exposeAttention(bytes);
    const before = readOnnxGraph(bytes);
    const after = readOnnxGraph(result.bytes);
    assert.deepStrictEqual(after.inputs, before.inputs);
    assert.deepStrictEqual(after.initializers, before.initializers);
    assert.deepStrictEqual(after.outputs.slice(0, before.outputs.length), before.outputs);
    assert.deepStrictEqual(after.outputs.slice(before.outputs.length), [
      { name: 'attentions.0', elemType: 'float32', shape: [null, 2, null, null] },
      { name: 'attentions.1', elemType: 'float32', shape: [null, 2, null, null] },
    ]);
    assert.deepStrictEqual(result.added, [
      { name: 'attentions.0', layer: 0, group: 'attentions', shape: [null, 2, null, null] },
      { name: 'attentions.1', layer: 1, group: 'attentions', shape: [null, 2, null, null] },
    ]);
  });

  it('a shape the graph declares for the probabilities (value_info) is declared as is, symbols included', async () => {
    const root = Root.fromJSON({
      nested: {
        Model: { fields: { graph: { type: 'Graph', id: 7 } } },
        Graph: { fields: { node: { rule: 'repeated', type: 'Node', id: 1 }, valueInfo: { rule: 'repeated', type: 'ValueInfo', id: 13 } } },
        Node: { fields: { output: { rule: 'repeated', type: 'string', id: 2 }, opType: { type: 'string', id: 4 } } },
        ValueInfo: { fields: { name: { type: 'string', id: 1 }, type: { type: 'Type', id: 2 } } },
        Type: { fields: { tensorType: { type: 'Tensor', id: 1 } } },
        Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'Shape', id: 2 } } },
        Shape: { fields: { dim: { rule: 'repeated', type: 'Dim', id: 1 } } },
        Dim: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
      },
    });
    const [modelType, graphType] = [root.lookupType('Model'), root.lookupType('Graph')];
    const model = modelType.decode(hf('gpt2-plain')) as unknown as { graph: { node: Array<{ output: string[]; opType: string }> } };
    const softmaxes = model.graph.node.filter((n) => n.opType === 'Softmax').map((n) => n.output[0]);
    assert.strictEqual(softmaxes.length, 2);
    const dims = [{ dimParam: 'batch_size' }, { dimValue: 2 }, { dimParam: 'sequence_length' }, { dimParam: 'past_sequence_length + sequence_length' }];
    const valueInfo = softmaxes.map((name) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims } } } }));
    const annotated = appendToGraph(hf('gpt2-plain'), graphType.encode(graphType.fromObject({ valueInfo })).finish());
    const { result } = await compareWithTwin(annotated, hf('gpt2-attn'), reference.models['gpt2-plain'].inputs);
    const shape = ['batch_size', 2, 'sequence_length', 'past_sequence_length + sequence_length'];
    assert.deepStrictEqual(result.added.map((a) => a.shape), [shape, shape]);
    assert.deepStrictEqual(readOnnxGraph(result.bytes).outputs.slice(-2).map((o) => o.shape), [shape, shape]);
  });

  it('GPT-2 plain export (empty cache): causal rows summing to 1, the logits unchanged, equal to the -attn twin', async () => {
    const ids = reference.models['gpt2-plain'].inputs;
    const { result, copy } = await compareWithTwin(hf('gpt2-plain'), hf('gpt2-attn'), ids);
    assert.deepStrictEqual(names(result), ['attentions.0', 'attentions.1']);
    for (const name of names(result)) {
      assert.deepStrictEqual(copy[name].dims, [1, 2, ids.input_ids.length, ids.input_ids.length]);
      assert.strictEqual(checkRows(name, copy[name]), 0, `${name} attends to later tokens`);
    }
  });

  it('BERT plain export: bidirectional rows summing to 1, the logits unchanged, equal to the -attn twin', async () => {
    const ids = reference.models['bert-plain'].inputs;
    const { result, copy } = await compareWithTwin(hf('bert-plain'), hf('bert-attn'), ids);
    assert.deepStrictEqual(names(result), ['attentions.0', 'attentions.1']);
    for (const name of names(result)) assert.ok(checkRows(name, copy[name]) > 0.01, `${name} looks causal`);
  });

  it('T5 plain export: encoder, decoder and cross stacks found by data flow, equal to the -attn twin', async () => {
    const ids = reference.models['t5-plain'].inputs;
    const { result, copy } = await compareWithTwin(hf('t5-plain'), hf('t5-attn'), ids);
    assert.deepStrictEqual(names(result), [
      'encoder_attentions.0', 'encoder_attentions.1', 'decoder_attentions.0', 'decoder_attentions.1', 'cross_attentions.0', 'cross_attentions.1',
    ]);
    const [enc, dec] = [ids.input_ids.length, ids.decoder_input_ids.length];
    assert.deepStrictEqual(copy['cross_attentions.0'].dims, [1, 2, dec, enc]);
    assert.strictEqual(checkRows('decoder_attentions.0', copy['decoder_attentions.0']), 0);
    for (const name of names(result)) checkRows(name, copy[name]);
  });

  it('an encoder–decoder with different source and target lengths: each stack ordered by layer, equal to its twin', async () => {
    const ids = { input_ids: [3, 1, 4, 1, 5, 9, 2], decoder_input_ids: [6, 5, 3, 5, 8] };
    const { result, copy } = await compareWithTwin(fixture('seq2seq'), fixture('seq2seq-attn'), ids);
    assert.deepStrictEqual(result.added.map((a) => [a.group, a.layer]), [
      ['encoder_attentions', 0], ['encoder_attentions', 1], ['decoder_attentions', 0], ['decoder_attentions', 1], ['cross_attentions', 0], ['cross_attentions', 1],
    ]);
    assert.deepStrictEqual(copy['encoder_attentions.1'].dims, [1, 2, 7, 7]);
    assert.deepStrictEqual(copy['cross_attentions.1'].dims, [1, 2, 5, 7]);
    assert.deepStrictEqual(result.notes, ['exposed 6 attention tensors: encoder_attentions ×2, decoder_attentions ×2, cross_attentions ×2']);
  });

  it('nodes out of topological order and without names: the same layers and stacks, a note, equal to the twin', async () => {
    const ids = { input_ids: [3, 1, 4, 1, 5, 9, 2], decoder_input_ids: [6, 5, 3, 5, 8] };
    const { result } = await compareWithTwin(fixture('seq2seq-shuffled'), fixture('seq2seq-attn'), ids);
    assert.deepStrictEqual(names(result), names(exposeAttention(fixture('seq2seq'))));
    assert.ok(result.notes.some((n) => /not in topological order/.test(n)), result.notes.join('\n'));
  });

  it('a decoder exported alone (the encoder output an input): decoder and cross stacks, equal to its twin', async () => {
    const { result, copy } = await compareWithTwin(fixture('decoder'), fixture('decoder-attn'), { input_ids: [6, 5, 3, 5, 8] });
    assert.deepStrictEqual(names(result), ['decoder_attentions.0', 'decoder_attentions.1', 'cross_attentions.0', 'cross_attentions.1']);
    assert.deepStrictEqual(copy['cross_attentions.0'].dims, [1, 2, 5, 7]);
  });

  it('weights in an external data file: the copy keeps reading them, with a note to keep the file beside it', async () => {
    const result = exposeAttention(fixture('external'));
    assert.ok(result.notes.some((n) => /external data file/.test(n)), result.notes.join('\n'));
    const externalData = [{ path: 'surgery-external.onnx.data', data: file('test/fixtures/onnx/surgery-external.onnx.data') }];
    const feeds = feedsFor(result.bytes, { input_ids: [6, 5, 3, 5, 8] });
    const copy = await run(result.bytes, feeds, { externalData });
    const inline = await run(fixture('decoder-attn'), feeds);
    assert.deepStrictEqual(names(result), ['decoder_attentions.0', 'decoder_attentions.1', 'cross_attentions.0', 'cross_attentions.1']);
    for (const name of ['logits', ...names(result)]) assert.ok(maxAbsDiff(copy[name].data, inline[name].data) <= 1e-5, name);
  });

  it('the bundled transformer: attentions.{i} equal layer i of its stacked attention output', async () => {
    const ids = { input_ids: [40, 41, 42, 43, 44, 45] };
    const { result, copy } = await compareWithTwin(file('media/models/transformer/model.onnx'), undefined, ids);
    const stacked = copy.attention;
    const layer = stacked.data.length / stacked.dims[0];
    assert.deepStrictEqual(names(result), ['attentions.0', 'attentions.1', 'attentions.2', 'attentions.3']);
    result.added.forEach((a, i) => assert.strictEqual(maxAbsDiff(copy[a.name].data, stacked.data.subarray(i * layer, (i + 1) * layer)), 0, a.name));
  });

  it('com.microsoft operators without the domain import: supported with a note, the copy runs', async () => {
    const { result, copy } = await compareWithTwin(fixture('contrib-no-import'), undefined, {});
    assert.ok(result.notes.some((n) => /com\.microsoft operators without importing/.test(n)), result.notes.join('\n'));
    assert.ok(result.notes.some((n) => /rank 3/.test(n)), result.notes.join('\n'));
    checkRows('attentions.0', copy['attentions.0']);
  });

  it('fused attention (com.microsoft Attention) is refused: not inspectable, with the export recipe', () => {
    assert.throws(() => exposeAttention(fixture('fused')), refusal(/fused into 1 com\.microsoft\.Attention operator.*cannot be inspected/));
  });

  it('a BeamSearch operator wrapping the decoder is refused, pointing at the plain decoder export', () => {
    assert.throws(() => exposeAttention(fixture('beamsearch')), refusal(/one BeamSearch operator.*decoder_model\.onnx/));
  });

  it('attention inside If branches (a merged decoder) is refused, pointing at the unmerged export', () => {
    assert.throws(() => exposeAttention(fixture('if-merged')), refusal(/inside subgraphs.*decoder_model_merged\.onnx.*unmerged/));
  });

  it('a model without attention (the bundled LSTM) is refused; bytes that are not ONNX are refused', () => {
    assert.throws(() => exposeAttention(file('media/models/lstm/model.onnx')), refusal(/no Softmax whose output is multiplied with the values/));
    assert.throws(() => exposeAttention(new TextEncoder().encode('version https://git-lfs.github.com/spec/v1\n')), (e: unknown) => e instanceof LensError && e.code === 'model-invalid');
  });

  it('a model that already outputs its attention is returned unchanged, with a note', () => {
    const bytes = hf('gpt2-attn');
    const result = exposeAttention(bytes);
    assert.deepStrictEqual(result.bytes, bytes);
    assert.deepStrictEqual(result.added, []);
    assert.match(result.notes[0], /already outputs its attention \(attentions\.0, attentions\.1\)/);
  });
});
