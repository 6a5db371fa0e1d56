// Unit tests of what the page decides about the model files it keeps across windows (webview/keptModelFiles.ts):
// which files, under which key, which kept copies go once the copies together pass the budget, and which thread
// writes them (a store in memory stands in for Cache Storage, which Node lacks). The keeping itself runs in
// Chromium's Cache Storage, in the end-to-end tests (test/e2e/panel.e2e.mjs).

import * as assert from 'assert';
import { createHash } from 'crypto';
import { WORKER_READ_FROM_BYTES } from '../../src/core/ortFiles';
import type { KeptCache, KeptCacheStorage } from '../../webview/keptBytes';
import { KeptModelFiles, keepsFileOf, keptModelFileKey, overBudget } from '../../webview/keptModelFiles';

/** A Cache Storage of one process's memory (Node has none): what was put, by cache and key. */
function memoryStorage(): KeptCacheStorage & { entries(name: string): string[] } {
  const caches = new Map<string, Map<string, Response>>();
  const of = (name: string) => caches.get(name) ?? caches.set(name, new Map()).get(name)!;
  return {
    entries: (name) => [...of(name).keys()],
    open: async (name): Promise<KeptCache> => {
      const cache = of(name);
      const url = (key: string | Request) => (typeof key === 'string' ? key : key.url);
      return {
        match: async (key) => cache.get(url(key))?.clone(),
        put: async (key, response) => void cache.set(key, response),
        delete: async (key) => cache.delete(url(key)),
        keys: async () => [...cache.keys()].map((key) => new Request(key)),
      };
    },
  };
}

/** Hex SHA-256, as the manifest declares it. */
const digestOf = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

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

  it('hands the files fetched to a writer once keeping begins (onnxruntime\'s worker: off the page\'s thread), each a copy of its own', async () => {
    const storage = memoryStorage();
    const kept = new KeptModelFiles(storage, () => undefined);
    const model = new Uint8Array([1, 2, 3]);
    const tokenizer = new Uint8Array([4, 5]);
    kept.fetched(digestOf(model), model, 'm/model.onnx');
    const written: Array<[string, number[], string, boolean]> = [];
    const writer = async (sha256: string, bytes: Uint8Array, what: string) => void written.push([sha256, [...bytes], what, bytes.buffer !== model.buffer && bytes.buffer !== tokenizer.buffer]);
    await kept.keepFetched(writer);
    kept.fetched(digestOf(tokenizer), tokenizer, 'm/tokenizer.json'); // fetched after keeping began: written at once
    assert.deepStrictEqual(written, [
      [digestOf(model), [1, 2, 3], 'm/model.onnx', true],
      [digestOf(tokenizer), [4, 5], 'm/tokenizer.json', true],
    ]);
    assert.deepStrictEqual(storage.entries('attention-lens-model-files'), [], 'nothing was written on this thread');
  });

  it('keeps a file on the thread that has its bytes (the worker\'s side of a writer) only with its digest', async () => {
    const storage = memoryStorage();
    const warnings: string[] = [];
    const kept = new KeptModelFiles(storage, (m) => warnings.push(m));
    const bytes = new Uint8Array([7, 8, 9]);
    await kept.keepNow(digestOf(bytes), bytes, 'm/model.onnx');
    assert.deepStrictEqual(storage.entries('attention-lens-model-files'), [keptModelFileKey(digestOf(bytes))]);
    assert.deepStrictEqual(await kept.read(digestOf(bytes), 'm/model.onnx'), bytes);
    await kept.keepNow('00'.repeat(32), new Uint8Array([1]), 'm/tokenizer.json');
    assert.strictEqual(storage.entries('attention-lens-model-files').length, 1, 'bytes without their digest are not kept');
    assert.deepStrictEqual(warnings, [`m/tokenizer.json as fetched does not have its manifest's SHA-256 (found ${digestOf(new Uint8Array([1]))}, expected ${'00'.repeat(32)}): not kept for later windows.`]);
  });
});
