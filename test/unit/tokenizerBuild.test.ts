// LensTokenizer.inSlices (src/core/tokenizerBuild.ts) builds a tokenizer in steps, pausing between them, so that
// the page's thread draws meanwhile. It must give the very tokenizer the constructor builds at once (the same
// ids, ranges, display texts and bytes) for every kind of vocabulary, including one of GPT-2's size, must
// actually pause, must report a damaged file exactly as the constructor does, and must stop when given up. The
// page's copy made from the tokenizer worker's packed parts (tokenizerPacked.ts) must be that tokenizer too.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import { LensError } from '../../src/core/errors';
import { finish } from '../../src/core/timeSlices';
import { LensTokenizer } from '../../src/core/tokenizer';
import { tokenizerSteps } from '../../src/core/tokenizerBuild';
import { packTokenizer, packedBuffers } from '../../src/core/tokenizerPacked';
import { grownTokenizer } from '../bench/gpt2Model';

const root = path.join(__dirname, '../..');
const read = (file: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(root, file), 'utf8')) as Record<string, unknown>;
const SAMPLE = readFileSync(path.join(root, 'test/fixtures/workspace/sample.py'), 'utf8').slice(0, 3000) + '\n  Ünïcode “quotes” 日本語 😀\tend [CLS] <|endoftext|>';

/** The bundled byte-level BPE grown to GPT-2's size, as the benchmarks' GPT-2-sized model has it. */
const gpt2Sized = () => grownTokenizer(readFileSync(path.join(root, 'media/models/transformer/tokenizer.json'), 'utf8'), 50257);

/** Builds in slices with a pause after every step; returns the tokenizer and how often it paused. */
async function inSlices(json: unknown, file: string): Promise<{ tokenizer: LensTokenizer; pauses: number }> {
  let pauses = 0;
  const tokenizer = await LensTokenizer.inSlices(json, file, { pause: async () => void pauses++, sliceMs: 0 });
  return { tokenizer, pauses };
}

function assertSame(sliced: LensTokenizer, whole: LensTokenizer, what: string): void {
  assert.strictEqual(sliced.vocabSize, whole.vocabSize, `${what}: vocabulary size`);
  assert.deepStrictEqual(sliced.tokenize(SAMPLE), whole.tokenize(SAMPLE), `${what}: tokens and ranges`);
  assert.deepStrictEqual(sliced.tokenize(SAMPLE, { addSpecialTokens: true }), whole.tokenize(SAMPLE, { addSpecialTokens: true }), `${what}: with special tokens`);
  for (let id = 0; id < whole.vocabSize; id += 7) {
    assert.strictEqual(sliced.display(id), whole.display(id), `${what}: display of ${id}`);
    assert.deepStrictEqual(sliced.bytesOf(id), whole.bytesOf(id), `${what}: bytes of ${id}`);
    assert.strictEqual(sliced.isSpecial(id), whole.isSpecial(id), `${what}: special ${id}`);
  }
}

/** A tokenizer file with a pre-tokenizer the library does not know, and the error the constructor gives for it. */
function damagedPreTokenizer(file: string): { damaged: Record<string, unknown>; atOnce: LensError } {
  const damaged = read(file);
  damaged.pre_tokenizer = { type: 'NoSuchPreTokenizer' };
  try {
    new LensTokenizer(structuredClone(damaged), 'damaged.json');
  } catch (err) {
    if (err instanceof LensError) return { damaged, atOnce: err };
    throw err;
  }
  throw new Error(`${file} with an unknown pre-tokenizer loaded`);
}

/** One tokenizer file of each kind of vocabulary. */
const KINDS: Array<[string, string]> = [
  ['byte-level BPE (bundled)', 'media/models/transformer/tokenizer.json'],
  ['BPE with byte fallback', 'test/fixtures/tokenizers/bpe-byte-fallback.json'],
  ['Unigram', 'test/fixtures/tokenizers/unigram.json'],
  ['WordPiece, with a normalizer', 'test/fixtures/tokenizers/wordpiece.json'],
];

