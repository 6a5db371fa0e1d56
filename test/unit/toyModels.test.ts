// Why: schema-2 manifests describe models the bundled three do not cover (a bidirectional encoder with
// per-layer attention tensors, an encoder-decoder with cross-attention, a recurrent net with unfamiliar gate
// names). The tiny fixtures in test/fixtures/models/ (training/toy_models.py) must load in onnxruntime-web
// (wasm, in Node), match a float64 numpy reference within 1e-5, and show exactly the structure their
// manifests declare: masks, causality, normalised rows, gates in range and the declared recurrence.

import { Tokenizer } from '@huggingface/tokenizers';
import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { type ModelManifest, type OutputSpec, axisIndex, sequenceOfAxis } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';

const root = path.join(__dirname, '../..');
const folder = (id: string) => path.join(root, 'test/fixtures/models', id);
const TOLERANCE = 1e-5;

interface RefTensor {
  dims: number[];
  data: number[];
  vocabSlice?: [number, number];
  argmax?: number[];
  logsumexp?: number[];
}
interface Run {
  name: string;
  sequences: Record<string, Array<[string, number[]]>>;
  inputs: Record<string, RefTensor>;
  outputs: Record<string, RefTensor>;
}
const reference = JSON.parse(readFileSync(path.join(root, 'test/fixtures/toy-reference.json'), 'utf8')) as { models: Record<string, Run[]> };

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

type Outputs = Record<string, { dims: number[]; data: Float32Array }>;

function loadManifest(id: string): ModelManifest {
  const result = validateManifest(JSON.parse(readFileSync(path.join(folder(id), 'manifest.json'), 'utf8')));
  assert.ok(result.ok, `${id}: ${result.ok ? '' : result.errors.join('\n')}`);
  return result.manifest;
}

async function run(id: string, manifest: ModelManifest, inputs: Record<string, RefTensor>): Promise<Outputs> {
  const session = await ort.InferenceSession.create(readFileSync(path.join(folder(id), manifest.model ?? 'model.onnx')), { executionProviders: ['wasm'] });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const spec of manifest.inputs) {
      const t = inputs[spec.name];
      assert.ok(t, `${id}: the reference has no input "${spec.name}"`);
      feeds[spec.name] = spec.dtype === 'int64' ? new ort.Tensor('int64', BigInt64Array.from(t.data, (v) => BigInt(v)), t.dims) : new ort.Tensor('float32', Float32Array.from(t.data), t.dims);
    }
    const out = await session.run(feeds);
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { dims: [...v.dims], data: v.data as Float32Array }]));
  } finally {
    await session.release();
  }
}

/** Largest |a - b| over a flat array. */
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Every output matches the reference; logits by their vocabulary slice, argmax and logsumexp. */
function compareOutputs(id: string, manifest: ModelManifest, got: Outputs, ref: Record<string, RefTensor>) {
  assert.deepStrictEqual(Object.keys(got).sort(), manifest.outputs.map((o) => o.name).sort(), `${id}: graph outputs`);
  assert.deepStrictEqual(Object.keys(ref).sort(), manifest.outputs.map((o) => o.name).sort(), `${id}: reference outputs`);
  for (const [name, r] of Object.entries(ref)) {
    const g = got[name];
    assert.deepStrictEqual(g.dims, r.dims, `${id}/${name} dims`);
    if (!r.vocabSlice) {
      const d = maxDiff(g.data, r.data);
      assert.ok(d <= TOLERANCE, `${id}/${name}: max |onnxruntime - numpy| = ${d}`);
      continue;
    }
    const V = r.dims[r.dims.length - 1];
    const [lo, hi] = r.vocabSlice;
    const rows = g.data.length / V;
    for (let row = 0; row < rows; row++) {
      const logits = g.data.subarray(row * V, (row + 1) * V);
      const slice = maxDiff(logits.subarray(lo, hi), r.data.slice(row * (hi - lo), (row + 1) * (hi - lo)));
      assert.ok(slice <= TOLERANCE, `${id}/${name} row ${row}: vocabulary slice differs by ${slice}`);
      let max = -Infinity;
      for (const v of logits) max = Math.max(max, v);
      let sum = 0;
      for (const v of logits) sum += Math.exp(v - max);
      const lse = max + Math.log(sum);
      assert.ok(Math.abs(lse - r.logsumexp![row]) <= TOLERANCE, `${id}/${name} row ${row}: logsumexp ${lse} vs ${r.logsumexp![row]}`);
      assert.ok(max - logits[r.argmax![row]] <= TOLERANCE, `${id}/${name} row ${row}: the reference's argmax is not onnxruntime's maximum`);
    }
  }
}

