// The heatmap's colour-scale top (webview/views/matrixOf.ts) finds its percentile by selection rather than a
// sort. It must give the number a sort of the entries gives: the 99.5th percentile of the positive entries after
// the first rows, every entry up to 65,536 of them, else 65,536 drawn by a fixed LCG; zeros, negatives and NaNs
// never count.

import * as assert from 'assert';
import { colourSampleOf, matrixOf, matrixOfInSlices, matrixOfSteps, percentile995, poolMax, poolMaxSteps } from '../../webview/views/matrixOf';
import { seededRandom } from './seeded';

/** The colour top read one entry at a time, as matrixOf read it before. */
function colourTopByEntry(data: Float32Array, size: number): number {
  const length = size * size;
  const from = Math.min(8, size >> 1) * size;
  const span = length - from;
  const drawn: number[] = [];
  if (span <= 65_536) {
    for (let i = from; i < length; i++) if (data[i] > 0) drawn.push(data[i]);
  } else {
    let seed = 12345;
    for (let d = 0; d < 65_536; d++) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      const v = data[from + (seed % span)];
      if (v > 0) drawn.push(v);
    }
  }
  const sample = Float32Array.from(drawn).sort();
  return sample.length ? sample[Math.min(sample.length - 1, Math.floor(sample.length * 0.995))] : 0;
}

/** A size × size matrix: causal rows (zeros above the diagonal) or any, with some negatives, NaNs, infinities and signed zeros. */
function matrix(size: number, seed: number, causal: boolean, odd: boolean): Float32Array {
  const random = seededRandom(seed);
  const data = new Float32Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (causal && c > r) continue;
      const u = random();
      data[r * size + c] = !odd ? u : u < 0.05 ? NaN : u < 0.1 ? -u : u < 0.12 ? -0 : u > 0.999 ? Infinity : u;
    }
  }
  return data;
}

describe("the heatmap's colour-scale top", () => {
  it('is the per-entry 99.5th percentile of the positive entries, read whole or sampled', () => {
    // 256 tokens: every entry after the first rows is read (61,440 of them); 300: 65,536 are drawn.
    for (const size of [1, 2, 5, 17, 234, 256, 300]) {
      for (const causal of [true, false]) {
        for (const odd of [false, true]) {
          const data = matrix(size, size * 7 + (causal ? 1 : 0) + (odd ? 2 : 0), causal, odd);
          const expected = colourTopByEntry(data, size);
          const m = matrixOf(data, size);
          assert.ok(Object.is(m.colourMax, expected > 0 ? expected : m.max), `size ${size}, causal ${causal}, odd ${odd}: ${m.colourMax} against ${expected}`);
        }
      }
    }
  });

  it('reads the positive entries among many NaNs (masked rows) and zeros', () => {
    for (const [nan, zero] of [[0.3, 0.6], [0.6, 0.3], [0.9, 0.05]]) {
      const random = seededRandom(Math.round(nan * 100));
      const size = 64;
      const data = Float32Array.from({ length: size * size }, () => {
        const u = random();
        return u < nan ? NaN : u < nan + zero ? 0 : random();
      });
      const expected = colourTopByEntry(data, size);
      assert.ok(expected > 0 && expected < 1, `the matrix has positive entries below its maximum (${expected})`);
      assert.strictEqual(matrixOf(data, size).colourMax, expected, `${nan * 100}% NaN, ${zero * 100}% zeros`);
    }
  });

  it('scans a matrix with zeros above its diagonal up to the diagonal only, to the same Matrix, signed or not', async () => {
    const random = seededRandom(7);
    for (const size of [1, 2, 9, 300]) {
      for (const signed of [false, true]) {
        for (const sign of [1, -1]) {
          // Lower triangles of one sign (all negative: the maximum stays 0 either way), zeros above.
          const data = new Float32Array(size * size);
          for (let r = 0; r < size; r++) for (let k = 0; k <= r; k++) data[r * size + k] = sign * random();
          const full = matrixOf(data, size, signed);
          assert.deepStrictEqual(matrixOf(data, size, signed, true), full, `size ${size}, signed ${signed}, sign ${sign}`);
          const steps = matrixOfSteps(data, size, signed, 4, true);
          let step = steps.next();
          while (!step.done) step = steps.next();
          assert.deepStrictEqual(step.value, full);
          assert.deepStrictEqual(await matrixOfInSlices(data, size, signed, { pause: async () => undefined, sliceMs: 0 }, true), full);
        }
      }
    }
  });

  it('falls back to the maximum when no entry after the first rows is positive', () => {
    const data = new Float32Array(20 * 20).fill(-1);
    data[3] = 0.5; // in the first rows, which the top skips
    const m = matrixOf(data, 20);
    assert.strictEqual(m.max, 0.5);
    assert.strictEqual(m.colourMax, 0.5);
  });

  it('selects the value a sort puts at the 99.5th percentile, ties and all', () => {
    const random = seededRandom(995);
    assert.equal(percentile995(new Float32Array(0)), 0);
    for (const length of [1, 2, 199, 200, 201, 601, 4_096, 65_536]) {
      for (const levels of [3, 1_000, 0]) {
        // levels: how many distinct values (many ties), or 0 for continuous ones.
        const values = Float32Array.from({ length }, () => (levels ? 1 + Math.floor(random() * levels) : random() ** 4));
        const sorted = values.slice().sort();
        const expected = sorted[Math.min(length - 1, Math.floor(length * 0.995))];
        assert.equal(percentile995(values), expected, `${length} values, ${levels || 'continuous'} levels`);
      }
    }
  });

  it('lists the entries the top reads in ascending order: every one after the first rows, or the LCG\'s draws', () => {
    assert.deepStrictEqual([...colourSampleOf(100)], Array.from({ length: 100 * 100 - 800 }, (_, d) => 800 + d));
    const drawn = colourSampleOf(300);
    assert.strictEqual(drawn.length, 65_536);
    assert.ok(drawn.every((v, d) => v >= 2_400 && v < 90_000 && (d === 0 || v >= drawn[d - 1])), 'ascending, after the first 8 rows');
    // The same entries the per-entry reading draws (colourTopByEntry), as a multiset.
    let seed = 12345;
    const lcg = Float64Array.from({ length: 65_536 }, () => 2_400 + ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % (90_000 - 2_400)));
    assert.deepStrictEqual([...drawn], [...lcg.sort()]);
  });
});

