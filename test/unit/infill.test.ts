// "Fill in the selection" (src/core/infill.ts) on real models in onnxruntime-web (wasm, in Node): the toy
// encoder–decoder fixture given an infilling field (<unk> as the hole, </s> as the end), and the bundled
// infilling models wherever they are installed. The source's ranges tile the context, the teacher-forced
// scores equal a separate run's softmax, each greedy token is the argmax of a run on its prefix, a beam of
// width 1 is greedy decoding and a beam of width 3 scores at least as well, truncation keeps the context
// nearest the hole, and cancellation stops a fill.

import * as assert from 'assert';
import { existsSync, readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { rowLogSumExp } from '../../src/core/analysis';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { LensError } from '../../src/core/errors';
import { type InfillResult, infillSource, infillSpec, runInfill } from '../../src/core/infill';
import { decodeBeam, decodeGreedy, nextTokenLogProbs } from '../../src/core/infillDecode';
import { codeSpan, infillContextAt, infillHoverMarkdown } from '../../src/core/infillHover';
import { chooseInfillingModel } from '../../src/core/infillManifest';
import type { InfillingSpec, ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { canonicalTensor } from '../../src/core/modelStructure';
import type { InfillAttention } from '../../src/core/protocol';
import { LensTokenizer } from '../../src/core/tokenizer';
import { Engine } from '../../webview/engine';
import { CountingOrt, DiskFiles, descriptor } from './engineRig';
import { requestFor } from './infillRequest';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const root = path.join(__dirname, '../..');
const sample = readFileSync(path.join(root, 'test/fixtures/workspace/sample.ts'), 'utf8');

interface Loaded {
  manifest: ModelManifest;
  tokenizer: LensTokenizer;
  runner: ModelRunner;
}

async function load(folder: string, infilling?: InfillingSpec): Promise<Loaded> {
  const json = JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
  if (infilling) json.infilling = infilling;
  const result = validateManifest(json);
  assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
  const manifest = result.manifest;
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, manifest.tokenizer.file), 'utf8')));
  const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(folder, manifest.model ?? 'model.onnx')), { executionProviders: ['wasm'] });
  return { manifest, tokenizer, runner };
}


/** Non-special source tokens of one side tile its kept text: ordered, inside it, only whitespace between (none for `exact`). */
function assertTiles(doc: string, tokens: InfillResult['source'], from: number, to: number, exact: boolean): void {
  let at = from;
  for (const t of tokens) {
    assert.ok(t.start >= at && t.end >= t.start && t.end <= to, `token ${JSON.stringify(t.text)} [${t.start}, ${t.end}) lies in [${at}, ${to})`);
    const gap = doc.slice(at, t.start);
    assert.ok(exact ? gap === '' : /^\s*$/.test(gap), `uncovered text before ${JSON.stringify(t.text)}: ${JSON.stringify(gap)}`);
    at = t.end;
  }
  const rest = doc.slice(at, to);
  assert.ok(exact ? rest === '' : /^\s*$/.test(rest), `uncovered text at the end: ${JSON.stringify(rest)}`);
}

