// Head-role scores (src/core/headRoles.ts) on hand-built attention: perfect induction, duplicate,
// previous-token and first-token heads score 1; uniform heads (causal, bidirectional, windowed) score their
// closed-form values; keys a mask hides never count; unnormalised mixing is scored on row-normalised |W|;
// the probe's sequences are seeded blocks of distinct ordinary tokens repeated; the filter reads and refuses
// clauses with exact messages.

import * as assert from 'assert';
import { layeredFromTensor } from '../../src/core/analysis';
import { parseHeadFilter } from '../../src/core/headFilter';
import { type HeadScores, type KeyMask, headRoleLabels, headScores, keyVisible, layerHeadScores, meanScores, probeSequences, repeatedTokens } from '../../src/core/headRoles';

const CAUSAL: KeyMask = { mask: 'causal' };
/** Values computed from float32 weights agree to about 1e-7. */
const close = (a: number, b: number, what: string, tol = 1e-6) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} ≠ ${b}`);
const harmonic = (n: number) => Array.from({ length: n }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);

/** A T×T matrix from a function of (t, k). */
function matrix(T: number, w: (t: number, k: number) => number): Float32Array {
  const out = new Float32Array(T * T);
  for (let t = 0; t < T; t++) for (let k = 0; k < T; k++) out[t * T + k] = w(t, k);
  return out;
}

/** A block of n distinct ids repeated twice. */
const repeated = (n: number) => [...Array(n).keys(), ...Array(n).keys()].map((i) => 100 + i);

function scoresOf(w: Float32Array, ids: number[], mask: KeyMask = CAUSAL): HeadScores {
  return headScores(w, ids.length, repeatedTokens(ids), mask);
}

describe('head roles', () => {
  const n = 10;
  const ids = repeated(n);
  const T = 2 * n;

  it('scores a perfect induction head 1 (and its duplicate score 0)', () => {
    const w = matrix(T, (t, k) => (t >= n ? (k === t - n + 1 ? 1 : 0) : k === 0 ? 1 : 0));
    const s = scoresOf(w, ids);
    close(s.induction, 1, 'induction');
    close(s.duplicate, 0, 'duplicate');
  });

  it('scores a perfect duplicate-token head 1', () => {
    const w = matrix(T, (t, k) => (t >= n ? (k === t - n ? 1 : 0) : k === t ? 1 : 0));
    close(scoresOf(w, ids).duplicate, 1, 'duplicate');
    close(scoresOf(w, ids).induction, 0, 'induction');
  });

  it('scores a perfect previous-token head 1, at distance 1 and entropy 0', () => {
    const w = matrix(T, (t, k) => (k === Math.max(0, t - 1) ? 1 : 0));
    const s = scoresOf(w, ids);
    close(s.previous, 1, 'previous');
    close(s.distance, 1, 'distance');
    close(s.entropy, 0, 'entropy');
    close(s.sink, 1 / (T - 1), 'sink: only t = 1 looks at token 0');
    close(s.induction, 0, 'induction: the token before is never the one after the earlier occurrence');
  });

  it('scores a first-token head 1 on sink, at distance (T)/2', () => {
    const w = matrix(T, (_, k) => (k === 0 ? 1 : 0));
    const s = scoresOf(w, ids);
    close(s.sink, 1, 'sink');
    close(s.distance, T / 2, 'distance: mean of t over 1..T−1');
  });

  it('gives a uniform causal head its closed-form scores', () => {
    const w = matrix(T, (t, k) => (k <= t ? 1 / (t + 1) : 0));
    const s = scoresOf(w, ids);
    close(s.previous, (harmonic(T) - 1) / (T - 1), 'previous = (H_T − 1)/(T − 1)');
    close(s.sink, (harmonic(T) - 1) / (T - 1), 'sink = (H_T − 1)/(T − 1)');
    close(s.distance, T / 4, 'distance = T/4');
    let logFactorial = 0;
    for (let i = 2; i <= T; i++) logFactorial += Math.log2(i);
    close(s.entropy, logFactorial / (T - 1), 'entropy = log2(T!)/(T − 1)', 1e-6);
    close(s.induction, (harmonic(2 * n) - harmonic(n)) / n, 'induction = (H_2n − H_n)/n', 1e-7);
    close(s.duplicate, (harmonic(2 * n) - harmonic(n)) / n, 'duplicate = (H_2n − H_n)/n', 1e-7);
  });

  it('gives a uniform bidirectional head its closed-form scores', () => {
    const w = matrix(T, () => 1 / T);
    const s = scoresOf(w, ids, { mask: 'bidirectional' });
    close(s.previous, 1 / T, 'previous');
    close(s.sink, 1 / T, 'sink');
    close(s.entropy, Math.log2(T), 'entropy', 1e-6);
    // Σ_k |t − k| = t(t + 1)/2 + (T − 1 − t)(T − t)/2, averaged over t = 1..T−1 and divided by T.
    let d = 0;
    for (let t = 1; t < T; t++) d += (t * (t + 1)) / 2 + ((T - 1 - t) * (T - t)) / 2;
    close(s.distance, d / (T - 1) / T, 'distance', 1e-6);
    close(s.induction, 1 / T, 'induction');
  });

  it('gives a uniform windowed head with global tokens the values of its visible keys', () => {
    const mask: KeyMask = { mask: 'windowed', window: 4, globalTokens: 2 };
    const visible = (t: number) => [...Array(T).keys()].filter((k) => keyVisible(mask, t, k));
    assert.deepStrictEqual(visible(9), [0, 1, 6, 7, 8, 9]);
    assert.deepStrictEqual(visible(3), [0, 1, 2, 3]);
    const w = matrix(T, (t, k) => (keyVisible(mask, t, k) ? 1 / visible(t).length : 0));
    const s = scoresOf(w, ids, mask);
    const rows = [...Array(T - 1).keys()].map((i) => i + 1);
    const mean = (f: (t: number) => number) => rows.reduce((a, t) => a + f(t), 0) / rows.length;
    close(s.previous, mean((t) => 1 / visible(t).length), 'previous');
    close(s.sink, mean((t) => 1 / visible(t).length), 'sink (the first token is global)');
    close(s.entropy, mean((t) => Math.log2(visible(t).length)), 'entropy', 1e-6);
    close(s.distance, mean((t) => visible(t).reduce((a, k) => a + (t - k), 0) / visible(t).length), 'distance', 1e-6);
    // The earlier occurrence (t − n = t − 10) lies outside the window of 4 and past the 2 global tokens
    // except for t = 10 and 11, whose earlier occurrences are tokens 0 and 1.
    close(s.duplicate, (1 / 6 + 1 / 6) / n, 'duplicate', 1e-7);
  });

  it('never counts keys the mask hides', () => {
    const clean = matrix(T, (t, k) => (k <= t ? 1 / (t + 1) : 0));
    const noisy = matrix(T, (t, k) => (k <= t ? 1 / (t + 1) : 0.5));
    assert.deepStrictEqual(scoresOf(noisy, ids), scoresOf(clean, ids));
    const mask: KeyMask = { mask: 'windowed', window: 3 };
    const windowed = matrix(T, (t, k) => (keyVisible(mask, t, k) ? 1 / Math.min(3, t + 1) : 0));
    const leaky = matrix(T, (t, k) => (keyVisible(mask, t, k) ? 1 / Math.min(3, t + 1) : 0.25));
    assert.deepStrictEqual(scoresOf(leaky, ids, mask), scoresOf(windowed, ids, mask));
  });

  it('scores unnormalised mixing on |W| normalised over the visible keys', () => {
    const probabilities = matrix(T, (t, k) => (k <= t ? 1 / (t + 1) : 0));
    const signed = matrix(T, (t, k) => (k <= t ? ((k % 2 ? -3 : 3) / (t + 1)) : 7));
    const a = scoresOf(probabilities, ids);
    const b = scoresOf(signed, ids, { mask: 'causal', normalised: false });
    for (const key of Object.keys(a) as Array<keyof HeadScores>) close(b[key], a[key], key, 1e-6);
  });

  it('finds repeated tokens in text: every earlier occurrence but the one just before', () => {
    const text = [5, 6, 5, 5, 7, 5];
    const r = repeatedTokens(text);
    assert.deepStrictEqual([...r.queries], [2, 3, 5]);
    assert.deepStrictEqual([...r.earlier], [0, 0, 0, 2, 3]);
    assert.deepStrictEqual([...r.starts], [0, 1, 2, 5]);
    const skipped = repeatedTokens(text, (i) => i === 0);
    assert.deepStrictEqual([...skipped.queries], [5], 'token 3 follows its only earlier occurrence (2) directly');
    // A head that always attends to the token after the last earlier occurrence, on text.
    const w = matrix(6, (t, k) => (t === 2 && k === 1 ? 1 : t === 3 && k === 1 ? 1 : t === 5 && k === 4 ? 1 : k === 0 && ![2, 3, 5].includes(t) ? 1 : 0));
    const s = headScores(w, 6, r, CAUSAL);
    close(s.induction, 1, 'induction: all its weight on successors of earlier occurrences');
  });

  it('leaves induction undefined (NaN) on text without repeats, and skips special queries', () => {
    const s = headScores(matrix(4, (t, k) => (k === t ? 1 : 0)), 4, repeatedTokens([1, 2, 3, 4]), CAUSAL);
    assert.ok(Number.isNaN(s.induction) && Number.isNaN(s.duplicate));
    const skip = (t: number) => t === 3;
    const w = matrix(4, (t, k) => (t === 3 ? (k === 0 ? 1 : 0) : k === t ? 1 : 0));
    close(headScores(w, 4, repeatedTokens([1, 2, 3, 4]), CAUSAL, skip).sink, 0, 'the skipped row is not averaged');
  });

  it('scores every layer and head, and averages tables leaving NaN out', () => {
    const L = 2;
    const H = 3;
    const data = new Float32Array(L * H * T * T);
    for (let m = 0; m < L * H; m++) data.set(matrix(T, (t, k) => (k === Math.max(0, t - (m % 2)) ? 1 : 0)), m * T * T);
    const table = layerHeadScores(layeredFromTensor({ dims: [L, H, T, T], data }), ids, CAUSAL);
    assert.strictEqual(table.length, L);
    assert.strictEqual(table[1].length, H);
    close(table[0][1].previous, 1, 'layer 1 head 2');
    close(table[1][0].previous, 1, 'layer 2 head 1 (m = 3)');
    const nan = { ...table[0][0], induction: NaN };
    const mean = meanScores([[[nan]], [[{ ...table[0][0], induction: 0.5 }]]]);
    close(mean[0][0].induction, 0.5, 'NaN left out');
    assert.throws(() => layerHeadScores(layeredFromTensor({ dims: [L, H, T, T], data }), ids.slice(1), CAUSAL), /ids: expected 20 token ids \(the attention's rows\), found 19/);
    assert.throws(() => headScores(new Float32Array(3), 2, repeatedTokens([1, 2]), CAUSAL), /w: expected T × T = 4 values, found 3/);
    assert.throws(() => meanScores([]), /expected at least one table/);
  });

  it('names the roles whose probe scores pass the threshold, most pronounced first', () => {
    assert.deepStrictEqual(headRoleLabels({ induction: 0.5, duplicate: 0.1, previous: 0.9, sink: 0.2, distance: 3, entropy: 1 }), ['previous-token', 'induction']);
    assert.deepStrictEqual(headRoleLabels({ induction: NaN, duplicate: 0, previous: 0, sink: 0.2, distance: 3, entropy: 1 }), []);
  });
});

describe('the head probe sequences', () => {
  const candidates = [...Array(300).keys()].filter((id) => id % 7 !== 0);

  it('draws 8 blocks of 50 distinct candidates, each repeated, the same for the same seed', () => {
    const bodies = probeSequences(candidates);
    assert.strictEqual(bodies.length, 8);
    for (const body of bodies) {
      assert.strictEqual(body.length, 100);
      assert.deepStrictEqual(body.slice(50), body.slice(0, 50));
      assert.strictEqual(new Set(body.slice(0, 50)).size, 50, 'distinct within a block');
      assert.ok(body.every((id) => candidates.includes(id)), 'only ordinary tokens');
    }
    assert.deepStrictEqual(probeSequences(candidates), bodies, 'seeded');
    assert.notDeepStrictEqual(probeSequences(candidates, { seed: 7 }), bodies);
    assert.notDeepStrictEqual(bodies[0], bodies[1]);
  });

  it('refuses too few candidates or a block of one, naming the field', () => {
    assert.throws(() => probeSequences([1, 2, 3]), /candidates: expected at least 50 ordinary token ids, found 3/);
    assert.throws(() => probeSequences(candidates, { length: 1 }), /length: expected an integer of at least 2, found 1/);
  });
});

describe('the Heads view filter', () => {
  const row = { layer: 2, head: 3, induction: 0.62, previous: 0.1, 'sel.previous': 0.7, sink: NaN };

  it('reads clauses joined by and, commas and &&, with ≥ and >= alike', () => {
    for (const text of ['induction ≥ 0.4', 'induction >= 0.4', 'ind>=.4', 'induction ≥ 0.4 and layer = 2', 'induction > 0.5, sel.previous > 0.5', 'Induction >= 0.4 && selection previous >= 0.7']) {
      const f = parseHeadFilter(text);
      assert.ok(f.ok, text);
      assert.ok(f.test(row), text);
    }
    for (const text of ['induction ≥ 0.7', 'layer ≠ 2', 'previous > 0.5', 'sink ≥ 0', 'head < 3']) {
      const f = parseHeadFilter(text);
      assert.ok(f.ok && !f.test(row), text);
    }
    const empty = parseHeadFilter('  ');
    assert.ok(empty.ok && empty.test(row) && empty.clauses.length === 0);
  });

  it('names what it cannot read', () => {
    assert.deepStrictEqual(parseHeadFilter('induction >> 0.4'), { ok: false, error: 'Cannot read "induction >> 0.4": expected <column> <comparison> <number>, e.g. "induction ≥ 0.4".' });
    const unknown = parseHeadFilter('copying > 0.4');
    assert.ok(!unknown.ok && unknown.error.startsWith('Unknown column "copying" in "copying > 0.4": expected one of layer, head, induction, duplicate, previous, sink, distance, entropy, sel.induction,'));
    assert.ok(!parseHeadFilter('sel.layer > 1').ok);
  });
});
