// The head probe's run (src/core/headProbe.ts): with a stand-in model whose heads are built to be perfect
// induction, previous-token and first-token heads, the probe scores them 1, batches as told, reports
// progress, feeds every sequence its prefix and stops when cancelled; on the bundled Transformer in
// onnxruntime-web, a batched run equals single runs and the probe's scores do not depend on the batch size
// (the model's own scores are not assumed: it is retrained from time to time).

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { ModelRunner, type OrtModule, type RunOutputs } from '../../src/core/engine';
import { probeCandidates, probedFamilies, runHeadProbe } from '../../src/core/headProbe';
import { HEAD_SCORE_KEYS } from '../../src/core/headRoles';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { modelStructure } from '../../src/core/modelStructure';
import type { SequenceIds } from '../../src/core/occlusion';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** A decoder with a start token: attention [layer=2, batch, head=2, query, key]. */
const decoder = {
  schemaVersion: 2,
  id: 'stand-in',
  sequences: { tokens: { length: 'T', prefix: ['<s>'] } },
  inputs: [{ name: 'ids', role: 'input_ids', dtype: 'int64', axes: [{ name: 'batch' }, { name: 'position', size: 'T' }] }],
  outputs: [
    {
      name: 'attention',
      role: 'mixing',
      structure: 'causal',
      dtype: 'float32',
      axes: [{ name: 'layer', size: 2 }, { name: 'batch' }, { name: 'head', size: 2 }, { name: 'query', size: 'T' }, { name: 'key', size: 'T' }],
    },
  ],
} as unknown as ModelManifest;

/** Attention of the stand-in for one input: L0H0 induction, L0H1 previous token, L1H0 first token, L1H1 uniform. */
function standIn(ids: readonly number[], prefix: number, n: number): RunOutputs {
  const T = ids.length;
  const data = new Float32Array(4 * T * T);
  const put = (m: number, t: number, k: number, v: number) => (data[(m * T + t) * T + k] = v);
  for (let t = 0; t < T; t++) {
    put(0, t, t >= prefix + n ? t - n + 1 : 0, 1);
    put(1, t, Math.max(0, t - 1), 1);
    put(2, t, 0, 1);
    for (let k = 0; k <= t; k++) put(3, t, k, 1 / (t + 1));
  }
  return { attention: { dims: [2, 2, T, T], data } };
}

describe('the head probe run', () => {
  const structure = modelStructure(decoder);
  const candidates = probeCandidates(400, (id) => id < 3, [7]);

  it('picks ordinary tokens: no special ones, no prefix tokens', () => {
    assert.strictEqual(candidates.length, 396);
    assert.ok(!candidates.includes(0) && !candidates.includes(7) && candidates.includes(399));
    assert.deepStrictEqual(probedFamilies(structure).map((f) => f.key), ['mixing/mixing']);
  });

  it('scores built heads 1, in batches, with progress and the prefix first', async () => {
    const batches: number[] = [];
    const progress: Array<[number, number]> = [];
    let pauses = 0;
    const run = async (batch: SequenceIds[]) => {
      batches.push(batch.length);
      for (const input of batch) assert.strictEqual(input.tokens[0], 7, 'the prefix comes first');
      return batch.map((input) => standIn(input.tokens, 1, 50));
    };
    const result = await runHeadProbe(structure, run, { candidates, prefixes: { tokens: [7] }, batchSize: 3, onProgress: (d, t) => progress.push([d, t]), pause: async () => void pauses++ });
    assert.deepStrictEqual(batches, [3, 3, 2]);
    assert.deepStrictEqual(progress, [[3, 8], [6, 8], [8, 8]]);
    assert.strictEqual(pauses, 3);
    assert.deepStrictEqual({ sequences: result.sequences, tokens: result.tokens, block: result.block, prefix: result.prefix, batchSize: result.batchSize }, { sequences: 8, tokens: 101, block: 50, prefix: 1, batchSize: 3 });
    const [[induction, previous], [sink, uniform]] = result.families['mixing/mixing'];
    assert.strictEqual(induction.induction, 1);
    assert.strictEqual(previous.previous, 1);
    assert.strictEqual(sink.sink, 1);
    // Uniform: mean of 1/(t + 1) over the second copy, t = 51..100.
    let h = 0;
    for (let t = 51; t <= 100; t++) h += 1 / (t + 1);
    assert.ok(Math.abs(uniform.induction - h / 50) < 1e-6, `${uniform.induction}`);
  });

  it('stops when cancelled, before the next batch', async () => {
    const controller = new AbortController();
    let runs = 0;
    const run = async (batch: SequenceIds[]) => {
      runs++;
      controller.abort();
      return batch.map((input) => standIn(input.tokens, 1, 50));
    };
    await assert.rejects(runHeadProbe(structure, run, { candidates, prefixes: { tokens: [7] }, batchSize: 2, signal: controller.signal }), (err: Error & { code?: string }) => err.code === 'cancelled');
    assert.strictEqual(runs, 1);
  });

  it('refuses a model without self-attention over its primary sequence', async () => {
    const none = modelStructure({ ...decoder, outputs: [] } as unknown as ModelManifest);
    await assert.rejects(runHeadProbe(none, async () => [], { candidates, batchSize: 1 }), /no self-attention over its sequence "tokens" to probe/);
  });
});

