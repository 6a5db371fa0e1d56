// Why: the extension must load any Hugging Face tokenizer.json, so its tests need real files of every kind
// made by Hugging Face's own library (the Rust `tokenizers`, through its Node binding), not hand-written ones.
// This script trains three small tokenizers (about 1000 tokens each) and records what the Rust library
// gives on a set of hard texts, so the TypeScript port's ids and the extension's ranges can be checked.
//
// Training text (read deterministically, about 450 KB; nothing is downloaded):
//   * Python: the top-level modules /usr/lib/python3.11/*.py of Debian 12's libpython3.11-stdlib /
//     libpython3.11-minimal, in the order of sha256("select:" + file name), until about 300,000 bytes;
//   * TypeScript: node_modules/typescript/lib/lib.*.d.ts of the repository's pinned `typescript`
//     (package-lock.json), same order, until about 150,000 bytes.
// Both are project corpus sources (training/CORPUS.md). CRLF becomes LF; files that are not UTF-8 are skipped.
//
// Trainers: this binding exposes only the models' default trainers (no vocab_size or special tokens), so
// each model is trained with its default trainer and then cut to size the way a smaller trainer would
// stop: WordPiece and BPE keep their alphabet and their first merges (greedy merges do not depend on the
// target size); Unigram keeps every single character and the highest-scoring pieces, log-probabilities
// renormalised. The final tokenizers are then assembled and saved by the library itself.
// Reproducibility: the text and every step here are deterministic, and bpe-byte-fallback.json and
// unigram.json come out the same on every run. The Rust WordPiece trainer, however, breaks ties between
// equally frequent pairs in hash-map order, so a rerun can give a slightly different (equally valid)
// wordpiece.json. The committed files are the reference: test models are built on them, so regenerate
// only reference.json (--reference-only) unless the fixtures are meant to change.
//
// Outputs (test/fixtures/tokenizers/): wordpiece.json (BERT-style), unigram.json (T5-style),
// bpe-byte-fallback.json (Llama-style), reference.json (the Rust library's ids, tokens and offsets).
// Run: cd training/tokenizers && npm ci && node train.js [--reference-only]

'use strict';
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const tk = require('tokenizers');

const ROOT = path.join(__dirname, '..', '..');
const OUT = path.join(ROOT, 'test', 'fixtures', 'tokenizers');
const SIZE = 1000;

function selectFiles(dir, filter, budget) {
  const names = fs.readdirSync(dir).filter(filter);
  const key = (n) => crypto.createHash('sha256').update('select:' + n).digest('hex');
  names.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const texts = [];
  let bytes = 0;
  for (const name of names) {
    if (bytes >= budget) break;
    const raw = fs.readFileSync(path.join(dir, name));
    let text;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
    } catch {
      continue;
    }
    text = text.replace(/\r\n/g, '\n');
    const take = text.slice(0, budget - bytes);
    texts.push(take);
    bytes += Buffer.byteLength(take);
  }
  return texts;
}

function trainingFile() {
  const python = selectFiles('/usr/lib/python3.11', (n) => n.endsWith('.py'), 300_000);
  const typescript = selectFiles(path.join(ROOT, 'node_modules', 'typescript', 'lib'), (n) => /^lib\..*\.d\.ts$/.test(n), 150_000);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tok-')), 'train.txt');
  fs.writeFileSync(file, [...python, ...typescript].join('\n'));
  return file;
}

/** Trains `model` with its default trainer under the given normalizer and pre-tokenizer; returns the saved JSON. */
function trainDefault(model, setup, file) {
  const tokenizer = new tk.Tokenizer(model);
  setup(tokenizer);
  tokenizer.train([file]);
  const saved = path.join(path.dirname(file), 'trained.json');
  tokenizer.save(saved);
  return JSON.parse(fs.readFileSync(saved, 'utf8'));
}

const isControl = (s) => /[\p{Cc}]/u.test(s);

