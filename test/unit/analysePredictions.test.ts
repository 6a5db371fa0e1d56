// Unit test of analyse()'s predictions in slices (src/core/analyze.ts): on the bundled Transformer in real
// onnxruntime-web, an analysis that yields between slices of rows (as the webview's does, so that no task is
// long) gives exactly the surprisal and top-5 predictions of one that does not, and those are the whole-tensor
// rowLogSumExp, surprisal and topPredictions of its logits; one whose predictions are ranked elsewhere (the
// webview's logits worker: the logits moved there and back) is the same analysis and holds the logits that came
// back; and one tokenized elsewhere (the webview's tokenizer worker) is the one the tokenizer itself gives.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { rowLogSumExp, surprisal, tensor, topPredictions } from '../../src/core/analysis';
import { analyse } from '../../src/core/analyze';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { type PredictRows, rowPredictionSteps } from '../../src/core/rowPredictions';
import { finish } from '../../src/core/timeSlices';
import { LensTokenizer, type TokenizeOptions } from '../../src/core/tokenizer';
import { loadBundled } from './bundledModel';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

describe('analyse(): predictions in slices', function () {
  this.timeout(120_000);

  it('yields after tokenizing, between slices of rows and before the labels, and gives the same surprisal and predictions as in one piece', async () => {
    const { manifest, bytes, dir } = loadBundled('transformer');
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
    try {
      const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')));
      const text = readFileSync(path.join(__dirname, '../../src/core/analysis.ts'), 'utf8').slice(0, 2_000);
      const whole = await analyse(tokenizer, runner, text, 0, { maxTokens: 4096 });
      let yields = 0;
      // Slices of no time at all: a yield between every two rows.
      const sliced = await analyse(tokenizer, runner, text, 0, { maxTokens: 4096, yieldControl: async () => void yields++, sliceMs: 0 });
      const T = whole.tokens.length;
      assert.ok(T > 3 * 128, `the text has ${T} tokens: several slices`);
      assert.strictEqual(yields, 1 + T - 1 + 1, 'one yield after tokenizing, one between each two rows, one before the surprisal and the labels');
      assert.deepStrictEqual(Array.from(sliced.surprisal), Array.from(whole.surprisal));
      assert.deepStrictEqual(sliced.predictions, whole.predictions);
      // And both are the whole-tensor functions' values.
      const logits = tensor(whole.outputs.logits.dims, whole.outputs.logits.data);
      const lse = rowLogSumExp(logits);
      const ids = whole.tokens.map((t) => t.id);
      assert.deepStrictEqual(Array.from(whole.surprisal), Array.from(surprisal(logits, ids, lse)));
      assert.deepStrictEqual(whole.predictions.map((row) => row.map(({ id, probability }) => ({ id, probability }))), topPredictions(logits, 5, lse).map((row) => row.map(({ id, probability }) => ({ id, probability }))));
    } finally {
      await runner.release();
    }
  });
});

describe('analyse(): predictions elsewhere', function () {
  this.timeout(120_000);

  it("ranks the predictions through the predictRows option (the webview's logits worker), the logits moved there and back, and gives the same analysis", async () => {
    const { manifest, bytes, dir } = loadBundled('transformer');
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
    try {
      const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')));
      const text = readFileSync(path.join(__dirname, '../../src/core/analysis.ts'), 'utf8').slice(0, 1_000);
      const here = await analyse(tokenizer, runner, text, 0, { maxTokens: 4096 });
      // As postMessage with a transfer list: the caller's array is detached, the worker answers with its own.
      const move = <A extends Float32Array | Float64Array>(values: A): A => structuredClone(values, { transfer: [values.buffer as ArrayBuffer] });
      const sent: Float32Array[] = [];
      const predictRows: PredictRows = async (logits, rows, V, topK) => {
        sent.push(logits);
        const there = move(logits);
        await new Promise((resolve) => setTimeout(resolve, 1)); // answered later, as a worker's message is
        const { lse, top } = finish(rowPredictionSteps(there, rows, V, topK));
        return { lse: move(lse), top: structuredClone(top), logits: move(there) };
      };
      const there = await analyse(tokenizer, runner, text, 0, { maxTokens: 4096, predictRows, yieldControl: async () => undefined });
      assert.strictEqual(sent.length, 1);
      assert.strictEqual(sent[0].length, 0, 'the run\'s logits were moved, not copied');
      assert.notStrictEqual(there.outputs.logits.data, sent[0]);
      assert.deepStrictEqual(there.outputs.logits, here.outputs.logits, 'the analysis holds the logits that came back');
      assert.deepStrictEqual(Array.from(there.surprisal), Array.from(here.surprisal));
      assert.deepStrictEqual(there.predictions, here.predictions);
      // A predictRows that fails is the analysis's failure (the engine decides on falling back).
      const failing: PredictRows = async () => Promise.reject(new Error('the logits worker failed'));
      await assert.rejects(analyse(tokenizer, runner, text, 0, { maxTokens: 4096, predictRows: failing }), /the logits worker failed/);
    } finally {
      await runner.release();
    }
  });
});

describe('analyse(): tokenizing elsewhere', function () {
  this.timeout(120_000);

  it("tokenizes through the tokenize option (the webview's tokenizer worker) for every sequence, and gives the analysis the tokenizer itself gives", async () => {
    const { manifest, bytes, dir } = loadBundled('t5');
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
    try {
      const json = readFileSync(path.join(dir, 'tokenizer.json'), 'utf8');
      const tokenizer = new LensTokenizer(JSON.parse(json));
      // As the worker does: its own tokenizer, loaded from the same file, answering asynchronously.
      const elsewhere = new LensTokenizer(JSON.parse(json));
      const calls: unknown[] = [];
      const tokenize = async (text: string, options: TokenizeOptions) => {
        calls.push(options);
        await new Promise((resolve) => setTimeout(resolve, 1));
        return elsewhere.tokenize(text, options);
      };
      const text = 'function add(a, b) {\n  return a + b;\n}\n';
      const here = await analyse(tokenizer, runner, text, 7, { maxTokens: 4096 });
      const there = await analyse(tokenizer, runner, text, 7, { maxTokens: 4096, tokenize });
      const special = runner.structure.sequences.filter((s) => s.addSpecialTokens || s.prefix.length);
      assert.ok(special.length > 0, 't5 has a sequence with special tokens');
      assert.deepStrictEqual(calls, [{}, ...special.map((s) => ({ addSpecialTokens: s.addSpecialTokens, prefix: s.prefix }))], 'the text once, then each sequence with special tokens');
      assert.deepStrictEqual(there.sequences, here.sequences);
      assert.deepStrictEqual(there.tokens, here.tokens);
      assert.deepStrictEqual(Array.from(there.surprisal), Array.from(here.surprisal));
      // Truncation cuts the tokens the option gave.
      const cut = await analyse(tokenizer, runner, text, 7, { maxTokens: 5, tokenize });
      assert.deepStrictEqual(cut.truncated, { totalTokens: tokenizer.tokenize(text).length, keptTokens: 5 });
    } finally {
      await runner.release();
    }
  });
});
