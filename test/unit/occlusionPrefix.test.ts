// Occlusion reusing the unchanged prefix (src/core/occlusionPrefix.ts) on the real bundled models in
// onnxruntime-web: running only tokens k..T-1 from the base run's state after token k-1 (the recurrent models)
// or from its key/value cache of tokens 0..k-1 (the Transformer and the sliding-window Transformer) must give
// the matrix of whole re-runs (occlusion()) within 1e-5 at every (t, k) of a real text, while running about
// half the tokens; skipped positions and cancellation behave as in occlusion(). Which models qualify comes
// from roles, and a manifest whose state or cache outputs do not hold what their inputs take (caught on the
// base run) falls back to whole re-runs.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import type { LensError } from '../../src/core/errors';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { type OcclusionMethod, type OcclusionOptions, occlusion } from '../../src/core/occlusion';
import { type OcclusionRunner, occlusionReusingPrefix, prefixPlan, runnerOcclusion } from '../../src/core/occlusionPrefix';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');
const modelDir = (id: string) => path.join(root, 'media/models', id);
const RECURRENT = ['lstm', 'gru', 'elman', 'linear', 'mamba'];
const CACHED = ['transformer', 'window'];
const OTHERS = ['encoder', 't5', 'bahdanau'];
const T = 72;
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

function loadManifest(id: string, edit?: (json: Record<string, unknown>) => void): ModelManifest {
  const json = JSON.parse(readFileSync(path.join(modelDir(id), 'manifest.json'), 'utf8')) as Record<string, unknown>;
  edit?.(json);
  const result = validateManifest(json);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.manifest;
}

const createRunner = (manifest: ModelManifest, id = manifest.id) =>
  ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(modelDir(id), 'model.onnx')), { executionProviders: ['wasm'] });

/** How often caches were kept and released, and the cache values that were built by the caller (none should be). */
const keepCounts = () => ({ kept: 0, released: 0, builtByCaller: 0 });

/**
 * The real runner, recording the lengths of every batched run (a whole copy has length T), counting base runs,
 * and counting kept caches and their releases.
 */
function recording(runner: ModelRunner, lengths: number[][], baseRuns = { count: 0 }, keeps = keepCounts()): OcclusionRunner {
  const cacheStates = new Set(runner.manifest.inputs.filter((i) => i.role === 'empty_cache').map((i) => i.state));
  return {
    manifest: runner.manifest,
    run: (ids, options) => {
      baseRuns.count++;
      return runner.run(ids, options);
    },
    keepCaches: async (outputs) => {
      const kept = await runner.keepCaches(outputs);
      keeps.kept++;
      const release = kept.release.bind(kept);
      kept.release = async () => {
        keeps.released++;
        await release();
      };
      return kept;
    },
    runBatchLogits: (batch, state) => {
      keeps.builtByCaller += Object.entries(state ?? {}).filter(([name, value]) => cacheStates.has(name) && ArrayBuffer.isView(value)).length;
      lengths.push(batch.map((ids) => Object.values(ids)[0].length));
      return runner.runBatchLogits(batch, state);
    },
  };
}

const target = { occluded: 'tokens', observed: 'tokens', causal: true } as const;

/** A real text: the first T tokens of the TypeScript sample. */
function realText(): number[] {
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(modelDir('lstm'), 'tokenizer.json'), 'utf8')));
  const ids = tokenizer.encode(readFileSync(path.join(root, 'test/fixtures/workspace/sample.ts'), 'utf8')).slice(0, T);
  assert.strictEqual(ids.length, T);
  return ids;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): { diff: number; at: string } {
  let diff = 0;
  let at = '';
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > diff) [diff, at] = [d, `t=${Math.floor(i / T)}, k=${i % T}`];
  }
  return { diff, at };
}

