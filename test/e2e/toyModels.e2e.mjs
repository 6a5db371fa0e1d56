// Why: the model layer must show any architecture from its manifest alone, and only a real VS Code shows
// whether a model it has never seen loads and paints. This suite points the packaged extension at the
// three tiny test models of test/fixtures/models (a bidirectional encoder with per-layer attentions and a
// WordPiece tokenizer, an encoder–decoder with cross-attention and a Unigram tokenizer, a recurrent model
// whose gates are declared by meaning) through the attentionLens.modelFolders setting, analyses a
// selection with each, opens every tab the panel offers and checks that it paints. WebAssembly only (the
// views are the same on WebGPU). Last, it adds a Hugging Face export without a manifest (test/fixtures/hf/gpt2-attn)
// through the Explorer's "Add model from folder…" as a person does, and paints its attention. Screenshots:
// .test-output/screenshots/wasm-<model>-<tab>.png, wasm-add-model-confirm.png, wasm-hf-gpt2-heatmap.png, wasm-models-view.png.
// Between the two, a model file over 32 MiB (the benchmarks' GPT-2-shaped model, 240 wide) must be read in the
// download worker: wasm-gpt2-bench-240-heatmap.png. Last, a new panel opened on that model begins reading its file in
// the download worker from the panel's starter; and a new panel whose binary the file server does not give (a proxy's
// error page) reads it through resource loading, says why, and paints.

import * as assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import * as harness from '../harness/codeServer.mjs';
import { screenshots, installedExtension, useSession } from './session.mjs';
import { canvasPainted, untilAnalysed } from './webview.mjs';
import { runCommand, selectLines, webviewContentFrame } from './workbench.mjs';

const FILE = 'sample.py';
const MODELS = join(harness.repoRoot, 'test/fixtures/models');
const TOYS = [
  // The tabs each model's roles must give, at least.
  { id: 'toy-encoder', tabs: ['heatmap', 'head', 'model', 'w'] },
  { id: 'toy-encoder-decoder', tabs: ['heatmap', 'w'], label: /cross/i },
  { id: 'toy-recurrent', tabs: ['gates', 'state', 'w'] },
];
// A model file large enough to be read in the download worker (src/core/ortFiles.ts: WORKER_READ_FROM_BYTES,
// 32 MiB): the benchmarks' GPT-2-shaped model (test/bench/gpt2Model.ts), 240 wide, 37 MiB, written by the suite.
const LARGE = join(harness.outputDir, 'e2e-large-models');
const LARGE_SPEC = { layers: 12, heads: 12, width: 240, positions: 256, attention: 'per-layer' };
const manifest = (id) => JSON.parse(readFileSync(join(MODELS, id, 'manifest.json'), 'utf8'));
const lines = readFileSync(join(harness.repoRoot, 'test/fixtures/workspace', FILE), 'utf8').split('\n');
const firstLine = lines.findIndex((l) => l.startsWith('class Stack')) + 1;

