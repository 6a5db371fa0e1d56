// Unit tests for the architecture comparison figures (src/core/compare.ts): distance profiles and half-lives
// from known matrices, memory figures from known shapes (including the bundled manifests), and the
// sentences and figures the Compare view shows, for causal models and for a hand-made bidirectional
// masked language model (both sides of its W; its bits per byte not ranked). The runs carry every
// sequence's ids and the special flags, so the Compare view's occlusion reruns an encoder–decoder (toy
// models in real onnxruntime-web) and leaves [CLS]/[SEP] alone.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import { layeredFromTensor, tensor } from '../../src/core/analysis';
import {
  type CompareRun,
  analysisCovers,
  compareRunOf,
  bitsPerByte,
  distanceProfile,
  distanceRatio,
  profileHalfLife,
  profileSide,
  rowShares,
  signedDistanceProfile,
  strongestAttentionLink,
} from '../../src/core/compare';
import { utf8Length } from '../../src/core/tokenizer';
import { bitsPerByteLabel, describeComparison, formatBytes, formatShare, modelFigures } from '../../src/core/compareSummary';
import { contextMemory, outputMemory } from '../../src/core/contextMemory';
import type { ModelManifest } from '../../src/core/manifest';
import { Engine } from '../../webview/engine';
import { CountingOrt, DiskFiles, descriptor } from './engineRig';

const root = path.join(__dirname, '../..');
const manifest = (id: string) => JSON.parse(readFileSync(path.join(root, 'media/models', id, 'manifest.json'), 'utf8')) as ModelManifest;

/** A run of T tokens (token 3 is `{`, token 30 ` }`) with a known W and the same surprisal on every token after the first. */
function fakeRun(id: string, T: number, metric: 'rollout' | 'retention', w: Float32Array, mask: 'causal' | 'bidirectional', link: CompareRun['link'], bits: number): CompareRun {
  const ids = Array.from({ length: T }, (_, i) => i);
  return {
    modelId: id,
    backend: 'wasm',
    loadMs: 0,
    runMs: 10,
    tokenIds: ids,
    sequenceIds: { tokens: ids },
    special: ids.map(() => false),
    tokens: Array.from({ length: T }, (_, i) => ({ text: i === 30 ? ' }' : i === 3 ? '{' : 'x', start: i, end: i + 1 })),
    truncated: null,
    surprisal: Float32Array.from({ length: T }, (_, i) => (i ? bits : NaN)),
    influence: { metric, label: metric, w, mask, normalised: metric === 'rollout' },
    retention: metric === 'retention' ? { metric, label: metric, w, mask, normalised: false } : null,
    link,
    reused: false,
  };
}

/** Where token i is, for the sentence tests: token 3 is `St` in `Stack` on line 1, token 30 `}` on line 12. */
function place(i: number) {
  const lines = [1, 1, 1, 1, ...Array<number>(26).fill(2), 12];
  return { text: i === 30 ? '}' : i === 3 ? 'St' : 'x', word: i === 3 ? 'Stack' : undefined, line: lines[i] ?? 2 };
}

/** W(t, k) = a^(t-k): a linear RNN's fixed geometric decay. */
function geometric(a: number, T: number): Float32Array {
  const w = new Float32Array(T * T);
  for (let t = 0; t < T; t++) for (let k = 0; k <= t; k++) w[t * T + k] = a ** (t - k);
  return w;
}

