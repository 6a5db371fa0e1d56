// Why: every hover, decoration and heatmap row rests on exact token ranges, and users select anything: emoji
// joined with ZWJ, CJK, combining marks, CRLF, NUL, lone surrogates (half an emoji cut by a selection).
// Seeded random selections go through tokenize → truncate (random maxTokens) → analyse on a byte-level BPE
// (the bundled tokenizer), a WordPiece and a Unigram tokenizer (test/fixtures/models), and every result must
// keep the range invariants (src/core/tokenizer.ts): in order, disjoint, inside the analysed text, which is
// a prefix of the selection that ends where the kept tokens' bytes end; byte-level ranges tile it exactly.
// Thousands go through a stand-in model (logits of zeros, so analyse runs fast); a few through the real one.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { type Analysis, analyse, truncationEnd } from '../../src/core/analyze';
import { ModelRunner, type OrtModule, type RunOutputs, type SequenceIds } from '../../src/core/engine';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { modelStructure } from '../../src/core/modelStructure';
import { isBlank } from '../../src/core/text';
import { LensTokenizer, utf8Length } from '../../src/core/tokenizer';
import { seededRandom as random } from './seeded';

const root = path.join(__dirname, '../..');
const SEED = 20240612;
const START = 17; // document offset of the selection

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** Pieces a selection is made of: code, prose, whitespace and the hard cases. */
const PIECES = [
  'const x = 1;', 'function f(a, b) {', '}', 'return a + b;', 'the', ' quick', ' brown fox', 'Hello', ', world.', 'x_1', '=>', '0x1F', '42',
  ' ', '  ', '\t', '\n', '\r\n', '\r', '\n\n',
  'Å', 'é', 'e\u0301', 'a\u0308\u0323', 'ﬁ', 'ß', 'İ', 'Ω', '\u00a0', '\ufeff', '\u200b',
  '👩\u200d💻', '👨\u200d👩\u200d👧\u200d👦', '👍🏽', '🇯🇵', '😀', '🏳️\u200d🌈', '❤️',
  '漢字', '日本語のテキスト', '한국어', '中文，標點。', 'مرحبا', 'שלום', 'Ελληνικά', 'кириллица',
  '\0', '\ud800', '\udc00', 'a\ud83dz', '\udfff\ud800',
  '<|endoftext|>', '[SEP]', '[CLS]', '</s>', '<pad>', '[UNK]', '##ing',
];

function randomText(next: () => number): string {
  const n = 1 + Math.floor(next() * 24);
  let s = '';
  for (let i = 0; i < n; i++) s += PIECES[Math.floor(next() * PIECES.length)];
  return s;
}

interface Subject {
  name: string;
  folder: string;
  /** Byte-level BPE: ranges tile the text and the kept tokens' bytes are the text's bytes. */
  byteLevel: boolean;
  /** Random selections run through the stand-in model. */
  count: number;
}

const SUBJECTS: Subject[] = [
  { name: 'byte-level BPE (bundled transformer)', folder: 'media/models/transformer', byteLevel: true, count: 1500 },
  { name: 'WordPiece (toy-encoder, [CLS] … [SEP])', folder: 'test/fixtures/models/toy-encoder', byteLevel: false, count: 600 },
  { name: 'Unigram (toy-encoder-decoder, two sequences)', folder: 'test/fixtures/models/toy-encoder-decoder', byteLevel: false, count: 600 },
];
/** Selections of each subject that also run through the real model in onnxruntime-web. */
const REAL_RUNS = 4;

function load(folder: string): { manifest: ModelManifest; tokenizer: LensTokenizer } {
  const result = validateManifest(JSON.parse(readFileSync(path.join(root, folder, 'manifest.json'), 'utf8')));
  if (!result.ok) throw new Error(result.errors.join('\n'));
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(root, folder, result.manifest.tokenizer.file), 'utf8')));
  return { manifest: result.manifest, tokenizer };
}

/** A stand-in for ModelRunner: the logits the manifest declares, all zeros (analyse reads nothing else). */
function standIn(manifest: ModelManifest): ModelRunner {
  const structure = modelStructure(manifest);
  const logits = structure.logits!;
  const run = (ids: SequenceIds): Promise<RunOutputs> => {
    const dims = logits.axes
      .filter((a) => a.name !== 'batch')
      .map((a) => (typeof a.size === 'number' ? a.size : ids[Object.keys(manifest.sequences).find((id) => manifest.sequences[id].length === a.size)!].length));
    return Promise.resolve({ [logits.name]: { dims, data: new Float32Array(dims.reduce((x, y) => x * y, 1)) } });
  };
  return { manifest, structure, run } as unknown as ModelRunner;
}

