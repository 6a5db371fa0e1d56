// Issue 12, leaked sessions: every onnxruntime session the webview's Engine creates is released on every
// path: a failed download retried, a first run that fails (declared shapes that do not match the graph)
// retried, the view closed while the files download, while the session is created, during its warm-up run,
// in the middle of an analysis and in the middle of an occlusion, and calls that come after it closed.
// Real onnxruntime-web (wasm) with a tiny recurrent model and the bundled Transformer; sessions are counted
// as onnxruntime creates and releases them (test/unit/engineRig.ts).

import * as assert from 'assert';
import { LensError } from '../../src/core/errors';
import { Engine } from '../../webview/engine';
import { CountingOrt, DiskFiles, descriptor, sleep, within } from './engineRig';

const toy = descriptor('test/fixtures/models/toy-recurrent');
const transformer = descriptor('media/models/transformer');
/** The toy model with its gates declared one axis short: the graph disagrees on the first run. */
const misdeclared = descriptor('test/fixtures/models/toy-recurrent', (m) => ({ ...m, outputs: m.outputs.map((o) => (o.name === 'gates' ? { ...o, axes: o.axes.slice(0, -1) } : o)) }));
const code = (lines: number) => Array.from({ length: lines }, (_, i) => `const value${i} = compute(${i}, "text");`).join('\n');
const is = (code: string) => (err: unknown) => err instanceof LensError && err.code === code;
/** What the panel ignores: the view closed, or a newer request took over. */
const quiet = (err: unknown) => is('cancelled')(err) || is('disposed')(err);

function setUp() {
  const ort = new CountingOrt();
  const files = new DiskFiles();
  const engine = new Engine({ provider: 'wasm', ort, files });
  return { ort, files, engine };
}

/** Disposes (which must finish), then checks that every session created was released, each once and never mid-run. */
async function closeAndCount(engine: Engine, ort: CountingOrt): Promise<void> {
  assert.notStrictEqual(await within(engine.dispose(), 20_000), 'stuck', 'dispose never finished');
  assert.deepStrictEqual(ort.violations, []);
  assert.strictEqual(ort.released, ort.created, `sessions created ${ort.created}, released ${ort.released}`);
}

describe('Engine releases every session (real onnxruntime-web)', function () {
  this.timeout(60_000);

  it('a failed download, retried: the retry reads the files again and loads', async () => {
    const { ort, files, engine } = setUp();
    files.before = async () => {
      files.before = undefined;
      throw new LensError('model-invalid', 'Could not load toy-recurrent/model.onnx (404 Not Found).');
    };
    await assert.rejects(engine.analyse(toy, 'let a = 1;', 0, 2048), /404 Not Found/);
    assert.strictEqual(ort.created, 0);
    const analysis = await engine.analyse(toy, 'let a = 1;', 0, 2048);
    assert.ok(analysis.tokens.length > 0 && analysis.loadMs > 0);
    assert.strictEqual(files.reads, 2);
    assert.strictEqual((await engine.analyse(toy, 'let b = 2;', 0, 2048)).loadMs, 0, 'a loaded model is not loaded again');
    assert.strictEqual(ort.created, 1);
    await closeAndCount(engine, ort);
  });

  it('a first run that fails, retried: each attempt releases its session, and other models still work', async () => {
    const { ort, engine } = setUp();
    for (let attempt = 1; attempt <= 2; attempt++) {
      await assert.rejects(engine.analyse(misdeclared, 'let a = 1;', 0, 2048), is('model-invalid'));
      assert.strictEqual(ort.live, 0, `attempt ${attempt}: a session of the failed model is still open`);
    }
    assert.ok((await engine.analyse(transformer, 'let a = 1;', 0, 2048)).tokens.length > 0);
    await closeAndCount(engine, ort);
  });

  it('closed while the files download: the analysis is cancelled at once and no session outlives the view', async () => {
    const { ort, files, engine } = setUp();
    let arrive!: () => void;
    files.before = () => new Promise<void>((resolve) => (arrive = resolve));
    const analysis = engine.analyse(toy, 'let a = 1;', 0, 2048);
    await sleep(5);
    const closing = engine.dispose();
    assert.notStrictEqual(await within(analysis.catch((err: unknown) => err), 1000), 'stuck', 'the analysis waited for the download');
    await assert.rejects(analysis, is('cancelled'));
    arrive();
    await sleep(20);
    await closing;
    await closeAndCount(engine, ort);
  });

  it('closed while the session is being created: it is released once created', async () => {
    const { ort, engine } = setUp();
    let closing: Promise<void> | undefined;
    ort.onCreate = () => {
      ort.onCreate = undefined;
      closing = engine.dispose();
    };
    await assert.rejects(engine.analyse(transformer, 'let a = 1;', 0, 2048), quiet);
    await closing;
    assert.strictEqual(ort.created, 1);
    await closeAndCount(engine, ort);
  });

  it('closed during the warm-up run: released after that run returns', async () => {
    const { ort, engine } = setUp();
    ort.onRun = (n) => n === 1 && void engine.dispose();
    await assert.rejects(engine.analyse(transformer, 'let a = 1;', 0, 2048), quiet);
    await closeAndCount(engine, ort);
  });

  it('closed in the middle of an analysis (a long text in chunks): released after the inference in flight', async () => {
    const { ort, engine } = setUp();
    await engine.analyse(toy, 'let a = 1;', 0, 2048);
    const before = ort.runs;
    ort.onRun = (n) => n === before + 2 && void engine.dispose(); // the second of several chunks
    await assert.rejects(engine.analyse(toy, code(300), 0, 4096), is('cancelled'));
    assert.strictEqual(ort.runs, before + 2, 'the analysis must stop after the inference in flight');
    await closeAndCount(engine, ort);
  });

  it('closed in the middle of an occlusion: released after the batch in flight', async () => {
    const { ort, engine } = setUp();
    const analysis = await engine.analyse(transformer, code(6), 0, 2048);
    const before = ort.runs;
    ort.onRun = (n) => n === before + 2 && void engine.dispose(); // the first batch after the baseline
    await assert.rejects(engine.occlusion(transformer, analysis, () => undefined), is('cancelled'));
    await closeAndCount(engine, ort);
  });

  it('calls after the view closed are refused without creating a session', async () => {
    const { ort, engine } = setUp();
    await engine.dispose();
    await assert.rejects(engine.analyse(toy, 'let a = 1;', 0, 2048), is('disposed'));
    await assert.rejects(engine.occlusion(toy, { sequenceIds: { tokens: [1, 2, 3] }, special: [] }, () => undefined), is('disposed'));
    assert.strictEqual(ort.created, 0);
    await closeAndCount(engine, ort);
  });
});
