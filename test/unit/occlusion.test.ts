// Occlusion influence (src/core/occlusion.ts) where the dependence is known: pure functions from a batch of
// inputs to logits (each position depending on the previous token, on every token, or a target on source
// tokens) must give exactly those patterns for each structure; so must the tiny hand-built ONNX models
// (training/toy_models.py) run through onnxruntime-web. Batching must not change the result; the pause
// between batches is awaited, a cancel stops the run, skipped positions stay zero.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { tensor } from '../../src/core/analysis';
import { LensError } from '../../src/core/errors';
import { KlSlices } from '../../src/core/klSums';
import { type BatchLogits, type SequenceIds, occlusion } from '../../src/core/occlusion';

const root = path.join(__dirname, '../..');
const IDS = [3, 1, 4, 1, 5, 2, 6, 5, 3];
const REPLACEMENT = 7;
const V = 8;

/** Cells (t, k) of O [rows, cols] with a non-zero influence. */
function support(matrix: Float32Array, rows: number, cols = rows): string[] {
  const cells: string[] = [];
  for (let t = 0; t < rows; t++) for (let k = 0; k < cols; k++) if (matrix[t * cols + k] > 1e-6) cells.push(`${t},${k}`);
  return cells;
}

/**
 * A model in plain code: the logits of `observed` at t put weight 1 + j/2 on the token at each position
 * (sequence, j) that deps(t) names, so replacing any of those tokens (never the replacement id) changes p_t.
 */
function fakeModel(observed: string, deps: (t: number, ids: SequenceIds) => Array<[string, number]>, calls: number[] = []): BatchLogits {
  return async (batch) => {
    calls.push(batch.length);
    const T = batch[0][observed].length;
    const out = tensor([batch.length, T, V]);
    batch.forEach((ids, b) => {
      for (let t = 0; t < T; t++) for (const [seq, j] of deps(t, ids)) out.data[(b * T + t) * V + ids[seq][j]] += 1 + j / 2;
    });
    return out;
  };
}

/** One of the toy ONNX models (input_ids [B, T] → logits [B, T, 8]) as a BatchLogits. */
async function onnxModel(file: string, vocab = V): Promise<{ run: BatchLogits; release: () => Promise<void> }> {
  ort.env.wasm.numThreads = 1;
  const session = await ort.InferenceSession.create(readFileSync(file), { executionProviders: ['wasm'] });
  const run: BatchLogits = async (batch) => {
    const T = batch[0].input_ids.length;
    const ids = BigInt64Array.from(batch.flatMap((s) => s.input_ids.map(BigInt)));
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', ids, [batch.length, T]) };
    // The bundled Transformer's key/value cache, fed empty: [layer 4, batch, head 4, past 0, feature 32].
    for (const name of session.inputNames.filter((n) => n.startsWith('past_'))) feeds[name] = new ort.Tensor('float32', new Float32Array(0), [4, batch.length, 4, 0, 32]);
    const out = await session.run(feeds, ['logits']);
    assert.deepStrictEqual(out.logits.dims, [batch.length, T, vocab]);
    return tensor(out.logits.dims as number[], out.logits.data as Float32Array);
  };
  return { run, release: () => session.release() };
}

const toy = (id: string) => onnxModel(path.join(root, 'test/fixtures/onnx', `${id}.onnx`));
const SELF = { occluded: 'input_ids', observed: 'input_ids', replacementId: REPLACEMENT };
const previous = (t: number): Array<[string, number]> => (t > 0 ? [['input_ids', t - 1]] : []);

