// The webview passes occlusion a pause (a macrotask) so the panel paints progress and handles input between
// batches: occlusion must await it before every batch, and a cancel requested during a pause must stop it.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { ModelRunner, OrtModule } from '../../src/core/engine';
import { LensError } from '../../src/core/errors';
import type { ModelManifest } from '../../src/core/manifest';
import { occlusion } from '../../src/core/occlusion';

const root = path.join(__dirname, '../..');
const IDS = [3, 1, 4, 1, 5, 2, 6, 5, 3];

async function previousToken(): Promise<ModelRunner> {
  const manifest: ModelManifest = {
    schemaVersion: 1,
    id: 'previous-token',
    displayName: 'previous-token',
    architecture: 'elman',
    description: 'toy model for tests',
    parameters: 64,
    dimensions: { vocabSize: 8 },
    inputs: [{ name: 'input_ids', role: 'input_ids', dtype: 'int64', shape: ['B', 'T'] }],
    outputs: [{ name: 'logits', role: 'logits', dtype: 'float32', shape: ['B', 'T', 8] }],
    tokenizer: { file: 'none', specialTokens: {} },
    license: 'MIT',
  };
  ort.env.wasm.numThreads = 1;
  return ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(root, 'test/fixtures/onnx/previous-token.onnx')), { executionProviders: ['wasm'] });
}

describe('occlusion pause between batches', function () {
  this.timeout(30_000);

  it('awaits the pause before each batch, in order with progress', async () => {
    const runner = await previousToken();
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
    const runner = await previousToken();
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
