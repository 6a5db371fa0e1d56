// Causal matrices held as lower triangles (src/core/lowerTriangle.ts), as a run in chunks from a cache keeps
// its attention (cacheChunks.ts ChunkJoiner): decoding gives the matrices back exactly, the layered views read
// a layer or one head without decoding the whole tensor, and rows that are not 0 after their own token make
// the joiner hold that output in full, losing nothing.

import * as assert from 'assert';
import { headMatrix, layeredFromLayers, layeredFromTensor, maxOverHeads, meanOverHeads, type Tensor } from '../../src/core/analysis';
import { type ChunkPlan, ChunkJoiner } from '../../src/core/cacheChunks';
import { halfToFloatTable, toHalf } from '../../src/core/half';
import { DECODED_HEAD_BYTES, LowerTriangleTensor, decodeRow, decodedHeads, keptHeads } from '../../src/core/lowerTriangle';
import type { ModelManifest } from '../../src/core/manifest';
import { RolloutRows } from '../../src/core/rolloutRow';
import { seededRandom } from '../../src/core/seededRandom';
import { matrixOf, poolMax, pooledTriangleHead, pooledTriangleHeadSteps } from '../../webview/views/matrixOf';

const HALF_TO_FLOAT = halfToFloatTable();

/** `count` random causal T × T matrices, rows summing to 1. */
function causal(count: number, T: number, seed = 1): Float32Array {
  const random = seededRandom(seed);
  const data = new Float32Array(count * T * T);
  for (let o = 0; o < count; o++) {
    for (let t = 0; t < T; t++) {
      const row = data.subarray((o * T + t) * T, (o * T + t) * T + t + 1);
      row.forEach((_, k) => (row[k] = random() + 0.01));
      const sum = row.reduce((a, b) => a + b, 0);
      row.forEach((x, k) => (row[k] = x / sum));
    }
  }
  return data;
}

function packed(dims: number[], data: Float32Array, half = false, blockRows?: number): LowerTriangleTensor {
  const t = new LowerTriangleTensor(dims, half, blockRows);
  const T = dims[dims.length - 1];
  for (let o = 0; o < t.matrices; o++) for (let r = 0; r < T; r++) t.setRow(o, r, data.subarray((o * T + r) * T, (o * T + r + 1) * T));
  return t;
}

/** The half-precision value nearest to x (ties to even), from its binade's step in float64: a reference. */
function nearestHalf(x: number): number {
  const a = Math.abs(x);
  if (a >= 65520) return Math.sign(x) * Infinity;
  const step = a < 2 ** -14 ? 2 ** -24 : 2 ** (Math.floor(Math.log2(a)) - 10);
  const q = a / step;
  let n = Math.floor(q);
  if (q - n > 0.5 || (q - n === 0.5 && n % 2 === 1)) n++;
  return Math.sign(x) * n * step;
}

/** Half-precision bits of a float32 value, as the joiner computes them. */
function halfBits(x: number): number {
  const f = new Float32Array([x]);
  return toHalf(f[0], new Uint32Array(f.buffer)[0]);
}

