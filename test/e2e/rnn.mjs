// Why: the RNN tabs (Gates, State, W(t, k) with retention and half-lives), the Transformer's W(t, k) tab
// and the editor hover are what a user sees after switching models or pointing at code, and only a real
// VS Code shows whether they paint and appear. Registered by panel.e2e.mjs inside each backend's suite,
// after views.mjs, so it reuses that VS Code session. It analyses a selection of sample.py with the
// Transformer (Ctrl+Alt+A), then picks the LSTM and the GRU in the panel's model picker the way a person
// does. Screenshots: .test-output/screenshots/<backend>-{transformer-w,hover,lstm-gates,lstm-state,
// lstm-w,gru-gates,gru-w}.png.

import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { screenshots } from './session.mjs';
import { canvasPainted, undoWhitespace, untilAnalysed } from './webview.mjs';
import { focusEditor, goToLine, quickOpen, statusSelection, webviewContentFrame } from './workbench.mjs';

const FILE = 'sample.py';
const workspace = join(harness.repoRoot, 'test/fixtures/workspace');
const models = join(harness.repoRoot, 'media/models');
const displayName = (id) => JSON.parse(readFileSync(join(models, id, 'manifest.json'), 'utf8')).displayName;

/** The selection: the Stack class of sample.py, whole lines (the cursor ends at the next line's start). */
const lines = readFileSync(join(workspace, FILE), 'utf8').split('\n');
const firstLine = lines.findIndex((l) => l.startsWith('class Stack')) + 1;
const lastLine = lines.findIndex((l, i) => i >= firstLine && l.includes('return self.items.pop()')) + 1;
const selectedText = `${lines.slice(firstLine - 1, lastLine).join('\n')}\n`;
/** The word the hover test points at, inside the selection. */
const HOVER_LINE = '        self.items.append(item)';
const HOVER_WORD = 'append';

async function showTab(panel, id) {
  await panel.locator(`[data-testid=tab-${id}]`).click();
  await panel.locator(`[data-testid=tab-${id}][active]`).waitFor();
}

/** Waits for the panel's analysis of FILE by modelId and checks that its token labels spell the selection. */
async function expectAnalysed(panel, modelId) {
  const result = await panel.evaluate(untilAnalysed, { fileName: FILE, timeoutMs: 120_000 });
  assert.ok(!result.timedOut, `no analysis of ${FILE} within 120 s (state ${result.state}, file ${result.file}) ${result.error ?? ''}`);
  assert.equal(result.state, 'analysed', `the ${modelId} analysis of ${FILE} failed: ${result.error}`);
  assert.equal(await panel.locator('[data-testid=model-picker]').evaluate((el) => el.value), modelId, 'the picker names the model shown');
  assert.equal(result.tokens.map(undoWhitespace).join(''), selectedText, 'the token labels, whitespace undone, spell the selection');
}

/** Picks a model in the panel's model picker (a vscode-single-select: open it, click the option). */
async function pickModel(panel, modelId) {
  const picker = panel.locator('[data-testid=model-picker]');
  await picker.click();
  await picker.locator('li.option', { hasText: displayName(modelId) }).click();
  await expectAnalysed(panel, modelId);
}

/**
 * The attribute attr of each element locator matches, once the view has built the expected count of them (a tab
 * builds its canvases on the animation frame after it is shown, so right after the click there may be none yet).
 */
async function drawnAttributes(locator, attr, expectedCount) {
  await locator.nth(expectedCount - 1).waitFor({ state: 'attached' });
  return locator.evaluateAll((els, name) => els.map((e) => e.getAttribute(name)), attr);
}

/** Asserts that every canvas matched by selector is painted (at least minFraction of its pixels). */
async function expectPainted(panel, selector, minFraction) {
  const stats = await panel.locator(selector).evaluateAll(canvasPainted, { minFraction });
  assert.ok(stats.length > 0, `no ${selector} canvas`);
  stats.forEach((s, i) => assert.ok(s.fraction >= minFraction, `${selector} #${i} has ${s.painted} of ${s.total} pixels painted`));
  return stats;
}

/** The page coordinates of the middle of word in the editor line whose text is lineText (a DOM Range over it). */
function wordCentre({ lineText, word }) {
  const line = [...document.querySelectorAll('.editor-group-container .monaco-editor .view-lines .view-line')].find((l) => l.textContent.replace(/\u00a0/g, ' ') === lineText);
  if (!line) return null;
  let offset = lineText.indexOf(word);
  const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (offset < node.length) {
      const range = document.createRange();
      range.setStart(node, offset);
      range.setEnd(node, Math.min(node.length, offset + word.length));
      const r = range.getBoundingClientRect();
      return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
    }
    offset -= node.length;
  }
  return null;
}

