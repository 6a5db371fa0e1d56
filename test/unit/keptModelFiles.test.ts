// Unit tests of what the page decides about the model files it keeps across windows (webview/keptModelFiles.ts):
// which files, under which key, and which kept copies go once the copies together pass the budget. The keeping
// itself runs in Chromium's Cache Storage, in the end-to-end tests (test/e2e/panel.e2e.mjs).

import * as assert from 'assert';
import { WORKER_READ_FROM_BYTES } from '../../src/core/ortFiles';
import { KeptModelFiles, keepsFileOf, keptModelFileKey, overBudget } from '../../webview/keptModelFiles';

describe('kept model files', () => {
  it('keeps the files a page reads with a plain fetch, each under its digest alone', () => {
    assert.deepStrictEqual([keepsFileOf(0), keepsFileOf(WORKER_READ_FROM_BYTES - 1), keepsFileOf(WORKER_READ_FROM_BYTES)], [true, true, false]);
    const sha = 'ab'.repeat(32);
    assert.strictEqual(keptModelFileKey(sha), `https://attention-lens.invalid/model-files/${sha}`);
  });

  it('deletes the oldest copies until the rest fit the budget, never the newest', () => {
    const e = (key: string, bytes: number) => ({ key, bytes });
    assert.deepStrictEqual(overBudget([], 10), []);
    assert.deepStrictEqual(overBudget([e('a', 4), e('b', 4), e('c', 2)], 10), [], 'exactly the budget');
    assert.deepStrictEqual(overBudget([e('a', 4), e('b', 4), e('c', 3)], 10), ['a']);
    assert.deepStrictEqual(overBudget([e('a', 1), e('b', 9), e('c', 9)], 10), ['a', 'b']);
    assert.deepStrictEqual(overBudget([e('a', 5), e('b', 20)], 10), ['a'], 'the newest stays, even alone past the budget');
    assert.deepStrictEqual(overBudget([e('a', 20)], 10), []);
  });

  it('without Cache Storage (outside a browser, or not a secure context) keeps nothing and reads nothing', async () => {
    const kept = new KeptModelFiles();
    assert.strictEqual(kept.enabled, false);
    kept.fetched('ab'.repeat(32), new Uint8Array(8), 'm/model.onnx');
    await kept.keepFetched();
    assert.strictEqual(await kept.read('ab'.repeat(32), 'm/model.onnx'), undefined);
    assert.strictEqual(await kept.begin('ab'.repeat(32), 'm/model.onnx'), undefined);
  });
});