// In one block of rows, and in blocks of 7 rows (as a run in chunks stores them, one block per chunk; 7 divides none of the sizes).
for (const blockRows of [undefined, 7]) {
describe(`matrices held as lower triangles${blockRows ? `, in blocks of ${blockRows} rows` : ''}`, () => {
  const pack = (dims: number[], data: Float32Array, half = false) => packed(dims, data, half, blockRows);
  it('half precision: every float32 rounds to the nearest half (ties to even), decoding is exact', () => {
    const exact: Array<[number, number]> = [[0, 0x0000], [1, 0x3c00], [0.5, 0x3800], [-2, 0xc000], [65504, 0x7bff], [2 ** -24, 0x0001], [2 ** -14, 0x0400], [1 / 3, 0x3555], [65520, 0x7c00], [-Infinity, 0xfc00]];
    for (const [x, bits] of exact) {
      assert.strictEqual(halfBits(x), bits, `${x}`);
      assert.strictEqual(HALF_TO_FLOAT[bits], nearestHalf(x));
    }
    assert.ok(Number.isNaN(HALF_TO_FLOAT[halfBits(NaN)]));
    assert.strictEqual(halfBits(1 + 2 ** -11), 0x3c00, 'a tie rounds to even (down)');
    assert.strictEqual(halfBits(1 + 3 * 2 ** -11), 0x3c02, 'a tie rounds to even (up)');
    const random = seededRandom(7);
    let worst = 0;
    for (let i = 0; i < 200_000; i++) {
      // Attention weights: 10^-9..1, and a few wider values of either sign.
      const x = Math.fround(i % 10 === 0 ? (random() - 0.5) * 2 ** (random() * 40 - 20) : 10 ** (-9 * random()));
      const got = HALF_TO_FLOAT[halfBits(x)];
      assert.strictEqual(got, nearestHalf(x), `${x}`);
      if (Math.abs(x) >= 2 ** -14 && Math.abs(x) <= 65504) worst = Math.max(worst, Math.abs(got - x) / Math.abs(x));
    }
    assert.ok(worst <= 2 ** -11, `relative error ${worst}`);
  });

  it('in half precision: half the bytes, each weight the nearest half, rows and rollout within the tolerance', () => {
    const T = 41;
    const L = 2;
    const H = 3;
    const data = causal(L * H, T, 3);
    const half = pack([L, H, T, T], data, true);
    assert.ok(half.half);
    assert.strictEqual(half.byteLength, (L * H * T * (T + 1)) / 2 * 2);
    const decoded = half.decode(0, L * H);
    decoded.forEach((x, i) => assert.strictEqual(x, nearestHalf(data[i]), `entry ${i}`));
    for (const [o, q, k] of [[0, 5, 3], [5, 40, 40], [3, 2, 9]]) assert.strictEqual(half.at(o, q, k), decoded[(o * T + q) * T + k]);
    for (let r = 0; r < L * H * T; r++) {
      const sum = decoded.subarray(r * T, (r + 1) * T).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) <= 2 ** -11, `row ${r} sums to ${sum}`);
    }
    // The mean and max over heads fold the triangles in place: bit for bit those of the decoded heads.
    const plainHalf = layeredFromTensor({ dims: [L, H, T, T], data: decoded });
    for (let l = 0; l < L; l++) {
      assert.deepStrictEqual(meanOverHeads(layeredFromTensor(half), l), meanOverHeads(plainHalf, l));
      assert.deepStrictEqual(maxOverHeads(layeredFromTensor(half), l), maxOverHeads(plainHalf, l));
    }
    // Rollout reads the triangles in place, each row decoded: the rollout of the decoded matrices.
    const rows = new RolloutRows(layeredFromTensor(half), { mask: 'causal', normalised: true });
    const reference = new RolloutRows(layeredFromTensor({ dims: [L, H, T, T], data: decoded }), { mask: 'causal', normalised: true });
    for (const t of [0, 17, T - 1]) rows.row(t).forEach((x, k) => assert.ok(Math.abs(x - reference.row(t)[k]) <= 1e-6, `row ${t}, key ${k}`));
    assert.strictEqual(half.decodedInFull, false);
  });

  it('decode to the same matrices, in half the floats', () => {
    const T = 37;
    const data = causal(6, T);
    const t = pack([2, 3, T, T], data);
    assert.strictEqual(t.byteLength, ((6 * T * (T + 1)) / 2) * 4);
    assert.deepStrictEqual(t.decode(0, 6), data);
    assert.deepStrictEqual(t.decode(4, 5), data.subarray(4 * T * T, 5 * T * T));
    assert.strictEqual(t.decodedInFull, false);
    assert.deepStrictEqual(t.data, data);
    assert.strictEqual(t.decodedInFull, true);
  });

  it('are read by layer and by head through the layered views, never decoding the whole tensor', () => {
    const T = 20;
    const L = 3;
    const H = 4;
    const data = causal(L * H, T, 2);
    const one = pack([L, H, T, T], data);
    const perLayer = Array.from({ length: L }, (_, l) => pack([H, T, T], data.subarray(l * H * T * T, (l + 1) * H * T * T)));
    for (const m of [layeredFromTensor(one), layeredFromLayers(perLayer)]) {
      for (let l = 0; l < L; l++) {
        assert.deepStrictEqual(m.layer(l), data.subarray(l * H * T * T, (l + 1) * H * T * T));
        for (let h = 0; h < H; h++) assert.deepStrictEqual(headMatrix(m, l, h), data.subarray((l * H + h) * T * T, (l * H + h + 1) * T * T));
      }
      assert.strictEqual(m.layer(2), m.layer(2), 'a layer read again is the one decoded');
      for (const [l, h, q, k] of [[0, 0, 5, 3], [2, 1, 7, 9], [1, 3, 19, 19]]) assert.strictEqual(m.value!(l, h, q, k), data[((l * H + h) * T + q) * T + k]);
      // Decoded into one reused buffer (the model view's thumbnails): each head right, the buffer returned.
      const scratch = new Float32Array(T * T);
      for (const [l, h] of [[0, 1], [2, 3], [1, 0]]) {
        assert.strictEqual(m.head!(l, h, scratch), scratch);
        assert.deepStrictEqual(scratch, data.subarray((l * H + h) * T * T, (l * H + h + 1) * T * T));
      }
      assert.throws(() => m.head!(0, H), /head 4 is outside 0\.\.3/);
    }
    const plainFloat = layeredFromTensor({ dims: [L, H, T, T], data });
    for (const m of [layeredFromTensor(one), layeredFromLayers(perLayer)]) {
      for (let l = 0; l < L; l++) {
        assert.deepStrictEqual(meanOverHeads(m, l), meanOverHeads(plainFloat, l), `mean, layer ${l}`);
        assert.deepStrictEqual(maxOverHeads(m, l), maxOverHeads(plainFloat, l), `max, layer ${l}`);
      }
    }
    assert.ok(!one.decodedInFull && perLayer.every((t) => !t.decodedInFull));
    // Decoded heads kept: a layer's worth up to 2,048 tokens, fewer past DECODED_HEAD_BYTES (3 of 12 at 4,096).
    assert.strictEqual(keptHeads(12, 2048 * 2048), 12);
    assert.strictEqual(keptHeads(12, 2049 * 2049), 11);
    assert.strictEqual(keptHeads(12, 4096 * 4096), 3);
    assert.strictEqual(keptHeads(12, 16384 * 16384), 1, 'at least the one shown');
    const m = layeredFromTensor(one);
    const first = m.head!(0, 0);
    assert.strictEqual(m.head!(0, 0), first, 'a head read again is the one kept');
    for (let h = 1; h < H; h++) m.head!(1, h);
    assert.strictEqual(m.head!(0, 0), first, `4 heads of ${T}² fit: still kept`);
    for (let h = 0; h < H; h++) m.head!(2, h);
    assert.notStrictEqual(m.head!(0, 0), first, 'the least recent was let go');
    assert.ok(DECODED_HEAD_BYTES >= 4 * 4 * T * T);
    const plain = layeredFromTensor({ dims: [L, H, T, T], data });
    assert.strictEqual(plain.head, undefined);
    assert.deepStrictEqual(headMatrix(plain, 1, 2), data.subarray((H + 2) * T * T, (H + 3) * T * T));
  });

  it('decode a head into the array prepared ahead (prepareHead), each array handed to one head only', () => {
    const T = 12;
    const L = 2;
    const H = 3;
    const data = causal(L * H, T, 5);
    const headOf = (l: number, h: number) => data.subarray((l * H + h) * T * T, (l * H + h + 1) * T * T);
    const one = pack([L, H, T, T], data);
    const perLayer = Array.from({ length: L }, (_, l) => pack([H, T, T], data.subarray(l * H * T * T, (l + 1) * H * T * T)));
    for (const m of [layeredFromTensor(one), layeredFromLayers(perLayer)]) {
      const decoded: Float32Array[] = [];
      for (const [l, h] of [[0, 0], [0, 1], [1, 2], [1, 0]]) {
        m.prepareHead!();
        m.prepareHead!(); // a second call keeps the array not yet used
        decoded.push(m.head!(l, h));
        assert.deepStrictEqual(decoded[decoded.length - 1], headOf(l, h), `head ${h} of layer ${l}, prepared`);
      }
      decoded.push(m.head!(0, 2)); // none prepared: allocated then
      assert.deepStrictEqual(decoded[4], headOf(0, 2));
      assert.strictEqual(new Set(decoded).size, decoded.length, 'no two heads share an array');
      assert.deepStrictEqual(decoded[0], headOf(0, 0), 'what later decodes wrote did not reach an earlier head');
    }
    // The decode is handed the prepared array (zeros: the decode writes only the lower triangle), once.
    const given: Array<Float32Array | undefined> = [];
    const heads = decodedHeads(H, T * T, (l, h, into) => (given.push(into), into ?? new Float32Array(T * T)));
    heads.prepare();
    const first = heads.head(0, 0);
    heads.head(0, 1);
    assert.ok(given[0] instanceof Float32Array && given[0].length === T * T && given[0].every((x) => x === 0), 'the prepared array, zeros');
    assert.strictEqual(first, given[0], 'kept as that head');
    assert.strictEqual(given[1], undefined, 'used once: the next decode allocates');
    // Not where a layer is a plain tensor (its heads are views: a prepared array would make them copies).
    const mixed = layeredFromLayers([perLayer[0], { dims: [H, T, T], data: data.slice(H * T * T) }]);
    assert.strictEqual(mixed.prepareHead, undefined);
  });

  it('decode a head row by row (the heatmap\'s idle-time steps) to the decoded head, bit for bit', () => {
    for (const half of [false, true]) {
      const T = 30;
      const H = 2;
      const tensor = pack([2, H, T, T], causal(2 * H, T, 9), half);
      for (const layer of [0, 1]) {
        const rows = tensor.rowsFrom(layer * H);
        for (let h = 0; h < H; h++) {
          const out = new Float32Array(T * T);
          for (let t = 0; t < T; t++) decodeRow(rows, h, t, out, t * T);
          const expected = tensor.decode(layer * H + h, layer * H + h + 1);
          assert.ok(out.every((x, i) => Object.is(x, expected[i])), `layer ${layer}, head ${h}${half ? ' (half)' : ''}`);
        }
      }
    }
  });

  it('give the model view\'s thumbnails read from the rows, bit for bit those of the decoded heads', () => {
    // 100 tokens: every entry of the later rows feeds the colour scale; 300: a random sample of them does.
    for (const [T, half] of [[100, false], [300, false], [300, true]] as const) {
      const H = 3;
      const tensor = pack([H, T, T], causal(H, T, T), half);
      const rows = tensor.rowsFrom(0);
      for (let h = 0; h < H; h++) {
        for (const factor of [2, 3, 7]) {
          const expected = poolMax(matrixOf(tensor.decode(h, h + 1), T), factor, true);
          const got = pooledTriangleHead(rows, h, T, factor);
          const label = `T ${T}${half ? ' (half)' : ''}, head ${h}, factor ${factor}`;
          assert.strictEqual(got.size, expected.size, label);
          assert.deepStrictEqual([got.max, got.colourMax, got.signed], [expected.max, expected.colourMax, expected.signed], label);
          assert.ok(got.data.every((x, i) => Object.is(x, expected.data[i])), `${label}: the pooled pixels differ`);
          // In steps of 7 rows (the model view draws a large thumbnail over several tasks): the same Matrix.
          const steps = pooledTriangleHeadSteps(rows, h, T, factor, 7);
          let pauses = 0;
          let step = steps.next();
          for (; !step.done; step = steps.next()) pauses++;
          assert.strictEqual(pauses, Math.floor((T - 1) / 7) + 1, label);
          assert.deepStrictEqual(step.value, got, label);
        }
      }
    }
  });

  it('give rollout rows and columns equal to the full matrices', () => {
    const T = 24;
    const L = 3;
    const H = 2;
    const data = causal(L * H, T, 6);
    const plain = layeredFromTensor({ dims: [L, H, T, T], data });
    const held = pack([L, H, T, T], data);
    for (const normalised of [true, false]) {
      const a = new RolloutRows(plain, { mask: 'causal', normalised });
      const b = new RolloutRows(layeredFromTensor(held), { mask: 'causal', normalised });
      for (const i of [0, 7, T - 1]) {
        assert.deepStrictEqual(b.row(i), a.row(i));
        assert.deepStrictEqual(b.column(i), a.column(i));
      }
    }
    assert.strictEqual(held.decodedInFull, false);
  });
});
}

