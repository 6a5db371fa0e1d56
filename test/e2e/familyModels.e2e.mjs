// Why: the bundled family-tree models (Elman RNN, linear attention, sliding-window attention, a selective
// state-space model) are only shipped if a person sees each of them in the real VS Code: this suite installs
// the packaged VSIX, selects a function of sample.ts, switches the panel to each bundled model, opens every tab
// the model's roles give and checks that it paints, with a screenshot per tab. WebAssembly only (the views are
// the same on WebGPU). On the default Transformer it also runs the Heads view's probe and the logit lens.
// Screenshots: .test-output/screenshots/family-<model>-<tab>.png, family-transformer-{heads,logit-lens}.png.

import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { screenshots, installedExtension, useSession } from './session.mjs';
import { canvasPainted, untilAnalysed } from './webview.mjs';
import { goToLine, quickOpen, runCommand, statusSelection, webviewContentFrame } from './workbench.mjs';

const FILE = 'sample.ts';
const MEDIA = join(harness.repoRoot, 'media/models');
// The tabs each model's roles must give, at least.
const MODELS = [
  { id: 'elman', tabs: ['state', 'w'] },
  { id: 'linear', tabs: ['heatmap', 'head', 'model', 'w', 'state-matrix', 'heads', 'logit-lens'] },
  { id: 'window', tabs: ['heatmap', 'head', 'model', 'w', 'heads', 'logit-lens'] },
  { id: 'mamba', tabs: ['heatmap', 'w', 'state-matrix', 'logit-lens'] },
];
const manifest = (id) => JSON.parse(readFileSync(join(MEDIA, id, 'manifest.json'), 'utf8'));
const lines = readFileSync(join(harness.repoRoot, 'test/fixtures/workspace', FILE), 'utf8').split('\n');
const firstLine = lines.findIndex((l) => l.startsWith('export function tokenize')) + 1;

