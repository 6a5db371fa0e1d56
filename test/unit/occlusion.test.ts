// Occlusion influence (src/core/occlusion.ts) on tiny hand-built ONNX models whose dependence is known
// (training/toy_models.py): a model whose prediction at t depends only on token t, and one that depends
// only on token t-1, must give exactly those patterns; batching must not change the result; the pause
// between batches is awaited and a cancel during it stops the run.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { ModelRunner, OrtModule } from '../../src/core/engine';
import { LensError } from '../../src/core/errors';
import type { ModelManifest } from '../../src/core/manifest';
import { occlusion } from '../../src/core/occlusion';

const root = path.join(__dirname, '../..');

function toyManifest(id: string): ModelManifest {
  return {
    schemaVersion: 1,
    id,
    displayName: id,
    architecture: 'elman',
    description: 'toy model for tests',
    parameters: 64,
    dimensions: { vocabSize: 8 },
    inputs: [{ name: 'input_ids', role: 'input_ids', dtype: 'int64', shape: ['B', 'T'] }],
    outputs: [{ name: 'logits', role: 'logits', dtype: 'float32', shape: ['B', 'T', 8] }],
    tokenizer: { file: 'none', specialTokens: {} },
    license: 'MIT',
  };
}

async function toy(id: string): Promise<ModelRunner> {
  ort.env.wasm.numThreads = 1;
  return ModelRunner.create(ort as unknown as OrtModule, toyManifest(id), readFileSync(path.join(root, 'test/fixtures/onnx', `${id}.onnx`)), { executionProviders: ['wasm'] });
}

const IDS = [3, 1, 4, 1, 5, 2, 6, 5, 3];
const REPLACEMENT = 7;

/** Positions (t, k) with a non-zero influence. */
function support(matrix: Float32Array, T: number): string[] {
  const cells: string[] = [];
  for (let t = 0; t < T; t++) for (let k = 0; k < T; k++) if (matrix[t * T + k] > 1e-6) cells.push(`${t},${k}`);
  return cells;
}

describe('occlusion influence', function () {
  this.timeout(30_000);

  it('finds that each prediction depends only on the current token', async () => {
    const runner = await toy('current-token');
    const T = IDS.length;
    const o = await occlusion(runner, IDS, { replacementId: REPLACEMENT });
    assert.deepStrictEqual(support(o, T), IDS.map((_, t) => `${t},${t}`));
    await runner.release();
  });

  it('finds that each prediction depends only on the previous token', async () => {
    const runner = await toy('previous-token');
    const T = IDS.length;
    const o = await occlusion(runner, IDS, { replacementId: REPLACEMENT });
    assert.deepStrictEqual(support(o, T), IDS.slice(1).map((_, i) => `${i + 1},${i}`));
    await runner.release();
  });

  it('gives the same matrix whatever the batch size, reporting progress', async () => {
    const runner = await toy('previous-token');
    const whole = await occlusion(runner, IDS, { replacementId: REPLACEMENT });
    const progress: number[] = [];
    const small = await occlusion(runner, IDS, { replacementId: REPLACEMENT, maxBatchBytes: 2 * IDS.length * 8 * 4, onProgress: (done) => progress.push(done) });
    assert.deepStrictEqual(Array.from(small), Array.from(whole));
    assert.deepStrictEqual(progress, [2, 4, 6, 8, 9]);
    await runner.release();
  });

  it('can be cancelled between batches', async () => {
    const runner = await toy('current-token');
    const controller = new AbortController();
    await assert.rejects(
      occlusion(runner, IDS, { replacementId: REPLACEMENT, maxBatchBytes: 1, signal: controller.signal, onProgress: () => controller.abort() }),
      (err: LensError) => err.code === 'cancelled',
    );
    await runner.release();
  });

  it('measures real influence on the bundled Transformer: causal and largest near the diagonal', async () => {
    const folder = path.join(root, 'media/models/transformer');
    const manifest = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')) as ModelManifest;
    ort.env.wasm.numThreads = 1;
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(folder, 'model.onnx')), { executionProviders: ['wasm'] });
    const ids = [2, 300, 301, 302, 303, 304, 305, 306, 307, 308, 309, 310];
    const T = ids.length;
    const o = await occlusion(runner, ids, { replacementId: 32 });
    for (let t = 0; t < T; t++) for (let k = t + 1; k < T; k++) assert.strictEqual(o[t * T + k], 0);
    let diagonal = 0;
    let far = 0;
    for (let t = 4; t < T; t++) {
      diagonal += o[t * T + t];
      far += o[t * T + 0];
    }
    assert.ok(diagonal > far, `replacing the current token (${diagonal}) should matter more than the first (${far})`);
    await runner.release();
  });

  // The webview passes a pause (a macrotask) so the panel paints progress and handles input between batches.
  it('awaits the pause before each batch, in order with progress', async () => {
    const runner = await toy('previous-token');
    try {
      const events: string[] = [];
      const pause = () => new Promise<void>((resolve) => setTimeout(() => (events.push('pause'), resolve()), 0));
      const paused = await occlusion(runner, IDS, { replacementId: 7, maxBatchBytes: 2 * IDS.length * 8 * 4, pause, onProgress: (done) => events.push(String(done)) });
      assert.deepStrictEqual(events, ['pause', '2', 'pause', '4', 'pause', '6', 'pause', '8', 'pause', '9']);
      assert.deepStrictEqual(Array.from(paused), Array.from(await occlusion(runner, IDS, { replacementId: 7 })));
    } finally {
      await runner.release();
    }
  });

  it('stops when cancelled during a pause', async () => {
    const runner = await toy('previous-token');
    try {
      const controller = new AbortController();
      let pauses = 0;
      const pause = async () => {
        if (++pauses === 2) controller.abort();
      };
      await assert.rejects(
        occlusion(runner, IDS, { replacementId: 7, maxBatchBytes: 2 * IDS.length * 8 * 4, pause, signal: controller.signal }),
        (err: LensError) => err.code === 'cancelled',
      );
      assert.strictEqual(pauses, 2);
    } finally {
      await runner.release();
    }
  });
});
