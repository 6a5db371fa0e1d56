// Why: the bundled family-tree models (Elman RNN, linear attention, sliding-window attention, a selective
// state-space model) are only shipped if a person sees each of them in the real VS Code: this suite installs
// the packaged VSIX, selects a function of sample.ts, switches the panel to each bundled model, opens every tab
// the model's roles give and checks that it paints, with a screenshot per tab. WebAssembly only (the views are
// the same on WebGPU). Screenshots: .test-output/screenshots/family-<model>-<tab>.png.

import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { screenshots, useSession } from './session.mjs';
import { canvasPainted, untilAnalysed } from './webview.mjs';
import { goToLine, quickOpen, runCommand, statusSelection, webviewContentFrame } from './workbench.mjs';

const FILE = 'sample.ts';
const MEDIA = join(harness.repoRoot, 'media/models');
// The tabs each model's roles must give, at least.
const MODELS = [
  { id: 'elman', tabs: ['state', 'w'] },
  { id: 'linear', tabs: ['heatmap', 'head', 'model', 'w', 'state-matrix'] },
  { id: 'window', tabs: ['heatmap', 'head', 'model', 'w'] },
  { id: 'mamba', tabs: ['heatmap', 'w', 'state-matrix'] },
];
const manifest = (id) => JSON.parse(readFileSync(join(MEDIA, id, 'manifest.json'), 'utf8'));
const lines = readFileSync(join(harness.repoRoot, 'test/fixtures/workspace', FILE), 'utf8').split('\n');
const firstLine = lines.findIndex((l) => l.startsWith('export function tokenize')) + 1;

const vsix = process.env.ATTENTION_LENS_VSIX || join(harness.repoRoot, 'out/attention-lens.vsix');

describe('the bundled family-tree models in the panel (WebAssembly)', function () {
  let extensionsDir;
  before(async function () {
    this.timeout(120_000);
    harness.ensureCodeServer();
    const root = await harness.makeTempDir('e2e-family-install');
    extensionsDir = join(root, 'extensions');
    await harness.installVsix({ root: join(root, 'cli'), vsix, extensionsDir });
  });
  const backend = { name: 'wasm', webgpu: false, badge: 'WebAssembly', settings: { 'attentionLens.backend': 'wasm' } };
  const session = useSession(this, backend, () => extensionsDir);
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

  for (const model of MODELS) {
    it(`shows every view ${model.id}'s roles give, painted`, async function () {
      this.timeout(240_000);
      const picker = panel.locator('[data-testid=model-picker]');
      await picker.click();
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
        await session.page.screenshot({ path: join(screenshots, `family-${model.id}-${tab.id}.png`) });
      }
    });
  }
});
