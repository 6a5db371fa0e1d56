// The hidden attention of a selective scan (Ali, Zimerman & Wolf 2024) on seeded random parts (L = 2, D = 5,
// N = 3, T = 9): the fast per-channel code against a direct implementation of the formula, the output rebuilt
// from α against a plain sequential scan, nothing above the diagonal, a case worked by hand, the early stop of
// a fully decayed column, and the derived mixing family a manifest with the scan's parts gets (structure,
// matrices, rollout, memory estimate, context memory).

import * as assert from 'assert';
import type { Tensor } from '../../src/core/analysis';
import type { Analysis } from '../../src/core/analyze';
import { contextMemory } from '../../src/core/contextMemory';
import { type SelectiveScanTensors, hiddenAttention, hiddenAttentionChannel, hiddenAttentionMean, reconstructScanOutput, scanChannel, scanDims } from '../../src/core/hiddenAttention';
import { influenceMatrix } from '../../src/core/influenceMatrix';
import type { AxisSpec, OutputSpec } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { DERIVED_WORKING_SET_FACTOR, WORKING_SET_FACTOR, runMemory } from '../../src/core/memoryEstimate';
import { HIDDEN_ATTENTION_KEY, canonicalTensor, modelStructure } from '../../src/core/modelStructure';
import { familyRollout, layerCount, mainMixing, mixingMatrices, selectiveScanData } from '../../src/core/roleData';
import { seededRandom } from './seeded';

const [L, D, N, T] = [2, 5, 3, 9];

/** Seeded random scan parts: Δ in [0.05, 0.6], A in [-2, -0.1], the rest in [-1, 1]; y from sequentialScan. */
function randomScan(seed: number): SelectiveScanTensors {
  const random = seededRandom(seed);
  const fill = (dims: number[], lo: number, hi: number): Tensor => ({ dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * random()) });
  const scan: SelectiveScanTensors = { x: fill([L, T, D], -1, 1), delta: fill([L, T, D], 0.05, 0.6), A: fill([L, D, N], -2, -0.1), B: fill([L, T, N], -1, 1), C: fill([L, T, N], -1, 1), D: fill([L, D], -1, 1) };
  return { ...scan, y: sequentialScan(scan) };
}

/** The scan as the model runs it, token by token: h_t = exp(Δ_t A) h_{t-1} + Δ_t x_t B_t, y_t = C_t · h_t + D x_t. */
function sequentialScan(s: SelectiveScanTensors): Tensor {
  const [layers, steps, channels] = s.x.dims;
  const states = s.A.dims[2];
  const y = new Float32Array(layers * steps * channels);
  for (let l = 0; l < layers; l++) {
    const h = new Float64Array(channels * states);
    for (let t = 0; t < steps; t++) {
      for (let d = 0; d < channels; d++) {
        const i = (l * steps + t) * channels + d;
        let out = (s.D ? s.D.data[l * channels + d] : 0) * s.x.data[i];
        for (let n = 0; n < states; n++) {
          const a = s.A.data[(l * channels + d) * states + n];
          const j = (l * steps + t) * states + n;
          h[d * states + n] = Math.exp(s.delta.data[i] * a) * h[d * states + n] + s.delta.data[i] * s.x.data[i] * s.B.data[j];
          out += s.C.data[j] * h[d * states + n];
        }
        y[i] = out;
      }
    }
  }
  return { dims: [layers, steps, channels], data: y };
}

/** α_d(t, k) straight from the formula: Σ_n C_t[n] exp(A[d, n] Σ_{s=k+1..t} Δ_s[d]) Δ_k[d] B_k[n], 0 for k > t. */
function directAlpha(s: SelectiveScanTensors, l: number, d: number, t: number, k: number): number {
  if (k > t) return 0;
  const [, steps, channels] = s.x.dims;
  const states = s.A.dims[2];
  const delta = (u: number) => s.delta.data[(l * steps + u) * channels + d];
  let span = 0;
  for (let u = k + 1; u <= t; u++) span += delta(u);
  let sum = 0;
  for (let n = 0; n < states; n++) {
    const a = s.A.data[(l * channels + d) * states + n];
    sum += s.C.data[(l * steps + t) * states + n] * Math.exp(a * span) * delta(k) * s.B.data[(l * steps + k) * states + n];
  }
  return sum;
}

