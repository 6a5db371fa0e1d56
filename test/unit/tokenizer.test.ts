// Why: token ranges drive every editor decoration and hover, so they are checked on real files of every kind.
// The bundled byte-level tokenizer.json must give exactly the ids the Python training pipeline gave on the
// held-out split and tile every document; the fixtures trained with Hugging Face's Rust library
// (test/fixtures/tokenizers, made by training/tokenizers/train.js) must give the Rust library's ids, ranges
// inside its offsets, special tokens where they stand, and clear errors for broken files.

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

  it('gives the same ids for a long text asked for again, each call its own array, whatever came between', () => {
    const docs = heldout.documents.filter((d) => d.text.length >= 1024).slice(0, 3);
    assert.strictEqual(docs.length, 3, 'three held-out documents of 1,024 units or more');
    const fresh = new LensTokenizer(JSON.parse(bytes.toString('utf8')));
    const first = fresh.encode(docs[0].text);
    first.fill(-1); // a caller changing its array changes nothing kept
    fresh.encode('a short probe');
    assert.deepStrictEqual(fresh.encode(docs[0].text), docs[0].ids);
    assert.deepStrictEqual(fresh.encode(docs[0].text, { addSpecialTokens: true }), tokenizer.encode(docs[0].text, { addSpecialTokens: true }));
    // Past the kept ones, a text is encoded again, to the same ids.
    for (const d of docs) assert.deepStrictEqual(fresh.encode(d.text), d.ids);
    assert.deepStrictEqual(fresh.encode(docs[0].text), docs[0].ids);
    assert.deepStrictEqual(fresh.tokenize(docs[1].text), tokenizer.tokenize(docs[1].text));
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

const fixtureDir = path.join(root, 'test/fixtures/tokenizers');
/** A fixture as plain JSON, for tests that edit it (typed loosely on purpose). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const readFixture = (name: string): Record<string, any> => JSON.parse(readFileSync(path.join(fixtureDir, name), 'utf8'));

interface Reference {
  library: string;
  fixtures: Record<string, Array<{ text: string; ids: number[]; tokens: string[]; offsets: Array<[number, number]>; idsWithSpecialTokens: number[] }>>;
}

/** UTF-16 offset of each code-point offset (the Rust library reports code points). */
function unitsOfCodePoints(text: string): number[] {
  const units = [0];
  for (const ch of text) units.push(units[units.length - 1] + ch.length);
  return units;
}

describe('trained tokenizer fixtures against the Rust library', () => {
  const reference = JSON.parse(readFileSync(path.join(fixtureDir, 'reference.json'), 'utf8')) as Reference;
  for (const name of Object.keys(reference.fixtures)) {
    describe(name, () => {
      const tokenizer = new LensTokenizer(readFixture(name), name);
      const cases = reference.fixtures[name];

      it('gives the Rust ids, with and without special tokens', () => {
        for (const c of cases) {
          assert.deepStrictEqual(tokenizer.encode(c.text), c.ids, JSON.stringify(c.text));
          assert.deepStrictEqual(tokenizer.encode(c.text, { addSpecialTokens: true }), c.idsWithSpecialTokens, JSON.stringify(c.text));
          assert.deepStrictEqual(tokenizer.tokenize(c.text, { addSpecialTokens: true }).map((s) => s.id), c.idsWithSpecialTokens);
        }
      });

      it('places every token inside the Rust offsets (a ▁ may also take the space before it, a composed character its marks)', () => {
        for (const c of cases) {
          const spans = tokenizer.tokenize(c.text);
          const units = unitsOfCodePoints(c.text);
          spans.forEach((s, i) => {
            const [from, to] = [units[c.offsets[i][0]], units[c.offsets[i][1]]];
            let start = s.start;
            while (start < from && /\s/.test(c.text[start])) start++;
            // Rust aligns a composed character (NFKC of "e" + U+0301) with its first character only.
            let end = s.end;
            while (end > to && /\p{M}/u.test(c.text[end - 1])) end--;
            const where = `${JSON.stringify(c.text)} token ${i} ${JSON.stringify(c.tokens[i])}: ours [${s.start}, ${s.end}), Rust [${from}, ${to})`;
            assert.ok(start >= from && end <= to && start <= end, where);
            // Where Rust gives a token a range of its own, ours is the same (up to that leading space).
            const own = (j: number) => j < 0 || j >= spans.length || c.offsets[j][1] <= c.offsets[i][0] || c.offsets[j][0] >= c.offsets[i][1];
            if (own(i - 1) && own(i + 1) && !s.partial) assert.deepStrictEqual([start, end], [from, to], where);
          });
        }
      });
    });
  }
});

/** The tokenizer's kind of file, with what the normaliser does to a slice of text (for the checks below). */
const KINDS = {
  wordpiece: { file: 'wordpiece.json', first: 2, last: 3 },
  unigram: { file: 'unigram.json', first: undefined, last: 1 },
  'bpe-byte-fallback': { file: 'bpe-byte-fallback.json', first: 1, last: undefined },
};

describe('special tokens', () => {
  const text = 'École  Straße\n';
  for (const [kind, { file, first, last }] of Object.entries(KINDS)) {
    it(`${kind}: the post-processor's tokens have empty ranges where they stand`, () => {
      const tokenizer = new LensTokenizer(readFixture(file), file);
      const plain = tokenizer.tokenize(text);
      const spans = tokenizer.tokenize(text, { addSpecialTokens: true });
      const added = spans.filter((s) => s.special);
      assert.strictEqual(spans.length, plain.length + added.length);
      assert.ok(added.every((s) => s.start === s.end));
      if (first !== undefined) assert.deepStrictEqual([spans[0].id, spans[0].start, spans[0].special], [first, 0, true]);
      if (last !== undefined) assert.deepStrictEqual([spans[spans.length - 1].id, spans[spans.length - 1].start, spans[spans.length - 1].byteStart], [last, text.length, Buffer.byteLength(text)]);
      assert.ok(plain.every((s) => !s.special));
    });
  }

  it('puts a prefix first as special tokens at 0, and rejects an unknown one', () => {
    const tokenizer = new LensTokenizer(readFixture('unigram.json'), 'unigram.json');
    const spans = tokenizer.tokenize('hello', { prefix: ['<pad>'], addSpecialTokens: true });
    assert.deepStrictEqual(spans.map((s) => [s.id, s.special]), [[0, true], ...tokenizer.encode('hello').map((id) => [id, false]), [1, true]]);
    assert.deepStrictEqual([spans[0].start, spans[0].end], [0, 0]);
    assert.throws(() => tokenizer.tokenize('hello', { prefix: ['<nope>'] }), (e: Error) => /unigram\.json.*"<nope>"/.test(e.message));
  });

  it('keeps special tokens written in the text, covering their text', () => {
    const tokenizer = new LensTokenizer(readFixture('wordpiece.json'), 'wordpiece.json');
    const text = 'a [SEP] b';
    const sep = tokenizer.tokenize(text).find((s) => s.id === 3)!;
    assert.deepStrictEqual([sep.start, sep.end, sep.special], [2, 7, true]);
    assert.ok(tokenizer.isSpecial(3) && !tokenizer.isSpecial(tokenizer.idOf('the')!));
  });
});

describe('files in other shapes', () => {
  const texts = ['Héllo Wörld, ﬁne ＡＢＣ 😀 中文 e\u0301', '  def f(x):\n\treturn x  ', ''];
  const same = (a: LensTokenizer, b: LensTokenizer) => {
    for (const text of texts) {
      assert.deepStrictEqual(a.encode(text), b.encode(text), JSON.stringify(text));
      assert.deepStrictEqual(a.tokenize(text, { addSpecialTokens: true }), b.tokenize(text, { addSpecialTokens: true }), JSON.stringify(text));
    }
  };

  for (const { file } of Object.values(KINDS)) {
    it(`${file} without model.type: the type is inferred from the fields`, () => {
      const json = readFixture(file);
      delete json.model.type;
      same(new LensTokenizer(readFixture(file)), new LensTokenizer(json));
    });
  }

  it('old Metaspace settings (add_prefix_space) give what the new prepend_scheme gives', () => {
    const withScheme = (scheme: string) => {
      const json = readFixture('unigram.json');
      json.pre_tokenizer.pretokenizers[1].prepend_scheme = scheme;
      return json;
    };
    const old = (prefix: boolean) => {
      const json = readFixture('unigram.json');
      json.pre_tokenizer.pretokenizers[1] = { type: 'Metaspace', replacement: '▁', add_prefix_space: prefix };
      json.decoder = { type: 'Metaspace', replacement: '▁', add_prefix_space: prefix };
      return json;
    };
    same(new LensTokenizer(old(true)), new LensTokenizer(withScheme('always')));
    same(new LensTokenizer(old(false)), new LensTokenizer(withScheme('never')));
    const never = new LensTokenizer(old(false));
    assert.notDeepStrictEqual(never.encode('hello'), new LensTokenizer(old(true)).encode('hello'));
    const [first] = never.tokenize('hello');
    assert.strictEqual(first.start, 0);
  });

  it('a WordPiece file without continuing_subword_prefix uses "##"', () => {
    const json = readFixture('wordpiece.json');
    delete json.model.continuing_subword_prefix;
    json.model.max_input_chars_per_word = 100;
    delete json.model.type;
    same(new LensTokenizer(readFixture('wordpiece.json')), new LensTokenizer(json));
  });
});

describe('display, ids and decoding', () => {
  it('shows tokens as text', () => {
    const wp = new LensTokenizer(readFixture('wordpiece.json'));
    assert.strictEqual(wp.display(wp.idOf('##ing')!), 'ing');
    assert.strictEqual(wp.display(2), '[CLS]');
    const uni = new LensTokenizer(readFixture('unigram.json'));
    assert.strictEqual(uni.display(uni.idOf('▁return')!), '·return');
    assert.strictEqual(uni.display(1), '</s>');
    const bf = new LensTokenizer(readFixture('bpe-byte-fallback.json'));
    assert.strictEqual(bf.display(bf.idOf('<0x0A>')!), '↵');
    assert.strictEqual(bf.display(bf.idOf('<0x09>')!), '→');
    assert.strictEqual(bf.display(bf.idOf('<0xE4>')!), '<0xE4>');
    assert.strictEqual(bf.display(bf.idOf('▁return')!), '·return');
    const bl = new LensTokenizer(JSON.parse(readFileSync(tokenizerPath, 'utf8')));
    assert.strictEqual(bl.display(bl.encode(' return')[0]), '·return');
    assert.strictEqual(bl.idOf('nope-not-a-token'), undefined);
    assert.throws(() => wp.display(1e6), /outside/);
  });

  it('decodes back to the text', () => {
    const bf = new LensTokenizer(readFixture('bpe-byte-fallback.json'));
    const text = 'def f(x):\n\treturn "中文 😀"';
    assert.strictEqual(bf.decode(bf.encode(text)), text);
    const uni = new LensTokenizer(readFixture('unigram.json'));
    assert.strictEqual(uni.decode(uni.encode('return value')), 'return value');
    assert.strictEqual(uni.decode([]), '');
    assert.strictEqual(uni.vocabSize, 1000);
  });
});

describe('broken tokenizer files', () => {
  const wordpiece = () => readFixture('wordpiece.json');
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['not an object', () => [], /bad\.json: "\(the file\)" should be a JSON object.*found an array/],
    ['no model', () => ({ ...wordpiece(), model: undefined }), /bad\.json: "model" should be an object, but it is missing/],
    ['an unsupported model', () => ({ ...wordpiece(), model: { type: 'WordLevel', vocab: {} } }), /"model\.type" should be one of "BPE", "WordPiece", "Unigram", but found "WordLevel"/],
    ['a vocabulary that is a string', () => ({ ...wordpiece(), model: { type: 'BPE', vocab: 'x', merges: [] } }), /"model\.vocab" should be an object mapping tokens to ids \(BPE\), but found "x"/],
    ['a bad id', () => ({ ...wordpiece(), model: { type: 'WordPiece', vocab: { a: -1 } } }), /"model\.vocab\["a"\]" should be a non-negative integer id, but found number/],
    ['BPE without merges', () => ({ ...wordpiece(), model: { type: 'BPE', vocab: { a: 0 } } }), /"model\.merges" should be an array/],
    ['a bad Unigram entry', () => ({ ...wordpiece(), model: { type: 'Unigram', vocab: [['a', -1], ['b']] } }), /"model\.vocab\[1\]" should be a \[piece, score\] pair, but found an array/],
    ['an untyped model without merges or WordPiece fields', () => ({ ...wordpiece(), model: { vocab: { a: 0 } } }), /"model\.type" should be one of .* but it is missing/],
    ['a bad added token', () => ({ ...wordpiece(), added_tokens: [{ content: 'x' }] }), /"added_tokens\[0\]" should be an object with a non-negative integer "id"/],
    ['an added token with a negative id', () => ({ ...wordpiece(), added_tokens: [{ id: -1, content: 'x' }] }), /"added_tokens\[0\]" should be an object with a non-negative integer "id" and a string "content", but found/],
    ['an unknown normalizer', () => ({ ...wordpiece(), normalizer: { type: 'Klingon' } }), /bad\.json: "normalizer" could not be loaded.*Klingon/],
    ['an unknown pre-tokenizer', () => ({ ...wordpiece(), pre_tokenizer: { type: 'Klingon' } }), /bad\.json: "pre_tokenizer" could not be loaded.*Klingon/],
  ];
  for (const [what, json, message] of cases) {
    it(`names the file and the field: ${what}`, () => {
      assert.throws(
        () => new LensTokenizer(json(), 'bad.json'),
        (e: Error & { code?: string }) => e.code === 'model-invalid' && message.test(e.message),
      );
    });
  }
});

