// The selection is tokenized while its model's session is created: the panel hands the text to the load, the
// tokenizer worker starts on it as soon as it has the tokenizer, and the count before the run and the
// analysis take those spans instead of tokenizing the same text twice more; the warm-up and the memory check's
// probes go to the worker too, so the page's own tokenizer never builds the library's. Real onnxruntime-web (wasm) and
// the bundled Transformer; the worker's side is the real LensTokenizer, in this thread, recording its calls.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import { LensError } from '../../src/core/errors';
import { selectionLengths } from '../../src/core/memoryEstimate';
import { finish } from '../../src/core/timeSlices';
import { LensTokenizer, type TokenizeOptions } from '../../src/core/tokenizer';
import { tokenizerSteps } from '../../src/core/tokenizerBuild';
import { type PackedTokenizer, packTokenizer } from '../../src/core/tokenizerPacked';
import { Engine } from '../../webview/engine';
import type { OffThreadTokenizers } from '../../webview/tokenizeRoutes';
import { CountingOrt, DiskFiles, descriptor } from './engineRig';

const transformer = descriptor('media/models/transformer');
const text = 'export function add(a: number, b: number) {\n  return a + b;\n}\n';

/** An ordinary token of the bundled vocabulary, which the worker's answer marks special. */
const MARKED_SPECIAL = 300;

/** The tokenizer worker's requests, answered by the real tokenizer; each call notes how many sessions existed. */
class RecordingTokenizers implements OffThreadTokenizers {
  readonly calls: Array<{ text: string; options: TokenizeOptions; sessionsCreated: number }> = [];
  private readonly loaded = new Map<string, LensTokenizer>();
  constructor(private readonly ort: CountingOrt) {}
  async load(key: string, file: string, bytes: Uint8Array, pack: boolean): Promise<PackedTokenizer | null> {
    assert.ok(pack, 'the panel\'s engine asks for the packed parts');
    const json = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    const parts = finish(tokenizerSteps(json, file, pack));
    this.loaded.set(key, new LensTokenizer(json, file, parts));
    // As the worker answers (tokenizerWorker.ts); one more special id marks the page's copy as made from it.
    const packed = packTokenizer(parts);
    packed.specialIds = new Set([...packed.specialIds, MARKED_SPECIAL]);
    return packed;
  }
  async tokenize(key: string, text: string, options: TokenizeOptions) {
    this.calls.push({ text, options, sessionsCreated: this.ort.created });
    const tokenizer = this.loaded.get(key);
    if (!tokenizer) throw new Error(`no tokenizer ${key}`);
    return tokenizer.tokenize(text, options);
  }
  unload(key: string): void {
    this.loaded.delete(key);
  }
}

describe('Engine tokenizes the selection while the session is created', function () {
  this.timeout(60_000);

  it('starts on the text before the session exists, and the count and the analysis share that one call', async () => {
    const ort = new CountingOrt();
    const tokenizers = new RecordingTokenizers(ort);
    const engine = new Engine({ provider: 'wasm', ort, files: new DiskFiles(), tokenizers, tokenizeOnlyOffThread: true });
    try {
      const analysis = await engine.exclusive(async (signal) => {
        const loaded = await engine.load(transformer, signal, undefined, text);
        const counted = await loaded.tokenize(text, {});
        // The panel's memory check counts special tokens on a probe, aside: the selection's spans stay kept.
        const lengths = await selectionLengths(transformer.manifest, loaded.tokenizeAside, text, 2048, counted);
        const result = await engine.analyseWith(transformer, text, 0, 2048, signal);
        assert.strictEqual(result.tokens.length, counted.length);
        assert.strictEqual(lengths.tokens, counted.length);
        // Everything the page tokenized went to the worker: the page's own tokenizer never built the library's,
        // and it was made from the worker's parts, not from the file.
        assert.ok(!loaded.tokenizer.libraryBuilt, 'the page built its tokenizer library');
        assert.ok(loaded.tokenizer.isSpecial(MARKED_SPECIAL), 'the page made its tokenizer from the file, not from the worker\'s parts');
        return result;
      });
      const plain = tokenizers.calls.filter((c) => c.text === text && JSON.stringify(c.options) === '{}');
      assert.strictEqual(plain.length, 1, `the selection was tokenized ${plain.length} times in the worker`);
      assert.strictEqual(plain[0].sessionsCreated, 0, 'the worker got the text before the session was created');
      const own = new LensTokenizer(JSON.parse(readFileSync(transformer.tokenizerUri, 'utf8')), 'tokenizer.json').tokenize(text);
      assert.deepStrictEqual(analysis.tokens.map((t) => [t.id, t.start, t.end]), own.map((s) => [s.id, s.start, s.end]), 'the spans are the tokenizer\'s');
      // Another text is tokenized afresh.
      await engine.analyse(transformer, `${text}// more\n`, 0, 2048);
      assert.strictEqual(tokenizers.calls.filter((c) => c.text === `${text}// more\n`).length, 1);
    } finally {
      await engine.dispose();
    }
    assert.strictEqual(ort.released, ort.created);
  });

  it('builds the page\'s tokenizer from the file, and tokenizes there, when the worker cannot load it', async () => {
    const failed = new LensError('backend-unavailable', 'The tokenizer worker failed: it stopped.');
    const tokenizers: OffThreadTokenizers = { load: () => Promise.reject(failed), tokenize: () => Promise.reject(failed), unload: () => undefined };
    const ort = new CountingOrt();
    const engine = new Engine({ provider: 'wasm', ort, files: new DiskFiles(), tokenizers, tokenizeOnlyOffThread: true });
    const warned = console.warn;
    const warnings: string[] = [];
    console.warn = (message: string) => void warnings.push(message);
    try {
      const analysis = await engine.analyse(transformer, text, 0, 2048);
      const own = new LensTokenizer(JSON.parse(readFileSync(transformer.tokenizerUri, 'utf8')), 'tokenizer.json').tokenize(text);
      assert.deepStrictEqual(analysis.tokens.map((t) => [t.id, t.start, t.end]), own.map((s) => [s.id, s.start, s.end]));
      assert.ok(warnings.some((w) => /^Building the page's tokenizer from the file: the tokenizer worker did not load it \(The tokenizer worker failed: it stopped\.\)/.test(w)), warnings.join('\n'));
    } finally {
      console.warn = warned;
      await engine.dispose();
    }
    assert.strictEqual(ort.released, ort.created);
  });
});