/** The invariants every analysis keeps; `where` names the case for the message. */
function checkAnalysis(a: Analysis, text: string, maxTokens: number, total: number, tokenizer: LensTokenizer, subject: Subject, where: string): void {
  assert.ok(text.startsWith(a.text), `${where}: the analysed text must be a prefix of the selection`);
  assert.strictEqual(a.truncated !== null, total > maxTokens, `${where}: truncated`);
  if (!a.truncated) assert.strictEqual(a.text, text, `${where}: untruncated text`);
  else assert.strictEqual(a.truncated.keptTokens, maxTokens, `${where}: kept tokens`);
  const end = START + a.text.length;
  for (const s of a.sequences) {
    let previous = START;
    s.tokens.forEach((t, i) => {
      const at = `${where}: sequence ${s.id} token ${i} [${t.start}, ${t.end})`;
      assert.ok(t.start >= previous && t.start <= t.end && t.end <= end, `${at} is out of order or outside [${START}, ${end})`);
      if (t.special) assert.ok(t.start === t.end || text.slice(t.start - START, t.end - START).length > 0, at);
      previous = t.end;
    });
  }
  if (!subject.byteLevel) return;
  const tokens = a.tokens;
  // Byte-level: ranges tile the analysed text, and it ends where the kept tokens' bytes end (or, when they
  // end inside a character, before that character).
  tokens.forEach((t, i) => assert.strictEqual(t.start, i === 0 ? START : tokens[i - 1].end, `${where}: token ${i} does not start where token ${i - 1} ends`));
  assert.strictEqual(tokens.length ? tokens[tokens.length - 1].end : START, end, `${where}: the ranges do not reach the end of the analysed text`);
  const bytes = tokens.reduce((n, t) => n + tokenizer.bytesOf(t.id).length, 0);
  const textBytes = utf8Length(a.text);
  assert.ok(bytes >= textBytes && bytes - textBytes < 4, `${where}: the kept tokens hold ${bytes} bytes, the analysed text ${textBytes}`);
  if (bytes > textBytes) assert.ok(tokens[tokens.length - 1].partial, `${where}: the last token holds part of a character and must be partial`);
}

describe('truncation ends where the kept tokens end', () => {
  const { manifest, tokenizer } = load('media/models/transformer');
  const runner = standIn(manifest);

  for (const text of ['Å', '😀', 'ab👩\u200d💻', '日本']) {
    it(`keeps only whole characters of ${JSON.stringify(text)} when maxTokens cuts inside one`, async () => {
      const spans = tokenizer.tokenize(text);
      for (let kept = 1; kept < spans.length; kept++) {
        const a = await analyse(tokenizer, runner, text, START, { maxTokens: kept });
        const bytes = spans.slice(0, kept).reduce((n, s) => n + s.byteEnd - s.byteStart, 0);
        assert.ok(utf8Length(a.text) <= bytes, `maxTokens ${kept}: "${a.text}" has more bytes (${utf8Length(a.text)}) than the kept tokens (${bytes})`);
        assert.strictEqual(a.tokens.length, kept);
        a.tokens.forEach((t, i) => assert.strictEqual(t.start, i === 0 ? START : a.tokens[i - 1].end));
        assert.strictEqual(a.tokens[kept - 1].end, START + a.text.length, 'the ranges tile the analysed text');
      }
    });
  }

  it('"Å" with maxTokens = 1 analyses no text: its one kept token holds only the first byte', async () => {
    assert.ok(tokenizer.tokenize('Å').length > 1, 'the bundled tokenizer spells "Å" with two byte tokens');
    const a = await analyse(tokenizer, runner, 'Å', START, { maxTokens: 1 });
    assert.strictEqual(a.text, '');
    assert.deepStrictEqual(a.tokens.map((t) => [t.start, t.end, t.partial]), [[START, START, true]]);
    assert.deepStrictEqual(a.truncated, { totalTokens: 2, keptTokens: 1 });
  });

  it('cuts after a whole character and before a split surrogate pair', () => {
    const span = (start: number, end: number, partial: boolean) => ({ id: 0, start, end, byteStart: 0, byteEnd: 0, partial, special: false });
    // "a😀": "a" whole, then the emoji's first bytes in one token and the rest in the next.
    const spans = [span(0, 1, false), span(1, 3, true), span(3, 3, true)];
    assert.strictEqual(truncationEnd('a😀', spans, 1), 1);
    assert.strictEqual(truncationEnd('a😀', spans, 2), 1);
    assert.strictEqual(truncationEnd('a😀', spans, 3), 3);
  });
});

describe('fuzz: random selections through tokenize → truncate → analyse', function () {
  this.timeout(120_000);

  for (const subject of SUBJECTS) {
    it(`${subject.name}: ${subject.count} seeded selections keep exact ranges`, async () => {
      const { manifest, tokenizer } = load(subject.folder);
      const runner = standIn(manifest);
      const next = random(SEED);
      for (let i = 0; i < subject.count; i++) {
        const text = randomText(next);
        const where = `seed ${SEED} case ${i} ${JSON.stringify(text)}`;
        const total = tokenizer.tokenize(text).length;
        const maxTokens = 1 + Math.floor(next() * (total + 2));
        if (isBlank(text)) {
          await assert.rejects(analyse(tokenizer, runner, text, START, { maxTokens }), /empty or only whitespace/, where);
          continue;
        }
        const a = await analyse(tokenizer, runner, text, START, { maxTokens });
        checkAnalysis(a, text, maxTokens, total, tokenizer, subject, `${where} maxTokens ${maxTokens}`);
      }
    });

    it(`${subject.name}: ${REAL_RUNS} selections through the real model`, async () => {
      const { manifest, tokenizer } = load(subject.folder);
      const bytes = readFileSync(path.join(root, subject.folder, manifest.model ?? 'model.onnx'));
      const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
      try {
        const next = random(SEED + 1);
        for (let i = 0; i < REAL_RUNS; i++) {
          let text = randomText(next);
          while (isBlank(text)) text = randomText(next);
          const total = tokenizer.tokenize(text).length;
          const maxTokens = 1 + Math.floor(next() * (total + 2));
          const where = `real run ${i} ${JSON.stringify(text)} maxTokens ${maxTokens}`;
          const a = await analyse(tokenizer, runner, text, START, { maxTokens });
          checkAnalysis(a, text, maxTokens, total, tokenizer, subject, where);
          assert.strictEqual(a.surprisal.length, a.tokens.length, where);
          assert.ok(a.predictions.every((p) => p.every((q) => Number.isFinite(q.probability))), `${where}: predictions`);
        }
      } finally {
        await runner.release();
      }
    });
  }
});