/** poolMax read block by block: the largest weight (signed: of largest magnitude) of each factor × factor block, causal blocks wholly above the diagonal NaN. */
function pooledByBlock(data: Float32Array, n: number, factor: number, causal: boolean, signed: boolean): Float32Array {
  const size = Math.ceil(n / factor);
  const out = new Float32Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      if (causal && c * factor > Math.min(n - 1, r * factor + factor - 1)) {
        out[r * size + c] = NaN;
        continue;
      }
      let best = 0;
      for (let i = r * factor; i < Math.min(n, (r + 1) * factor); i++) {
        for (let j = c * factor; j < Math.min(n, (c + 1) * factor, causal ? i + 1 : n); j++) {
          const v = data[i * n + j];
          if (signed ? Math.abs(v) > Math.abs(best) : v > best) best = v;
        }
      }
      out[r * size + c] = best;
    }
  }
  return out;
}

describe('max-pooled overviews (poolMax, poolMaxSteps)', () => {
  it('keep each block\'s largest weight, at once or a few rows a step, causal or not, signed or not', () => {
    const random = seededRandom(8);
    for (const n of [1, 7, 64, 301]) {
      for (const factor of [1, 2, 4, 8]) {
        for (const causal of [true, false]) {
          for (const signed of [false, true]) {
            const data = new Float32Array(n * n);
            for (let i = 0; i < n; i++) for (let j = 0; j < (causal ? i + 1 : n); j++) data[i * n + j] = signed ? random() - 0.5 : random();
            const m = { data, size: n, max: 1, colourMax: 0.9, ...(signed ? { signed: true } : {}) };
            const label = `${n} tokens, factor ${factor}, causal ${causal}, signed ${signed}`;
            const whole = poolMax(m, factor, causal);
            assert.deepStrictEqual(whole.data, pooledByBlock(data, n, factor, causal, signed), label);
            assert.deepStrictEqual([whole.size, whole.max, whole.colourMax, whole.signed], [Math.ceil(n / factor), 1, 0.9, signed ? true : undefined], `${label}: the full matrix's scale`);
            for (const rows of [1, 3, 64]) {
              const steps = poolMaxSteps(m, factor, causal, rows);
              let taken = 0;
              let step = steps.next();
              for (; !step.done; step = steps.next()) taken++;
              assert.strictEqual(taken, Math.ceil(n / rows) - 1, `${label}: a pause after every ${rows} rows`);
              assert.deepStrictEqual(step.value, whole, `${label}, ${rows} rows a step`);
            }
          }
        }
      }
    }
  });
});
