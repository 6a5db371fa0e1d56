// Masked predictions (src/core/maskedPredictions.ts) on real models in onnxruntime-web: the untrained toy
// encoder (test fixture) always, the bundled masked language model whenever its folder exists. The batched
// run must equal one plain run per masked position, read here independently (softmax in float64 from the
// runner's run()); top predictions are sorted and are probabilities; the pseudo-surprisal is −log2 of the
// actual token's probability; special tokens are never masked; a cancel stops between batches; a model
// without a mask token gets an error naming the manifest field. The Masked tab's text (maskedReadout.ts)
// is checked here as well.

import * as assert from 'assert';
import { existsSync, readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { LensError } from '../../src/core/errors';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { type BatchLogitRows, type MaskedPredictions, maskTokenId, maskedPredictions, offersMaskedPredictions } from '../../src/core/maskedPredictions';
import { computesAutomatically, formatProbability, formatRank, maskedCard, surprisalScaleMax, tintFraction, totalsLine } from '../../src/core/maskedReadout';
import { canonicalTensor, modelStructure } from '../../src/core/modelStructure';
import type { SequenceIds } from '../../src/core/occlusion';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');
const TOY = path.join(root, 'test/fixtures/models/toy-encoder');
const BUNDLED = path.join(root, 'media/models/encoder');
const CODE = 'function add(a, b) {\n  return a + b;\n}';
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

interface Loaded {
  manifest: ModelManifest;
  tokenizer: LensTokenizer;
  runner: ModelRunner;
}

function manifestOf(folder: string): ModelManifest {
  const result = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.manifest;
}

async function load(folder: string): Promise<Loaded> {
  const manifest = manifestOf(folder);
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, manifest.tokenizer.file), 'utf8')), manifest.tokenizer.file);
  const bytes = readFileSync(path.join(folder, manifest.model ?? 'model.onnx'));
  const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
  return { manifest, tokenizer, runner };
}

/** The primary sequence's ids (with the model's special tokens) and which of them are special. */
function inputOf(m: Loaded, text: string): { ids: SequenceIds; special: boolean[]; sequence: string } {
  const sequence = m.runner.structure.primary;
  const seq = m.runner.structure.sequences.find((s) => s.id === sequence)!;
  const spans = m.tokenizer.tokenize(text, { addSpecialTokens: seq.addSpecialTokens, prefix: seq.prefix });
  return { ids: { [sequence]: spans.map((s) => s.id) }, special: spans.map((s) => s.special), sequence };
}

/** Runs masked predictions with the runner's batched logits, counting the batches. */
function run(m: Loaded, text: string, extra: Partial<Parameters<typeof maskedPredictions>[2]> = {}, batches: number[] = []): Promise<MaskedPredictions> {
  const { ids, special, sequence } = inputOf(m, text);
  const runBatch: BatchLogitRows = (batch, rows) => (batches.push(batch.length), m.runner.runBatchLogitRows(batch, rows));
  return maskedPredictions(runBatch, ids, { sequence, maskId: maskTokenId(m.manifest, m.tokenizer), display: (id) => m.tokenizer.display(id), skip: (i) => special[i], ...extra });
}