describe('the bundled family-tree models in the panel (WebAssembly)', function () {
  const extensionsDir = installedExtension(this, 'family');
  const backend = { name: 'wasm', webgpu: false, badge: 'WebAssembly', settings: { 'attentionLens.backend': 'wasm' } };
  const session = useSession(this, backend, extensionsDir);
  let panel;

  it('analyses a function of sample.ts with the default model', async function () {
    this.timeout(180_000);
    const { page } = session;
    await quickOpen(page, FILE);
    await goToLine(page, firstLine);
    for (let i = 0; i < 8; i++) await page.keyboard.press('Shift+ArrowDown');
    await statusSelection(page, /selected\)$/);
    await runCommand(page, 'Attention Lens: Visualize attention on selection');
    panel = await webviewContentFrame(page, 'panel');
    const result = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
    assert.equal(result.state, 'analysed', `the analysis failed: ${result.error}`);
  });

  it('finds each head\'s role with the probe, and opens a head from the Heads view in the heatmap', async function () {
    this.timeout(180_000);
    await panel.locator('[data-testid=tab-heads]').click();
    await panel.locator('[data-testid=heads-probe][data-state=done]').waitFor({ timeout: 150_000 });
    assert.match((await panel.locator('[data-testid=heads-probe]').textContent()) ?? '', /^Probe: 8 sequences of 100 tokens/);
    assert.equal(await panel.locator('[data-testid=heads-row]').count(), 16);
    assert.equal(await panel.locator('[data-testid=heads-count]').textContent(), '16 of 16 heads');
    for (const title of await panel.locator('td[data-column=induction]').evaluateAll((els) => els.map((e) => e.getAttribute('title') ?? ''))) {
      assert.match(title, /^induction \d\.\d\d — attends to the token after the previous occurrence of the current token/);
    }
    const stats = await panel.locator('[data-testid=heads-thumb] canvas').first().evaluate(canvasPainted, { minFraction: 0.01 });
    assert.ok(stats.fraction >= 0.01, `head thumbnail: ${stats.painted} of ${stats.total} pixels painted`);
    await panel.locator('[data-testid=heads-sort][data-column=induction]').click();
    // The bundled Transformer has an induction head (issue target: a probe score of at least 0.4), and sorting
    // by the column puts it first.
    const induction = await panel.locator('td[data-column=induction]').evaluateAll((els) => els.map((e) => Number(/^induction (\d\.\d\d)/.exec(e.getAttribute('title') ?? '')?.[1])));
    assert.ok(Math.max(...induction) >= 0.4, `best induction score ${Math.max(...induction)}`);
    assert.equal(induction[0], Math.max(...induction), 'sorted by induction, the induction head comes first');
    await session.page.screenshot({ path: join(screenshots, 'family-transformer-heads.png') });
    await panel.locator('[data-testid=heads-filter]').evaluate((el) => {
      el.value = 'layer = 2';
      el.dispatchEvent(new Event('input', { bubbles: true }));
    });
    await panel.locator('[data-testid=heads-count]', { hasText: '4 of 16 heads' }).waitFor();
    await panel.locator('[data-testid=heads-row][data-layer="1"][data-head="0"] [data-testid=heads-thumb]').click();
    await panel.locator('[data-testid=tab-heatmap][active]').waitFor();
  });

  it('reads every layer through the logit lens', async function () {
    this.timeout(120_000);
    await panel.locator('[data-testid=tab-logit-lens]').click();
    await panel.locator('[data-testid=logit-lens-note][data-state=done]').waitFor({ timeout: 90_000 });
    assert.match((await panel.locator('[data-testid=logit-lens-note]').textContent()) ?? '', /at (\d+) of \1 tokens/);
    const stats = await panel.locator('[data-testid=logit-lens]').evaluate(canvasPainted, { minFraction: 0.1 });
    assert.ok(stats.fraction >= 0.1, `logit lens: ${stats.painted} of ${stats.total} pixels painted`);
    await session.page.screenshot({ path: join(screenshots, 'family-transformer-logit-lens.png') });
  });

  for (const model of MODELS) {
    it(`shows every view ${model.id}'s roles give, painted`, async function () {
      this.timeout(240_000);
      const picker = panel.locator('[data-testid=model-picker]');
      await picker.click();
      // The dropdown skips its layout reads while closed (webview/quietSelect.ts): open, it is placed under the
      // picker at its width, and its list's scrollbar shows exactly when the options overflow.
      const placed = await picker.evaluate(dropdownPlacement);
      assert.ok(placed.open && Math.abs(placed.dx) < 1 && Math.abs(placed.dw) < 1 && Math.abs(placed.gap) < 2 && placed.height > 0, `the open dropdown's place: ${JSON.stringify(placed)}`);
      assert.equal(placed.scrollbar, placed.overflows, `the option list's scrollbar: ${JSON.stringify(placed)}`);
      await picker.locator('li.option', { hasText: manifest(model.id).displayName }).click();
      const result = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
      assert.equal(result.state, 'analysed', `${model.id}: ${result.error}`);
      assert.equal(await picker.evaluate((el) => el.value), model.id);
      const tabs = await panel.locator('[data-testid^=tab-]').evaluateAll((els) => els.map((e) => ({ id: e.getAttribute('data-testid').slice(4), label: e.textContent })));
      for (const id of model.tabs) assert.ok(tabs.some((t) => t.id === id), `${model.id} offers tab ${id} (has ${tabs.map((t) => t.id).join(', ')})`);
      for (const tab of tabs) {
        await panel.locator(`[data-testid=tab-${tab.id}]`).click();
        await panel.locator(`[data-testid=tab-${tab.id}][active]`).waitFor();
        const canvases = panel.locator('vscode-tab-panel:not([hidden]) canvas');
        if ((await canvases.count()) > 0) {
          const stats = await canvases.first().evaluate(canvasPainted, { minFraction: 0.01 });
          assert.ok(stats.fraction >= 0.01, `${model.id} ${tab.id}: ${stats.painted} of ${stats.total} pixels painted`);
        }
        // The view, not the panel's header, in the picture.
        await panel.locator('vscode-tab-panel:not([hidden])').first().evaluate((el) => el.scrollIntoView({ block: 'start' }));
        await session.page.screenshot({ path: join(screenshots, `family-${model.id}-${tab.id}.png`) });
      }
    });
  }

  it('shows the sliding window\'s receptive field growing with depth in the rollout', async function () {
    this.timeout(180_000);
    const picker = panel.locator('[data-testid=model-picker]');
    await picker.click();
    await picker.locator('li.option', { hasText: manifest('window').displayName }).click();
    const result = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
    assert.equal(result.state, 'analysed', `window: ${result.error}`);
    await panel.locator('[data-testid=tab-heatmap]').click();
    const choose = (testid, value) =>
      panel.locator(`[data-testid=${testid}]`).evaluate((el, v) => {
        el.value = v;
        el.dispatchEvent(new Event('change', { bubbles: true }));
      }, value);
    await choose('head-picker', 'rollout');
    const reach = [];
    for (const layer of [0, 1]) {
      await choose('layer-picker', String(layer));
      const caption = panel.locator('[data-testid=heatmap-caption]', { hasText: `after layer ${layer + 1}:` });
      await caption.waitFor({ timeout: 60_000 });
      const text = (await caption.textContent()) ?? '';
      const allowed = 63 * (layer + 1);
      assert.match(text, new RegExp(`^Receptive field of the last token after layer ${layer + 1}: \\d+ tokens? back \\(the window allows ${layer + 1} × 63 = ${allowed}\\)$`));
      reach.push(Number(/: (\d+) token/.exec(text)[1]));
      assert.ok(reach[layer] <= allowed, `layer ${layer + 1} reaches ${reach[layer]} tokens back, more than the window allows`);
    }
    await session.page.screenshot({ path: join(screenshots, 'family-window-rollout-layer2.png') });
    assert.ok(reach[1] >= reach[0], `the receptive field grows with depth: ${reach.join(' → ')}`);
  });

  it('finds the Transformer\'s induction head on a real file (the README\'s picture)', async function () {
    this.timeout(240_000);
    const { page } = session;
    const file = 'stringify.js';
    const started = Date.now();
    const mark = (what) => console.log(`      ${what}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const lines = readFileSync(join(harness.repoRoot, 'test/fixtures/workspace/heldout', file), 'utf8').split('\n');
    // Back to the Transformer first (the panel keeps the model it shows for the next selection).
    const picker = panel.locator('[data-testid=model-picker]');
    await picker.click();
    await picker.locator('li.option', { hasText: manifest('transformer').displayName }).click();
    const before = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 150_000 });
    assert.equal(before.state, 'analysed', `transformer: ${before.error}`);
    mark('the Transformer back on sample.ts');
    assert.equal(await picker.evaluate((el) => el.value), 'transformer');
    await quickOpen(page, file);
    await goToLine(page, lines.findIndex((l) => l.startsWith('var stringify = function stringify(')) + 1);
    for (let i = 0; i < 60; i++) await page.keyboard.press('Shift+ArrowDown');
    await statusSelection(page, /selected\)$/);
    mark('selected');
    await runCommand(page, 'Attention Lens: Visualize attention on selection');
    const result = await panel.evaluate(untilAnalysed, { fileName: `heldout/${file}`, timeoutMs: 150_000 });
    assert.ok(!result.timedOut && result.state === 'analysed', `the analysis of ${file} failed: ${JSON.stringify(result)}`);
    mark(`analysed (${result.tokens.length} tokens)`);
    await panel.locator('[data-testid=tab-heads]').click();
    await panel.locator('[data-testid=heads-probe][data-state=done]').waitFor({ timeout: 150_000 });
    mark('probed');
    await panel.locator('[data-testid=heads-sort][data-column=induction]').click();
    const first = panel.locator('[data-testid=heads-row]').first();
    const title = (await first.locator('td[data-column=induction]').getAttribute('title')) ?? '';
    assert.ok(Number(/^induction (\d\.\d\d)/.exec(title)?.[1]) >= 0.4, `the first head by induction: ${title}`);
    // On the selection too, the induction head attends to the token after an earlier occurrence.
    const onSelection = (await first.locator('td[data-column="sel.induction"]').getAttribute('title')) ?? '';
    assert.match(onSelection, /^induction on the selection \d\.\d\d/);
    // The picture: the file beside the Heads view, the explorer hidden so the table has room.
    await page.keyboard.press('Control+B');
    await panel.locator('[data-testid=heads-filter]').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: join(screenshots, 'heads-view-stringify.png') });
    await page.keyboard.press('Control+B');
  });
});

/** Where an open dropdown's popover lies against its picker, once its list has measured itself (browser side). */
async function dropdownPlacement(el) {
  const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve()));
  const popover = el.shadowRoot.querySelector('[popover]');
  const scrollable = popover.querySelector('vscode-scrollable');
  for (let i = 0; i < 60 && !popover.matches(':popover-open'); i++) await frame();
  await frame();
  await frame(); // the resize observer's measure, then its render
  const a = el.getBoundingClientRect();
  const b = popover.getBoundingClientRect();
  const content = scrollable.shadowRoot.querySelector('.content');
  const track = scrollable.shadowRoot.querySelector('.scrollbar-track');
  const thumb = scrollable.shadowRoot.querySelector('.scrollbar-thumb');
  return {
    open: popover.matches(':popover-open'),
    dx: b.left - a.left,
    dw: b.width - a.width,
    gap: b.top - a.bottom,
    height: b.height,
    overflows: content.offsetHeight > scrollable.offsetHeight,
    scrollbar: !track.classList.contains('hidden') && thumb.getBoundingClientRect().height > 0,
  };
}
