// Unit tests for the analysis math (src/core/analysis.ts): surprisal, top-k predictions and attention
// rollout, each against values computed by hand.

import * as assert from 'assert';
import { lowerTriangularProduct, maxOverHeads, meanOverHeads, rollout, surprisal, tensor, topPredictions } from '../../src/core/analysis';

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
});