/** Registers the tests; session is the backend's VS Code session (session.mjs). */
export function describeRnnViews(session) {
  describe('the RNN views, W(t, k) and editor hovers', function () {
    const shot = async (name, locator) => {
      if (locator) await locator.scrollIntoViewIfNeeded();
      await session.page.screenshot({ path: join(screenshots, `${session.backend.name}-${name}.png`) });
    };
    let panel;
    const done = {}; // which prerequisites passed; a test whose prerequisite failed is skipped

    it(`analyses the Stack class of ${FILE} with the Transformer`, async function () {
      this.timeout(150_000);
      const { page } = session;
      assert.ok(firstLine > 0 && lastLine > firstLine, `${FILE} defines class Stack`);
      // views.mjs opened sample.py already: its tab, clicked, makes it the focused editor. (Quick Open would
      // race here: its recently-opened list shows sample.py before the typed filter applies, with the
      // active README.md above it, so Enter could open README.md.)
      const tab = page.locator(`.editor-group-container .tabs-container .tab[data-resource-name="${FILE}"]`);
      if ((await tab.count()) > 0) {
        await focusEditor(page, FILE);
        await page.locator(`.editor-group-container.active .tabs-container .tab.active[data-resource-name="${FILE}"]`).waitFor();
      } else {
        // Quick Open opens in the active group: make that the first (editor) group, not the panel's.
        await page.locator('.editor-group-container').first().locator('.tabs-container .tab.active').click();
        await page.locator('.editor-group-container.active .monaco-editor.focused').waitFor();
        await quickOpen(page, FILE);
      }
      await goToLine(page, firstLine);
      for (let line = firstLine; line <= lastLine; line++) await page.keyboard.press('Shift+ArrowDown');
      await statusSelection(page, new RegExp(`\\(${selectedText.length} selected\\)$`));
      panel = await webviewContentFrame(page, 'panel');
      await page.keyboard.press('Control+Alt+A');
      await expectAnalysed(panel, 'transformer');
      done.transformer = true;
    });

    it('paints the Transformer’s W(t, k) matrix', async function () {
      if (!done.transformer) this.skip();
      await showTab(panel, 'w');
      await panel.locator('[data-testid=w-view]').waitFor();
      await expectPainted(panel, '[data-testid=w-matrix]', 0.2);
      await shot('transformer-w', panel.locator('[data-testid=w-matrix]'));
    });

    if (session.backend.name === 'wasm') {
      // Software WebGPU would take minutes for the runs; the logits worker is the same on either backend.
      it('computes the Transformer’s occlusion from the cache kept in onnxruntime’s worker, its KL sums in the page’s logits worker', async function () {
        if (!done.transformer) this.skip();
        this.timeout(180_000);
        const view = panel.locator('[data-testid=w-view]');
        await view.locator('[data-testid=occlusion-run]').click();
        const failed = view.getByText(/^Occlusion failed: /);
        await view.locator('[data-testid=occlusion-run]', { hasText: 'Show occlusion' }).or(failed).waitFor({ timeout: 170_000 });
        assert.equal(await failed.count(), 0, `no failure: ${await failed.allTextContents()}`);
        assert.equal(await view.locator('[data-testid=w-source]').evaluate((el) => el.value), 'occlusion');
        await expectPainted(panel, '[data-testid=w-matrix]', 0.2);
        // The runs continued the base run's key/value cache, kept in onnxruntime's worker: had the worker fed a
        // wrong cache, the base run's check would have failed and the note would say why whole copies ran.
        const note = await view.locator('[data-testid=w-note]').textContent();
        assert.match(note, /Each run started from the unchanged prefix’s key\/value cache: [\d,]+ tokens run instead of [\d,]+\./, note);
        const started = await panel.locator('body').evaluate(() => performance.getEntriesByType('resource').filter((e) => /logitsWorker\.js$/.test(e.name)).length);
        assert.equal(started, 1, 'the logits worker’s script was fetched once');
        await shot('transformer-occlusion', panel.locator('[data-testid=w-matrix]'));
      });
    }

    if (session.backend.name === 'wasm') {
      it('shows the influence hover over an analysed token in the editor', async function () {
        if (!done.transformer) this.skip();
        this.timeout(60_000);
        const { page } = session;
        const hover = page.locator('.monaco-hover', { hasText: 'Influenced most by' });
        // The host learns the influence after the panel shows the analysis; until then (or if the pointer
        // lands before the editor has laid out) no such hover appears, so point again until one does.
        const deadline = Date.now() + 45_000;
        for (;;) {
          const at = await page.evaluate(wordCentre, { lineText: HOVER_LINE, word: HOVER_WORD });
          assert.ok(at, `the editor shows the line "${HOVER_LINE.trim()}"`);
          await page.mouse.move(at.x, at.y - 40); // off the word first, so that moving onto it is a new hover
          await page.mouse.move(at.x, at.y, { steps: 4 });
          const shown = await hover.waitFor({ state: 'visible', timeout: 5_000 }).then(
            () => true,
            () => false,
          );
          if (shown) break;
          if (Date.now() > deadline) assert.fail('no Attention Lens influence hover appeared over the analysed word');
        }
        const text = (await hover.textContent()) ?? '';
        assert.match(text, /Attention Lens/);
        assert.match(text, /token .+ \(#\d+ of \d+\)/s, `the hover names the token under the pointer: ${text.slice(0, 200)}`);
        assert.match(text, /Influenced most by.*\d\.\d{3}/s, 'the hover lists earlier tokens with weights');
        await shot('hover');
      });
    }

    it('shows the LSTM’s four gates as painted heatmaps', async function () {
      if (!done.transformer) this.skip();
      this.timeout(150_000);
      await pickModel(panel, 'lstm');
      done.lstm = true;
      await showTab(panel, 'gates');
      const view = panel.locator('[data-testid=gates-view]');
      await view.waitFor();
      const gates = view.locator('canvas[data-testid=gate-heatmap]');
      assert.deepEqual(await drawnAttributes(gates, 'data-gate', 4), ['i', 'f', 'g', 'o']);
      await expectPainted(panel, '[data-testid=gates-view] canvas[data-testid=gate-heatmap]', 0.1);
      assert.ok((await view.locator('[data-testid=gate-summary]').count()) > 0, 'per-token gate summaries are drawn');
      await shot('lstm-gates', gates.first());
    });

    it('shows the LSTM’s cell and hidden state', async function () {
      if (!done.lstm) this.skip();
      await showTab(panel, 'state');
      const view = panel.locator('[data-testid=state-view]');
      await view.waitFor();
      const maps = view.locator('canvas[data-testid=state-heatmap]');
      assert.deepEqual(await drawnAttributes(maps, 'data-kind', 2), ['cell', 'hidden']);
      await expectPainted(panel, '[data-testid=state-view] canvas[data-testid=state-heatmap]', 0.1);
      await shot('lstm-state', maps.first());
    });

    it('shows the LSTM’s retention W(t, k) and its units’ half-lives', async function () {
      if (!done.lstm) this.skip();
      await showTab(panel, 'w');
      const view = panel.locator('[data-testid=w-view]');
      await view.waitFor();
      const source = view.locator('[data-testid=w-source]');
      const options = await source.locator('vscode-option').evaluateAll((os) => os.map((o) => o.getAttribute('value')));
      assert.ok(options.includes('retention'), `the sources offer retention: ${options.join(', ')}`);
      assert.equal(await source.evaluate((el) => el.value), 'retention', 'an RNN’s W(t, k) starts on retention');
      await expectPainted(panel, '[data-testid=w-matrix]', 0.2);
      const median = view.locator('[data-testid=half-life] [data-testid=half-life-median]');
      await median.filter({ hasText: /median half-life/ }).waitFor();
      assert.match((await median.textContent()) ?? '', /^Layer \d+: median half-life /);
      await shot('lstm-w', panel.locator('[data-testid=w-matrix]'));
    });

    it('shows the GRU’s three gates as painted heatmaps', async function () {
      if (!done.lstm) this.skip();
      this.timeout(150_000);
      await pickModel(panel, 'gru');
      await showTab(panel, 'gates');
      const view = panel.locator('[data-testid=gates-view]');
      await view.waitFor();
      const gates = view.locator('canvas[data-testid=gate-heatmap]');
      assert.deepEqual(await drawnAttributes(gates, 'data-gate', 3), ['r', 'z', 'n']);
      await expectPainted(panel, '[data-testid=gates-view] canvas[data-testid=gate-heatmap]', 0.1);
      assert.ok((await view.locator('[data-testid=gate-summary]').count()) > 0, 'per-token gate summaries are drawn');
      await shot('gru-gates', gates.first());
      done.gru = true;
    });

    it('shows the GRU’s retention W(t, k), like the other two models’ W views', async function () {
      if (!done.gru) this.skip();
      await showTab(panel, 'w');
      const view = panel.locator('[data-testid=w-view]');
      await view.waitFor();
      assert.equal(await view.locator('[data-testid=w-source]').evaluate((el) => el.value), 'retention');
      await expectPainted(panel, '[data-testid=w-matrix]', 0.2);
      await shot('gru-w', panel.locator('[data-testid=w-matrix]'));
    });
  });
}
