// Unit tests for the analysis math (src/core/analysis.ts): surprisal, top-k predictions, layered views of
// attention and rollout (causal and dense, whole and layer by layer) and its reach, each against values
// computed by hand or against rollout() itself.

import * as assert from 'assert';
import {
  denseProduct,
  denseProductRows,
  layeredFromLayers,
  layeredFromTensor,
  logSumExp,
  lowerTriangularProduct,
  lowerTriangularProductRows,
  maxOverHeads,
  meanOverHeads,
  receptiveField,
  rollout,
  rolloutFactor,
  rolloutLayers,
  surprisal,
  tensor,
  topPredictions,
} from '../../src/core/analysis';

const close = (a: number, b: number, eps = 1e-6) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

describe('analysis math', () => {
  it('computes surprisal in bits from the previous position', () => {
    // V = 4. Position 0 predicts uniformly; position 1 puts ln(3) more on token 2.
    const logits = tensor([1, 3, 4], Float32Array.from([0, 0, 0, 0, 0, 0, Math.log(3), 0, 5, 5, 5, 5]));
    const s = surprisal(logits, [1, 3, 2]);
    assert.ok(Number.isNaN(s[0]));
    close(s[1], 2); // p = 1/4
    close(s[2], -Math.log2(3 / 6), 1e-6); // p = 3/6
  });

  it('is stable for large logits', () => {
    const logits = tensor([2, 2], Float32Array.from([1000, 0, 0, 0]));
    close(surprisal(logits, [0, 0])[1], 0, 1e-9);
  });

  it('ranks the top predictions with probabilities', () => {
    const logits = tensor([1, 5], Float32Array.from([Math.log(1), Math.log(4), Math.log(2), Math.log(8), Math.log(1)]));
    const [top] = topPredictions(logits, 3);
    assert.deepStrictEqual(top.map((p) => p.id), [3, 1, 2]);
    close(top[0].probability, 8 / 16);
    close(top[1].probability, 4 / 16);
    close(top[2].probability, 2 / 16);
  });

  it('aggregates heads by mean and max', () => {
    // L=1, H=2, T=2.
    const att = tensor([1, 2, 2, 2], Float32Array.from([1, 0, 0.2, 0.8, 1, 0, 0.6, 0.4]));
    assert.deepStrictEqual(Array.from(meanOverHeads(att, 0)).map((x) => +x.toFixed(6)), [1, 0, 0.4, 0.6]);
    assert.deepStrictEqual(Array.from(maxOverHeads(att, 0)).map((x) => +x.toFixed(6)), [1, 0, 0.6, 0.8]);
  });

  it('rolls out attention over two layers as computed by hand', () => {
    // T=2, one head per layer. Layer 1: row1 = [0.2, 0.8]; layer 2: row1 = [0.6, 0.4].
    const att = tensor([2, 1, 2, 2], Float32Array.from([1, 0, 0.2, 0.8, 1, 0, 0.6, 0.4]));
    // Â1 = [[1,0],[0.1,0.9]], Â2 = [[1,0],[0.3,0.7]]; R = Â2·Â1 = [[1,0],[0.3+0.07, 0.63]].
    const r = Array.from(rollout(att));
    [1, 0, 0.37, 0.63].forEach((v, i) => close(r[i], v));
  });

  it('keeps rollout rows summing to 1 and causal for random attention', () => {
    const L = 3, H = 2, T = 7;
    const att = tensor([L, H, T, T]);
    let seed = 7;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (let m = 0; m < L * H; m++) {
      for (let i = 0; i < T; i++) {
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += att.data[m * T * T + i * T + j] = rand();
        for (let j = 0; j <= i; j++) att.data[m * T * T + i * T + j] /= sum;
      }
    }
    const r = rollout(att);
    for (let i = 0; i < T; i++) {
      let sum = 0;
      for (let j = 0; j < T; j++) {
        if (j > i) assert.strictEqual(r[i * T + j], 0);
        sum += r[i * T + j];
      }
      close(sum, 1, 1e-5);
    }
  });

  it('multiplies lower-triangular matrices like a dense product', () => {
    const a = Float32Array.from([1, 0, 0, 2, 3, 0, 4, 5, 6]);
    const b = Float32Array.from([7, 0, 0, 8, 9, 0, 1, 2, 3]);
    assert.deepStrictEqual(Array.from(lowerTriangularProduct(a, b, 3)), [7, 0, 0, 38, 27, 0, 74, 57, 18]);
  });

  it('computes log-sum-exp of a slice stably', () => {
    const v = Float32Array.from([9, Math.log(2), Math.log(3), 1000, 1000]);
    close(logSumExp(v, 1, 2), Math.log(5));
    close(logSumExp(v, 3, 2), 1000 + Math.LN2, 1e-9);
  });

  it('views a tensor [L, H, R, C] layer by layer without copying', () => {
    const att = tensor([2, 2, 1, 3], Float32Array.from({ length: 12 }, (_, i) => i));
    const m = layeredFromTensor(att);
    assert.deepStrictEqual([m.layers, m.heads, m.rows, m.cols], [2, 2, 1, 3]);
    const l1 = m.layer(1);
    assert.deepStrictEqual(Array.from(l1), [6, 7, 8, 9, 10, 11]);
    assert.strictEqual(l1.buffer, att.data.buffer);
    att.data[6] = 42;
    assert.strictEqual(m.layer(1)[0], 42);
    assert.throws(() => m.layer(2), /outside 0\.\.1/);
    // A batch axis of 1 ([L, 1, H, R, C]) is dropped.
    assert.deepStrictEqual(layeredFromTensor(tensor([2, 1, 2, 1, 3], att.data)).layer(1), l1);
    assert.throws(() => layeredFromTensor(tensor([2, 3])), /\[L, H, rows, cols\]/);
  });

  it('views per-layer tensors [H, R, C] as the same layered matrices', () => {
    const a = tensor([2, 1, 3], Float32Array.from([1, 2, 3, 4, 5, 6]));
    const b = tensor([1, 2, 1, 3], Float32Array.from([7, 8, 9, 10, 11, 12])); // with a batch axis
    const m = layeredFromLayers([a, b]);
    assert.deepStrictEqual([m.layers, m.heads, m.rows, m.cols], [2, 2, 1, 3]);
    assert.strictEqual(m.layer(1), b.data);
    assert.deepStrictEqual(Array.from(meanOverHeads(m, 1)), [8.5, 9.5, 10.5]);
    assert.deepStrictEqual(Array.from(maxOverHeads(m, 0)), [4, 5, 6]);
    assert.throws(() => layeredFromLayers([a, tensor([2, 1, 2])]), /layer 1/);
    assert.throws(() => layeredFromLayers([]), /no attention layers/);
  });

  it('rolls out bidirectional attention densely: rows sum to exactly 1', () => {
    // Two layers of one head of uniform attention over two tokens. Â = ½(A + I) = [[¾, ¼], [¼, ¾]];
    // R = Â·Â = [[⅝, ⅜], [⅜, ⅝]].
    const att = tensor([2, 1, 2, 2], new Float32Array(8).fill(0.5));
    const r = rollout(layeredFromTensor(att), false);
    assert.deepStrictEqual(Array.from(r), [0.625, 0.375, 0.375, 0.625]);
    // The causal fast path drops the upper triangle and loses weight: [[9/16, 0], [3/8, 9/16]].
    assert.deepStrictEqual(Array.from(rollout(att)), [0.5625, 0, 0.375, 0.5625]);
    assert.deepStrictEqual(Array.from(rollout(att, false)), Array.from(r));
  });

  it('keeps dense rollout rows summing to 1 for random bidirectional attention, per layer or as one tensor', () => {
    const L = 3, H = 2, T = 6;
    let seed = 11;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    const layers = Array.from({ length: L }, () => {
      const d = new Float32Array(H * T * T);
      for (let row = 0; row < H * T; row++) {
        let sum = 0;
        for (let j = 0; j < T; j++) sum += d[row * T + j] = rand();
        for (let j = 0; j < T; j++) d[row * T + j] /= sum;
      }
      return tensor([H, T, T], d);
    });
    const whole = tensor([L, H, T, T], Float32Array.from(layers.flatMap((l) => Array.from(l.data))));
    const r = rollout(layeredFromLayers(layers), false);
    assert.deepStrictEqual(Array.from(rollout(layeredFromTensor(whole), false)), Array.from(r));
    for (let i = 0; i < T; i++) {
      let sum = 0;
      for (let j = 0; j < T; j++) sum += r[i * T + j];
      close(sum, 1, 1e-5);
    }
  });

  it('refuses to roll out rectangular (cross) attention', () => {
    const cross = layeredFromTensor(tensor([1, 1, 2, 3]));
    assert.deepStrictEqual(Array.from(meanOverHeads(cross, 0)), [0, 0, 0, 0, 0, 0]);
    assert.throws(() => rolloutFactor(cross, 0), /square/);
    assert.throws(() => rollout(cross, false), /square/);
  });

  it('multiplies dense matrices in row slices', () => {
    const a = Float32Array.from([1, 2, 0, 3]);
    const b = Float32Array.from([4, 5, 6, 7]);
    assert.deepStrictEqual(Array.from(denseProduct(a, b, 2)), [16, 19, 18, 21]);
    const c = new Float32Array(4);
    denseProductRows(a, b, 2, c, 1, 2);
    assert.deepStrictEqual(Array.from(c), [0, 0, 18, 21]);
    denseProductRows(a, b, 2, c, 0, 1);
    assert.deepStrictEqual(Array.from(c), [16, 19, 18, 21]);
    // On lower-triangular inputs both products agree.
    const l = Float32Array.from([1, 0, 0, 2, 3, 0, 4, 5, 6]);
    const m = Float32Array.from([7, 0, 0, 8, 9, 0, 1, 2, 3]);
    const sliced = new Float32Array(9);
    for (let i = 0; i < 3; i++) lowerTriangularProductRows(l, m, 3, sliced, i, i + 1);
    assert.deepStrictEqual(Array.from(denseProduct(l, m, 3)), Array.from(sliced));
  });

  it('keeps every partial rollout: the first l equal rollout() over the first l layers, the last rollout()', () => {
    const L = 4, H = 2, T = 6;
    let seed = 5;
    const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
    for (const causal of [true, false]) {
      const att = tensor([L, H, T, T]);
      for (let row = 0; row < L * H * T; row++) {
        const i = row % T;
        const end = causal ? i + 1 : T;
        let sum = 0;
        for (let j = 0; j < end; j++) sum += att.data[row * T + j] = rand();
        for (let j = 0; j < end; j++) att.data[row * T + j] /= sum;
      }
      const partials = rolloutLayers(layeredFromTensor(att), causal);
      assert.strictEqual(partials.length, L);
      for (let l = 1; l <= L; l++) {
        const first = layeredFromTensor(tensor([l, H, T, T], att.data.subarray(0, l * H * T * T)));
        assert.deepStrictEqual(Array.from(partials[l - 1]), Array.from(rollout(first, causal)), `layer ${l}, causal ${causal}`);
        for (let i = 0; i < T; i++) {
          let sum = 0;
          for (let j = 0; j < T; j++) sum += partials[l - 1][i * T + j];
          close(sum, 1, 1e-5);
        }
      }
      assert.deepStrictEqual(Array.from(partials[L - 1]), Array.from(rollout(layeredFromTensor(att), causal)));
      assert.notDeepStrictEqual(Array.from(partials[0]), Array.from(partials[1]));
    }
    assert.deepStrictEqual(rolloutLayers(layeredFromTensor(tensor([0, 1, 2, 2])), true), []);
    assert.throws(() => rolloutLayers(layeredFromTensor(tensor([1, 1, 2, 3])), false), /square/);
  });

  it('measures how far back a row reaches, past global tokens and below the threshold', () => {
    // Key 0 is global (ignored); the largest other weight is 0.3, so 1e-4 (key 1) is below 1e-3 × 0.3.
    assert.strictEqual(receptiveField([0.5, 0.0001, 0.2, 0.3], 4, { globalTokens: 1 }), 1);
    assert.strictEqual(receptiveField([0.5, 0.0004, 0.2, 0.3], 4, { globalTokens: 1 }), 2);
    assert.strictEqual(receptiveField([0.5, 0.0001, 0.2, 0.3], 4), 3); // key 0 counts when not global
    assert.strictEqual(receptiveField([0.5, 0.0001, 0.2, 0.3], 4, { globalTokens: 1, threshold: 0.9 }), 0);
    assert.strictEqual(receptiveField([0.2, 0.8, 0.5, 0.1], 4, { query: 2, globalTokens: 1 }), 1); // keys after the query do not count
    assert.strictEqual(receptiveField([1, 0, 0], 3, { globalTokens: 1 }), 0);
  });

  it('grows the reach of windowed rollout by window − 1 tokens per layer', () => {
    // Windowed attention: token t sees keys t − 2..t (window 3) and the global token 0, uniformly.
    const L = 3, T = 12, window = 3, globalTokens = 1;
    const one = new Float32Array(T * T);
    for (let t = 0; t < T; t++) {
      const keys = new Set<number>([0]);
      for (let k = Math.max(0, t - window + 1); k <= t; k++) keys.add(k);
      for (const k of keys) one[t * T + k] = 1 / keys.size;
    }
    const att = tensor([L, 1, T, T]);
    for (let l = 0; l < L; l++) att.data.set(one, l * T * T);
    const partials = rolloutLayers(layeredFromTensor(att), true);
    const reach = partials.map((r) => receptiveField(r.subarray((T - 1) * T, T * T), T, { globalTokens }));
    assert.deepStrictEqual(reach, [1, 2, 3].map((l) => l * (window - 1)));
    // Counting the global token, the last token reaches the very first one at every depth.
    assert.deepStrictEqual(partials.map((r) => receptiveField(r.subarray((T - 1) * T, T * T), T)), [T - 1, T - 1, T - 1]);
  });
});
