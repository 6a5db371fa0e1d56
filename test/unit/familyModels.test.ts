// Why: the four family-tree models (Elman RNN, linear attention, sliding window, selective state-space model)
// are only worth showing if the W(t, k) the views draw is exactly what the model computes. Each test runs the
// bundled model in real onnxruntime-web (wasm, in Node) on the reference texts and rebuilds an output from
// other exported tensors with the core's own math: linear attention's output from its matrix and from its
// recurrent state, the state-space model's scan output from its hidden attention, the window's mask, the
// Elman RNN's state carried across chunks. Fidelity to PyTorch is test/unit/models.test.ts (data in models.json).

import * as assert from 'assert';
import * as ort from 'onnxruntime-web';
import type { Tensor } from '../../src/core/analysis';
import { ModelRunner, OrtModule, RunOutputs } from '../../src/core/engine';
import { hiddenAttentionChannel, reconstructScanOutput, scanChannel } from '../../src/core/hiddenAttention';
import { layerOf, linearAttentionParallel, linearAttentionRecurrent, linearAttentionStates, linearAttentionWeights } from '../../src/core/linearAttention';
import { loadBundled } from './bundledModel';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';


async function runAll(id: string): Promise<Array<{ name: string; ids: number[]; out: RunOutputs }>> {
  const { manifest, bytes, reference } = loadBundled(id);
  const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
  try {
    const runs = [];
    for (const text of reference.texts) runs.push({ name: text.name, ids: text.inputIds, out: await runner.run(text.inputIds) });
    return runs;
  } finally {
    await runner.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length, 'length mismatch');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

const asTensor = (o: RunOutputs[string]): Tensor => ({ dims: o.dims, data: o.data });

describe('family-tree models: exact W(t, k) from the exported tensors', function () {
  this.timeout(180_000);

  it('linear attention: W from φ(q), φ(k) is the exported matrix, and the parallel and recurrent forms give the exported output', async () => {
    for (const { name, out } of await runAll('linear')) {
      const [L, H, T] = out.phi_q.dims;
      const [, , , dk] = out.phi_q.dims;
      const dv = out.values.dims[3];
      const S = out.state_S.dims; // [L, T, H, dk, dv]
      assert.deepStrictEqual(S, [L, T, H, dk, dv], `${name}: S_t has one constant size per token`);
      let wDiff = 0;
      let parallelDiff = 0;
      let recurrentDiff = 0;
      let formsDiff = 0;
      let stateDiff = 0;
      for (let l = 0; l < L; l++) {
        const q = layerOf(asTensor(out.phi_q), l);
        const k = layerOf(asTensor(out.phi_k), l);
        const v = layerOf(asTensor(out.values), l);
        const exported = layerOf(asTensor(out.mixed), l);
        const w = linearAttentionWeights(q, k);
        wDiff = Math.max(wDiff, maxAbsDiff(w.data, out.attention.data.subarray(l * H * T * T, (l + 1) * H * T * T)));
        const parallel = linearAttentionParallel(q, k, v);
        const recurrent = linearAttentionRecurrent(q, k, v);
        parallelDiff = Math.max(parallelDiff, maxAbsDiff(parallel.output.data, exported.data));
        recurrentDiff = Math.max(recurrentDiff, maxAbsDiff(recurrent.output.data, exported.data));
        formsDiff = Math.max(formsDiff, maxAbsDiff(parallel.output.data, recurrent.output.data));
        // The exported S_t and z_t are the recurrence's states: S_t = S_(t-1) + φ(k_t) v_tᵀ, z_t = z_(t-1) + φ(k_t).
        const states = linearAttentionStates(k, v);
        const size = T * H * dk * dv;
        const exportedS = out.state_S.data.subarray(l * size, (l + 1) * size);
        const exportedZ = out.state_z.data.subarray(l * T * H * dk, (l + 1) * T * H * dk);
        for (let i = 0; i < size; i++) stateDiff = Math.max(stateDiff, Math.abs(states.S.data[i] - exportedS[i]) / Math.max(1, Math.abs(exportedS[i])));
        for (let i = 0; i < exportedZ.length; i++) stateDiff = Math.max(stateDiff, Math.abs(states.z.data[i] - exportedZ[i]) / Math.max(1, Math.abs(exportedZ[i])));
      }
      assert.ok(wDiff < 1e-5, `${name}: W from the factors differs from the exported matrix by ${wDiff}`);
      assert.ok(parallelDiff < 1e-4, `${name}: W·v differs from the exported output by ${parallelDiff}`);
      assert.ok(recurrentDiff < 1e-4, `${name}: S_tᵀφ(q_t) / z_t·φ(q_t) differs from the exported output by ${recurrentDiff}`);
      assert.ok(formsDiff < 1e-5, `${name}: the two forms differ by ${formsDiff}`);
      assert.ok(stateDiff < 1e-5, `${name}: the exported S_t / z_t differ from the recurrence by ${stateDiff} (relative)`);
    }
  });

  it('selective state-space model: y_t = Σ_k α(t, k) x_k + D x_t rebuilds the scan output, and the decay is exp(Δ·A)', async () => {
    for (const { name, out } of await runAll('mamba')) {
      const [L, T, D] = out.ssm_x.dims;
      const N = out.ssm_A.dims[2];
      const scan = { x: asTensor(out.ssm_x), delta: asTensor(out.ssm_delta), A: asTensor(out.ssm_A), B: asTensor(out.ssm_B), C: asTensor(out.ssm_C), D: asTensor(out.ssm_D) };
      let worst = 0;
      let scale = 0;
      let negative = 0;
      for (let l = 0; l < L; l++) {
        for (let d = 0; d < D; d++) {
          const alpha = hiddenAttentionChannel(scan, l, d);
          for (let i = 0; i < alpha.length; i++) if (alpha[i] < 0) negative++;
          const y = reconstructScanOutput(alpha, scanChannel(scan.x, l, d), out.ssm_D.data[l * D + d]);
          const exported = scanChannel(asTensor(out.ssm_y), l, d);
          worst = Math.max(worst, maxAbsDiff(y, exported));
          for (const v of exported) scale = Math.max(scale, Math.abs(v));
        }
      }
      assert.ok(worst < 1e-4, `${name}: y rebuilt from the hidden attention differs by ${worst} (|y| up to ${scale})`);
      assert.ok(negative > 0, `${name}: a selective scan's hidden attention has negative entries (drawn on a diverging scale)`);
      let decayDiff = 0;
      for (let l = 0; l < L; l++) {
        for (let t = 0; t < T; t++) {
          for (let d = 0; d < D; d++) {
            const delta = out.ssm_delta.data[(l * T + t) * D + d];
            for (let n = 0; n < N; n++) {
              const expected = Math.exp(delta * out.ssm_A.data[(l * D + d) * N + n]);
              const decay = out.ssm_decay.data[((l * T + t) * D + d) * N + n];
              assert.ok(decay > 0 && decay <= 1, `decay ${decay} outside (0, 1]`);
              decayDiff = Math.max(decayDiff, Math.abs(decay - expected));
            }
          }
        }
      }
      assert.ok(decayDiff < 1e-5, `${name}: decay differs from exp(Δ·A) by ${decayDiff}`);
    }
  });

  it('sliding window: every query sees only its window and the sink token, with rows that sum to 1', async () => {
    const spec = loadBundled('window').manifest.outputs.find((o) => o.role === 'mixing')!;
    const window = spec.window!;
    const sinks = spec.globalTokens!;
    const ids = loadBundled('window').reference.texts.flatMap((t) => t.inputIds);
    assert.ok(ids.length > window + 10, `the joined reference texts (${ids.length} tokens) are longer than the window`);
    const { manifest, bytes } = loadBundled('window');
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
    try {
      const { dims, data } = (await runner.run(ids)).attention;
      const [L, H, T] = dims;
      let outside = 0;
      for (let m = 0; m < L * H; m++) {
        for (let t = 0; t < T; t++) {
          let sum = 0;
          for (let k = 0; k < T; k++) {
            const w = data[(m * T + t) * T + k];
            const visible = k <= t && (t - k < window || k < sinks);
            if (!visible && w !== 0) outside++;
            sum += w;
          }
          assert.ok(Math.abs(sum - 1) < 1e-5, `row ${t} sums to ${sum}`);
        }
      }
      assert.strictEqual(outside, 0, 'weights outside the window and the sink');
    } finally {
      await runner.release();
    }
  });

  it('Elman RNN: hidden states lie in [-1, 1] and a text run in chunks (state carried) equals one run', async () => {
    const { manifest, bytes, reference } = loadBundled('elman');
    const range = manifest.outputs.find((o) => o.name === 'hidden')!.range!;
    assert.deepStrictEqual(range, [-1, 1]);
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
    try {
      const ids = reference.texts.flatMap((t) => t.inputIds);
      const full = await runner.run(ids, { chunkSize: ids.length });
      for (const v of full.hidden.data) assert.ok(v >= -1 && v <= 1, `h = ${v}`);
      for (const chunkSize of [1, 7, 64]) {
        const chunked = await runner.run(ids, { chunkSize });
        for (const name of Object.keys(full)) {
          const diff = maxAbsDiff(chunked[name].data, full[name].data);
          assert.ok(diff <= 1e-5, `chunk ${chunkSize}: ${name} differs by ${diff}`);
        }
      }
    } finally {
      await runner.release();
    }
  });
});
