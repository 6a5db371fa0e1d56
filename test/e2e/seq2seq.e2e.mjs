// Why: the encoder and encoder–decoder models are only shipped if a person can use them in the real VS Code:
// this suite installs the packaged VSIX, selects an expression in a file no model was trained on (the corpus's
// held-out split), runs "Fill in the selection" with each infilling model and checks that the Fill panel shows
// the filling and a painted cross-attention map (heatmap and lines), compares the infilling models on the same
// hole, then opens the masked language model in the analysis panel: full (bidirectional) attention and the
// masked predictions of every token. WebAssembly only (the views are the same on WebGPU).
// Screenshots: .test-output/screenshots/fill-<model>.png, fill-compare.png, encoder-heatmap.png, encoder-masked.png.

import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { screenshots, installedExtension, useSession } from './session.mjs';
import { canvasPainted, untilAnalysed } from './webview.mjs';
import { focusEditor, goToLine, quickOpen, runCommand, selectLines, statusSelection, webviewContentFrame } from './workbench.mjs';

const MEDIA = join(harness.repoRoot, 'media/models');
const manifest = (id) => JSON.parse(readFileSync(join(MEDIA, id, 'manifest.json'), 'utf8'));
const HELD_OUT = 'stringify.js';
const heldOutText = readFileSync(join(harness.repoRoot, 'test/fixtures/workspace/heldout', HELD_OUT), 'utf8');
// The hidden span: an expression in the middle of a statement, with code on both sides.
const EXPRESSION = "isArray(obj)";
const STATEMENT = "generateArrayPrefix === 'comma' && encodeValuesOnly && isArray(obj) ? null : encoder,";
const statementLine = heldOutText.split('\n').findIndex((l) => l.includes(STATEMENT)) + 1;
const FILLERS = Object.freeze(['t5', 'bahdanau']);
const SAMPLE = 'sample.ts';
const sampleLines = readFileSync(join(harness.repoRoot, 'test/fixtures/workspace', SAMPLE), 'utf8').split('\n');
const firstSampleLine = sampleLines.findIndex((l) => l.startsWith('export function tokenize')) + 1;

/** In the Fill webview: waits until its result is done or failed; resolves with what it shows. */
function untilFilled({ modelId, timeoutMs }) {
  const text = (selector) => document.querySelector(selector)?.textContent ?? null;
  return new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const tick = () => {
      const root = document.querySelector('[data-testid=fill-result]');
      const state = root?.getAttribute('data-state');
      const picker = document.querySelector('[data-testid=model-picker]');
      const modelOk = !modelId || !picker || picker.value === modelId;
      if (modelOk && (state === 'done' || state === 'error')) {
        resolve({
          state,
          error: text('[data-testid=fill-error]'),
          original: text('[data-testid=fill-original-text]'),
          generated: text('[data-testid=fill-generated-text]'),
          bits: text('[data-testid=fill-bits-per-token]'),
          crossLabel: text('[data-testid=fill-cross-label]'),
        });
      } else if (performance.now() > deadline) {
        resolve({ timedOut: true, state, error: text('[data-testid=fill-error]') });
      } else {
        requestAnimationFrame(tick);
      }
    };
    tick();
  });
}

/** Selects the first occurrence of `needle` at or after line `line` (1-based) with the Find widget. */
async function selectText(page, line, needle) {
  await goToLine(page, line);
  await page.keyboard.press('Control+F');
  const input = page.locator('.find-widget .input').first();
  await input.waitFor();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(needle);
  await page.locator('.find-widget .matchesCount', { hasText: /of/ }).waitFor();
  await page.keyboard.press('Escape');
  await statusSelection(page, new RegExp(`\\(${needle.length} selected\\)$`));
}