/** The softmax at position i of one plain (unbatched) run of `ids`, in float64. */
async function softmaxAt(m: Loaded, ids: SequenceIds, i: number): Promise<Float64Array> {
  const outputs = await m.runner.run(ids);
  const spec = m.runner.structure.logits!;
  const logits = canonicalTensor(spec, outputs[spec.name]);
  const V = logits.dims[1];
  const row = Array.from(logits.data.subarray(i * V, (i + 1) * V));
  const max = Math.max(...row);
  const exps = row.map((x) => Math.exp(x - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return Float64Array.from(exps, (e) => e / sum);
}

/** Checks a result against one separate run per masked position; returns the largest difference found. */
async function checkAgainstSeparateRuns(m: Loaded, text: string, result: MaskedPredictions): Promise<number> {
  const { ids, special, sequence } = inputOf(m, text);
  const maskId = maskTokenId(m.manifest, m.tokenizer);
  const source = ids[sequence];
  let worst = 0;
  for (let i = 0; i < source.length; i++) {
    const token = result.tokens[i];
    if (special[i]) {
      assert.strictEqual(token, null, `special token ${i} was masked`);
      continue;
    }
    assert.ok(token, `token ${i} has no masked prediction`);
    const p = await softmaxAt(m, { ...ids, [sequence]: source.map((id, j) => (j === i ? maskId : id)) }, i);
    const actual = p[source[i]];
    const order = Array.from(p.keys()).sort((a, b) => p[b] - p[a]);
    worst = Math.max(worst, Math.abs(token.probability - actual), Math.abs(token.bits - -Math.log2(actual)) * actual);
    assert.ok(Math.abs(token.bits - -Math.log2(actual)) < 1e-4, `bits at ${i}: ${token.bits} vs ${-Math.log2(actual)}`);
    assert.strictEqual(token.rank, 1 + order.filter((v) => p[v] > actual).length);
    token.top.forEach((g, r) => {
      worst = Math.max(worst, Math.abs(g.probability - p[g.id]));
      assert.ok(Math.abs(p[g.id] - p[order[r]]) < 1e-6, `top ${r} at ${i} is not the ${r + 1}th most likely`);
    });
  }
  return worst;
}

function checkShape(result: MaskedPredictions, vocab: number): void {
  assert.strictEqual(result.vocab, vocab);
  for (const t of result.tokens) {
    if (!t) continue;
    assert.strictEqual(t.top.length, 5);
    for (let r = 1; r < t.top.length; r++) assert.ok(t.top[r - 1].probability >= t.top[r].probability, 'top-5 not sorted');
    const sum = t.top.reduce((a, g) => a + g.probability, 0);
    assert.ok(sum <= 1 + 1e-6 && sum > 0, `top-5 sum ${sum}`);
    assert.ok(t.probability > 0 && t.probability <= 1);
    assert.ok(Math.abs(t.bits - -Math.log2(t.probability)) < 1e-9);
    assert.ok(t.rank >= 1 && t.rank <= vocab);
    assert.strictEqual(t.rank === 1, t.top[0].id === t.id || t.top[0].probability === t.probability);
  }
  const scored = result.tokens.filter((t) => t !== null);
  assert.strictEqual(result.scored, scored.length);
  const pll = scored.reduce((a, t) => a + Math.log(t.probability), 0);
  assert.ok(Math.abs(result.pseudoLogLikelihood - pll) < 1e-6 * Math.max(1, Math.abs(pll)));
  assert.ok(Math.abs(result.totalBits - -pll / Math.LN2) < 1e-6 * Math.max(1, Math.abs(pll)));
  assert.ok(Math.abs(result.pseudoPerplexity - Math.exp(-pll / scored.length)) < 1e-6 * result.pseudoPerplexity);
}

describe('masked predictions', function () {
  this.timeout(120_000);
  let toy: Loaded;
  before(async () => (toy = await load(TOY)));
  after(async () => toy?.runner.release());

  it('batched equals one separate run per masked position (toy encoder)', async () => {
    const batches: number[] = [];
    const result = await run(toy, CODE, {}, batches);
    assert.ok(result.scored > 10);
    assert.deepStrictEqual(batches, [1, result.scored - 1], 'one measuring run, then one batch');
    assert.ok((await checkAgainstSeparateRuns(toy, CODE, result)) < 1e-5);
    checkShape(result, 1000);
  });

  it('gives the same result whatever the batch size, reporting progress', async () => {
    const whole = await run(toy, CODE);
    const T = whole.tokens.length;
    const batches: number[] = [];
    const progress: Array<[number, number]> = [];
    const small = await run(toy, CODE, { maxBatchBytes: 3 * T * 1000 * 4, onProgress: (d, t) => progress.push([d, t]) }, batches);
    assert.ok(batches.slice(1).every((b, i, all) => b === 3 || i === all.length - 1));
    assert.deepStrictEqual(progress.map(([d]) => d), batches.map((_, i) => batches.slice(0, i + 1).reduce((a, b) => a + b, 0)));
    assert.ok(progress.every(([, t]) => t === whole.scored));
    whole.tokens.forEach((t, i) => {
      const s = small.tokens[i];
      if (!t || !s) return assert.strictEqual(t, s);
      assert.deepStrictEqual(s.top.map((g) => g.id), t.top.map((g) => g.id));
      assert.ok(Math.abs(s.probability - t.probability) < 1e-6);
    });
  });

  it('never masks special tokens and never runs only for them', async () => {
    const { special } = inputOf(toy, CODE);
    assert.ok(special[0] && special[special.length - 1], 'the toy encoder adds [CLS] … [SEP]');
    const seen: number[][] = [];
    const maskId = maskTokenId(toy.manifest, toy.tokenizer);
    const result = await run(toy, CODE, {});
    const { ids, sequence } = inputOf(toy, CODE);
    await maskedPredictions((batch, rows) => (seen.push(...batch.map((b) => b[sequence].flatMap((id, j) => (id === maskId ? [j] : [])))), toy.runner.runBatchLogitRows(batch, rows)), ids, {
      sequence,
      maskId,
      display: String,
      skip: (i) => special[i],
    });
    assert.deepStrictEqual(seen, special.flatMap((s, i) => (s ? [] : [[i]])), 'each ordinary position masked once, alone');
    special.forEach((s, i) => assert.strictEqual(result.tokens[i] === null, s));
    const none = await maskedPredictions(async () => assert.fail('nothing to run'), ids, { sequence, maskId, display: String, skip: () => true });
    assert.deepStrictEqual([none.scored, none.pseudoLogLikelihood, Number.isNaN(none.pseudoPerplexity)], [0, 0, true]);
  });

  it('stops between batches when cancelled', async () => {
    const controller = new AbortController();
    const batches: number[] = [];
    const { special } = inputOf(toy, CODE);
    const T = special.length;
    await assert.rejects(
      run(toy, CODE, { maxBatchBytes: 2 * T * 1000 * 4, signal: controller.signal, onProgress: (done) => done >= 3 && controller.abort() }, batches),
      (err: LensError) => err instanceof LensError && err.code === 'cancelled',
    );
    assert.deepStrictEqual(batches, [1, 2]);
    const aborted = new AbortController();
    aborted.abort();
    await assert.rejects(run(toy, CODE, { signal: aborted.signal }, []), (err: LensError) => err.code === 'cancelled');
  });

  it('names tokenizer.specialTokens.mask when the mask token is missing or unknown', () => {
    const noMask: ModelManifest = { ...toy.manifest, tokenizer: { ...toy.manifest.tokenizer, specialTokens: { cls: '[CLS]', sep: '[SEP]' } } };
    assert.throws(() => maskTokenId(noMask, toy.tokenizer), (err: LensError) => err.code === 'model-invalid' && /toy-encoder\/manifest\.json, field tokenizer\.specialTokens\.mask/.test(err.message) && /found none/.test(err.message));
    const unknown: ModelManifest = { ...toy.manifest, tokenizer: { ...toy.manifest.tokenizer, specialTokens: { mask: '<mask>' } } };
    assert.throws(() => maskTokenId(unknown, toy.tokenizer), (err: LensError) => /tokenizer\.specialTokens\.mask names "<mask>", which the tokenizer \(tokenizer\.json\) does not have/.test(err.message));
    assert.strictEqual(maskTokenId(toy.manifest, toy.tokenizer), toy.tokenizer.idOf('[MASK]'));
    // Any special token the manifest declares as the mask serves (a temporary manifest's choice).
    const pad: ModelManifest = { ...toy.manifest, tokenizer: { ...toy.manifest.tokenizer, specialTokens: { mask: '[PAD]' } } };
    assert.strictEqual(maskTokenId(pad, toy.tokenizer), toy.tokenizer.idOf('[PAD]'));
  });

  it('is offered from the manifest: logits of the current token and a declared mask token', () => {
    assert.strictEqual(offersMaskedPredictions(toy.manifest, toy.runner.structure), true);
    const noMask: ModelManifest = { ...toy.manifest, tokenizer: { ...toy.manifest.tokenizer, specialTokens: {} } };
    assert.strictEqual(offersMaskedPredictions(noMask, modelStructure(noMask)), false);
    const next: ModelManifest = { ...toy.manifest, outputs: toy.manifest.outputs.map((o) => (o.role === 'logits' ? { ...o, predicts: 'next' as const } : o)) };
    assert.strictEqual(offersMaskedPredictions(next, modelStructure(next)), false);
    const decoder = manifestOf(path.join(root, 'media/models/transformer'));
    assert.strictEqual(offersMaskedPredictions(decoder, modelStructure(decoder)), false);
  });

  it('rejects logits of the wrong shape', async () => {
    const { ids, sequence } = inputOf(toy, CODE);
    const flat: BatchLogitRows = async () => ({ dims: [ids[sequence].length, 1000], data: new Float32Array(ids[sequence].length * 1000) });
    await assert.rejects(maskedPredictions(flat, ids, { sequence, maskId: 4, display: String }), (err: LensError) => err.code === 'model-invalid' && /expect logits \[1, 1, V\]/.test(err.message));
    await assert.rejects(maskedPredictions(flat, ids, { sequence: 'nope', maskId: 4, display: String }), /no sequence "nope"/);
  });
});

describe('masked predictions of the bundled masked language model', function () {
  this.timeout(300_000);
  let encoder: Loaded | undefined;
  before(async function () {
    if (!existsSync(path.join(BUNDLED, 'manifest.json'))) return this.skip(); // runs as soon as the model is bundled
    encoder = await load(BUNDLED);
  });
  after(async () => encoder?.runner.release());

  it('is offered, and batched equals one separate run per position', async () => {
    const m = encoder!;
    assert.ok(offersMaskedPredictions(m.manifest, m.runner.structure));
    const text = 'for (let i = 0; i < n; i++) {\n  total += values[i];\n}';
    const result = await run(m, text, { maxBatchBytes: 8 * 2 ** 20 });
    assert.ok((await checkAgainstSeparateRuns(m, text, result)) < 1e-5);
    const vocab = m.runner.structure.logits!.axes.find((a) => a.name === 'vocab')!.size;
    checkShape(result, typeof vocab === 'number' ? vocab : result.vocab);
  });

  it('predicts hidden code tokens better than chance, and less surely than the unmasked copy', async () => {
    const m = encoder!;
    const text = 'function add(a, b) {\n  return a + b;\n}\n\nconst total = add(1, 2);\nconsole.log(total);';
    const result = await run(m, text);
    const perToken = result.totalBits / result.scored;
    // At least twice as likely as a uniform guess on average (the untrained toy encoder does worse than uniform).
    assert.ok(perToken < Math.log2(result.vocab) - 1, `${perToken.toFixed(2)} bits per masked token, of ${Math.log2(result.vocab).toFixed(1)} for chance`);
    // Unmasked, position i sees its own token: its probability is higher than with the token hidden.
    const { ids, sequence } = inputOf(m, text);
    let unmaskedBits = 0;
    const plain = await m.runner.run(ids);
    const spec = m.runner.structure.logits!;
    const logits = canonicalTensor(spec, plain[spec.name]);
    const V = logits.dims[1];
    result.tokens.forEach((t, i) => {
      if (!t) return;
      const row = Array.from(logits.data.subarray(i * V, (i + 1) * V));
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, x) => a + Math.exp(x - max), 0));
      unmaskedBits += (lse - row[ids[sequence][i]]) / Math.LN2;
    });
    assert.ok(unmaskedBits < result.totalBits, `unmasked ${unmaskedBits.toFixed(1)} bits vs masked ${result.totalBits.toFixed(1)}`);
  });
});