describe('building a tokenizer in slices (LensTokenizer.inSlices)', () => {
  for (const [kind, file] of KINDS) {
    it(`gives the tokenizer the constructor gives, pausing between steps: ${kind}`, async () => {
      const { tokenizer, pauses } = await inSlices(read(file), file);
      assertSame(tokenizer, new LensTokenizer(read(file), file), kind);
      assert.ok(pauses >= 3, `${kind}: paused ${pauses} times`);
      // Its library left until used (when the file allows it), then built: the same tokenizer again.
      const deferred = await LensTokenizer.inSlices(read(file), file, { pause: async () => undefined, libraryWhenUsed: true });
      assertSame(deferred, new LensTokenizer(read(file), file), `${kind}, library when used`);
    });
  }

  it('cuts a vocabulary of GPT-2 size into steps of at most 4,096 tokens', async () => {
    const json = gpt2Sized();
    const { tokenizer, pauses } = await inSlices(json, 'gpt2-sized.json');
    assert.strictEqual(tokenizer.vocabSize, 50257);
    assertSame(tokenizer, new LensTokenizer(gpt2Sized(), 'gpt2-sized.json'), 'GPT-2-sized');
    // Two passes over the vocabulary (ids, then bytes), each paused every 4,096 tokens, and the steps around them.
    assert.ok(pauses >= 2 * Math.floor(50257 / 4096), `paused ${pauses} times`);
  });

  it('reports a damaged file as the constructor does, naming the file and field', async () => {
    const { damaged, atOnce } = damagedPreTokenizer('test/fixtures/tokenizers/wordpiece.json');
    assert.ok(/^damaged\.json: /.test(atOnce.message), atOnce.message);
    await assert.rejects(inSlices(damaged, 'damaged.json'), (err: unknown) => err instanceof LensError && err.message === atOnce.message && err.code === 'model-invalid');
  });

  it('leaves the library for first use when asked (libraryWhenUsed), for a file without a normalizer', async () => {
    const file = 'media/models/transformer/tokenizer.json';
    const deferred = await LensTokenizer.inSlices(read(file), file, { pause: async () => undefined, libraryWhenUsed: true });
    const whole = new LensTokenizer(read(file), file);
    // Token texts, ids and bytes without the library; then the library's tokens, the same as built at once.
    assert.strictEqual(deferred.display(deferred.idOf('Ġreturn')!), whole.display(whole.idOf('Ġreturn')!));
    assert.ok(!deferred.libraryBuilt, 'built before any use');
    assertSame(deferred, whole, 'deferred');
    // A damaged library part then fails at that first use, exactly as the constructor fails at once.
    const { damaged, atOnce } = damagedPreTokenizer(file);
    const late = await LensTokenizer.inSlices(damaged, 'damaged.json', { pause: async () => undefined, libraryWhenUsed: true });
    assert.throws(() => late.tokenize('a'), (err: unknown) => err instanceof LensError && err.message === atOnce.message);
    // A file with a normalizer needs the library at once (its added tokens' normalized forms).
    const wordpiece = 'test/fixtures/tokenizers/wordpiece.json';
    const normalized = await LensTokenizer.inSlices(read(wordpiece), wordpiece, { pause: async () => undefined, libraryWhenUsed: true });
    assert.ok(normalized.libraryBuilt, 'a file with a normalizer builds the library at once');
  });

  it('stops when the build is given up', async () => {
    const file = 'media/models/transformer/tokenizer.json';
    await assert.rejects(LensTokenizer.inSlices(read(file), file, { pause: async () => undefined, sliceMs: 0, cancelled: () => true }), (err: unknown) => err instanceof LensError && err.code === 'cancelled');
  });
});

describe("the page's copy made from the tokenizer worker's parts (tokenizerPacked.ts)", () => {
  /** As the worker packs its parts and postMessage moves them, then the page unpacks them in steps. */
  async function throughWorker(json: unknown, file: string, libraryJson: () => unknown) {
    const packed = packTokenizer(finish(tokenizerSteps(json, file)));
    const transfer = packedBuffers(packed);
    const moved = structuredClone(packed, { transfer });
    let pauses = 0;
    const tokenizer = await LensTokenizer.fromPacked(moved, file, libraryJson, { pause: async () => void pauses++, sliceMs: 0 });
    return { tokenizer, pauses, transfer };
  }

  for (const [kind, file] of KINDS) {
    it(`is the tokenizer the constructor gives, its library built only when first used: ${kind}`, async () => {
      const { tokenizer, transfer } = await throughWorker(read(file), file, () => read(file));
      assert.ok(!tokenizer.libraryBuilt, `${kind}: the library was built before its first use`);
      assert.ok(transfer.length >= 2 && transfer.every((b) => b.byteLength === 0), `${kind}: the large tables were copied, not moved`);
      assertSame(tokenizer, new LensTokenizer(read(file), file), kind);
      assert.ok(tokenizer.libraryBuilt);
    });
  }

  it('unpacks a vocabulary of GPT-2 size in steps of at most 4,096 tokens', async () => {
    const { tokenizer, pauses } = await throughWorker(gpt2Sized(), 'gpt2-sized.json', gpt2Sized);
    assert.strictEqual(tokenizer.vocabSize, 50257);
    assert.ok(pauses >= 2 * Math.floor(50257 / 4096), `paused ${pauses} times`);
    assertSame(tokenizer, new LensTokenizer(gpt2Sized(), 'gpt2-sized.json'), 'GPT-2-sized');
  });

  it('keeps the ids the file gives when an added token takes a vocabulary entry\'s id or text', async () => {
    const file = 'media/models/transformer/tokenizer.json';
    const json = read(file);
    const vocab = (json.model as { vocab: Record<string, number> }).vocab;
    const [first, second] = Object.keys(vocab).filter((t) => vocab[t] > 300);
    // One added token takes the id of `first` under another text, one the text of `second` under a lower id.
    const added = json.added_tokens as Array<Record<string, unknown>>;
    added.push({ id: vocab[first], content: '<took-an-id>', special: true, single_word: false, lstrip: false, rstrip: false, normalized: false });
    added.push({ id: 7, content: second, special: false, single_word: false, lstrip: false, rstrip: false, normalized: false });
    const whole = new LensTokenizer(structuredClone(json), file);
    const { tokenizer } = await throughWorker(structuredClone(json), file, () => structuredClone(json));
    for (const text of [first, second, '<took-an-id>']) assert.strictEqual(tokenizer.idOf(text), whole.idOf(text), text);
    assert.strictEqual(tokenizer.display(vocab[first]), whole.display(vocab[first]));
    assert.strictEqual(tokenizer.display(7), whole.display(7));
    assertSame(tokenizer, whole, 'added tokens over vocabulary entries');
  });
});
