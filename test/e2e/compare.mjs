// Why: the Compare architectures view is a sidebar webview that follows the editor: only a real VS Code
// shows that it picks up the selection, runs every chosen model in the browser (all seven bundled causal language
// models by default; three on WebGPU, chosen in its model list), paints its charts and
// matrices in a narrow sidebar, and opens a model in the panel when a matrix is clicked. Registered by
// panel.e2e.mjs after rnn.mjs, whose selection (the Stack class of sample.py) it compares.
// Screenshots: .test-output/screenshots/<backend>-compare{,-sidebar,-charts,-occlusion}.png.

import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { screenshots } from './session.mjs';
import { canvasPainted, untilAnalysed, untilCompared } from './webview.mjs';
import { goToLine, focusEditor, statusSelection, webviewContentFrame, webviewFrame } from './workbench.mjs';

const FILE = 'sample.py';
const lines = readFileSync(join(harness.repoRoot, 'test/fixtures/workspace', FILE), 'utf8').split('\n');
const firstLine = lines.findIndex((l) => l.startsWith('class Stack')) + 1;
const lastLine = lines.findIndex((l, i) => i >= firstLine && l.includes('return self.items.pop()')) + 1;
// Every bundled causal language model, in menu order, with its short name. On WebGPU (headless chromium's
// software adapter is slow) the test unchecks the four family-tree models in the chooser and compares three.
const ALL = ['transformer', 'lstm', 'gru', 'elman', 'linear', 'window', 'mamba'];
// Every bundled model is listed; the masked language model and the encoder–decoders are not compared by default.
const INSTALLED = readdirSync(join(harness.repoRoot, 'media/models')).length;
const SHORT = { transformer: 'Transformer', lstm: 'LSTM', gru: 'GRU', elman: 'Elman RNN', linear: 'Linear attention', window: 'Sliding window', mamba: 'SSM' };
const esc = (t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Asserts that every canvas matched by selector is painted (at least minFraction of its pixels). */
async function expectPainted(frame, selector, minFraction) {
  const stats = await frame.locator(selector).evaluateAll(canvasPainted, { minFraction });
  assert.ok(stats.length > 0, `no ${selector} canvas`);
  stats.forEach((s, i) => assert.ok(s.fraction >= minFraction, `${selector} #${i} has ${s.painted} of ${s.total} pixels painted`));
}

/** Registers the tests; session is the backend's VS Code session (session.mjs). */
export function describeCompareView(session) {
  describe('the Compare architectures view', function () {
    let sidebar;
    let compared = false;
    const MODELS = session.backend.name === 'webgpu' ? ALL.slice(0, 3) : ALL;

    it('compares all three models on the followed selection and paints every chart', async function () {
      this.timeout(240_000);
      const { page } = session;
      const header = page.locator('.part.sidebar .pane-header[aria-label^="Compare architectures"]');
      if ((await header.count()) === 0) await page.locator('.part.activitybar .action-label[aria-label="Attention Lens"]').click();
      await header.waitFor({ state: 'attached' });
      sidebar = await webviewFrame(page, 'sidebar');
      const frame = await webviewContentFrame(page, 'sidebar');
      const summary = sidebar.locator('[data-testid=compare-models-summary]');
      await summary.waitFor();
      assert.equal(await summary.textContent(), `Models compared: ${ALL.length} of ${INSTALLED}`, 'every causal language model, and only they, is compared by default');
      if (MODELS.length < ALL.length) {
        await summary.click();
        for (const id of ALL.filter((m) => !MODELS.includes(m))) await sidebar.locator(`[data-testid=compare-model][data-model=${id}]`).click();
        await sidebar.locator('[data-testid=compare-models-summary]', { hasText: `Models compared: ${MODELS.length} of ${INSTALLED}` }).waitFor();
        await sidebar.locator('.model-card').nth(MODELS.length).waitFor({ state: 'detached', timeout: 60_000 });
        await summary.click();
      }
      const result = await frame.evaluate(untilCompared, { rangeText: `Ln ${firstLine}, Col 1 – Ln ${lastLine + 1}, Col 1`, timeoutMs: 180_000 });
      assert.ok(!result.timedOut, `no comparison of the Stack class within 180 s: ${JSON.stringify(result)}`);
      assert.deepStrictEqual(result.cards.map((c) => [c.id, c.state]), MODELS.map((id) => [`compare-${id}`, 'done']));
      for (const id of MODELS) {
        assert.match((await sidebar.locator(`[data-testid=bpb-${id}]`).textContent()) ?? '', /^\d\.\d\d bits\/byte$/);
        assert.match((await sidebar.locator(`[data-testid=stats-${id}]`).textContent()) ?? '', /M parameters · \d+ tokens · /);
      }
      assert.match((await sidebar.locator('[data-testid=memory-transformer]').textContent()) ?? '', /attention [\d.]+ (KiB|MiB): 16 maps \(layers × heads\) of (\d+)×\2, [\d.]+ (B|KiB|MiB) each, growing as T²/);
      assert.match((await sidebar.locator('[data-testid=memory-lstm]').textContent()) ?? '', /state 4\.0 KiB per step/);
      assert.ok(result.words.some((w) => /predicts this selection best/.test(w)), result.words.join('\n'));
      assert.ok(result.words.some((w) => /Retention halves every/.test(w)), result.words.join('\n'));
      if (MODELS.length === ALL.length) assert.ok(result.words.some((w) => /Their W\(t, k\) is made differently/.test(w)), result.words.join('\n'));
      await expectPainted(sidebar, '[data-testid=surprisal-chart-canvas]', 0.01);
      await expectPainted(sidebar, '[data-testid=distance-chart-canvas]', 0.01);
      // Every model's matrix is painted, except a model that exports no W(t, k) (the Elman RNN, until occlusion is added), which says so.
      const figures = await sidebar.locator('.multiple').evaluateAll((els) => els.map((e) => e.querySelector('figcaption')?.textContent ?? ''));
      assert.equal(figures.length, MODELS.length);
      const withoutW = figures.filter((f) => f.includes('has no W(t, k)'));
      assert.deepEqual(withoutW.map((f) => f.startsWith('Elman RNN')), withoutW.map(() => true), `only the Elman RNN has no W: ${withoutW.join('; ')}`);
      for (let i = 0; i < figures.length; i++) {
        if (figures[i].includes('has no W(t, k)')) continue;
        const p = await sidebar.locator('.multiple').nth(i).locator('.multiple-canvas').evaluate(canvasPainted, { minFraction: 0.2 });
        assert.ok(p.fraction >= 0.2, `${figures[i]}: ${p.painted} of ${p.total} pixels painted`);
      }
      // Pointing at the surprisal chart reads out every model's value at that token.
      await page.locator('.part.sidebar').screenshot({ path: join(screenshots, `${session.backend.name}-compare-sidebar.png`) });
      const chart = sidebar.locator('[data-testid=surprisal-chart-canvas]');
      await chart.scrollIntoViewIfNeeded();
      const box = await chart.boundingBox();
      await chart.hover({ position: { x: Math.round(box.width * 0.6), y: Math.round(box.height / 2) } });
      const readout = new RegExp(`^token \\d+ .*${MODELS.map((id) => `${esc(SHORT[id])} [\\d.]+ bits`).join(' · ')}$`);
      await sidebar.locator('[data-testid=surprisal-chart-readout]', { hasText: readout }).waitFor();
      await page.screenshot({ path: join(screenshots, `${session.backend.name}-compare.png`) });
      await sidebar.locator('[data-testid=multiples]').scrollIntoViewIfNeeded();
      await page.locator('.part.sidebar').screenshot({ path: join(screenshots, `${session.backend.name}-compare-charts.png`) });
      compared = true;
    });

    it('keeps a pinned selection and follows the editor again once unpinned', async function () {
      if (!compared) this.skip();
      this.timeout(240_000);
      const { page } = session;
      await sidebar.locator('[data-testid=compare-pin]').click();
      await sidebar.locator('[data-testid=compare-pin][aria-pressed=true]').waitFor();
      await focusEditor(page, FILE);
      await goToLine(page, 6);
      for (let i = 0; i < 3; i++) await page.keyboard.press('Shift+ArrowDown');
      await statusSelection(page, /\(\d+ selected\)$/);
      assert.equal(await sidebar.locator('[data-testid=selection-range]').textContent(), `Ln ${firstLine}, Col 1 – Ln ${lastLine + 1}, Col 1`);
      await sidebar.locator('[data-testid=compare-pin]').click();
      const frame = await webviewContentFrame(page, 'sidebar');
      const result = await frame.evaluate(untilCompared, { rangeText: 'Ln 6, Col 1 – Ln 9, Col 1', timeoutMs: 180_000 });
      assert.ok(!result.timedOut, `the unpinned view did not compare the new selection: ${JSON.stringify(result)}`);
    });

    // Occlusion reruns each model once per token: minutes on headless chromium's software WebGPU adapter
    // (SwiftShader runs the LSTM ~20 s a pass), so it is checked on WebAssembly.
    it('adds occlusion for every model on request: dashed curves in the distance chart', async function () {
      if (!compared || session.backend.name !== 'wasm') this.skip();
      this.timeout(240_000);
      await sidebar.locator('[data-testid=compare-occlusion]').click();
      await sidebar.locator('[data-testid=occlusion-done]').waitFor({ timeout: 200_000 });
      const chart = sidebar.locator('[data-testid=distance-chart-canvas]');
      await chart.scrollIntoViewIfNeeded();
      await chart.focus();
      await session.page.keyboard.press('Home');
      await sidebar
        // Each model's own W (a model without one, the Elman RNN, has only its occlusion curve), then its occlusion.
        .locator('[data-testid=distance-chart-readout]', { hasText: new RegExp(`^1 token back: ${MODELS.map((id) => `(?:${esc(SHORT[id])} [^·]+ · )?${esc(SHORT[id])} occlusion [^·]+`).join(' · ')}$`) })
        .waitFor();
      // The matrices can now show occlusion, the same measure for all three models.
      const picker = sidebar.locator('[data-testid=multiples-source]');
      // At the top of the view, so that its option list opens inside the view, clear of the Models pane below.
      await picker.evaluate((el) => el.scrollIntoView({ block: 'start' }));
      await picker.click();
      await picker.locator('li.option', { hasText: 'Occlusion' }).click();
      await sidebar.locator('.multiple figcaption', { hasText: 'occlusion (KL divergence)' }).nth(2).waitFor();
      await expectPainted(sidebar, '.multiple-canvas', 0.2);
      await session.page.locator('.part.sidebar').screenshot({ path: join(screenshots, `${session.backend.name}-compare-occlusion.png`) });
    });

    it('opens a model in the panel when its matrix is clicked', async function () {
      if (!compared) this.skip();
      this.timeout(180_000);
      const { page } = session;
      // rnn.mjs left the GRU in the panel; the Transformer's matrix must bring the Transformer back.
      await sidebar.locator('[data-testid=multiple-transformer]').click();
      const panelFrame = await webviewFrame(page, 'panel');
      await panelFrame.locator('[data-testid=selection-range]', { hasText: 'Ln 6, Col 1 – Ln 9, Col 1' }).waitFor({ timeout: 60_000 });
      const panel = await webviewContentFrame(page, 'panel');
      const result = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 120_000 });
      assert.equal(result.state, 'analysed', JSON.stringify(result));
      assert.equal(await panelFrame.locator('[data-testid=model-picker]').evaluate((el) => el.value), 'transformer');
    });
  });
}