function wordpiece(file) {
  const bert = (t) => {
    t.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
    t.setPreTokenizer(tk.bertPreTokenizer());
  };
  const trained = trainDefault(tk.WordPiece.empty(), bert, file);
  const specials = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
  const vocab = {};
  specials.forEach((s, i) => (vocab[s] = i));
  // The trainer lists the alphabet (characters, then "##" + character) in hash-map order: sort it so that
  // reruns give the same file; merge results follow in merge order.
  const isAlphabet = (p) => [...p.replace(/^##/, '')].length === 1;
  const byId = Object.entries(trained.model.vocab).sort((a, b) => a[1] - b[1]).map(([p]) => p);
  const alphabet = byId.filter(isAlphabet);
  const chars = alphabet.filter((p) => !p.startsWith('##')).sort();
  const continuations = alphabet.filter((p) => p.startsWith('##')).sort();
  const pieces = [...chars, ...continuations, ...byId.filter((p) => !isAlphabet(p))];
  for (const piece of pieces) {
    if (Object.keys(vocab).length >= SIZE) break;
    if (!(piece in vocab)) vocab[piece] = Object.keys(vocab).length;
  }
  const tokenizer = new tk.Tokenizer(tk.WordPiece.init(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 }));
  bert(tokenizer);
  tokenizer.setPostProcessor(tk.templateProcessing('[CLS] $A [SEP]', '[CLS] $A [SEP] $B:1 [SEP]:1', [['[CLS]', 2], ['[SEP]', 3]]));
  tokenizer.setDecoder(tk.wordPieceDecoder('##', true));
  tokenizer.addSpecialTokens(specials);
  return tokenizer;
}

function unigram(file) {
  const t5 = (t) => {
    t.setNormalizer(tk.nfkcNormalizer());
    t.setPreTokenizer(tk.sequencePreTokenizer([tk.whitespaceSplitPreTokenizer(), tk.metaspacePreTokenizer('▁', 'always', true)]));
  };
  const trained = trainDefault(tk.Unigram.empty(), t5, file);
  const specials = ['<pad>', '</s>', '<unk>'];
  const all = trained.model.vocab.filter(([p]) => !specials.includes(p));
  const singles = all.filter(([p]) => [...p].length === 1);
  const multi = all.filter(([p]) => [...p].length > 1).sort((a, b) => b[1] - a[1]);
  const kept = [...singles, ...multi.slice(0, SIZE - specials.length - singles.length)];
  const logZ = Math.log(kept.reduce((sum, [, s]) => sum + Math.exp(s), 0));
  kept.sort((a, b) => b[1] - a[1]);
  // Characters of equal frequency get scores 1e-4 apart in hash-map order: within each such run, give the
  // run's scores to its pieces in code-point order, so that reruns give the same file.
  for (let i = 0; i < kept.length; ) {
    let j = i + 1;
    while (j < kept.length && kept[j - 1][1] - kept[j][1] < 1.5e-4) j++;
    const scores = kept.slice(i, j).map(([, s]) => s);
    const run = kept.slice(i, j).map(([p]) => p).sort();
    run.forEach((p, k) => (kept[i + k] = [p, scores[k]]));
    i = j;
  }
  // Rounded: the trainer's sums differ in the last bits from run to run.
  const vocab = [...specials.map((s) => [s, 0]), ...kept.map(([p, s]) => [p, Number((s - logZ).toFixed(9))])];
  const tokenizer = new tk.Tokenizer(tk.Unigram.init(vocab, { unkId: 2, byteFallback: false }));
  t5(tokenizer);
  tokenizer.setPostProcessor(tk.templateProcessing('$A </s>', '$A </s> $B </s>', [['</s>', 1]]));
  tokenizer.setDecoder(tk.metaspaceDecoder('▁', 'always', true));
  tokenizer.addSpecialTokens(specials);
  return tokenizer;
}

function bpeByteFallback(file) {
  // Trained on words split at spaces (as SentencePiece does); used like Llama 2: the normalizer prepends ▁ and
  // turns spaces into ▁, there is no pre-tokenizer, and characters outside the vocabulary become <0xNN> bytes.
  const trained = trainDefault(tk.BPE.empty(), (t) => t.setPreTokenizer(tk.metaspacePreTokenizer('▁', 'first', true)), file);
  const specials = ['<unk>', '<s>', '</s>'];
  const vocab = {};
  const add = (p) => {
    if (!(p in vocab)) vocab[p] = Object.keys(vocab).length;
  };
  specials.forEach(add);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`);
  const alphabet = Object.entries(trained.model.vocab).filter(([p]) => [...p].length === 1 && !isControl(p)).sort((a, b) => a[1] - b[1]);
  alphabet.forEach(([p]) => add(p));
  const merges = [];
  for (const merge of trained.model.merges) {
    if (Object.keys(vocab).length >= SIZE) break;
    const [a, b] = Array.isArray(merge) ? merge : merge.split(' ');
    if (!(a in vocab) || !(b in vocab) || isControl(a + b) || (a + b) in vocab) continue;
    merges.push([a, b]);
    add(a + b);
  }
  const model = tk.BPE.init(vocab, merges, { unkToken: '<unk>', fuseUnk: true, byteFallback: true });
  const tokenizer = new tk.Tokenizer(model);
  tokenizer.setNormalizer(tk.sequenceNormalizer([tk.prependNormalizer('▁'), tk.replace(' ', '▁')]));
  tokenizer.setPostProcessor(tk.templateProcessing('<s> $A', '<s> $A <s> $B', [['<s>', 1]]));
  tokenizer.setDecoder(tk.sequenceDecoder([tk.replaceDecoder('▁', ' '), tk.byteFallbackDecoder(), tk.fuseDecoder(), tk.stripDecoder(' ', 1, 0)]));
  tokenizer.addSpecialTokens(specials);
  return tokenizer;
}

/** Hard texts the Rust library's output is recorded for (the unit tests run the same texts). */
const REFERENCE_TEXTS = [
  'def main(argv):\n    return parse_args(argv[1:])\n',
  'interface Foo<T> { bar?: readonly T[]; }\r\n\tconst x = 42;',
  'Héllo WÖRLD, Ça va? Éléphant ÅNGSTRÖM naïve café',
  'emoji 😀👍🏽 family 👨‍👩‍👧 flags 🇫🇷',
  '中文字符和日本語のテキスト 한국어',
  'combining e\u0301 and a\u0308\u0304, ligature ﬁ ﬂ, full width ＡＢＣ１２３, ① ½',
  '  leading and trailing spaces  ',
  'tabs\tand\t\tmore\n\n\nnewlines',
  'Ω≈ç√∫ RTL עברית العربية Ελληνικά ΣΟΦΟΣ',
  'a [SEP] b </s> c <unk> d',
  '',
];

async function reference(tokenizer) {
  const out = [];
  for (const text of REFERENCE_TEXTS) {
    const plain = await tokenizer.encode(text, null, { addSpecialTokens: false });
    const special = await tokenizer.encode(text, null, { addSpecialTokens: true });
    out.push({ text, ids: plain.getIds(), tokens: plain.getTokens(), offsets: plain.getOffsets(), idsWithSpecialTokens: special.getIds() });
  }
  return out;
}

const BUILDERS = { 'wordpiece.json': wordpiece, 'unigram.json': unigram, 'bpe-byte-fallback.json': bpeByteFallback };

async function main() {
  // --reference-only: keep the committed fixtures and only rewrite reference.json (e.g. after adding texts).
  const referenceOnly = process.argv.includes('--reference-only');
  const file = referenceOnly ? null : trainingFile();
  fs.mkdirSync(OUT, { recursive: true });
  const refs = {};
  for (const [name, build] of Object.entries(BUILDERS)) {
    if (!referenceOnly) build(file).save(path.join(OUT, name), true);
    // Reload the saved file so the reference is what the file (not the in-memory object) gives.
    const loaded = tk.Tokenizer.fromFile(path.join(OUT, name));
    refs[name] = await reference(loaded);
    console.log(`${name}: ${loaded.getVocabSize(true)} tokens`);
  }
  const note = 'Written by training/tokenizers/train.js: ids, tokens and offsets (as the Rust library reports them) of the Hugging Face tokenizers library on each fixture.';
  fs.writeFileSync(path.join(OUT, 'reference.json'), JSON.stringify({ note, library: 'tokenizers ' + require('tokenizers/package.json').version, fixtures: refs }, null, 1) + '\n');
  if (file) fs.rmSync(path.dirname(file), { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