describe('architecture comparison figures', () => {
  it('gives the distance profile of a geometric decay', () => {
    const p = distanceProfile(geometric(0.5, 8), 8);
    for (let d = 0; d < 8; d++) assert.ok(Math.abs(p[d] - 0.5 ** d) < 1e-6, `d=${d}: ${p[d]}`);
  });

  it('averages each diagonal over the positions where it exists', () => {
    // T = 3: W(1,0) = 0.2, W(2,1) = 0.6, W(2,0) = 0.3; diagonal all 1.
    const w = Float32Array.from([1, 0, 0, 0.2, 1, 0, 0.3, 0.6, 1]);
    const p = distanceProfile(w, 3);
    assert.deepStrictEqual(Array.from(p, (x) => +x.toFixed(6)), [1, 0.4, 0.3]);
  });

  it('finds the half-life of geometric decays and says when there is none', () => {
    assert.ok(Math.abs(profileHalfLife(distanceProfile(geometric(0.5, 16), 16)) - 1) < 1e-4);
    const a = 2 ** (-1 / 6); // halves every 6 tokens
    assert.ok(Math.abs(profileHalfLife(distanceProfile(geometric(a, 40), 40)) - 6) < 1e-3);
    assert.strictEqual(profileHalfLife([1, 0.5, 0.5, 0.5]), Infinity);
    assert.ok(Number.isNaN(profileHalfLife([1, 0.5])));
  });

  it('computes memory from the bundled manifests’ shapes', () => {
    const T = 256;
    const transformer = outputMemory(manifest('transformer'), T);
    assert.strictEqual(transformer.find((f) => f.role === 'mixing')!.bytes, 4 * 4 * 4 * T * T);
    assert.strictEqual(transformer.find((f) => f.role === 'logits')!.bytes, 4 * T * 4096);
    assert.deepStrictEqual(contextMemory(manifest('transformer'), T), { kind: 'attention', bytes: 4 * 4 * 4 * T * T, growth: 'quadratic', maps: { count: 16, rows: T, cols: T } });
    // LSTM: h and c, 2 layers × 256 units, whatever T is.
    assert.deepStrictEqual(contextMemory(manifest('lstm'), T), { kind: 'state', bytes: 2 * 2 * 256 * 4, growth: 'constant' });
    assert.deepStrictEqual(contextMemory(manifest('lstm'), 4 * T), { kind: 'state', bytes: 2 * 2 * 256 * 4, growth: 'constant' });
    assert.deepStrictEqual(contextMemory(manifest('gru'), T), { kind: 'state', bytes: 2 * 256 * 4, growth: 'constant' });
    assert.strictEqual(outputMemory(manifest('gru'), T).find((f) => f.role === 'gates')!.bytes, 4 * 2 * T * 3 * 256);
  });

  it('derives memory from declared shapes: a sliding window grows linearly, a declared cache wins over weights', () => {
    const T = 256;
    const windowed = structuredClone(manifest('transformer'));
    Object.assign(windowed.outputs[1], { structure: 'windowed', window: 64, globalTokens: 4 });
    assert.deepStrictEqual(contextMemory(windowed, T), { kind: 'attention', bytes: 4 * 4 * 4 * T * 68, growth: 'window', maps: { count: 16, rows: T, cols: 68 } });
    assert.strictEqual(contextMemory(windowed, 32).growth, 'window');
    assert.strictEqual(contextMemory(windowed, 32).bytes, 4 * 16 * 32 * 32, 'a window larger than the text holds the text');
    const cached = structuredClone(manifest('transformer'));
    cached.outputs.push({ name: 'present', role: 'cache', dtype: 'float32', axes: [{ name: 'layer', size: 4 }, { name: 'batch' }, { name: 'head', size: 4 }, { name: 'position', size: 'T' }, { name: 'feature', size: 64 }] });
    assert.deepStrictEqual(contextMemory(cached, T), { kind: 'cache', bytes: 4 * 4 * 4 * T * 64, growth: 'linear' });
  });

  it('compares the weight far back with the previous token’s over the same rows', () => {
    const a = 2 ** (-1 / 6);
    assert.ok(Math.abs(distanceRatio(rowShares(geometric(a, 40), 40), 40, 20) - a ** 19) < 1e-5);
    assert.ok(Math.abs(distanceRatio(geometric(1, 40), 40, 20) - 1) < 1e-6);
  });

  it('scales rows to shares and leaves empty rows empty', () => {
    const w = Float32Array.from([2, 0, 0, 1, 3, 0, 0, 0, 0]);
    assert.deepStrictEqual(Array.from(rowShares(w, 3)), [1, 0, 0, 0.25, 0.75, 0, 0, 0, 0]);
    assert.throws(() => rowShares(w, 2), /expected 2×2/);
  });

  it('counts UTF-8 bytes like an encoder, lone surrogates included', () => {
    for (const text of ['abc', 'é', '€', '😀', 'a\u0301', '\ud800', 'x\udc00y', '中文\r\n\t']) {
      assert.strictEqual(utf8Length(text), Buffer.byteLength(text, 'utf8'), JSON.stringify(text));
    }
  });

  it('computes bits per byte over the predicted text only', () => {
    // "ab" + "cd" + "€": 1 + 2 bits predicted over "cd€" = 2 + 3 bytes.
    assert.strictEqual(bitsPerByte([NaN, 1, 2], 'abcd€', 2), 3 / 5);
    assert.ok(Number.isNaN(bitsPerByte([NaN], 'ab', 2)));
  });

  it('finds the strongest long-range attention link past the first token', () => {
    const L = 2;
    const H = 2;
    const T = 12;
    const a = tensor([L, H, T, T]);
    const at = (l: number, h: number, t: number, k: number, v: number) => (a.data[((l * H + h) * T + t) * T + k] = v);
    at(0, 0, 11, 0, 0.99); // the first token: skipped by default
    at(0, 1, 10, 9, 0.9); // too close (distance 1)
    at(1, 1, 11, 2, 0.6); // distance 9: the answer
    at(1, 0, 10, 1, 0.5);
    assert.deepStrictEqual(strongestAttentionLink(layeredFromTensor(a), 8), { layer: 1, head: 1, t: 11, k: 2, weight: 0.6000000238418579 });
    assert.strictEqual(strongestAttentionLink(layeredFromTensor(a), 8, 0)!.k, 0);
    assert.strictEqual(strongestAttentionLink(layeredFromTensor(tensor([1, 1, 4, 4])), 8), null);
  });

  it('reuses an analysis only when it covers exactly the text’s first maxTokens tokens', () => {
    const tokens = (n: number) => Array.from({ length: n }, () => ({ id: 0, text: '', start: 0, end: 0, partial: false, special: false }));
    const whole = { startOffset: 5, text: 'abc def', tokens: tokens(3), truncated: null };
    assert.ok(analysisCovers(whole, 5, 'abc def', 256));
    assert.ok(!analysisCovers(whole, 6, 'abc def', 256), 'another start');
    assert.ok(!analysisCovers(whole, 5, 'abc de', 256), 'another text');
    assert.ok(!analysisCovers(whole, 5, 'abc def', 2), 'more tokens than the view runs');
    const cut = { startOffset: 5, text: 'abc', tokens: tokens(2), truncated: { totalTokens: 3, keptTokens: 2 } };
    assert.ok(analysisCovers(cut, 5, 'abc def', 2));
    assert.ok(!analysisCovers(cut, 5, 'abc def', 3), 'the view runs more tokens than the panel kept');
  });

  it('writes sentences from known figures', () => {
    const T = 40;
    const run = (id: string, metric: 'rollout' | 'retention', w: Float32Array, link: CompareRun['link'], bits: number) => fakeRun(id, T, metric, w, 'causal', link, bits);
    const text = 'x'.repeat(T);
    const flat = new Float32Array(T * T);
    for (let t = 0; t < T; t++) for (let k = 0; k <= t; k++) flat[t * T + k] = 1;
    const lstm = modelFigures(manifest('lstm'), run('lstm', 'retention', geometric(2 ** (-1 / 6), T), null, 2), text, 1);
    const transformer = modelFigures(manifest('transformer'), run('transformer', 'rollout', flat, { layer: 2, head: 1, t: 30, k: 3, weight: 0.71 }, 1), text, 1);
    assert.ok(Math.abs(lstm.halfLife - 6) < 1e-3, String(lstm.halfLife));
    assert.ok(Number.isNaN(transformer.halfLife));
    assert.strictEqual(transformer.bitsPerByte, 1);
    assert.strictEqual(transformer.later, null, 'a causal W has no later side');
    const sentences = describeComparison([transformer, lstm], place);
    assert.deepStrictEqual(sentences, [
      'The Transformer predicts this selection best: 1.00 bits per byte, against 2.00 (LSTM).',
      'Their W(t, k) is made differently: attention rolled out over all layers in the Transformer; the retention of its recurrent state in the LSTM.',
      'Retention halves every 6.0 tokens in the LSTM: what a recurrent state holds of a token fades geometrically with distance.',
      '20 tokens back, a token gets 1.0× (Transformer) and 11% (LSTM) of the weight the previous token gets.',
      "The Transformer's strongest long-range link: `}` (line 12) → `St` in `Stack` (line 1), 27 tokens back, with 71% of layer 3 head 2's attention.",
      "For these 40 tokens the Transformer's attention takes 100 KiB (growing as T²: 4× that at 80 tokens); the LSTM carries 4.0 KiB of state from token to token, whatever the length.",
    ]);
  });

  it('describes and draws a bidirectional W on both sides, and leaves a masked LM out of the ranking', () => {
    const T = 40;
    // A masked language model (its logits score the token they see) whose W is bidirectional: weight
    // halves every 6 tokens back and every 4 tokens ahead.
    const encoder = structuredClone(manifest('transformer'));
    encoder.id = 'encoder';
    encoder.shortName = 'Encoder';
    Object.assign(encoder.outputs.find((o) => o.role === 'logits')!, { predicts: 'current' });
    Object.assign(encoder.outputs.find((o) => o.role === 'mixing')!, { structure: 'bidirectional' });
    const a = 2 ** (-1 / 6);
    const b = 2 ** (-1 / 4);
    const w = new Float32Array(T * T);
    for (let t = 0; t < T; t++) for (let k = 0; k < T; k++) w[t * T + k] = k <= t ? a ** (t - k) : b ** (k - t);
    const text = 'x'.repeat(T);
    const both = modelFigures(encoder, fakeRun('encoder', T, 'rollout', w, 'bidirectional', { layer: 0, head: 2, t: 3, k: 30, weight: 0.5 }, 0.3), text, 1);
    const lstm = modelFigures(manifest('lstm'), fakeRun('lstm', T, 'retention', geometric(a, T), 'causal', null, 2), text, 1);
    const flat = new Float32Array(T * T);
    for (let t = 0; t < T; t++) for (let k = 0; k <= t; k++) flat[t * T + k] = 1;
    const transformer = modelFigures(manifest('transformer'), fakeRun('transformer', T, 'rollout', flat, 'causal', null, 1), text, 1);

    // The figure: both sides of the row shares' signed profile; the chart plots profile (earlier) and later.
    assert.ok(both.bidirectional && !lstm.bidirectional);
    assert.ok(!both.predictsNext && lstm.predictsNext);
    const signed = signedDistanceProfile(rowShares(w, T), T);
    assert.deepStrictEqual(Array.from(both.profile!), Array.from(profileSide(signed, 'earlier')));
    assert.deepStrictEqual(Array.from(both.later!), Array.from(profileSide(signed, 'later')));
    assert.ok(both.later![1] > both.later![20] && both.later![20] > 0, 'the later side carries weight and decays');
    assert.strictEqual(lstm.later, null);
    // Sides: every row's shares split into earlier, itself and later, averaged over the rows.
    const sides = both.sides!;
    assert.ok(Math.abs(sides.earlier + sides.self + sides.later - 1) < 1e-6);
    let later0 = 0;
    for (let k = 1; k < T; k++) later0 += b ** k;
    const row0 = 1 + later0;
    // Row 0 has nothing earlier: its later share is Σ b^k / (1 + Σ b^k).
    const shares = rowShares(w, T);
    let rowLater = 0;
    for (let k = 1; k < T; k++) rowLater += shares[k];
    assert.ok(Math.abs(rowLater - later0 / row0) < 1e-6);
    assert.ok(Math.abs(sides.earlier - 0.52143) < 1e-4 && Math.abs(sides.later - 0.39058) < 1e-4, JSON.stringify(sides)); // computed independently
    assert.deepStrictEqual(lstm.sides!.later, 0, 'a causal W has nothing on the later side');

    // The card: a masked LM's figure is labelled as not comparable.
    assert.strictEqual(bitsPerByteLabel(both), '0.30 bits/byte (sees the token it scores; not comparable)');
    assert.strictEqual(bitsPerByteLabel(transformer), '1.00 bits/byte');
    assert.strictEqual(bitsPerByteLabel({ bitsPerByte: NaN, predictsNext: true }), '');

    const sentences = describeComparison([transformer, lstm, both], place);
    assert.deepStrictEqual(sentences, [
      'The Transformer predicts this selection best: 1.00 bits per byte, against 2.00 (LSTM).',
      "The Encoder's 0.30 bits per byte are not ranked: it sees the token it scores, so they are not comparable with next-token prediction.",
      'Their W(t, k) is made differently: attention rolled out over all layers in the Transformer and the Encoder; the retention of its recurrent state in the LSTM.',
      'Retention halves every 6.0 tokens in the LSTM: what a recurrent state holds of a token fades geometrically with distance.',
      '20 tokens back, a token gets 1.0× (Transformer), 11% (LSTM) and 11% (Encoder) of the weight the previous token gets.',
      'The Encoder reads in both directions: a token draws 52% of its weight from earlier tokens, 39% from later ones and 8.8% from itself.',
      '20 tokens ahead, a token gets 3.7% (Encoder) of the weight the next token gets.',
      "The Encoder's strongest long-range link: `St` in `Stack` (line 1) → `}` (line 12), 27 tokens ahead, with 50% of layer 1 head 3's attention.",
      "For these 40 tokens the Transformer's attention takes 100 KiB and the Encoder's attention takes 100 KiB (growing as T²: 4× that at 80 tokens); the LSTM carries 4.0 KiB of state from token to token, whatever the length.",
    ]);
    assert.ok(!sentences.some((s) => /Encoder predicts|\(Encoder\)\./.test(s)), 'the masked LM is never ranked');
    // With only the masked LM and one next-token model, nothing is ranked.
    assert.ok(!describeComparison([both, lstm], place).some((s) => s.includes('predicts this selection best')));
  });

  it('writes sentences for five models that differ in how W is made and how their memory grows', () => {
    const T = 40;
    const text = 'x'.repeat(T);
    const flat = new Float32Array(T * T);
    for (let t = 0; t < T; t++) for (let k = 0; k <= t; k++) flat[t * T + k] = 1;
    const named = (id: string, short: string, edit: (m: ModelManifest) => void = () => undefined) => {
      const m = structuredClone(manifest(id));
      m.id = short.toLowerCase();
      m.shortName = short;
      edit(m);
      return m;
    };
    const windowed = named('transformer', 'SWA', (m) => Object.assign(m.outputs.find((o) => o.role === 'mixing')!, { structure: 'windowed', window: 8 }));
    const hidden = named('transformer', 'SSM', (m) => Object.assign(m.outputs.find((o) => o.role === 'mixing')!, { normalised: false, signed: true, label: 'hidden attention' }));
    const plain = named('gru', 'Elman');
    const run = (id: string, metric: 'rollout' | 'retention', w: Float32Array, link: CompareRun['link'], bits: number) => fakeRun(id, T, metric, w, 'causal', link, bits);
    const figures = [
      modelFigures(manifest('transformer'), run('transformer', 'rollout', flat, null, 1), text, 1),
      modelFigures(windowed, run('swa', 'rollout', flat, null, 1.5), text, 1),
      modelFigures(hidden, run('ssm', 'rollout', flat, { layer: 0, head: 0, t: 30, k: 3, weight: 2.5, label: 'hidden attention', normalised: false }, 1.25), text, 1),
      modelFigures(manifest('lstm'), run('lstm', 'retention', geometric(2 ** (-1 / 6), T), null, 2), text, 1),
      modelFigures(plain, { ...run('elman', 'retention', flat, null, 3), influence: null, retention: null }, text, 1),
    ];
    const sentences = describeComparison(figures, place);
    assert.deepStrictEqual(sentences, [
      'The Transformer predicts this selection best: 1.00 bits per byte, against 1.25 (SSM), 1.50 (SWA), 2.00 (LSTM) and 3.00 (Elman).',
      'Their W(t, k) is made differently: attention rolled out over all layers in the Transformer, the SWA and the SSM; the retention of its recurrent state in the LSTM; none exported by the Elman. Add occlusion to measure every model the same way.',
      'Retention halves every 6.0 tokens in the LSTM: what a recurrent state holds of a token fades geometrically with distance.',
      '20 tokens back, a token gets 1.0× (Transformer), 1.0× (SWA), 1.0× (SSM) and 11% (LSTM) of the weight the previous token gets.',
      "The SSM's strongest long-range link: `}` (line 12) → `St` in `Stack` (line 1), 27 tokens back, with a weight of 2.500 in layer 1 head 1's hidden attention (not normalised).",
      "For these 40 tokens the Transformer's attention takes 100 KiB and the SSM's attention takes 100 KiB (growing as T²: 4× that at 80 tokens); the SWA's attention takes 20 KiB (growing linearly: each token keeps only its window); the LSTM carries 4.0 KiB of state from token to token and the Elman 2.0 KiB, whatever the length.",
    ]);
    // Two models made alike: no sentence on how W is made; their memory is still compared.
    const two = describeComparison([figures[0], figures[1]], place);
    assert.ok(!two.some((s) => s.startsWith('Their W(t, k)')), two.join('\n'));
    assert.ok(two.some((s) => s.startsWith("For these 40 tokens the Transformer's attention takes 100 KiB (growing as T²")), two.join('\n'));
  });

  it('compares a signed W by the shares of its |W|', () => {
    const T = 4;
    const w = Float32Array.from([1, 0, 0, 0, -1, 1, 0, 0, 0.5, -0.5, 1, 0, -1, 1, -1, 1]);
    const run = { ...fakeRun('ssm', T, 'rollout', w, 'causal', null, 1), influence: { metric: 'attention' as const, label: 'mean hidden attention', w, mask: 'causal' as const, normalised: false, signed: true } };
    const f = modelFigures(manifest('transformer'), run, 'xxxx', 1);
    assert.deepStrictEqual(Array.from(f.shares!.subarray(4, 8)), [0.5, 0.5, 0, 0]);
    assert.deepStrictEqual(Array.from(f.shares!.subarray(12, 16)), [0.25, 0.25, 0.25, 0.25]);
  });

  it('finds a long-range link ahead in a bidirectional W, skipping special tokens', () => {
    const T = 12;
    const a = tensor([1, 1, T, T]);
    const at = (t: number, k: number, v: number) => (a.data[t * T + k] = v);
    at(2, 11, 0.9); // to the last token, a special one ([SEP]): skipped
    at(1, 10, 0.7); // 9 tokens ahead: the answer
    at(10, 1, 0.6); // 9 tokens back
    const special = (i: number) => i === 0 || i === 11;
    assert.deepStrictEqual(strongestAttentionLink(layeredFromTensor(a), 8, 1, { bidirectional: true, skip: special }), { layer: 0, head: 0, t: 1, k: 10, weight: 0.699999988079071 });
    assert.strictEqual(strongestAttentionLink(layeredFromTensor(a), 8, 1, { bidirectional: false, skip: special })!.k, 1, 'causal: only back');
    assert.strictEqual(strongestAttentionLink(layeredFromTensor(a), 8, 1, { bidirectional: true })!.k, 11, 'without skip the special token wins');
  });

  it('carries every sequence and the special flags, so occlusion reruns an encoder and an encoder–decoder from a run', async function () {
    this.timeout(120_000);
    const engine = new Engine({ provider: 'wasm', ort: new CountingOrt(), files: new DiskFiles() });
    let specials = 0;
    try {
      for (const folder of ['test/fixtures/models/toy-encoder-decoder', 'test/fixtures/models/toy-encoder']) {
        const model = descriptor(folder);
        const analysis = await engine.analyse(model, 'def push(self, item):\n    return item', 0, 256);
        // As the sidebar receives it: structured-clone data.
        const run = structuredClone(compareRunOf(analysis, 'wasm', 0));
        assert.deepStrictEqual(Object.keys(run.sequenceIds), analysis.sequences.map((s) => s.id), folder);
        for (const s of analysis.sequences) assert.deepStrictEqual(run.sequenceIds[s.id], s.tokens.map((t) => t.id));
        assert.deepStrictEqual(run.special, analysis.tokens.map((t) => t.special));
        specials += run.special.filter(Boolean).length;
        const T = analysis.tokens.length;
        const w = await engine.occlusion(model, { sequenceIds: run.sequenceIds, special: run.special }, () => undefined);
        assert.strictEqual(w.length, T * T);
        assert.deepStrictEqual(Array.from(w), Array.from(await engine.occlusion(model, analysis, () => undefined)), `${folder}: the run's data occludes as the analysis does`);
        run.special.forEach((special, k) => {
          const column = Array.from({ length: T }, (_, t) => w[t * T + k]);
          if (special) assert.ok(column.every((v) => v === 0), `${folder}: special token ${k} is never occluded`);
        });
        assert.ok(w.some((v) => v > 0), folder);
      }
      assert.ok(specials > 0, 'the toy models have special tokens to leave alone');
    } finally {
      await engine.dispose();
    }
  });

  it('formats bytes and shares', () => {
    assert.deepStrictEqual([512, 4096, 102_400, 4 * 2 ** 20, 3 * 2 ** 30].map(formatBytes), ['512 B', '4.0 KiB', '100 KiB', '4.0 MiB', '3.0 GiB']);
    assert.deepStrictEqual([0.71, 0.013, 0.0002, 1e-7].map(formatShare), ['71%', '1.3%', '0.02%', '< 0.01%']);
  });
});