describe('occlusion influence', function () {
  this.timeout(30_000);

  it('finds a causal dependence on the previous token, computing only t ≥ k', async () => {
    const o = await occlusion(fakeModel('input_ids', previous), { input_ids: IDS }, { ...SELF, causal: true });
    assert.deepStrictEqual(support(o, IDS.length), IDS.slice(1).map((_, i) => `${i + 1},${i}`));
  });

  it('leaves the upper triangle at zero for a causal model, even where the logits would differ', async () => {
    // This "model" looks at the next token: a causal run must not read it.
    const next = (t: number): Array<[string, number]> => (t + 1 < IDS.length ? [['input_ids', t + 1]] : []);
    const o = await occlusion(fakeModel('input_ids', next), { input_ids: IDS }, { ...SELF, causal: true });
    assert.deepStrictEqual(support(o, IDS.length), []);
    const both = await occlusion(fakeModel('input_ids', next), { input_ids: IDS }, { ...SELF, causal: false });
    assert.deepStrictEqual(support(both, IDS.length), IDS.slice(1).map((_, i) => `${i},${i + 1}`));
  });

  it('finds that every position of a bidirectional encoder depends on every token', async () => {
    const T = IDS.length;
    const every = (): Array<[string, number]> => IDS.map((_, j) => ['input_ids', j]);
    const o = await occlusion(fakeModel('input_ids', every), { input_ids: IDS }, { ...SELF, causal: false });
    assert.strictEqual(support(o, T).length, T * T);
  });

  it('occludes source tokens and observes the target for cross-attention (rectangular, every row)', async () => {
    // Target position t (of 3) reads source tokens t and t + 1 (of 4) and its own previous target token.
    const ids = { source: [1, 2, 3, 4], target: [5, 6, 0] };
    const deps = (t: number): Array<[string, number]> => [['source', t], ['source', t + 1], ...(t > 0 ? [['target', t - 1] as [string, number]] : [])];
    for (const causal of [true, false]) {
      const o = await occlusion(fakeModel('target', deps), ids, { occluded: 'source', observed: 'target', causal, replacementId: REPLACEMENT });
      assert.strictEqual(o.length, 3 * 4);
      assert.deepStrictEqual(support(o, 3, 4), ['0,0', '0,1', '1,1', '1,2', '2,2', '2,3']);
    }
    // Occluding the target itself in a causal decoder: the previous-token pattern, 3 × 3.
    const self = await occlusion(fakeModel('target', deps), ids, { occluded: 'target', observed: 'target', causal: true, replacementId: REPLACEMENT });
    assert.deepStrictEqual(support(self, 3), ['1,0', '2,1']);
  });

  it('leaves skipped positions unoccluded, their column zero', async () => {
    const calls: number[] = [];
    const progress: Array<[number, number]> = [];
    const every = (): Array<[string, number]> => IDS.map((_, j) => ['input_ids', j]);
    const o = await occlusion(fakeModel('input_ids', every, calls), { input_ids: IDS }, {
      ...SELF,
      causal: false,
      skip: (k) => k === 0 || k === IDS.length - 1,
      onProgress: (done, total) => progress.push([done, total]),
    });
    const T = IDS.length;
    for (let t = 0; t < T; t++) {
      assert.strictEqual(o[t * T], 0);
      assert.strictEqual(o[t * T + T - 1], 0);
    }
    assert.strictEqual(support(o, T).length, T * (T - 2));
    assert.deepStrictEqual(calls, [1, T - 2]);
    assert.deepStrictEqual(progress, [[T - 2, T - 2]]);
  });

  it('sizes batches from the baseline logits and rejects logits of the wrong shape', async () => {
    const calls: number[] = [];
    await occlusion(fakeModel('input_ids', previous, calls), { input_ids: IDS }, { ...SELF, causal: true, maxBatchBytes: 3 * IDS.length * V * 4 });
    assert.deepStrictEqual(calls, [1, 3, 3, 3]);
    const flat: BatchLogits = async () => tensor([IDS.length, V]);
    await assert.rejects(occlusion(flat, { input_ids: IDS }, { ...SELF, causal: true }), (err: LensError) => err.code === 'model-invalid');
  });

  it('finds that each prediction of an ONNX model depends only on the current token', async () => {
    const model = await toy('current-token');
    try {
      const o = await occlusion(model.run, { input_ids: IDS }, { ...SELF, causal: true });
      assert.deepStrictEqual(support(o, IDS.length), IDS.map((_, t) => `${t},${t}`));
      // Computing every row finds nothing more: the model is causal.
      assert.deepStrictEqual(Array.from(await occlusion(model.run, { input_ids: IDS }, { ...SELF, causal: false })), Array.from(o));
    } finally {
      await model.release();
    }
  });

  it('finds that each prediction of an ONNX model depends only on the previous token', async () => {
    const model = await toy('previous-token');
    try {
      const o = await occlusion(model.run, { input_ids: IDS }, { ...SELF, causal: true });
      assert.deepStrictEqual(support(o, IDS.length), IDS.slice(1).map((_, i) => `${i + 1},${i}`));
    } finally {
      await model.release();
    }
  });

  it('gives the same matrix whatever the batch size, reporting progress', async () => {
    const model = await toy('previous-token');
    try {
      const whole = await occlusion(model.run, { input_ids: IDS }, { ...SELF, causal: true });
      const progress: number[] = [];
      const small = await occlusion(model.run, { input_ids: IDS }, { ...SELF, causal: true, maxBatchBytes: 2 * IDS.length * V * 4, onProgress: (done) => progress.push(done) });
      assert.deepStrictEqual(Array.from(small), Array.from(whole));
      assert.deepStrictEqual(progress, [2, 4, 6, 8, 9]);
    } finally {
      await model.release();
    }
  });

  it('can be cancelled between batches', async () => {
    const model = await toy('current-token');
    try {
      const controller = new AbortController();
      await assert.rejects(
        occlusion(model.run, { input_ids: IDS }, { ...SELF, causal: true, maxBatchBytes: 1, signal: controller.signal, onProgress: () => controller.abort() }),
        (err: LensError) => err.code === 'cancelled',
      );
    } finally {
      await model.release();
    }
  });

  it('measures real influence on the bundled Transformer: causal and largest near the diagonal', async () => {
    const model = await onnxModel(path.join(root, 'media/models/transformer/model.onnx'), 4096);
    try {
      const ids = [2, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310];
      const T = ids.length;
      const o = await occlusion(model.run, { input_ids: ids }, { ...SELF, replacementId: 32, causal: true });
      for (let t = 0; t < T; t++) for (let k = t + 1; k < T; k++) assert.strictEqual(o[t * T + k], 0);
      let diagonal = 0;
      let far = 0;
      for (let t = 4; t < T; t++) {
        diagonal += o[t * T + t];
        far += o[t * T + 0];
      }
      assert.ok(diagonal > far, `replacing the current token (${diagonal}) should matter more than the first (${far})`);
    } finally {
      await model.release();
    }
  });

  // The webview passes a pause (a macrotask) so the panel paints progress and handles input between batches.
  it('awaits the pause before each batch, in order with progress', async () => {
    const model = await toy('previous-token');
    try {
      const events: string[] = [];
      const pause = () => new Promise<void>((resolve) => setTimeout(() => (events.push('pause'), resolve()), 0));
      const options = { ...SELF, causal: true, maxBatchBytes: 2 * IDS.length * V * 4 };
      const paused = await occlusion(model.run, { input_ids: IDS }, { ...options, pause, onProgress: (done) => events.push(String(done)) });
      // Each batch's run starts (after its pause) before the batch before it is consumed (its progress).
      assert.deepStrictEqual(events, ['pause', 'pause', '2', 'pause', '4', 'pause', '6', 'pause', '8', '9']);
      assert.deepStrictEqual(Array.from(paused), Array.from(await occlusion(model.run, { input_ids: IDS }, { ...SELF, causal: true })));
    } finally {
      await model.release();
    }
  });

  it('starts each batch before the one before it is consumed, so that the KL sums overlap a run in a worker', async () => {
    const model = await toy('previous-token');
    try {
      const events: string[] = [];
      const run: typeof model.run = (batch) => (events.push(`run ${batch.length}`), model.run(batch));
      const options = { ...SELF, causal: true, maxBatchBytes: 2 * IDS.length * V * 4 };
      const overlapped = await occlusion(run, { input_ids: IDS }, { ...options, onProgress: (done) => events.push(String(done)) });
      // The base run, then batch 1's run; each batch's progress (its KL sums done) comes after the next run started.
      assert.deepStrictEqual(events, ['run 1', 'run 2', 'run 2', '2', 'run 2', '4', 'run 2', '6', 'run 1', '8', '9']);
      assert.deepStrictEqual(Array.from(overlapped), Array.from(await occlusion(model.run, { input_ids: IDS }, { ...SELF, causal: true })));
    } finally {
      await model.release();
    }
  });

  it('splits a batch\'s KL sums into short tasks: past 10 ms they yield through the pause, then check cancellation', async () => {
    let pauses = 0;
    let aborted = false;
    const slices = new KlSlices(async () => void pauses++, () => {
      if (aborted) throw new LensError('cancelled', 'Occlusion was cancelled.');
    });
    slices.start();
    const until = performance.now() + 12;
    while (performance.now() < until); // a row's sums that took 12 ms
    const yielded = slices.next();
    assert.ok(yielded instanceof Promise, 'past 10 ms, the next row waits for the pause');
    await yielded;
    assert.strictEqual(pauses, 1);
    const later = performance.now() + 12;
    while (performance.now() < later);
    aborted = true;
    await assert.rejects(slices.next()!, (err: LensError) => err.code === 'cancelled');
    assert.strictEqual(new KlSlices(undefined, () => undefined).next(), undefined, 'without a pause, never');
  });

  it('stops when cancelled during a pause', async () => {
    const model = await toy('previous-token');
    try {
      const controller = new AbortController();
      let pauses = 0;
      const pause = async () => {
        if (++pauses === 2) controller.abort();
      };
      await assert.rejects(
        occlusion(model.run, { input_ids: IDS }, { ...SELF, causal: true, maxBatchBytes: 2 * IDS.length * V * 4, pause, signal: controller.signal }),
        (err: LensError) => err.code === 'cancelled',
      );
      assert.strictEqual(pauses, 2);
    } finally {
      await model.release();
    }
  });
});