const near = (got: number, want: number, eps: number, what: string) => assert.ok(Math.abs(got - want) <= eps, `${what}: ${got} != ${want}`);

describe('hidden attention of a selective scan', () => {
  const scan = randomScan(7);

  it('per channel equals the formula computed directly, and the layer mean is the mean over channels', () => {
    assert.deepStrictEqual(scanDims(scan), { L, T, D, N });
    for (let l = 0; l < L; l++) {
      const mean = hiddenAttentionMean(scan, l);
      const sum = new Float64Array(T * T);
      for (let d = 0; d < D; d++) {
        const alpha = hiddenAttentionChannel(scan, l, d);
        for (let t = 0; t < T; t++) {
          for (let k = 0; k < T; k++) {
            near(alpha[t * T + k], directAlpha(scan, l, d, t, k), 1e-6, `layer ${l} channel ${d} α(${t}, ${k})`);
            sum[t * T + k] += directAlpha(scan, l, d, t, k);
          }
        }
      }
      for (let i = 0; i < T * T; i++) near(mean[i], sum[i] / D, 1e-6, `layer ${l} mean [${i}]`);
    }
  });

  it('rebuilds the scan output from α, x and D: equal to a plain sequential scan within 1e-5', () => {
    let checked = 0;
    for (let l = 0; l < L; l++) {
      for (let d = 0; d < D; d++) {
        const y = reconstructScanOutput(hiddenAttentionChannel(scan, l, d), scanChannel(scan.x, l, d), scan.D!.data[l * D + d]);
        const want = scanChannel(scan.y!, l, d);
        for (let t = 0; t < T; t++, checked++) near(y[t], want[t], 1e-5, `layer ${l} channel ${d} y_${t}`);
      }
    }
    assert.strictEqual(checked, L * D * T);
  });

  it('is exactly 0 for k > t, per channel and in the layer mean', () => {
    const matrices = [hiddenAttentionMean(scan, 0), hiddenAttentionMean(scan, 1), hiddenAttentionChannel(scan, 1, 4)];
    for (const m of matrices) for (let t = 0; t < T; t++) for (let k = t + 1; k < T; k++) assert.strictEqual(m[t * T + k], 0, `α(${t}, ${k})`);
    // …and not 0 on and below it (random parts), so the test above cannot pass on an empty matrix.
    assert.ok(matrices.every((m) => Array.from({ length: T }, (_, t) => m[t * T]).every((v) => v !== 0)));
  });

  it('one channel, one state, three tokens, by hand', () => {
    // A = -ln 2, so exp(Δ A) = 2^-Δ. Δ = [1, 1, 2], B = [1, 2, 1], C = [1, 1, 3]:
    // α(0,0) = 1; α(1,0) = 1·2^-1·1 = ½, α(1,1) = 1·2 = 2; α(2,0) = 3·2^-3·1 = ⅜, α(2,1) = 3·2^-2·2 = 1.5, α(2,2) = 3·2·1 = 6.
    const one = (values: number[], dims: number[]): Tensor => ({ dims, data: Float32Array.from(values) });
    const hand: SelectiveScanTensors = { x: one([1, -1, 2], [1, 3, 1]), delta: one([1, 1, 2], [1, 3, 1]), A: one([-Math.LN2], [1, 1, 1]), B: one([1, 2, 1], [1, 3, 1]), C: one([1, 1, 3], [1, 3, 1]), D: one([0.5], [1, 1]) };
    const alpha = hiddenAttentionChannel(hand, 0, 0);
    [1, 0, 0, 0.5, 2, 0, 0.375, 1.5, 6].forEach((want, i) => near(alpha[i], want, 1e-6, `α[${i}]`));
    assert.deepStrictEqual(Array.from(hiddenAttentionMean(hand, 0)), Array.from(alpha), 'one channel: the mean is the channel');
    // y = α x + D x: h = 1, -1.5, 3.625 step by step, so y = 1.5, -2, 11.875.
    const y = reconstructScanOutput(alpha, [1, -1, 2], 0.5);
    [1.5, -2, 11.875].forEach((want, t) => near(y[t], want, 1e-6, `y_${t}`));
    near(sequentialScan(hand).data[2], 11.875, 1e-6, 'sequential y_2');
  });

  it('stops a column once its carried vector has decayed below 1e-12 of its start', () => {
    // exp(Δ A) = e^-40 ≈ 4e-18 per step: the first step below the diagonal is kept, the rest of the column is 0.
    const one = (values: number[], dims: number[]): Tensor => ({ dims, data: Float32Array.from(values) });
    const fast: SelectiveScanTensors = { x: one([1, 1, 1, 1], [1, 4, 1]), delta: one([1, 1, 1, 1], [1, 4, 1]), A: one([-40], [1, 1, 1]), B: one([1, 1, 1, 1], [1, 4, 1]), C: one([1, 1, 1, 1], [1, 4, 1]) };
    const alpha = hiddenAttentionChannel(fast, 0, 0);
    for (let k = 0; k < 3; k++) {
      assert.strictEqual(alpha[k * 4 + k], 1);
      near(alpha[(k + 1) * 4 + k], Math.exp(-40), 1e-22, `α(${k + 1}, ${k})`);
      for (let t = k + 2; t < 4; t++) assert.strictEqual(alpha[t * 4 + k], 0, `α(${t}, ${k}) after the stop`);
    }
  });

  it('names the part whose shape disagrees', () => {
    assert.throws(() => hiddenAttention({ ...scan, B: { dims: [L, T, N + 1], data: new Float32Array(L * T * (N + 1)) } }), /selective scan part "B" is \[2, 9, 4\] with 72 values; expected \[layer, position, state\] = \[2, 9, 3\]/);
    assert.throws(() => hiddenAttentionChannel(scan, 0, D), /channel 5 is outside 0..4/);
    assert.throws(() => hiddenAttention(scan).layer(L), /layer 2 is outside 0..1/);
  });

  describe('as a derived mixing family', () => {
    const B: AxisSpec = { name: 'batch' };
    const ax = (name: AxisSpec['name'], size: number | string): AxisSpec => ({ name, size });
    const part = (p: string, names: Array<[AxisSpec['name'], number | string]>, batch = true): OutputSpec => ({
      name: `ssm_${p}`, role: 'selective_scan', part: p, dtype: 'float32',
      axes: [ax(names[0][0], names[0][1]), ...(batch ? [B] : []), ...names.slice(1).map(([n, s]) => ax(n, s))],
    });
    const outputs: OutputSpec[] = [
      { name: 'logits', role: 'logits', dtype: 'float32', axes: [B, ax('position', 'T'), ax('vocab', 3)] },
      part('x', [['layer', L], ['position', 'T'], ['unit', D]]),
      part('delta', [['layer', L], ['position', 'T'], ['unit', D]]),
      part('A', [['layer', L], ['unit', D], ['state', N]], false),
      part('B', [['layer', L], ['position', 'T'], ['state', N]]),
      part('C', [['layer', L], ['position', 'T'], ['state', N]]),
      part('D', [['layer', L], ['unit', D]], false),
      part('y', [['layer', L], ['position', 'T'], ['unit', D]]),
    ];
    const result = validateManifest({
      schemaVersion: 2, id: 'scan', displayName: 'Scan', architecture: 'test', description: '', parameters: 1, dimensions: {}, license: 'MIT',
      sequences: { tokens: { length: 'T' } }, inputs: [{ name: 'ids', role: 'input_ids', dtype: 'int64', axes: [B, ax('position', 'T')] }], outputs, tokenizer: { file: 'tokenizer.json' },
    });
    assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
    const manifest = result.manifest;
    const values: Record<string, Tensor> = { logits: { dims: [T, 3], data: new Float32Array(T * 3) }, ssm_x: scan.x, ssm_delta: scan.delta, ssm_A: scan.A, ssm_B: scan.B, ssm_C: scan.C, ssm_D: scan.D!, ssm_y: scan.y! };
    const tokens = Array.from({ length: T }, (_, i) => ({ id: i, text: `t${i}`, start: i, end: i + 1, partial: false, special: false }));
    const analysis = { manifest, structure: modelStructure(manifest), outputs: values, tokens, sequences: [], surprisal: new Float32Array(T) } as unknown as Analysis;

    it('has the parts and a derived family: causal, signed, not normalised, no outputs of its own', () => {
      const s = modelStructure(manifest);
      assert.deepStrictEqual(Object.keys(s.selectiveScan!).sort(), ['A', 'B', 'C', 'D', 'delta', 'x', 'y']);
      assert.strictEqual(s.mixing.length, 1);
      const f = s.mixing[0];
      assert.deepStrictEqual(
        { key: f.key, label: f.label, role: f.role, mask: f.mask, normalised: f.normalised, signed: f.signed, query: f.query, keys: f.keys, outputs: f.outputs, derived: f.derived },
        { key: HIDDEN_ATTENTION_KEY, label: 'hidden attention', role: 'mixing', mask: 'causal', normalised: false, signed: true, query: 'tokens', keys: 'tokens', outputs: [], derived: 'selective_scan' },
      );
      assert.strictEqual(mainMixing(analysis), f);
    });

    it('mixingMatrices gives [L][1][T][T], the mean over channels, and the views can roll it out', () => {
      const f = analysis.structure.mixing[0];
      const m = mixingMatrices(analysis, f);
      assert.deepStrictEqual([m.layers, m.heads, m.rows, m.cols], [L, 1, T, T]);
      assert.strictEqual(layerCount(analysis), L);
      for (let l = 0; l < L; l++) assert.deepStrictEqual(Array.from(m.layer(l)), Array.from(hiddenAttentionMean(selectiveScanData(analysis)!, l)));
      assert.strictEqual(m.layer(1), m.layer(1), 'each layer computed once');
      const r = familyRollout(analysis, f)!;
      for (let t = 0; t < T; t++) near(r.subarray(t * T, (t + 1) * T).reduce((a, b) => a + b, 0), 1, 1e-5, `rollout row ${t}`);
      const w = influenceMatrix(analysis, 'rollout')!;
      assert.strictEqual(w.label, 'hidden attention rollout over all layers (rows normalised)');
    });

    it('reads parts exported in another axis order in canonical order', () => {
      // x exported [unit, batch, layer, position] and A [state, layer, unit] read back as [L, T, D] and [L, D, N].
      const x = { dims: [D, L, T], data: new Float32Array(D * L * T) };
      for (let l = 0; l < L; l++) for (let t = 0; t < T; t++) for (let d = 0; d < D; d++) x.data[(d * L + l) * T + t] = scan.x.data[(l * T + t) * D + d];
      const A = { dims: [N, L, D], data: new Float32Array(N * L * D) };
      for (let l = 0; l < L; l++) for (let d = 0; d < D; d++) for (let n = 0; n < N; n++) A.data[(n * L + l) * D + d] = scan.A.data[(l * D + d) * N + n];
      const xSpec: OutputSpec = { ...outputs[1], axes: [ax('unit', D), B, ax('layer', L), ax('position', 'T')] };
      const aSpec: OutputSpec = { ...outputs[3], axes: [ax('state', N), ax('layer', L), ax('unit', D)] };
      assert.deepStrictEqual(canonicalTensor(xSpec, x), scan.x);
      assert.deepStrictEqual(canonicalTensor(aSpec, A), scan.A);
    });

    it('counts the T² matrices in the memory estimate, and no context memory for them', () => {
      const memory = runMemory(manifest, 100);
      assert.strictEqual(memory.derivedBytes, 4 * L * 100 * 100);
      assert.strictEqual(memory.bytes, memory.outputBytes * WORKING_SET_FACTOR + memory.derivedBytes * DERIVED_WORKING_SET_FACTOR);
      const at2048 = runMemory(manifest, 2048);
      assert.deepStrictEqual(at2048.largest, { text: 'hidden attention of 2 layers at 2,048 tokens', bytes: 4 * L * 2048 * 2048 });
      assert.deepStrictEqual(contextMemory(manifest, 100), { kind: 'none', bytes: 0, growth: 'constant' });
    });
  });
});