describe('the Masked tab’s text', () => {
  const guess = (id: number, p: number) => ({ id, text: `t${id}`, probability: p });
  const token = { index: 1, id: 7, top: [guess(3, 0.5), guess(7, 0.25), guess(9, 0.125)], probability: 0.25, rank: 2, bits: 2 };

  it('formats probabilities, ranks and the colour scale', () => {
    assert.deepStrictEqual([0.5, 0.12345, 0.001234, 0.0000012, 0, 1].map(formatProbability), ['50%', '12.3%', '0.123%', '1.2e-4%', '0%', '100%']);
    assert.strictEqual(formatRank(1234, 4100), 'rank 1,234 of 4,100');
    const result = { tokens: [null, token, { ...token, bits: 5.2 }] };
    assert.strictEqual(surprisalScaleMax(result), 6);
    assert.strictEqual(surprisalScaleMax({ tokens: [null] }), 1);
    assert.deepStrictEqual([tintFraction(3, 6), tintFraction(9, 6), tintFraction(-1, 6), tintFraction(Infinity, 6), tintFraction(NaN, 6)], [0.5, 1, 0, 1, 0]);
    assert.deepStrictEqual([0, 1, 127, 128].map(computesAutomatically), [false, true, true, false]);
  });

  it('describes a token: its top predictions with the actual one marked, probability and rank', () => {
    const card = maskedCard(token, 'x', 4100, 1);
    assert.strictEqual(card.heading, '#1 “x”');
    assert.deepStrictEqual(card.rows.map((r) => [r.text, r.label, r.actual]), [['t3', '50%', false], ['t7', '25%', true], ['t9', '12.5%', false]]);
    assert.strictEqual(card.actual, 'With this token masked the model gives it p = 25%, rank 2 of 4,100: pseudo-surprisal 2.00 bits.');
    assert.strictEqual(card.missing, null);
    const outside = maskedCard({ ...token, id: 8, rank: 40 }, 'y', 4100, 1);
    assert.strictEqual(outside.missing, 'The actual token “y” is not among the top 3.');
    assert.match(maskedCard(null, '[CLS]', 4100, 0).actual, /^Special token/);
  });

  it('sums up the pseudo-log-likelihood', () => {
    const result: MaskedPredictions = { sequence: 's', tokens: [null, token, token], vocab: 10, scored: 2, pseudoLogLikelihood: -4 * Math.LN2, totalBits: 4, pseudoPerplexity: 4 };
    assert.strictEqual(totalsLine(result), 'Pseudo-log-likelihood −2.8 nats over 2 masked tokens (2.00 bits per token; pseudo-perplexity 4.00).');
    assert.match(totalsLine({ ...result, tokens: [null], scored: 0 }), /No ordinary tokens/);
  });
});
