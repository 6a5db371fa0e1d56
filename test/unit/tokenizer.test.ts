// The bundled tokenizer.json, loaded through @huggingface/tokenizers, must give exactly the ids the Python
// training pipeline gave on the whole held-out split, decode back to the same text, and its token ranges
// must tile every held-out document.

import * as assert from 'assert';
import { createHash } from 'crypto';
import { readFileSync } from 'fs';
import * as path from 'path';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');
const tokenizerPath = path.join(root, process.env.LENS_TOKENIZER ?? 'media/models/transformer/tokenizer.json');

interface Heldout {
  tokenizerSha256: string;
  vocabSize: number;
  endOfText: { token: string; id: number };
  documents: Array<{ path: string; text: string; ids: number[] }>;
  joinedIds: number[];
}

describe('bundled tokenizer', () => {
  let heldout: Heldout;
  let bytes: Buffer;
  let tokenizer: LensTokenizer;
  before(() => {
    heldout = JSON.parse(readFileSync(path.join(root, 'test/fixtures/heldout-tokens.json'), 'utf8')) as Heldout;
    bytes = readFileSync(tokenizerPath);
    tokenizer = new LensTokenizer(JSON.parse(bytes.toString('utf8')));
  });

  it('is the tokenizer the held-out ids were made with', () => {
    assert.strictEqual(createHash('sha256').update(bytes).digest('hex'), heldout.tokenizerSha256);
    assert.strictEqual(tokenizer.vocabSize, heldout.vocabSize);
  });

  it('is shared by every bundled model', () => {
    for (const id of ['lstm', 'gru']) {
      assert.ok(readFileSync(path.join(root, 'media/models', id, 'tokenizer.json')).equals(bytes), `${id} has another tokenizer.json`);
    }
  });

  it(`gives the Python ids on every held-out document`, () => {
    let tokens = 0;
    let mismatches = 0;
    for (const doc of heldout.documents) {
      const ids = tokenizer.encode(doc.text);
      tokens += ids.length;
      if (ids.length !== doc.ids.length || ids.some((id, i) => id !== doc.ids[i])) {
        mismatches++;
        const at = ids.findIndex((id, i) => id !== doc.ids[i]);
        assert.fail(`${doc.path}: first mismatch at token ${at}: TypeScript ${ids[at]}, Python ${doc.ids[at]}`);
      }
    }
    assert.strictEqual(mismatches, 0);
    assert.ok(tokens > 50_000, `only ${tokens} held-out tokens compared`);
  });

  it('recognises the end-of-text token in the joined held-out split', () => {
    const joined = heldout.documents.map((d) => heldout.endOfText.token + d.text).join('');
    assert.deepStrictEqual(tokenizer.encode(joined), heldout.joinedIds);
  });

  it('decodes every held-out document back to its text', () => {
    for (const doc of heldout.documents) {
      assert.strictEqual(tokenizer.decode(doc.ids), doc.text, doc.path);
    }
  });

  it('maps held-out tokens to ranges that tile each document', () => {
    for (const doc of heldout.documents) {
      const spans = tokenizer.tokenize(doc.text);
      assert.deepStrictEqual(spans.map((s) => s.id), doc.ids);
      let unit = 0;
      for (const s of spans) {
        assert.strictEqual(s.start, unit, doc.path);
        unit = s.end;
      }
      assert.strictEqual(unit, doc.text.length, doc.path);
    }
  });
});