describe('occlusion reusing the unchanged prefix', function () {
  this.timeout(300_000);
  const ids = { tokens: realText() };
  const replacementId = new LensTokenizer(JSON.parse(readFileSync(path.join(modelDir('lstm'), 'tokenizer.json'), 'utf8'))).encode(' ')[0];

  it('is planned from roles: from states for the recurrent models, from caches for the attention models with one, never for a non-causal target', () => {
    for (const id of RECURRENT) {
      const plan = prefixPlan(loadManifest(id), target);
      assert.ok(plan, `${id} should reuse its prefix`);
      assert.deepStrictEqual(
        plan.states.map((s) => s.input.state),
        loadManifest(id).inputs.filter((i) => i.role === 'initial_state').map((i) => i.state),
      );
    }
    for (const id of CACHED) {
      const plan = prefixPlan(loadManifest(id), target);
      assert.ok(plan, `${id} should reuse its cache`);
      assert.deepStrictEqual([plan.caches.map((c) => [c.input.name, c.output.name]), plan.states.length, plan.maxItems], [[['past_keys', 'present_keys'], ['past_values', 'present_values']], 0, Number.MAX_SAFE_INTEGER]);
    }
    assert.strictEqual(prefixPlan(loadManifest('transformer'), { ...target, causal: false }), undefined);
    for (const id of OTHERS) {
      const manifest = loadManifest(id);
      const structure = { occluded: Object.keys(manifest.sequences).at(-1)!, observed: Object.keys(manifest.sequences).at(-1)!, causal: true };
      assert.strictEqual(prefixPlan(manifest, structure), undefined, `${id} has no state to start a run from`);
    }
    assert.strictEqual(prefixPlan(loadManifest('lstm'), { ...target, causal: false }), undefined);
    // Without the per-token cell state, the LSTM's c0 cannot be seeded.
    const noCell = loadManifest('lstm', (json) => {
      json.outputs = (json.outputs as Array<{ name: string }>).map((o) => (o.name === 'cell' ? { ...o, role: 'ignored', state: undefined, label: undefined } : o));
    });
    assert.strictEqual(prefixPlan(noCell, target), undefined);
  });

  for (const id of [...RECURRENT, ...CACHED]) {
    describe(id, () => {
      let runner: ModelRunner;
      let full: Float32Array;
      before(async () => {
        runner = await createRunner(loadManifest(id));
        full = await occlusion((batch) => runner.runBatchLogits(batch), ids, { ...target, replacementId, maxBatchBytes: 8 * T * 4096 * 4 });
      });
      after(async () => runner?.release());

      it(`equals whole re-runs within 1e-5 at every (t, k) of ${T} tokens, running about half the tokens`, async () => {
        const lengths: number[][] = [];
        const progress: Array<[number, number]> = [];
        const keeps = keepCounts();
        const methods: OcclusionMethod[] = [];
        const reused = await runnerOcclusion(recording(runner, lengths, undefined, keeps), ids, { ...target, replacementId, onProgress: (done, total) => progress.push([done, total]), onMethod: (m) => methods.push(m) });
        // A cached model's caches are kept once, where the model runs, and released; no batch's cache is built here.
        assert.deepStrictEqual(keeps, CACHED.includes(id) ? { kept: 1, released: 1, builtByCaller: 0 } : keepCounts());
        const { diff, at } = maxAbsDiff(reused, full);
        assert.ok(diff <= 1e-5, `largest difference ${diff} at ${at}`);
        for (let t = 0; t < T; t++) for (let k = t + 1; k < T; k++) assert.strictEqual(reused[t * T + k], 0);
        let influence = 0;
        for (let t = 1; t < T; t++) influence += full[t * T + t - 1];
        assert.ok(influence / (T - 1) > 0.01, `the previous token should matter (mean ${influence / (T - 1)} bits)`);
        // Every run is a suffix (one starts at k = 0; a cache's check runs the last 4 tokens first); padding
        // keeps the total near T(T + 1)/2.
        const tokensRun = lengths.reduce((n, run) => n + run.length * run[0], 0);
        assert.strictEqual(lengths.filter((run) => run[0] === T).length, 1);
        assert.ok(tokensRun <= 1.1 * ((T * (T + 1)) / 2), `${tokensRun} tokens run`);
        // Told once, before the runs: what they start from and how many tokens they take (the cache's check aside).
        assert.deepStrictEqual(methods, [{ reused: CACHED.includes(id) ? 'cache' : 'state', tokens: tokensRun - (CACHED.includes(id) ? 4 : 0), wholeTokens: T * T }]);
        assert.deepStrictEqual(progress.at(-1), [T, T]);
      });

      it('leaves skipped positions alone, their column zero, as whole re-runs do', async () => {
        const skip = (k: number) => k === 0 || k % 7 === 3;
        const kept = Array.from({ length: T }, (_, k) => k).filter((k) => !skip(k)).length;
        const progress: Array<[number, number]> = [];
        const options = { ...target, replacementId, skip };
        const reused = await runnerOcclusion(runner, ids, { ...options, onProgress: (done, total) => progress.push([done, total]) });
        const expected = await occlusion((batch) => runner.runBatchLogits(batch), ids, { ...options, maxBatchBytes: 8 * T * 4096 * 4 });
        for (let k = 0; k < T; k++) {
          if (skip(k)) for (let t = 0; t < T; t++) assert.strictEqual(reused[t * T + k], 0, `column ${k}`);
        }
        assert.ok(maxAbsDiff(reused, expected).diff <= 1e-5);
        assert.ok(progress.every(([, total]) => total === kept));
        assert.deepStrictEqual(progress.at(-1), [kept, kept]);
      });
    });
  }

  it('falls back to whole re-runs when the cache outputs do not hold what the cache inputs take, and releases the kept caches on every path (transformer)', async () => {
    // Keys and values swapped: same layout, so the plan holds, but the last tokens run from it give other logits.
    const swapped = loadManifest('transformer', (json) => {
      json.outputs = (json.outputs as Array<{ name: string; state?: string }>).map((o) => (o.name === 'present_keys' ? { ...o, state: 'values' } : o.name === 'present_values' ? { ...o, state: 'keys' } : o));
    });
    const wrong = await createRunner(swapped, 'transformer');
    try {
      const plan = prefixPlan(swapped, target);
      assert.ok(plan);
      const lengths: number[][] = [];
      const keeps = keepCounts();
      const methods: OcclusionMethod[] = [];
      assert.strictEqual(await occlusionReusingPrefix(recording(wrong, lengths, undefined, keeps), plan, ids, { replacementId, onMethod: (m) => methods.push(m) }), undefined);
      assert.deepStrictEqual(methods, [
        { reused: null, refused: 'the last 4 tokens run from the cache outputs ("present_values", "present_keys") of the others did not give the whole run\'s logits', tokens: T * T, wholeTokens: T * T },
      ]);
      assert.deepStrictEqual(lengths, [[4]], 'only the check ran');
      assert.deepStrictEqual(keeps, { kept: 1, released: 1, builtByCaller: 0 });
      // Cancelled after the first batch's sums: the caches are released too.
      const right = await createRunner(loadManifest('transformer'));
      try {
        const controller = new AbortController();
        const cancelled = keepCounts();
        const options: OcclusionOptions = { replacementId, signal: controller.signal, onProgress: () => controller.abort() };
        await assert.rejects(occlusionReusingPrefix(recording(right, [], undefined, cancelled), prefixPlan(right.manifest, target)!, ids, options), (err: LensError) => err.code === 'cancelled');
        assert.deepStrictEqual(cancelled, { kept: 1, released: 1, builtByCaller: 0 });
        // A run that fails: the failure reaches the caller, and the caches are released.
        const failed = keepCounts();
        const failing = recording(right, [], undefined, failed);
        let runs = 0;
        const run = failing.runBatchLogits;
        failing.runBatchLogits = (batch, state) => (++runs === 2 ? Promise.reject(new Error('the session failed')) : run(batch, state));
        await assert.rejects(occlusionReusingPrefix(failing, prefixPlan(right.manifest, target)!, ids, { replacementId }), /the session failed/);
        assert.deepStrictEqual(failed, { kept: 1, released: 1, builtByCaller: 0 });
      } finally {
        await right.release();
      }
    } finally {
      await wrong.release();
    }
  });

  describe('cancellation and fallback (lstm)', () => {
    let runner: ModelRunner;
    before(async () => {
      runner = await createRunner(loadManifest('lstm'));
    });
    after(async () => runner?.release());

    it('stops between runs when cancelled, and before the base run when cancelled already', async () => {
      const plan = prefixPlan(runner.manifest, target)!;
      const controller = new AbortController();
      const lengths: number[][] = [];
      const baseRuns = { count: 0 };
      const options: OcclusionOptions = { replacementId, signal: controller.signal, onProgress: () => controller.abort() };
      await assert.rejects(occlusionReusingPrefix(recording(runner, lengths, baseRuns), plan, ids, options), (err: LensError) => err.code === 'cancelled');
      // The second run started before the first one's sums (pipelinedBatches), so it ran; no third started.
      assert.deepStrictEqual([baseRuns.count, lengths.length], [1, 2]);
      let paused = 0;
      const again: OcclusionOptions = { replacementId, signal: controller.signal, pause: async () => void paused++ };
      await assert.rejects(occlusionReusingPrefix(recording(runner, lengths, baseRuns), plan, ids, again), (err: LensError) => err.code === 'cancelled');
      assert.deepStrictEqual([baseRuns.count, lengths.length, paused], [1, 2, 0]);
      // Cancelled during the pause before a run: that run does not start.
      const later = new AbortController();
      const duringPause: OcclusionOptions = { replacementId, signal: later.signal, pause: async () => void (++paused === 3 && later.abort()) };
      await assert.rejects(occlusionReusingPrefix(recording(runner, lengths, baseRuns), plan, ids, duringPause), (err: LensError) => err.code === 'cancelled');
      assert.deepStrictEqual([baseRuns.count, lengths.length, paused], [2, 4, 3]);
    });

    it('falls back to whole re-runs when the state outputs do not hold the state after each token', async () => {
      // The cell and hidden outputs swapped: same layout, so the plan holds, but the last position is not the final state.
      const swapped = loadManifest('lstm', (json) => {
        json.outputs = (json.outputs as Array<{ name: string; state?: string }>).map((o) => (o.name === 'cell' ? { ...o, state: 'h' } : o.name === 'hidden' ? { ...o, state: 'c' } : o));
      });
      const wrong = await createRunner(swapped, 'lstm');
      try {
        const plan = prefixPlan(swapped, target);
        assert.ok(plan);
        const methods: OcclusionMethod[] = [];
        assert.strictEqual(await occlusionReusingPrefix(wrong, plan, ids, { replacementId, onMethod: (m) => methods.push(m) }), undefined);
        assert.deepStrictEqual(methods.map((m) => m.refused), ['the state outputs of "h" ("cell") do not end in the final state "h_n"']);
        const lengths: number[][] = [];
        const result = await runnerOcclusion(recording(wrong, lengths), ids, { ...target, replacementId, maxBatchBytes: 8 * T * 4096 * 4 });
        assert.ok(lengths.every((run) => run[0] === T), 'whole copies only');
        const expected = await occlusion((batch) => runner.runBatchLogits(batch), ids, { ...target, replacementId, maxBatchBytes: 8 * T * 4096 * 4 });
        assert.ok(maxAbsDiff(result, expected).diff <= 1e-5);
      } finally {
        await wrong.release();
      }
    });
  });
});