describe('matrices held as lower triangles, joined from chunks', () => {
  const T = 12;
  const H = 2;
  const manifest = { outputs: [] } as unknown as ModelManifest;
  const plan: ChunkPlan = { seeds: [], joins: { w: 'rows' }, rowFloats: H };
  /** Chunk [H, n, start + n] of full [H, T, T] matrices: the rows of its queries over the keys they saw. */
  const chunkOf = (full: Float32Array, start: number, n: number): Tensor => {
    const keys = start + n;
    const data = new Float32Array(H * n * keys);
    for (let h = 0; h < H; h++) for (let r = 0; r < n; r++) data.set(full.subarray((h * T + start + r) * T, (h * T + start + r) * T + keys), (h * n + r) * keys);
    return { dims: [H, n, keys], data };
  };
  /** The joined output, and the bytes its triangles had allocated after each chunk. */
  const join = async (full: Float32Array, yieldControl?: () => Promise<void>) => {
    const joiner = new ChunkJoiner(manifest, plan, T);
    const allocated: number[] = [];
    for (const [start, n] of [[0, 5], [5, 5], [10, 2]]) {
      await joiner.add({ w: chunkOf(full, start, n) }, n, yieldControl);
      const w = joiner.result().w;
      allocated.push(w instanceof LowerTriangleTensor ? w.allocatedBytes : NaN);
    }
    return Object.assign(joiner.result().w, { allocated });
  };

  it('holds causal rows as lower triangles, the same values (yielding between slices or not), a block per chunk', async () => {
    const full = causal(H, T, 3);
    const w = await join(full);
    assert.ok(w instanceof LowerTriangleTensor);
    assert.deepStrictEqual(w.data, full);
    // Rows 0–4, 5–9 and 10–11 of both heads: 15, 40 and 23 weights each, allocated as their chunk arrives.
    assert.deepStrictEqual(w.allocated, [2 * 15 * 4, 2 * (15 + 40) * 4, 2 * (15 + 40 + 23) * 4]);
    assert.strictEqual(w.byteLength, w.allocated[2]);
    const yielded = await join(full, () => new Promise((resolve) => setTimeout(resolve, 0)));
    assert.deepStrictEqual(yielded.data, full);
  });

  it('holds the output in full once a row is not 0 after its own token, losing nothing', async () => {
    const full = causal(H, T, 4);
    full[(1 * T + 7) * T + 9] = 0.25; // head 1, row 7 (second chunk) reads key 9
    const w = await join(full);
    assert.ok(!(w instanceof LowerTriangleTensor));
    assert.deepStrictEqual(w.dims, [H, T, T]);
    assert.deepStrictEqual(w.data, full);
  });
});