/** The key mask of a mixing output: keep[b][k] from the attention_mask of the key axis's sequence, if any. */
function keyMask(manifest: ModelManifest, spec: OutputSpec, inputs: Record<string, RefTensor>): number[][] | undefined {
  const seq = sequenceOfAxis(manifest, spec.axes[axisIndex(spec, 'key')]);
  const mask = manifest.inputs.find((i) => i.role === 'attention_mask' && sequenceOfAxis(manifest, i.axes[axisIndex(i, 'position')]) === seq);
  if (!mask) return undefined;
  const { dims, data } = inputs[mask.name];
  return Array.from({ length: dims[0] }, (_, b) => data.slice(b * dims[1], (b + 1) * dims[1]));
}

interface MixingFacts {
  matrices: number;
  maxRowError: number;
  aboveDiagonal: number;
  maskedWeight: number;
  maskedKeys: number;
}

/** Walks every [query, key] matrix of a mixing tensor (axes as the manifest names them) and gathers facts. */
function mixingFacts(spec: OutputSpec, t: { dims: number[]; data: Float32Array }, mask?: number[][]): MixingFacts {
  const names = spec.axes.map((a) => a.name);
  assert.deepStrictEqual(names.slice(-2), ['query', 'key'], `${spec.name}: query and key are the last axes`);
  const [Q, K] = t.dims.slice(-2);
  const bAxis = names.indexOf('batch');
  const stride = t.dims.slice(bAxis + 1).reduce((a, b) => a * b, 1);
  const facts: MixingFacts = { matrices: t.data.length / (Q * K), maxRowError: 0, aboveDiagonal: 0, maskedWeight: 0, maskedKeys: 0 };
  for (let m = 0; m < facts.matrices; m++) {
    const base = m * Q * K;
    const b = Math.floor(base / stride) % t.dims[bAxis];
    for (let q = 0; q < Q; q++) {
      let sum = 0;
      for (let k = 0; k < K; k++) {
        const w = t.data[base + q * K + k];
        sum += w;
        if (k > q) facts.aboveDiagonal = Math.max(facts.aboveDiagonal, w);
        if (mask && mask[b][k] === 0) {
          facts.maskedKeys++;
          facts.maskedWeight = Math.max(facts.maskedWeight, Math.abs(w));
        }
      }
      facts.maxRowError = Math.max(facts.maxRowError, Math.abs(sum - 1));
    }
  }
  return facts;
}

/** Structure facts of every mixing and cross_mixing output, from what the manifest declares. */
function checkMixing(id: string, manifest: ModelManifest, got: Outputs, inputs: Record<string, RefTensor>): Record<string, MixingFacts> {
  const all: Record<string, MixingFacts> = {};
  for (const spec of manifest.outputs.filter((o) => o.role === 'mixing' || o.role === 'cross_mixing')) {
    const facts = mixingFacts(spec, got[spec.name], keyMask(manifest, spec, inputs));
    all[spec.name] = facts;
    assert.ok(facts.maxRowError <= 1e-5, `${id}/${spec.name}: rows sum to 1 (off by ${facts.maxRowError})`);
    assert.strictEqual(facts.maskedWeight, 0, `${id}/${spec.name}: masked keys get no weight`);
    if (spec.structure === 'causal') assert.strictEqual(facts.aboveDiagonal, 0, `${id}/${spec.name}: causal, nothing above the diagonal`);
    if (spec.structure === 'bidirectional') assert.ok(facts.aboveDiagonal > 1e-3, `${id}/${spec.name}: bidirectional, some weight above the diagonal`);
  }
  return all;
}

/** Token ids of each sequence are what the folder's tokenizer gives, and the inputs hold them (prefix first). */
function checkTokens(id: string, manifest: ModelManifest, r: Run) {
  const tokenizer = new Tokenizer(JSON.parse(readFileSync(path.join(folder(id), manifest.tokenizer.file), 'utf8')), {});
  for (const [seqId, seq] of Object.entries(manifest.sequences)) {
    const input = manifest.inputs.find((i) => i.role === 'input_ids' && sequenceOfAxis(manifest, i.axes[axisIndex(i, 'position')]) === seqId)!;
    const { dims, data } = r.inputs[input.name];
    const prefix = (seq.prefix ?? []).map((t) => tokenizer.token_to_id(t)!);
    r.sequences[seqId].forEach(([text, ids], b) => {
      assert.deepStrictEqual(tokenizer.encode(text, { add_special_tokens: seq.addSpecialTokens ?? false }).ids, ids, `${id}/${seqId}: ids of ${JSON.stringify(text)}`);
      assert.deepStrictEqual(data.slice(b * dims[1], b * dims[1] + prefix.length + ids.length), [...prefix, ...ids], `${id}/${input.name} row ${b}`);
    });
  }
}