describe('models the extension has never seen, from their manifests (WebAssembly)', function () {
  const extensionsDir = installedExtension(this, 'toy');
  const backend = { name: 'wasm', webgpu: false, badge: 'WebAssembly', settings: { 'attentionLens.backend': 'wasm', 'attentionLens.modelFolders': [MODELS, LARGE], 'attentionLens.defaultModel': TOYS[0].id } };
  let large;
  before(function () {
    this.timeout(120_000);
    // The model writer is TypeScript: bundled here (the e2e suites run in plain Node), its packages left as imports.
    const writer = join(harness.outputDir, 'gpt2Model.cjs');
    buildSync({ entryPoints: [join(harness.repoRoot, 'test/bench/gpt2Model.ts')], bundle: true, platform: 'node', format: 'cjs', packages: 'external', outfile: writer, logLevel: 'error' });
    const { writeBenchModel } = createRequire(import.meta.url)(writer);
    large = writeBenchModel(LARGE, LARGE_SPEC, harness.repoRoot);
    assert.ok(large.bytes >= 32 * 2 ** 20, `the large model is ${large.bytes} bytes`);
  });
  const session = useSession(this, backend, extensionsDir);
  let panel;

  it('analyses a selection with the default model, a toy encoder', async function () {
    this.timeout(180_000);
    const { page } = session;
    await selectLines(page, FILE, firstLine, 4);
    await runCommand(page, 'Attention Lens: Visualize attention on selection');
    panel = await webviewContentFrame(page, 'panel');
    const result = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
    assert.ok(!result.timedOut, `no analysis within 150 s (state ${result.state}) ${result.error ?? ''}`);
    assert.equal(result.state, 'analysed', `the analysis failed: ${result.error}`);
    assert.ok(result.tokens.some((t) => t.includes('[CLS]')), 'the encoder shows its [CLS] special token');
  });

  for (const toy of TOYS) {
    it(`shows every view ${toy.id}'s roles give, painted`, async function () {
      this.timeout(180_000);
      const picker = panel.locator('[data-testid=model-picker]');
      if ((await picker.evaluate((el) => el.value)) !== toy.id) {
        await picker.click();
        await picker.locator('li.option', { hasText: manifest(toy.id).displayName }).click();
      }
      const result = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
      assert.equal(result.state, 'analysed', `${toy.id}: ${result.error}`);
      assert.equal(await picker.evaluate((el) => el.value), toy.id);
      const tabs = await panel.locator('[data-testid^=tab-]').evaluateAll((els) => els.map((e) => ({ id: e.getAttribute('data-testid').slice(4), label: e.textContent })));
      for (const id of toy.tabs) assert.ok(tabs.some((t) => t.id === id), `${toy.id} offers tab ${id} (has ${tabs.map((t) => t.id).join(', ')})`);
      if (toy.label) assert.ok(tabs.some((t) => toy.label.test(t.label)), `${toy.id} offers a cross-attention view (has ${tabs.map((t) => t.label).join(', ')})`);
      for (const tab of tabs) {
        await panel.locator(`[data-testid=tab-${tab.id}]`).click();
        await panel.locator(`[data-testid=tab-${tab.id}][active]`).waitFor();
        const canvases = panel.locator('vscode-tab-panel:not([hidden]) canvas');
        if ((await canvases.count()) > 0) {
          const stats = await canvases.first().evaluate(canvasPainted, { minFraction: 0.01 });
          assert.ok(stats.fraction >= 0.01, `${toy.id} ${tab.id}: ${stats.painted} of ${stats.total} pixels painted`);
        }
        await session.page.screenshot({ path: join(screenshots, `wasm-${toy.id}-${tab.id}.png`) });
      }
    });
  }

  it('reads a large model file in the download worker, not on the page, and paints its attention', async function () {
    this.timeout(180_000);
    const picker = panel.locator('[data-testid=model-picker]');
    const id = large.manifest.id;
    // What the page itself has fetched so far: the toy models' files, never the download worker's script.
    const fetched = () => panel.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name.split('?')[0]));
    const before = await fetched();
    assert.ok(!before.some((n) => n.endsWith('/downloadWorker.js')), 'no small model starts the download worker');
    await picker.click();
    await picker.locator('li.option', { hasText: large.manifest.displayName }).click();
    const result = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
    assert.equal(result.state, 'analysed', `${id}: ${result.error}`);
    assert.equal(await picker.evaluate((el) => el.value), id);
    const stats = await panel.locator('vscode-tab-panel:not([hidden]) canvas').first().evaluate(canvasPainted, { minFraction: 0.01 });
    assert.ok(stats.fraction >= 0.01, `${id} heatmap: ${stats.painted} of ${stats.total} pixels painted`);
    const after = await fetched();
    // The page fetched the worker's script and the model's tokenizer; the model file itself was read by the worker.
    assert.equal(after.filter((n) => n.endsWith('/downloadWorker.js')).length, 1, `the page started the download worker once (fetched: ${after.slice(before.length).join(', ')})`);
    const onnxOnPage = (list) => list.filter((n) => n.endsWith('/model.onnx')).length;
    assert.equal(onnxOnPage(after), onnxOnPage(before), `no model file was read on the page (fetched: ${after.slice(before.length).join(', ')})`);
    await session.page.screenshot({ path: join(screenshots, `wasm-${id}-heatmap.png`) });
  });

  it('adds a Hugging Face export without a manifest from a folder, and shows its attention', async function () {
    this.timeout(240_000);
    const { page } = session;
    // A person with an export in their workspace: right-click its folder in the Explorer, "Add model from folder…".
    cpSync(join(harness.repoRoot, 'test/fixtures/hf/gpt2-attn'), join(session.folder, 'gpt2-attn'), { recursive: true });
    await runCommand(page, 'View: Show Explorer'); // shows it (the activity-bar icon would toggle it closed)
    const row = page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'gpt2-attn' });
    await row.waitFor({ timeout: 60_000 });
    await row.click({ button: 'right' });
    // The workbench's context menu acts on its focused item: point at it, then Enter.
    await page.locator('.context-view .action-menu-item', { hasText: 'Add model from folder' }).hover();
    await page.keyboard.press('Enter');
    const install = page.locator('.monaco-dialog-box .monaco-button', { hasText: /^Install/ });
    await install.waitFor({ timeout: 60_000 });
    const detail = (await page.locator('.monaco-dialog-box').textContent()) ?? '';
    assert.match(detail, /attentions\.0/, 'the confirmation lists what was recognised');
    await page.screenshot({ path: join(screenshots, 'wasm-add-model-confirm.png') });
    await install.click();
    await install.waitFor({ state: 'detached' });
    const picker = panel.locator('[data-testid=model-picker]');
    // The open panel is told about the new model; pick it there.
    await picker.locator('vscode-option[value="gpt2-attn"]').waitFor({ state: 'attached', timeout: 60_000 });
    await picker.click();
    await picker.locator('li.option', { hasText: 'gpt2-attn' }).click();
    const result = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
    assert.equal(result.state, 'analysed', `gpt2-attn: ${result.error}`);
    await panel.locator('[data-testid=tab-heatmap]').click();
    const stats = await panel.locator('vscode-tab-panel:not([hidden]) canvas').first().evaluate(canvasPainted, { minFraction: 0.01 });
    assert.ok(stats.fraction >= 0.01, `gpt2-attn heatmap: ${stats.painted} of ${stats.total} pixels painted`);
    await page.screenshot({ path: join(screenshots, 'wasm-hf-gpt2-heatmap.png') });
    // The Models view lists it as installed; the Compare view above it is collapsed so that every model's row fits.
    await page.locator('.part.activitybar .action-label[aria-label="Attention Lens"]').click();
    const compare = page.locator('.part.sidebar .pane-header[aria-label^="Compare architectures"]');
    await compare.waitFor();
    if ((await compare.getAttribute('aria-expanded')) === 'true') await compare.click();
    const header = page.locator('.part.sidebar .pane-header[aria-label^="Models"]');
    await header.waitFor();
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    await page.locator('.part.sidebar .monaco-list-row', { hasText: 'gpt2-attn' }).first().waitFor();
    await page.screenshot({ path: join(screenshots, 'wasm-models-view.png') });
  });

  it("begins reading a new panel's first model's large file in the download worker from its starter (the worker's script inline), before the page's script runs", async function () {
    this.timeout(240_000);
    const { page } = session;
    const id = large.manifest.id;
    // A person opens a new panel on the large model: the panel closed, a selection, then the model's "Analyse
    // selection with this model" in the Models view (left open by the test before).
    await runCommand(page, 'View: Close All Editor Groups');
    await selectLines(page, FILE, firstLine, 4);
    const row = page.locator('.part.sidebar .monaco-list-row', { hasText: large.manifest.displayName }).first();
    await row.hover();
    await row.locator('.action-label[aria-label="Analyse selection with this model"]').click();
    const fresh = await webviewContentFrame(page, 'panel');
    const result = await fresh.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
    assert.equal(result.state, 'analysed', `${id}: ${result.error}`);
    assert.equal(await fresh.locator('[data-testid=model-picker]').evaluate((el) => el.value), id);
    // The models were checked, so the host named the model's large file in the HTML (src/core/ortFiles.ts, firstModelLargeFiles).
    const named = await fresh.evaluate(() => JSON.parse(document.body.dataset.firstModelLarge ?? '[]'));
    assert.deepEqual(named.map((f) => [f.url.split('/').pop(), f.bytes, f.what]), [['model.onnx', large.bytes, `${id}/model.onnx`]]);
    // The HTML carries the download worker's script; the starter started that worker from it and began the read
    // before the page's script ran (webview/marks.ts: "early", "script"), and the page's read took the worker's
    // read: neither the worker's script nor the model file was fetched on the page.
    const { workerText, earlyAt, scriptAt, workers, onPage } = await fresh.evaluate((url) => {
      const fetched = performance.getEntriesByType('resource');
      return {
        workerText: document.getElementById('download-worker-script')?.textContent?.length ?? 0,
        earlyAt: performance.getEntriesByName('lens:early')[0]?.startTime,
        scriptAt: performance.getEntriesByName('lens:script')[0]?.startTime,
        workers: fetched.filter((e) => e.name.split('?')[0].endsWith('/downloadWorker.js')).length,
        onPage: fetched.filter((e) => e.name === url).length,
      };
    }, named[0].url);
    assert.ok(workerText > 1000, `the HTML carries the download worker's script (${workerText} characters)`);
    assert.ok(earlyAt < scriptAt, `the starter began the read (at ${earlyAt} ms) before the page's script ran (at ${scriptAt} ms)`);
    assert.equal(workers, 0, "the worker's script was not fetched");
    assert.equal(onPage, 0, 'the model file was read in the worker, not on the page');
    const stats = await fresh.locator('vscode-tab-panel:not([hidden]) canvas').first().evaluate(canvasPainted, { minFraction: 0.01 });
    assert.ok(stats.fraction >= 0.01, `${id} heatmap: ${stats.painted} of ${stats.total} pixels painted`);
  });

  it("reads onnxruntime's binary through resource loading when the file server does not give it (a proxy's error page), says why, and paints", async function () {
    this.timeout(240_000);
    const { page } = session;
    // A proxy between the browser and the file server answers the published binary's URL with an error page, to the
    // page's preload and to onnxruntime's worker alike (webview/servedBinary.ts checks the answer before onnxruntime starts).
    const published = /\/onnxruntime-[0-9a-f]{16}\/0\/[\w.-]+\.wasm$/;
    const refused = [];
    await page.context().route(published, (route) => (refused.push(route.request().url()), route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>Bad gateway</h1>' })));
    const warnings = [];
    const onConsole = (m) => m.type() === 'warning' && warnings.push(m.text());
    page.on('console', onConsole);
    try {
      await runCommand(page, 'View: Close All Editor Groups');
      await selectLines(page, FILE, firstLine, 4);
      await runCommand(page, 'Attention Lens: Visualize attention on selection');
      const fresh = await webviewContentFrame(page, 'panel');
      const result = await fresh.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
      assert.equal(result.state, 'analysed', result.error);
      // By the page's preload, then by onnxruntime's worker, which refused the answer before onnxruntime started.
      assert.ok(refused.length >= 2, `the published binary's URL was asked for by the page and by the worker: ${refused.length} requests`);
      const said = warnings.find((w) => w.startsWith("Reading files through VS Code's resource loading from now on: the extension's file server failed (Could not load onnxruntime's binary from "));
      assert.match(said ?? '', /\/onnxruntime-[0-9a-f]{16}\/0\/ort-wasm-simd-threaded\.wasm \(502\b.*\)\)\.$/, `the page says why, naming the URL and what came: ${warnings.join(' | ')}`);
      // The binary came through resource loading, as stored (gzipped): onnxruntime's worker inflated it.
      const binaries = await fresh.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /ort-wasm-simd-threaded.*\.wasm(\.gz)?$/.test(n) && !/\/onnxruntime-/.test(n)));
      assert.equal(binaries.length, 1, binaries.join(', '));
      assert.match(binaries[0], /vscode-resource.*\/out\/ort\/ort-wasm-simd-threaded\.wasm\.gz$/);
      const stats = await fresh.locator('vscode-tab-panel:not([hidden]) canvas').first().evaluate(canvasPainted, { minFraction: 0.01 });
      assert.ok(stats.fraction >= 0.01, `heatmap: ${stats.painted} of ${stats.total} pixels painted`);
    } finally {
      page.off('console', onConsole);
      await page.context().unroute(published);
    }
  });
});