/** log-softmax of row `row` of a run's logits. */
function logSoftmaxRow(m: Loaded, outputs: Awaited<ReturnType<ModelRunner['run']>>, row: number): Float64Array {
  const spec = m.runner.structure.logits!;
  const logits = canonicalTensor(spec, outputs[spec.name]);
  const V = logits.dims[logits.dims.length - 1];
  const lse = rowLogSumExp(logits)[row];
  return Float64Array.from(logits.data.subarray(row * V, (row + 1) * V), (x) => x - lse);
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

/** The checks every infilling model must pass. `exactRanges`: its tokenizer's ranges tile the text with no gaps. */
function infillSuite(name: string, open: () => Promise<Loaded>, exactRanges: boolean, spans: string[]): void {
  describe(`infill: ${name}`, function () {
    this.timeout(600_000);
    let m: Loaded;
    before(async () => (m = await open()));
    after(async () => m?.runner.release());

    it('builds the source from before, the hole and after, with document ranges that tile the context', async () => {
      const request = requestFor(sample, spans[0], 300);
      const spec = infillSpec(m.manifest, m.tokenizer)!;
      const info = m.runner.structure.sequences.find((s) => s.id === spec.source)!;
      const source = infillSource(m.tokenizer, info, spec.hole, request, 4096);
      const hole = source.tokens[source.holeIndex];
      assert.strictEqual(hole.id, spec.hole);
      assert.ok(hole.special);
      assert.deepStrictEqual([hole.start, hole.end], [request.span.startOffset, request.span.startOffset]);
      const beforeTokens = source.tokens.slice(0, source.holeIndex).filter((t) => !t.special);
      const afterTokens = source.tokens.slice(source.holeIndex + 1).filter((t) => !t.special);
      assertTiles(sample, beforeTokens, request.before.startOffset, request.span.startOffset, exactRanges);
      assertTiles(sample, afterTokens, request.after.startOffset, request.after.startOffset + request.after.text.length, exactRanges);
      assert.deepStrictEqual(beforeTokens.map((t) => t.id), m.tokenizer.encode(request.before.text));
      assert.deepStrictEqual(afterTokens.map((t) => t.id), m.tokenizer.encode(request.after.text));
      assert.strictEqual(source.startOffset, request.before.startOffset);
      assert.strictEqual(source.text, request.before.text + request.span.text + request.after.text);
      // Whatever the sequence adds (prefix, post-processor tokens) is special and stands for no text.
      for (const t of source.tokens.filter((x) => x.special)) assert.strictEqual(t.start, t.end);
    });

    it('keeps the context nearest the hole when the source is truncated', () => {
      const request = requestFor(sample, spans[0], 2000);
      const spec = infillSpec(m.manifest, m.tokenizer)!;
      const info = m.runner.structure.sequences.find((s) => s.id === spec.source)!;
      const source = infillSource(m.tokenizer, info, spec.hole, request, 24);
      assert.ok(source.tokens.length <= 24, `${source.tokens.length} source tokens`);
      assert.ok(source.contextTokens.kept < source.contextTokens.total);
      const beforeAll = m.tokenizer.encode(request.before.text);
      const afterAll = m.tokenizer.encode(request.after.text);
      const keptBefore = source.tokens.slice(0, source.holeIndex).filter((t) => !t.special || t.start > source.startOffset);
      const keptAfter = source.tokens.slice(source.holeIndex + 1).filter((t) => !t.special);
      assert.deepStrictEqual(keptBefore.map((t) => t.id), beforeAll.slice(beforeAll.length - keptBefore.length));
      assert.deepStrictEqual(keptAfter.map((t) => t.id), afterAll.slice(0, keptAfter.length));
      assert.ok(Math.abs(keptBefore.length - keptAfter.length) <= 1, `${keptBefore.length} before, ${keptAfter.length} after`);
      assert.strictEqual(sample.slice(source.startOffset, source.startOffset + source.text.length), source.text);
      for (const t of source.tokens) assert.ok(t.start >= source.startOffset && t.end <= source.startOffset + source.text.length);
    });

    for (const span of spans) {
      it(`scores ${JSON.stringify(span)} teacher-forced as a separate run's softmax, and generates greedily by argmax`, async () => {
        const request = requestFor(sample, span, 400);
        const result = await runInfill(m.tokenizer, m.runner, request, { maxSourceTokens: 512 });
        const spec = infillSpec(m.manifest, m.tokenizer)!;
        const sourceIds = result.source.map((t) => t.id);
        const prefix = m.runner.structure.sequences.find((s) => s.id === spec.target)!.prefix.map((t) => m.tokenizer.idOf(t)!);
        const head = [...prefix, ...spec.begin];
        // The original span: its tokens join to the span, each with its range inside it.
        assert.deepStrictEqual(result.original.tokens.map((t) => t.id), m.tokenizer.encode(span));
        for (const t of result.original.tokens) assert.ok(t.start >= request.span.startOffset && t.end <= request.span.startOffset + span.length);
        if (exactRanges) assert.strictEqual(result.original.tokens.map((t) => sample.slice(t.start, t.end)).join(''), span);
        const spanIds = result.original.tokens.map((t) => t.id);
        const target = [...head, ...spanIds, spec.end];
        assert.deepStrictEqual(result.originalAnalysis.tokens.map((t) => t.id), target);
        assert.deepStrictEqual(result.originalAnalysis.sequences.map((s) => s.id), m.runner.structure.sequences.map((s) => s.id));
        const separate = await m.runner.run({ [spec.source]: sourceIds, [spec.target]: target });
        spanIds.forEach((id, i) => {
          const row = logSoftmaxRow(m, separate, head.length + i - 1);
          assert.ok(Math.abs(result.original.probability[i] - Math.exp(row[id])) < 1e-5, `token ${i}: ${result.original.probability[i]} vs ${Math.exp(row[id])}`);
          assert.ok(Math.abs(result.original.surprisal[i] + row[id] / Math.LN2) < 1e-3, `token ${i} surprisal`);
        });
        // Greedy: each written token is the argmax after the tokens before it; then `end`, or maxNewTokens tokens.
        const written = result.filling.ids;
        assert.ok(written.length <= request.maxNewTokens);
        for (let i = 0; i <= written.length; i++) {
          if (i === written.length && !result.filling.ended) break;
          const out = await m.runner.run({ [spec.source]: sourceIds, [spec.target]: [...head, ...written.slice(0, i)] });
          const best = argmax(logSoftmaxRow(m, out, head.length + i - 1));
          assert.strictEqual(best, i < written.length ? written[i] : spec.end, `step ${i}`);
        }
        if (!result.filling.ended) assert.strictEqual(written.length, request.maxNewTokens);
        assert.strictEqual(result.filling.text, m.tokenizer.decode(written));
        assert.deepStrictEqual(result.filling.tokens, written.map((id) => m.tokenizer.display(id)));
        assert.deepStrictEqual(result.fillingAnalysis.tokens.map((t) => t.id), [...head, ...written, ...(result.filling.ended ? [spec.end] : [])]);
        // The cross-attention the views draw: filling rows × source columns.
        const cross = m.runner.structure.mixing.find((f) => f.role === 'cross_mixing');
        if (cross) {
          const dims = result.fillingAnalysis.outputs[cross.outputs[0].name].dims;
          assert.strictEqual(dims[dims.length - 2], result.fillingAnalysis.tokens.length);
          assert.strictEqual(dims[dims.length - 1], result.source.length);
        }
      });
    }

    it('beam search: width 1 is greedy decoding, width 3 scores at least as well', async () => {
      for (const span of spans) {
        const request = requestFor(sample, span, 400, { maxNewTokens: 6 });
        const greedy = await runInfill(m.tokenizer, m.runner, request, { maxSourceTokens: 512 });
        const spec = infillSpec(m.manifest, m.tokenizer)!;
        const prefix = m.runner.structure.sequences.find((s) => s.id === spec.target)!.prefix.map((t) => m.tokenizer.idOf(t)!);
        const next = nextTokenLogProbs(m.runner, { id: spec.source, ids: greedy.source.map((t) => t.id) }, spec.target);
        const width1 = await decodeBeam(next, [...prefix, ...spec.begin], spec.end, 6, 1);
        const again = await decodeGreedy(next, [...prefix, ...spec.begin], spec.end, 6);
        assert.deepStrictEqual(width1.ids, greedy.filling.ids);
        assert.deepStrictEqual(again.ids, greedy.filling.ids);
        assert.ok(Math.abs(width1.score - greedy.filling.score) < 1e-9);
        const beam = await runInfill(m.tokenizer, m.runner, { ...request, beamWidth: 3 }, { maxSourceTokens: 512 });
        assert.ok(beam.filling.score >= greedy.filling.score - 1e-6, `${span}: beam ${beam.filling.score} < greedy ${greedy.filling.score}`);
        assert.ok(beam.filling.ids.length <= 6);
      }
    });

    it('stops with a cancelled error when its signal is aborted', async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(runInfill(m.tokenizer, m.runner, requestFor(sample, spans[0], 100), { maxSourceTokens: 512, signal: controller.signal }), (e: unknown) => e instanceof LensError && e.code === 'cancelled');
    });

    it('refuses an empty span and parts that do not meet', async () => {
      const request = requestFor(sample, spans[0], 100);
      await assert.rejects(runInfill(m.tokenizer, m.runner, { ...request, span: { ...request.span, text: '  ' } }, { maxSourceTokens: 512 }), (e: unknown) => e instanceof LensError && e.code === 'empty-selection');
      await assert.rejects(runInfill(m.tokenizer, m.runner, { ...request, after: { ...request.after, startOffset: request.after.startOffset + 1 } }, { maxSourceTokens: 512 }), /do not meet/);
    });
  });
}