describe('toy models (schema 2) in onnxruntime-web', function () {
  this.timeout(60_000);

  for (const id of ['toy-encoder', 'toy-encoder-decoder', 'toy-recurrent']) {
    it(`${id}: the manifest validates, and every output matches the numpy reference within 1e-5`, async () => {
      const manifest = loadManifest(id);
      assert.ok(reference.models[id]?.length, `${id}: no reference runs`);
      for (const r of reference.models[id]) {
        checkTokens(id, manifest, r);
        compareOutputs(id, manifest, await run(id, manifest, r.inputs), r.outputs);
      }
    });
  }

  it('toy-encoder: per-layer attention is bidirectional, rows sum to 1, padded keys get no weight', async () => {
    const manifest = loadManifest('toy-encoder');
    const r = reference.models['toy-encoder'][0];
    const got = await run('toy-encoder', manifest, r.inputs);
    const facts = checkMixing('toy-encoder', manifest, got, r.inputs);
    assert.deepStrictEqual(Object.keys(facts), ['attentions.0', 'attentions.1']);
    for (const f of Object.values(facts)) assert.ok(f.maskedKeys > 0, 'the reference pads a text, so some keys are masked');
    assert.deepStrictEqual(got['attentions.0'].dims, [2, 2, r.inputs.input_ids.dims[1], r.inputs.input_ids.dims[1]]);
  });

  it('toy-encoder-decoder: bidirectional encoder, causal decoder, cross-attention [T, S]', async () => {
    const manifest = loadManifest('toy-encoder-decoder');
    const r = reference.models['toy-encoder-decoder'][0];
    const got = await run('toy-encoder-decoder', manifest, r.inputs);
    const facts = checkMixing('toy-encoder-decoder', manifest, got, r.inputs);
    assert.deepStrictEqual(Object.keys(facts), ['encoder_attentions', 'decoder_attentions', 'cross_attentions']);
    const S = r.inputs.input_ids.dims[1];
    const T = r.inputs.decoder_input_ids.dims[1];
    assert.notStrictEqual(S, T);
    assert.deepStrictEqual(got.cross_attentions.dims, [1, 2, 2, T, S]);
    assert.deepStrictEqual(got.decoder_attentions.dims, [1, 2, 2, T, T]);
    assert.ok(facts.encoder_attentions.maskedKeys > 0 && facts.cross_attentions.maskedKeys > 0, 'padded source keys are checked');
    assert.ok(facts.cross_attentions.aboveDiagonal > 1e-3, 'cross-attention is not causal');
  });

  it('toy-recurrent: gates in range and h_t = retain * h_(t-1) + admit * draft exactly; chunks carry the state', async () => {
    const manifest = loadManifest('toy-recurrent');
    const spec = manifest.outputs.find((o) => o.role === 'gates')!;
    assert.deepStrictEqual(spec.gates!.map((g) => `${g.name}:${g.meaning}`), ['retain:keep', 'admit:write', 'draft:candidate']);
    for (const r of reference.models['toy-recurrent']) {
      const got = await run('toy-recurrent', manifest, r.inputs);
      const [L, , T, G, U] = got.gates.dims;
      assert.deepStrictEqual([G, U], [3, 8]);
      const gate = (l: number, t: number, g: number, u: number) => got.gates.data[((l * T + t) * G + g) * U + u];
      const h = (l: number, t: number, u: number) => (t < 0 ? Math.fround(r.inputs.h0.data[l * U + u]) : got.hidden.data[(l * T + t) * U + u]);
      for (let l = 0; l < L; l++) {
        for (let t = 0; t < T; t++) {
          for (let u = 0; u < U; u++) {
            const [retain, admit, draft] = [0, 1, 2].map((g) => gate(l, t, g, u));
            assert.ok(retain >= 0 && retain <= 1 && admit >= 0 && admit <= 1, `gates in [0, 1] at ${l},${t},${u}`);
            assert.ok(draft >= -1 && draft <= 1, `draft in [-1, 1] at ${l},${t},${u}`);
            const expected = Math.fround(Math.fround(retain * h(l, t - 1, u)) + Math.fround(admit * draft));
            assert.strictEqual(h(l, t, u), expected, `h at layer ${l}, token ${t}, unit ${u}`);
          }
        }
        for (let u = 0; u < U; u++) assert.strictEqual(got.h_n.data[l * U + u], h(l, T - 1, u), 'h_n is the last h');
      }
      // Two chunks, the second starting from the first's h_n, give the logits of one pass.
      const ids = r.inputs.input_ids.data;
      const cut = Math.floor(ids.length / 2);
      const first = await run('toy-recurrent', manifest, { input_ids: { dims: [1, cut], data: ids.slice(0, cut) }, h0: r.inputs.h0 });
      const second = await run('toy-recurrent', manifest, { input_ids: { dims: [1, ids.length - cut], data: ids.slice(cut) }, h0: { dims: first.h_n.dims, data: Array.from(first.h_n.data) } });
      const V = got.logits.dims[2];
      assert.ok(maxDiff(second.logits.data, got.logits.data.subarray(cut * V)) <= 1e-6, 'chunked run equals one pass');
    }
  });
});
