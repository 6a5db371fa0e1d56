// Causal linear attention (φ(x) = elu(x) + 1) on seeded random factors: the parallel form (W, then W · v) and
// the recurrent form (S_t, z_t) give the same output, W's rows sum to 1 with nothing above the diagonal, the
// recurrent state keeps one size whatever T is, a case worked by hand, and a manifest with the factors (role
// mixing_parts) and the states S and z read through roleData in canonical order, matching the formulas.

import * as assert from 'assert';
import type { Tensor } from '../../src/core/analysis';
import type { Analysis } from '../../src/core/analyze';
import { layerOf, linearAttentionParallel, linearAttentionRecurrent, linearAttentionStates, linearAttentionWeights } from '../../src/core/linearAttention';
import type { AxisSpec, OutputSpec } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { modelStructure } from '../../src/core/modelStructure';
import { mixingMatrices, mixingPartsData, stateData } from '../../src/core/roleData';
import { seededRandom } from './seeded';

const phi = (x: number) => (x > 0 ? x + 1 : Math.exp(x));

/** Random [H, T, F] (φ applied when `positive`), seeded. */
function randomTensor(random: () => number, dims: number[], positive: boolean): Tensor {
  const data = Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => {
    const x = 4 * random() - 2;
    return positive ? phi(x) : x;
  });
  return { dims, data };
}

const near = (got: number, want: number, eps: number, what: string) => assert.ok(Math.abs(got - want) <= eps, `${what}: ${got} != ${want}`);