const toyFolder = path.join(root, 'test/fixtures/models/toy-encoder-decoder');
infillSuite('toy encoder–decoder with an infilling field', () => load(toyFolder, { source: 'source', target: 'target', hole: '<unk>', begin: [], end: '</s>' }), false, ['match.index + match[0].length', 'return tokens']);

describe('infill: the manifest field', () => {
  it('resolves its tokens to ids, and names the field of a token the tokenizer lacks', async () => {
    const m = await load(toyFolder, { source: 'source', target: 'target', hole: '<unk>', begin: ['<pad>'], end: '</s>' });
    try {
      assert.deepStrictEqual(infillSpec(m.manifest, m.tokenizer), { source: 'source', target: 'target', hole: 2, begin: [0], end: 1 });
      const broken = { ...m.manifest, infilling: { ...m.manifest.infilling!, begin: ['<pad>', '<extra_id_0>'] } };
      assert.throws(() => infillSpec(broken, m.tokenizer), /manifest field infilling\.begin\[1\] names the token "<extra_id_0>", which is not in the tokenizer's vocabulary \(tokenizer\.json\)/);
      assert.strictEqual(infillSpec({ ...m.manifest, infilling: undefined }, m.tokenizer), null);
    } finally {
      await m.runner.release();
    }
  });
});

describe('infill: editor hovers and the model choice', () => {
  const attention: InfillAttention = {
    uri: 'file:///sample.ts',
    version: 2,
    modelId: 't5',
    label: 'cross-attention, mean of 4 heads, layer 2',
    context: [
      { start: 0, end: 5, lookedAtBy: [{ text: 'foo', index: 0, weight: 0.412 }, { text: '(', index: 1, weight: 0.2249 }] },
      { start: 6, end: 9, lookedAtBy: [{ text: 'a`b', index: 2, weight: 0.5 }] },
      { start: 9, end: 12, lookedAtBy: [] },
    ],
  };

  it('finds the context token at an offset', () => {
    assert.deepStrictEqual([0, 4, 5, 6, 8, 9, 11, 12, -1].map((o) => infillContextAt(attention.context, o)), [0, 0, -1, 1, 1, 2, 2, -1, -1]);
  });

  it('says which filled tokens looked at a context token, largest first, with inert text', () => {
    assert.strictEqual(
      infillHoverMarkdown(attention, 0),
      '**Attention Lens** · Fill in the selection · t5  \nFilled tokens that looked here (cross\\-attention\\, mean of 4 heads\\, layer 2): `foo` 0.41, `(` 0.22',
    );
    assert.match(infillHoverMarkdown(attention, 1)!, /: ``a`b`` 0\.50$/);
    assert.match(infillHoverMarkdown(attention, 2)!, /No filled token looked here \(cross\\-attention/);
    assert.strictEqual(infillHoverMarkdown(attention, 3), undefined);
    assert.strictEqual(codeSpan('`x`'), '`` `x` ``');
    assert.strictEqual(codeSpan(''), '∅');
    assert.strictEqual(codeSpan('a\nb'), '`a\uFFFDb`');
    assert.ok(codeSpan('x'.repeat(500)).length < 130);
  });

  it('chooses the model asked for, else the setting, else the first that declares infilling, and says what is missing', () => {
    const plain = { id: 'transformer' } as ModelManifest;
    const filler = { id: 't5', infilling: { source: 's', target: 't', hole: 'h', begin: [], end: 'e' } } as unknown as ModelManifest;
    const other = { ...filler, id: 'bahdanau' } as ModelManifest;
    assert.deepStrictEqual(chooseInfillingModel([plain, filler, other], undefined, ''), { modelId: 't5' });
    assert.deepStrictEqual(chooseInfillingModel([plain, filler, other], undefined, 'bahdanau'), { modelId: 'bahdanau' });
    assert.deepStrictEqual(chooseInfillingModel([plain, filler, other], 't5', 'bahdanau'), { modelId: 't5' });
    assert.deepStrictEqual(chooseInfillingModel([plain, filler], 'transformer', ''), {
      message: 'The model "transformer" cannot fill a selection in: its manifest declares no "infilling" (models that can: t5).',
    });
    assert.deepStrictEqual(chooseInfillingModel([plain], undefined, 'gone'), { message: 'The setting attentionLens.fill.model names "gone", which is not installed (installed: transformer).' });
    assert.match((chooseInfillingModel([plain], undefined, '') as { message: string }).message, /^No installed model can fill a selection in: it needs an encoder–decoder model whose manifest declares "infilling"/);
  });
});

describe('infill: the webview engine', function () {
  this.timeout(120_000);
  const infilling: InfillingSpec = { source: 'source', target: 'target', hole: '<unk>', begin: [], end: '</s>' };
  const model = descriptor('test/fixtures/models/toy-encoder-decoder', (manifest) => ({ ...manifest, infilling }));

  it('fills as runInfill does, a newer job cancels an older fill, and every session is released', async () => {
    const ort = new CountingOrt();
    const engine = new Engine({ provider: 'wasm', ort, files: new DiskFiles() });
    const request = requestFor(sample, 'return tokens', 200);
    const first = engine.infill(model, request);
    const second = engine.infill(model, { ...request, beamWidth: 2 });
    await assert.rejects(first, (e: unknown) => e instanceof LensError && e.code === 'cancelled');
    const result = await second;
    const direct = await load(toyFolder, infilling);
    try {
      const expected = await runInfill(direct.tokenizer, direct.runner, { ...request, beamWidth: 2 }, { maxSourceTokens: 512 });
      assert.deepStrictEqual(result.filling, expected.filling);
      assert.deepStrictEqual(Array.from(result.original.probability), Array.from(expected.original.probability));
      assert.ok(result.loadMs > 0);
    } finally {
      await direct.runner.release();
    }
    const controller = new AbortController();
    const aborted = engine.infill(model, request, controller.signal);
    controller.abort();
    await assert.rejects(aborted, (e: unknown) => e instanceof LensError && e.code === 'cancelled');
    await engine.dispose();
    assert.strictEqual(ort.live, 0);
    assert.deepStrictEqual(ort.violations, []);
  });
});

// The bundled infilling models: each checked wherever its folder is installed.
for (const [id, spans] of [
  ['t5', ['match.index + match[0].length', 'return tokens', 'this.counts.get(word)']],
  ['bahdanau', ['match.index + match[0].length', 'return tokens']],
] as const) {
  const folder = path.join(root, 'media/models', id);
  if (existsSync(path.join(folder, 'manifest.json'))) infillSuite(`bundled model ${id}`, () => load(folder), true, [...spans]);
}
