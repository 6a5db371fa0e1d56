// Unit tests for influence summaries (src/core/influence.ts): top-k lists from a known W(t, k) matrix for
// each mixing structure (causal, windowed, bidirectional, cross), one token's lists from a row and a column
// (linksAt, what rollout on demand answers) equal to the whole matrix's, and the offset-to-token lookup the hover uses.

import * as assert from 'assert';
import { layeredFromTensor, meanOverHeads } from '../../src/core/analysis';
import { TopInfluences, linksAt, tokenAt, topInfluences } from '../../src/core/influence';
import { LowerTriangleTensor } from '../../src/core/lowerTriangle';
import { meanOverHeadsInSlices } from '../../src/core/rolloutSlices';
import { seededRandom } from './seeded';

describe('influence summaries', () => {
  // T = 4, lower-triangular W; row t = query.
  const W = Float32Array.from([
    1, 0, 0, 0,
    0.3, 0.7, 0, 0,
    0.5, 0.2, 0.3, 0,
    0.1, 0.6, 0.25, 0.05,
  ]);

  it('lists the strongest earlier tokens for each token, self excluded', () => {
    const { from } = topInfluences(W, 4, 2);
    assert.deepStrictEqual(from.map((l) => l.map((x) => x.index)), [[], [0], [0, 1], [1, 2]]);
    assert.ok(Math.abs(from[3][0].weight - 0.6) < 1e-7);
  });

  it('lists the later tokens each token influences most', () => {
    const { to } = topInfluences(W, 4, 2);
    assert.deepStrictEqual(to.map((l) => l.map((x) => x.index)), [[2, 1], [3, 2], [3], []]);
  });

  it('skips zero weights and respects k', () => {
    const { from } = topInfluences(new Float32Array(9), 3, 5);
    assert.deepStrictEqual(from, [[], [], []]);
    assert.strictEqual(topInfluences(W, 4, 1).from[3].length, 1);
  });

  it('reads the same causal lists through the full call form', () => {
    assert.deepStrictEqual(topInfluences(W, 4, 4, 2, 'causal'), topInfluences(W, 4, 2));
  });

  it('ranks only inside the window for windowed attention', () => {
    // Window of 2 with token 0 always visible: row 3 sees 0, 2 and 3.
    const w = Float32Array.from([
      1, 0, 0, 0,
      0.5, 0.5, 0, 0,
      0.2, 0.3, 0.5, 0,
      0.3, 0, 0.6, 0.1,
    ]);
    const { from, to } = topInfluences(w, 4, 4, 3, 'windowed');
    assert.deepStrictEqual(from.map((l) => l.map((x) => x.index)), [[], [0], [1, 0], [2, 0]]);
    assert.deepStrictEqual(to.map((l) => l.map((x) => x.index)), [[1, 3, 2], [2], [3], []]);
  });

  it('looks both ways for bidirectional attention, self excluded', () => {
    const w = Float32Array.from([
      0.5, 0.2, 0.3,
      0.1, 0.8, 0.1,
      0.6, 0.3, 0.1,
    ]);
    const { from, to } = topInfluences(w, 3, 3, 2, 'bidirectional');
    assert.deepStrictEqual(from.map((l) => l.map((x) => x.index)), [[2, 1], [0, 2], [0, 1]]);
    assert.deepStrictEqual(to.map((l) => l.map((x) => x.index)), [[2, 1], [2, 0], [0, 1]]);
    assert.ok(Math.abs(from[2][0].weight - 0.6) < 1e-7);
    assert.throws(() => topInfluences(w, 3, 2, 2, 'bidirectional'), /square/);
  });

  it('links every target row to every source column for cross-attention', () => {
    // 2 target rows × 3 source columns; row t and column t are different tokens, so nothing is excluded.
    const w = Float32Array.from([
      0.7, 0.1, 0.2,
      0.2, 0.3, 0.5,
    ]);
    const { from, to } = topInfluences(w, 2, 3, 2, 'cross');
    assert.strictEqual(from.length, 2);
    assert.strictEqual(to.length, 3);
    assert.deepStrictEqual(from.map((l) => l.map((x) => x.index)), [[0, 2], [2, 1]]);
    assert.deepStrictEqual(to.map((l) => l.map((x) => x.index)), [[0, 1], [1, 0], [1, 0]]);
    assert.throws(() => topInfluences(w, 3, 3, 2, 'cross'), /expected 3×3/);
  });

  it('ranks a signed W by |weight| and keeps each link\'s sign', () => {
    // A state-space model's hidden attention may be negative: -0.8 is a stronger link than 0.5.
    const w = Float32Array.from([
      1, 0, 0, 0,
      -0.2, 1, 0, 0,
      0.5, -0.8, 1, 0,
      -0.1, 0.3, -0.4, 1,
    ]);
    const { from, to } = topInfluences(w, 4, 4, 2, 'causal', true);
    assert.deepStrictEqual(from.map((l) => l.map((x) => [x.index, +x.weight.toFixed(2)])), [[], [[0, -0.2]], [[1, -0.8], [0, 0.5]], [[2, -0.4], [1, 0.3]]]);
    assert.deepStrictEqual(to[1].map((x) => [x.index, +x.weight.toFixed(2)]), [[2, -0.8], [3, 0.3]]);
    // Unsigned (the default), negative weights never rank.
    assert.deepStrictEqual(topInfluences(w, 4, 4, 2, 'causal').from[2].map((x) => x.index), [0]);
  });

  for (const mask of ['causal', 'windowed', 'bidirectional'] as const) {
    it(`gives one token's lists from its row and column as topInfluences does for the whole ${mask} W, hidden tokens left out`, () => {
      const T = 30;
      const random = seededRandom(5);
      // Ties on purpose (weights rounded to tenths), so the order among equal weights is checked too.
      const w = Float32Array.from({ length: T * T }, (_, i) => (mask !== 'bidirectional' && i % T > Math.floor(i / T) ? 0 : Math.round(random() * 10) / 10));
      const hidden = Array.from({ length: T }, (_, i) => i % 7 === 3);
      const zeroed = w.map((x, i) => (hidden[i % T] || hidden[Math.floor(i / T)] ? 0 : x));
      const whole = topInfluences(zeroed, T, T, 6, mask);
      for (let t = 0; t < T; t++) {
        if (hidden[t]) continue;
        const row = w.subarray(t * T, (t + 1) * T);
        const column = Float32Array.from({ length: T }, (_, i) => w[i * T + t]);
        const one = linksAt(row, column, t, 6, mask, hidden);
        assert.deepStrictEqual(one, { from: whole.from[t], to: whole.to[t] }, `token ${t}`);
      }
      assert.throws(() => linksAt(w.subarray(0, T), w.subarray(0, T - 1), 0, 6, mask), /the row has 30 values but the column 29/);
    });
  }

  it('finds the token under an offset', () => {
    const tokens = [{ start: 10, end: 13 }, { start: 13, end: 13 }, { start: 13, end: 20 }, { start: 20, end: 21 }];
    assert.strictEqual(tokenAt(tokens, 9), -1);
    assert.strictEqual(tokenAt(tokens, 10), 0);
    assert.strictEqual(tokenAt(tokens, 12), 0);
    assert.strictEqual(tokenAt(tokens, 13), 2); // the empty token owns nothing
    assert.strictEqual(tokenAt(tokens, 20), 3);
    assert.strictEqual(tokenAt(tokens, 21), -1);
  });

  // The panel ranks long inputs a few rows per task and averages heads one at a time (webview/influence.ts).
  it('ranks row by row exactly as in one pass, and averages heads in slices to the same values', async () => {
    const random = seededRandom(5);
    const T = 40;
    const w = Float32Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? random() : 0));
    for (const mask of ['causal', 'bidirectional'] as const) {
      const top = new TopInfluences(w, T, T, 5, mask);
      while (top.addRows(7));
      const whole = topInfluences(w, T, T, 5, mask);
      assert.deepStrictEqual({ from: top.from, to: top.to }, whole);
      // Hidden tokens (special ones, empty ranges) are ranked as if their rows and columns were 0, W untouched.
      for (const signed of [false, true]) {
        const hidden = Array.from({ length: T }, (_, i) => i % 7 === 3 || i === 0);
        const zeroed = Float32Array.from(w, (x, i) => (hidden[Math.floor(i / T)] || hidden[i % T] ? 0 : signed && i % 3 === 0 ? -x : x));
        const signedW = Float32Array.from(w, (x, i) => (signed && i % 3 === 0 ? -x : x));
        const skipping = new TopInfluences(signedW, T, T, 5, mask, signed, hidden);
        while (skipping.addRows(7));
        assert.deepStrictEqual({ from: skipping.from, to: skipping.to }, topInfluences(zeroed, T, T, 5, mask, signed), `${mask}, signed: ${signed}`);
      }
    }
    const L = 2;
    const H = 3;
    const data = Float32Array.from({ length: L * H * T * T }, (_, i) => (i % T <= Math.floor(i / T) % T ? random() : 0));
    const plain = layeredFromTensor({ dims: [L, H, T, T], data });
    const packed = new LowerTriangleTensor([L, H, T, T]);
    for (let o = 0; o < L * H; o++) for (let t = 0; t < T; t++) packed.setRow(o, t, data.subarray((o * T + t) * T, (o * T + t + 1) * T));
    let pauses = 0;
    for (const m of [plain, layeredFromTensor(packed)]) {
      const sliced = await meanOverHeadsInSlices(m, 1, { pause: async () => void pauses++, sliceMs: 0 });
      assert.deepStrictEqual(sliced, meanOverHeads(plain, 1));
    }
    assert.ok(pauses >= 2 * H * T, `paused ${pauses} times`);
    assert.strictEqual(packed.decodedInFull, false);
    // Half-precision triangles: the mean of the weights they hold, as meanOverHeads gives it.
    const half = new LowerTriangleTensor([L, H, T, T], true);
    for (let o = 0; o < L * H; o++) for (let t = 0; t < T; t++) half.setRow(o, t, data.subarray((o * T + t) * T, (o * T + t + 1) * T));
    const fromHalf = await meanOverHeadsInSlices(layeredFromTensor(half), 1, { pause: async () => undefined, sliceMs: 0 });
    assert.deepStrictEqual(fromHalf, meanOverHeads(layeredFromTensor({ dims: [L, H, T, T], data: half.decode(0, L * H) }), 1));
    assert.strictEqual(half.decodedInFull, false);
  });
});