describe('the encoder and encoder–decoder models in the real VS Code (WebAssembly)', function () {
  const extensionsDir = installedExtension(this, 'seq2seq');
  const backend = { name: 'wasm', webgpu: false, badge: 'WebAssembly', settings: { 'attentionLens.backend': 'wasm' } };
  const session = useSession(this, backend, extensionsDir);
  let fill;

  it('fills an expression of a held-out file with the first infilling model and paints its cross-attention', async function () {
    this.timeout(240_000);
    const { page } = session;
    assert.ok(statementLine > 0, `${HELD_OUT} has the statement`);
    await quickOpen(page, HELD_OUT);
    await selectText(page, statementLine, EXPRESSION);
    await runCommand(page, 'Attention Lens: Fill in the selection');
    fill = await webviewContentFrame(page, 'fill');
    const result = await fill.evaluate(untilFilled, { modelId: FILLERS[0], timeoutMs: 180_000 });
    assert.equal(result.state, 'done', `the filling failed: ${result.error ?? JSON.stringify(result)}`);
    assert.equal((result.original ?? '').trim(), EXPRESSION, 'the original span is shown as it was selected');
    assert.match(result.bits ?? '', /\d\.\d\d bits per token/);
    await checkCross(FILLERS[0]);
  });

  it('fills the same hole with the other infilling model', async function () {
    this.timeout(240_000);
    for (const id of FILLERS.slice(1)) {
      const picker = fill.locator('[data-testid=model-picker]');
      await picker.click();
      await picker.locator('li.option', { hasText: manifest(id).displayName }).click();
      const result = await fill.evaluate(untilFilled, { modelId: id, timeoutMs: 180_000 });
      assert.equal(result.state, 'done', `${id}: ${result.error ?? JSON.stringify(result)}`);
      await checkCross(id);
    }
  });

  async function checkCross(id) {
    for (const testid of ['fill-cross-heatmap', 'fill-cross-lines']) {
      const canvas = fill.locator(`[data-testid=${testid}] canvas`).first();
      await canvas.waitFor();
      await canvas.scrollIntoViewIfNeeded();
      const stats = await canvas.evaluate(canvasPainted, { minFraction: 0.005 });
      assert.ok(stats.fraction >= 0.005, `${id} ${testid}: ${stats.painted} of ${stats.total} pixels painted`);
    }
    await fill.locator('[data-testid=fill-generated]').scrollIntoViewIfNeeded();
    await session.page.screenshot({ path: join(screenshots, `fill-${id}.png`) });
  }

  it('compares the infilling models on the same hole, on one colour scale', async function () {
    this.timeout(300_000);
    await fill.locator('[data-testid=fill-compare-run]').click();
    for (const id of FILLERS) {
      const card = fill.locator(`[data-testid=fill-compare-${id}]`);
      await card.and(fill.locator('[data-state=done]')).waitFor({ timeout: 240_000 });
      assert.match((await fill.locator(`[data-testid=fill-compare-bits-${id}]`).textContent()) ?? '', /\d\.\d\d bits per token/);
      const stats = await card.locator('canvas').first().evaluate(canvasPainted, { minFraction: 0.005 });
      assert.ok(stats.fraction >= 0.005, `compare ${id}: ${stats.painted} of ${stats.total} pixels painted`);
    }
    assert.match((await fill.locator('[data-testid=fill-compare-scale]').textContent()) ?? '', /scale/i);
    await fill.locator('[data-testid=fill-compare]').scrollIntoViewIfNeeded();
    await session.page.screenshot({ path: join(screenshots, 'fill-compare.png') });
  });

  it('shows the masked language model\'s full attention and masked predictions in the analysis panel', async function () {
    this.timeout(300_000);
    const { page } = session;
    const encoder = manifest('encoder');
    // The Fill panel had the focus: give it back to the editor, so Quick Open's file gets it.
    await focusEditor(page, HELD_OUT);
    await selectLines(page, SAMPLE, firstSampleLine, 4);
    await runCommand(page, 'Attention Lens: Visualize attention on selection');
    const panel = await webviewContentFrame(page, 'panel');
    let result = await panel.evaluate(untilAnalysed, { fileName: SAMPLE, timeoutMs: 150_000 });
    assert.equal(result.state, 'analysed', `the analysis failed: ${result.error}`);
    const picker = panel.locator('[data-testid=model-picker]');
    await picker.click();
    await picker.locator('li.option', { hasText: encoder.displayName }).click();
    await panel.locator('[data-testid=model-picker]').evaluate((el, id) => new Promise((resolve) => {
      const tick = () => (el.value === id ? resolve() : requestAnimationFrame(tick));
      tick();
    }), 'encoder');
    result = await panel.evaluate(untilAnalysed, { fileName: SAMPLE, timeoutMs: 150_000 });
    assert.equal(result.state, 'analysed', `encoder: ${result.error}`);
    await panel.locator('[data-testid=tab-heatmap]').click();
    const heatmap = panel.locator('vscode-tab-panel:not([hidden]) canvas').first();
    // Bidirectional: the upper right triangle (keys after the query) is painted too.
    const upper = await heatmap.evaluate(canvasPainted, { minFraction: 0.05, region: { left: 0.6, right: 0.95, top: 0.05, bottom: 0.35 } });
    assert.ok(upper.fraction >= 0.05, `encoder heatmap above the diagonal: ${upper.painted} of ${upper.total} pixels painted`);
    await session.page.screenshot({ path: join(screenshots, 'encoder-heatmap.png') });
    await panel.locator('[data-testid=tab-masked]').click();
    await panel.locator('[data-testid=masked-note][data-state=done]').waitFor({ timeout: 150_000 });
    const tokens = panel.locator('[data-testid=masked-token]');
    assert.ok((await tokens.count()) > 5, 'every token is shown with its masked prediction');
    await tokens.nth(3).hover();
    const top5 = (await panel.locator('[data-testid=masked-top5]').textContent()) ?? '';
    assert.match(top5, /%/, `the top-5 card shows probabilities: ${top5}`);
    await session.page.screenshot({ path: join(screenshots, 'encoder-masked.png') });
    // Every other tab its roles give (the Heads probe and the logit lens included) paints.
    const tabs = await panel.locator('[data-testid^=tab-]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid').slice(4)));
    for (const id of ['heatmap', 'head', 'model', 'heads']) assert.ok(tabs.includes(id), `the encoder offers tab ${id} (has ${tabs.join(', ')})`);
    for (const id of tabs.filter((t) => t !== 'masked')) {
      await panel.locator(`[data-testid=tab-${id}]`).click();
      await panel.locator(`[data-testid=tab-${id}][active]`).waitFor();
      if (id === 'heads') await panel.locator('[data-testid=heads-probe][data-state=done]').waitFor({ timeout: 150_000 });
      if (id === 'logit-lens') await panel.locator('[data-testid=logit-lens-note][data-state=done]').waitFor({ timeout: 90_000 });
      const canvases = panel.locator('vscode-tab-panel:not([hidden]) canvas');
      if ((await canvases.count()) > 0) {
        const stats = await canvases.first().evaluate(canvasPainted, { minFraction: 0.01 });
        assert.ok(stats.fraction >= 0.01, `encoder ${id}: ${stats.painted} of ${stats.total} pixels painted`);
      }
      await session.page.screenshot({ path: join(screenshots, `encoder-${id}.png`) });
    }
  });
});