describe('causal linear attention', () => {
  const [H, T, F, V] = [2, 11, 4, 3];
  const random = seededRandom(11);
  const q = randomTensor(random, [H, T, F], true);
  const k = randomTensor(random, [H, T, F], true);
  const v = randomTensor(random, [H, T, V], false);

  it('the parallel and the recurrent form give the same output within 1e-5', () => {
    const parallel = linearAttentionParallel(q, k, v);
    const recurrent = linearAttentionRecurrent(q, k, v);
    assert.deepStrictEqual(parallel.output.dims, [H, T, V]);
    assert.deepStrictEqual(recurrent.output.dims, [H, T, V]);
    parallel.output.data.forEach((x, i) => near(recurrent.output.data[i], x, 1e-5, `output[${i}]`));
    assert.ok(parallel.output.data.some((x) => Math.abs(x) > 0.1), 'the outputs are not all (near) zero');
  });

  it('W: rows sum to 1, nothing above the diagonal, every weight positive on and below it', () => {
    const w = linearAttentionWeights(q, k);
    assert.deepStrictEqual(w.dims, [H, T, T]);
    for (let h = 0; h < H; h++) {
      for (let t = 0; t < T; t++) {
        const row = w.data.subarray((h * T + t) * T, (h * T + t + 1) * T);
        near(row.reduce((a, b) => a + b, 0), 1, 1e-6, `head ${h} row ${t} sum`);
        for (let j = 0; j < T; j++) {
          if (j > t) assert.strictEqual(row[j], 0, `head ${h} W(${t}, ${j})`);
          else assert.ok(row[j] > 0, `head ${h} W(${t}, ${j}) = ${row[j]}`);
        }
      }
    }
  });

  it('keeps a recurrent state of one size whatever T is; the last per-token state is the final one', () => {
    const prefix = (t: Tensor, n: number): Tensor => {
      const [heads, steps, width] = t.dims;
      const data = new Float32Array(heads * n * width);
      for (let h = 0; h < heads; h++) data.set(t.data.subarray(h * steps * width, (h * steps + n) * width), h * n * width);
      return { dims: [heads, n, width], data };
    };
    const short = linearAttentionRecurrent(prefix(q, 2), prefix(k, 2), prefix(v, 2));
    const long = linearAttentionRecurrent(q, k, v);
    assert.deepStrictEqual(short.S.dims, [H, F, V]);
    assert.deepStrictEqual(long.S.dims, [H, F, V]);
    assert.deepStrictEqual([short.z.dims, long.z.dims], [[H, F], [H, F]]);
    assert.strictEqual(short.S.data.length, long.S.data.length);
    const states = linearAttentionStates(k, v);
    assert.deepStrictEqual([states.S.dims, states.z.dims], [[T, H, F, V], [T, H, F]]);
    long.S.data.forEach((x, i) => near(states.S.data[(T - 1) * H * F * V + i], x, 1e-5, `S[${i}]`));
    long.z.data.forEach((x, i) => near(states.z.data[(T - 1) * H * F + i], x, 1e-5, `z[${i}]`));
  });

  it('one head, one feature, two tokens, by hand', () => {
    // φq = [1, 2], φk = [1, 3], v = [10, 20]: W(1, ·) = [2·1, 2·3] / 8 = [¼, ¾]; out_1 = 2.5 + 15 = 17.5.
    // Recurrent: S_1 = 1·10 + 3·20 = 70, z_1 = 4, out_1 = 70·2 / (4·2) = 17.5.
    const one = (values: number[]): Tensor => ({ dims: [1, 2, 1], data: Float32Array.from(values) });
    const { weights, output } = linearAttentionParallel(one([1, 2]), one([1, 3]), one([10, 20]));
    assert.deepStrictEqual(Array.from(weights.data), [1, 0, 0.25, 0.75]);
    assert.deepStrictEqual(Array.from(output.data), [10, 17.5]);
    const recurrent = linearAttentionRecurrent(one([1, 2]), one([1, 3]), one([10, 20]));
    assert.deepStrictEqual(Array.from(recurrent.output.data), [10, 17.5]);
    assert.deepStrictEqual([Array.from(recurrent.S.data), Array.from(recurrent.z.data)], [[70], [4]]);
  });

  it('names the factor whose shape disagrees', () => {
    assert.throws(() => linearAttentionWeights(q, { dims: [H, T, F + 1], data: new Float32Array(H * T * (F + 1)) }), /linear attention key is \[2, 11, 5\]; expected \[2, 11, 4\] like the query/);
    assert.throws(() => linearAttentionParallel(q, k, { dims: [H, T - 1, V], data: new Float32Array(H * (T - 1) * V) }), /linear attention value is \[2, 10, 3\]; expected \[2, 11, feature\]/);
    assert.throws(() => layerOf(q, 0), /expected a tensor \[layer, head, position, feature\], got \[2, 11, 4\]/);
  });

  describe('read from a manifest with the factors and the states S and z', () => {
    const [L, Tm] = [2, 5];
    const B: AxisSpec = { name: 'batch' };
    const ax = (name: AxisSpec['name'], size: number | string): AxisSpec => ({ name, size });
    const factorAxes = [ax('layer', L), B, ax('head', H), ax('position', 'T'), ax('feature', F)];
    const outputs: OutputSpec[] = [
      { name: 'W', role: 'mixing', structure: 'causal', normalised: true, dtype: 'float32', axes: [ax('layer', L), B, ax('head', H), ax('query', 'T'), ax('key', 'T')] },
      { name: 'phi_q', role: 'mixing_parts', part: 'query', dtype: 'float32', axes: factorAxes },
      // Exported position-first, head after it: read back as [L, H, T, F].
      { name: 'phi_k', role: 'mixing_parts', part: 'key', dtype: 'float32', axes: [B, ax('layer', L), ax('position', 'T'), ax('head', H), ax('feature', F)] },
      { name: 'v', role: 'mixing_parts', part: 'value', dtype: 'float32', axes: factorAxes },
      { name: 'S', role: 'state', state: 'S', dtype: 'float32', axes: [ax('layer', L), B, ax('position', 'T'), ax('head', H), ax('state', F), ax('feature', F)] },
      { name: 'z', role: 'state', state: 'z', dtype: 'float32', axes: [ax('layer', L), B, ax('position', 'T'), ax('head', H), ax('state', F)] },
    ];
    const result = validateManifest({
      schemaVersion: 2, id: 'linear', displayName: 'Linear', architecture: 'test', description: '', parameters: 1, dimensions: {}, license: 'MIT',
      sequences: { tokens: { length: 'T' } }, inputs: [{ name: 'ids', role: 'input_ids', dtype: 'int64', axes: [B, ax('position', 'T')] }], outputs, tokenizer: { file: 'tokenizer.json' },
    });
    assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
    const manifest = result.manifest;
    const r = seededRandom(5);
    const perLayer = Array.from({ length: L }, () => ({ q: randomTensor(r, [H, Tm, F], true), k: randomTensor(r, [H, Tm, F], true), v: randomTensor(r, [H, Tm, F], false) }));
    const stack = (parts: Tensor[]): Tensor => ({ dims: [parts.length, ...parts[0].dims], data: Float32Array.from(parts.flatMap((p) => Array.from(p.data))) });
    // [H, T, F] → [T, H, F]: the layout phi_k is exported in.
    const positionFirst = (t: Tensor): Tensor => {
      const [heads, steps, width] = t.dims;
      const data = new Float32Array(t.data.length);
      for (let h = 0; h < heads; h++) for (let s = 0; s < steps; s++) data.set(t.data.subarray((h * steps + s) * width, (h * steps + s + 1) * width), (s * heads + h) * width);
      return { dims: [steps, heads, width], data };
    };
    const states = perLayer.map((p) => linearAttentionStates(p.k, p.v));
    const values: Record<string, Tensor> = {
      W: stack(perLayer.map((p) => linearAttentionWeights(p.q, p.k))),
      phi_q: stack(perLayer.map((p) => p.q)),
      phi_k: stack(perLayer.map((p) => positionFirst(p.k))),
      v: stack(perLayer.map((p) => p.v)),
      S: stack(states.map((s) => s.S)),
      z: stack(states.map((s) => s.z)),
    };
    const tokens = Array.from({ length: Tm }, (_, i) => ({ id: i, text: `t${i}`, start: i, end: i + 1, partial: false, special: false }));
    const analysis = { manifest, structure: modelStructure(manifest), outputs: values, tokens, sequences: [], surprisal: new Float32Array(Tm) } as unknown as Analysis;

    it('has the factors in the structure and reads them as [L, H, T, F]; W from them is the mixing output', () => {
      const s = modelStructure(manifest);
      assert.deepStrictEqual([s.mixingParts?.query.name, s.mixingParts?.key.name, s.mixingParts?.value?.name, s.mixingParts?.output], ['phi_q', 'phi_k', 'v', undefined]);
      assert.deepStrictEqual(s.mixing.map((f) => f.key), ['mixing/mixing'], 'no derived family for a linear attention');
      const parts = mixingPartsData(analysis)!;
      assert.deepStrictEqual(parts.key.dims, [L, H, Tm, F]);
      const w = mixingMatrices(analysis, s.mixing[0]);
      for (let l = 0; l < L; l++) {
        assert.deepStrictEqual(Array.from(layerOf(parts.key, l).data), Array.from(perLayer[l].k.data));
        const fromParts = linearAttentionWeights(layerOf(parts.query, l), layerOf(parts.key, l));
        fromParts.data.forEach((x, i) => near(w.layer(l)[i], x, 1e-6, `layer ${l} W[${i}]`));
      }
    });

    it('stateData folds the head, state and feature axes of S and z into units', () => {
      const [S, z] = stateData(analysis);
      assert.deepStrictEqual([S.family.state, S.tensor.dims], ['S', [L, Tm, H * F * F]]);
      assert.deepStrictEqual([z.family.state, z.tensor.dims], ['z', [L, Tm, H * F]]);
      // Unit u of S at (l, t) is (head, state, feature) in that order: S_t[h][f][j] = Σ_{k≤t} φk_k[f] v_k[j].
      const [l, t, h, f, j] = [1, 3, 1, 2, 0];
      let want = 0;
      for (let s = 0; s <= t; s++) want += perLayer[l].k.data[(h * Tm + s) * F + f] * perLayer[l].v.data[(h * Tm + s) * F + j];
      near(S.tensor.data[(l * Tm + t) * H * F * F + (h * F + f) * F + j], want, 1e-5, 'S unit');
    });
  });
});
