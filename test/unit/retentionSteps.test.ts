// The webview computes long retention matrices in time slices through meanRetentionSteps: it must yield
// once per query row, in order, and return exactly what meanRetention returns (which drives it).

import * as assert from 'assert';
import { tensor } from '../../src/core/analysis';
import { meanRetention, meanRetentionSteps, retentionGates } from '../../src/core/retention';

/** Deterministic gates in (0, 1) for L layers, T tokens, G gates, H units. */
function pseudoGates(L: number, T: number, G: number, H: number) {
  const data = new Float32Array(L * T * G * H);
  let seed = 7;
  for (let i = 0; i < data.length; i++) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    data[i] = 0.05 + 0.9 * (seed / 2 ** 32);
  }
  return tensor([L, T, G, H], data);
}

describe('meanRetentionSteps', () => {
  const lstm = [{ name: 'i', meaning: 'write' }, { name: 'f', meaning: 'keep' }, { name: 'g', meaning: 'candidate' }, { name: 'o', meaning: 'output' }];
  const gru = [{ name: 'r', meaning: 'reset' }, { name: 'z', meaning: 'keep', complementWrites: true }, { name: 'n', meaning: 'candidate' }];
  for (const declared of [lstm, gru]) {
    it(`yields each row and returns meanRetention's matrix (${declared.map((g) => g.name).join('')})`, () => {
      const T = 9;
      const gates = pseudoGates(2, T, declared.length, 5);
      const found = retentionGates(declared);
      assert.ok(found.ok);
      const spec = found.gates;
      const steps = meanRetentionSteps(gates, 1, spec);
      const yielded: number[] = [];
      let step = steps.next();
      while (!step.done) {
        yielded.push(step.value);
        step = steps.next();
      }
      assert.deepStrictEqual(yielded, Array.from({ length: T }, (_, i) => i + 1));
      assert.deepStrictEqual(Array.from(step.value), Array.from(meanRetention(gates, 1, spec)));
      // Hand check of one entry: W̄(2, 0) = mean_u keep_1 · keep_2 · write_0.
      const [, , G, H] = gates.dims;
      const at = (t: number, g: number, u: number) => gates.data[((T + t) * G + g) * H + u];
      let expected = 0;
      for (let u = 0; u < H; u++) {
        const w = spec.writeIsComplement ? 1 - at(0, spec.write, u) : at(0, spec.write, u);
        expected += (at(1, spec.keep, u) * at(2, spec.keep, u) * w) / H;
      }
      assert.ok(Math.abs(step.value[2 * T + 0] - expected) < 1e-6);
    });
  }
});