describe('the head probe on the bundled Transformer', function () {
  this.timeout(120_000);
  let manifest: ModelManifest;
  let runner: ModelRunner;
  let tokenizer: LensTokenizer;

  before(async () => {
    const dir = path.join(root, 'media/models/transformer');
    const result = validateManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
    if (!result.ok) throw new Error(result.errors.join('\n'));
    manifest = result.manifest;
    tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(dir, manifest.tokenizer.file), 'utf8')));
    runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(dir, manifest.model ?? 'model.onnx')), { executionProviders: ['wasm'] });
  });
  after(async () => runner?.release());

  it('runs a batch with the same outputs as one input at a time', async () => {
    assert.ok(runner.batchable);
    const batch = [[5, 9, 300, 12], [77, 78, 79, 80], [1000, 5, 1000, 5]];
    const together = await runner.runBatch(batch.map((ids) => ({ tokens: ids })));
    for (let b = 0; b < batch.length; b++) {
      const alone = await runner.run(batch[b]);
      for (const name of Object.keys(alone)) {
        assert.deepStrictEqual(together[b][name].dims, alone[name].dims, name);
        let worst = 0;
        alone[name].data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - together[b][name].data[i]))));
        assert.ok(worst < 1e-4, `${name} of input ${b} differs by ${worst}`);
      }
    }
  });

  it('gives scores in their ranges for every layer and head, whatever the batch size', async () => {
    const candidates = probeCandidates(tokenizer.vocabSize, (id) => tokenizer.isSpecial(id));
    assert.ok(candidates.length < tokenizer.vocabSize, "the tokenizer's special tokens are left out");
    const structure = modelStructure(manifest);
    const run = async (batch: SequenceIds[]) => (batch.length === 1 ? [await runner.run(batch[0])] : runner.runBatch(batch));
    const batched = await runHeadProbe(structure, run, { candidates, batchSize: 8 });
    const single = await runHeadProbe(structure, run, { candidates, batchSize: 1 });
    const scores = batched.families['mixing/mixing'];
    const { layers, heads } = manifest.dimensions;
    assert.strictEqual(scores.length, layers);
    assert.ok(scores.every((row) => row.length === heads));
    const T = batched.tokens;
    assert.strictEqual(T, 100, 'no prefix: the block twice');
    scores.forEach((row, l) =>
      row.forEach((s, h) => {
        for (const key of ['induction', 'duplicate', 'previous', 'sink'] as const) assert.ok(s[key] >= 0 && s[key] <= 1 + 1e-6, `layer ${l} head ${h} ${key} = ${s[key]}`);
        assert.ok(s.entropy >= 0 && s.entropy <= Math.log2(T), `entropy ${s.entropy}`);
        assert.ok(s.distance >= 0 && s.distance <= T, `distance ${s.distance}`);
        for (const key of HEAD_SCORE_KEYS) assert.ok(Math.abs(s[key] - single.families['mixing/mixing'][l][h][key]) < 1e-4, `layer ${l} head ${h} ${key}: batched and single runs differ`);
      }),
    );
  });
});
