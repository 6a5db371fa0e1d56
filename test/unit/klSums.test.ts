// Occlusion's KL sums handed to another thread (src/core/klSums.ts, as the webview's logits worker takes them):
// the logits move there (structuredClone with a transfer list, which detaches the caller's buffers as
// postMessage does), and BaselineRows and klRows sum them, as logitsWorker.ts does. The matrices must be the very
// bits of the sums on the caller's thread, on the bundled Transformer from its cache (occlusionPrefix.ts), on
// its whole re-runs (causal: the lower triangle), and on rectangular cross-attention of plain-code logits
// (every row); each occlusion's sums are disposed of once, also when it is cancelled.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { tensor } from '../../src/core/analysis';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import type { LensError } from '../../src/core/errors';
import { BaselineRows, type KlSums, klRows } from '../../src/core/klSums';
import { validateManifest } from '../../src/core/manifestValidator';
import { type BatchLogits, type OcclusionOptions, type OcclusionTarget, occlusion } from '../../src/core/occlusion';
import { runnerOcclusion } from '../../src/core/occlusionPrefix';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');
const modelDir = path.join(root, 'media/models/transformer');
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** Moves an array as postMessage with a transfer list does: the caller's view is detached (length 0) afterwards. */
function move(values: Float32Array): Float32Array {
  return structuredClone(values, { transfer: [values.buffer as ArrayBuffer] });
}

/** Sums elsewhere, as the logits worker does them, counting what happens to them. */
function handedOver(log: string[]): () => KlSums {
  return () => {
    let base: BaselineRows | undefined;
    return {
      baseline: async (logits, T, V) => {
        base = new BaselineRows(move(logits), T, V);
        log.push('baseline');
      },
      columns: async (batch, logits) => {
        const moved = move(logits);
        await new Promise((resolve) => setTimeout(resolve, 0)); // answered later, as a worker's message is
        log.push('columns');
        return klRows(base!, batch, moved);
      },
      dispose: () => void log.push('dispose'),
    };
  };
}

describe('occlusion\'s KL sums handed to another thread', function () {
  this.timeout(300_000);
  const json = JSON.parse(readFileSync(path.join(modelDir, 'manifest.json'), 'utf8')) as unknown;
  const validated = validateManifest(json);
  if (!validated.ok) throw new Error(validated.errors.join('\n'));
  const manifest = validated.manifest;
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(modelDir, 'tokenizer.json'), 'utf8')));
  const ids = { tokens: tokenizer.encode(readFileSync(path.join(root, 'test/fixtures/workspace/sample.ts'), 'utf8')).slice(0, 48) };
  const target = { occluded: 'tokens', observed: 'tokens', causal: true, replacementId: tokenizer.encode(' ')[0] } as const;
  let runner: ModelRunner;
  before(async () => {
    runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(modelDir, 'model.onnx')), { executionProviders: ['wasm'] });
  });
  after(async () => runner?.release());

  it('gives the same bits from the Transformer\'s cache, and from its whole re-runs', async () => {
    const options: OcclusionOptions & OcclusionTarget = { ...target, maxBatchBytes: 6 * 48 * 4096 * 4 };
    const log: string[] = [];
    const here = await runnerOcclusion(runner, ids, options);
    const there = await runnerOcclusion(runner, ids, { ...options, klSums: handedOver(log) });
    assert.deepStrictEqual(Array.from(there), Array.from(here));
    assert.ok(here.some((v) => v > 0.01), 'some token matters');
    assert.deepStrictEqual([log[0], log.at(-1), log.filter((e) => e === 'dispose').length], ['baseline', 'dispose', 1]);
    assert.ok(log.filter((e) => e === 'columns').length > 1, 'more than one batch');
    const whole = (batch: Parameters<BatchLogits>[0]) => runner.runBatchLogits(batch);
    const wholeHere = await occlusion(whole, ids, options);
    const wholeThere = await occlusion(whole, ids, { ...options, klSums: handedOver([]) });
    assert.deepStrictEqual(Array.from(wholeThere), Array.from(wholeHere));
    // Whole re-runs and the cache agree as the prefix tests require (the sums are the same code either way).
    assert.ok(here.every((v, i) => Math.abs(v - wholeHere[i]) <= 1e-5));
  });

  it('gives the same bits for every row of rectangular cross-attention', async () => {
    // Target position t reads source tokens t and t + 1 of 5; 3 target tokens; a vocabulary of 8.
    const V = 8;
    const model: BatchLogits = async (batch) => {
      const T = batch[0].target.length;
      const out = tensor([batch.length, T, V]);
      batch.forEach((seqs, b) => {
        for (let t = 0; t < T; t++) for (const j of [t, t + 1]) out.data[(b * T + t) * V + seqs.source[j]] += 1 + j / 2;
      });
      return out;
    };
    const cross = { occluded: 'source', observed: 'target', causal: false, replacementId: 7, maxBatchBytes: 2 * 3 * V * 4 };
    const seqs = { source: [1, 2, 3, 4, 5], target: [5, 6, 0] };
    const here = await occlusion(model, seqs, cross);
    const there = await occlusion(model, seqs, { ...cross, klSums: handedOver([]) });
    assert.deepStrictEqual(Array.from(there), Array.from(here));
    assert.strictEqual(here.filter((v) => v > 0).length, 6);
  });

  it('disposes of the sums when the occlusion is cancelled', async () => {
    const log: string[] = [];
    const controller = new AbortController();
    const cancelling = runnerOcclusion(runner, ids, { ...target, maxBatchBytes: 4 * 48 * 4096 * 4, signal: controller.signal, onProgress: () => controller.abort(), klSums: handedOver(log) });
    await assert.rejects(cancelling, (err: LensError) => err.code === 'cancelled');
    assert.deepStrictEqual(log.filter((e) => e !== 'columns'), ['baseline', 'dispose']);
  });
});
