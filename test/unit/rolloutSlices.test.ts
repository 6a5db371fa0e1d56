// Rollout and the mean over heads in slices (src/core/rolloutSlices.ts) are what a page computes on its own
// thread: they must give rolloutLayers' values bit for bit, pause as often as asked, report progress that
// only grows, and stop with 'cancelled' when the work is given up.

import * as assert from 'assert';
import { type LayeredMatrices, type MixingMask, layeredFromTensor, rolloutLayers, tensor } from '../../src/core/analysis';
import { LensError } from '../../src/core/errors';
import { LowerTriangleTensor } from '../../src/core/lowerTriangle';
import { rolloutLayersInSlices } from '../../src/core/rolloutSlices';
import { matrixOf, matrixOfInSlices, matrixOfSteps } from '../../webview/views/matrixOf';
import { seededRandom } from './seeded';

/** Random attention [L, H, T, T] whose rows are probabilities over the keys the mask lets them see. */
function randomAttention(L: number, H: number, T: number, mask: MixingMask, seed: number): Float32Array {
  const random = seededRandom(seed);
  const data = new Float32Array(L * H * T * T);
  for (let r = 0; r < L * H * T; r++) {
    const t = r % T;
    const visible = (k: number) => mask === 'bidirectional' || (mask === 'windowed' ? k === 0 || (k <= t && t - k < 3) : k <= t);
    let sum = 0;
    for (let k = 0; k < T; k++) if (visible(k)) sum += data[r * T + k] = random() + 0.01;
    for (let k = 0; k < T; k++) data[r * T + k] /= sum;
  }
  return data;
}

/** The same attention held as lower triangles in blocks of 7 rows (as long runs hold it). */
function asTriangles(data: Float32Array, L: number, H: number, T: number): LayeredMatrices {
  const packed = new LowerTriangleTensor([L, H, T, T], false, 7);
  for (let o = 0; o < L * H; o++) for (let t = 0; t < T; t++) packed.setRow(o, t, data.subarray((o * T + t) * T, (o * T + t + 1) * T));
  return layeredFromTensor(packed);
}

describe('rollout in slices', () => {
  it("gives the mean's Matrix in slices as matrixOf does, signed and not, a pause per row", async () => {
    // 300 tokens: the colour scale reads a random sample of the later rows, as at 2,048.
    for (const T of [40, 300]) {
      const random = seededRandom(T);
      const data = Float32Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? random() - 0.3 : 0));
      for (const signed of [false, true]) {
        let pauses = 0;
        const sliced = await matrixOfInSlices(data, T, signed, { pause: async () => void pauses++, sliceMs: 0 });
        assert.deepStrictEqual(sliced, matrixOf(data, T, signed), `T ${T}, signed ${signed}`);
        assert.ok(pauses >= T - 1, `paused ${pauses} times`);
      }
    }
  });

  it("gives matrixOf's Matrix in steps of a number of rows (idle-time heatmap images), signed and not", () => {
    const random = seededRandom(5);
    for (const T of [1, 9, 64, 130]) {
      const data = Float32Array.from({ length: T * T }, (_, i) => (i % T <= Math.floor(i / T) ? random() - 0.3 : 0));
      for (const signed of [false, true]) {
        const steps = matrixOfSteps(data, T, signed, 16);
        let yields = 0;
        let step = steps.next();
        for (; !step.done; step = steps.next()) yields++;
        assert.deepStrictEqual(step.value, matrixOf(data, T, signed), `T ${T}, signed ${signed}`);
        assert.strictEqual(yields, Math.floor(T / 16), `T ${T}: a step every 16 rows`);
      }
    }
  });

  const L = 4;
  const H = 3;
  const T = 37;
  for (const mask of ['causal', 'windowed', 'bidirectional'] as const) {
    const causal = mask !== 'bidirectional';
    const data = randomAttention(L, H, T, mask, 11);
    const plain = layeredFromTensor(tensor([L, H, T, T], data));
    const held: Array<[string, LayeredMatrices]> = causal ? [['plain', plain], ['lower triangles', asTriangles(data, L, H, T)]] : [['plain', plain]];
    for (const [how, m] of held) {
      it(`gives rolloutLayers' partials bit for bit, pausing between rows (${mask}, ${how})`, async () => {
        const whole = rolloutLayers(plain, causal);
        let pauses = 0;
        const progress: number[] = [];
        const every = await rolloutLayersInSlices(m, causal, 'every layer', { pause: async () => void pauses++, sliceMs: 0, onProgress: (f) => progress.push(f) });
        assert.strictEqual(every.length, L);
        every.forEach((r, l) => assert.deepStrictEqual(r, whole[l], `layer ${l + 1}`));
        // Each factor's mean pauses after each of H·T rows, each product after each row, and once per layer between.
        assert.ok(pauses >= L * H * T + (L - 1) * T, `paused ${pauses} times`);
        assert.ok(progress.length >= (L - 1) * T - L, `${progress.length} progress reports`);
        progress.forEach((f, i) => assert.ok(f > 0 && f <= 1 && (i === 0 || f >= progress[i - 1]), `progress ${i}: ${f}`));
        assert.strictEqual(progress[progress.length - 1], 1);
        const last = await rolloutLayersInSlices(m, causal, 'last', { pause: async () => undefined, sliceMs: 0 });
        assert.strictEqual(last.length, 1);
        assert.deepStrictEqual(last[0], whole[L - 1]);
      });
    }
  }

  it('stops with LensError "cancelled" at the first pause after the work is given up', async () => {
    const m = layeredFromTensor(tensor([L, H, T, T], randomAttention(L, H, T, 'causal', 3)));
    let pauses = 0;
    await assert.rejects(
      rolloutLayersInSlices(m, true, 'last', { pause: async () => void pauses++, sliceMs: 0, cancelled: () => pauses >= 5 }),
      (err: unknown) => err instanceof LensError && err.code === 'cancelled',
    );
    assert.strictEqual(pauses, 5);
  });

  it('does not pause within a slice of time', async () => {
    const m = layeredFromTensor(tensor([2, 1, 5, 5], randomAttention(2, 1, 5, 'causal', 5)));
    let pauses = 0;
    const [r] = await rolloutLayersInSlices(m, true, 'last', { pause: async () => void pauses++, sliceMs: 60_000 });
    // Only the one pause between each factor and its product.
    assert.strictEqual(pauses, 2);
    assert.deepStrictEqual(r, rolloutLayers(m, true)[1]);
  });
});
