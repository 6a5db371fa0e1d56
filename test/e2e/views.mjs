// Why: issue 4's views (token strip, heatmap, head view, model view) checked in the real VS Code the way a
// person sees them: labels that spell the selection, canvases with painted pixels, lines that follow the
// pointer, thumbnails that open the heatmap, tokens that select themselves in the editor, and other
// languages analysed through the keybinding. Registered by panel.e2e.mjs inside each backend's suite, so
// the views reuse its VS Code session and the analysis its tests started. Screenshots:
// .test-output/screenshots/<backend>-<view>.png.

import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { screenshots } from './session.mjs';
import { canvasPainted, cursorMovedTo, recordCursorMoves, undoWhitespace, untilAnalysed } from './webview.mjs';
import { focusEditor, quickOpen, statusSelection, webviewContentFrame } from './workbench.mjs';

const workspace = join(harness.repoRoot, 'test/fixtures/workspace');
const { layers, heads } = JSON.parse(readFileSync(join(harness.repoRoot, 'media/models/transformer/manifest.json'), 'utf8')).dimensions;
/** Files analysed whole after the first selection, each a different language. */
const OTHER_FILES = ['sample.py', 'sample.js', 'README.md'];
// Head view geometry (webview/views/headView.ts): header and row heights, query column edge at 36 % width.
const HEAD_TOP = 26;
const HEAD_ROW = 18;
const HEAD_FOOT = 22;
const HEAD_QUERY_EDGE = 0.36;

/** Waits for the panel's analysis of fileName and checks that its token labels spell text. */
async function expectAnalysis(panel, fileName, text) {
  const result = await panel.evaluate(untilAnalysed, { fileName, timeoutMs: 120_000 });
  assert.ok(!result.timedOut, `no analysis of ${fileName} within 120 s (state ${result.state}, file ${result.file}) ${result.error ?? ''}`);
  assert.equal(result.state, 'analysed', `the analysis of ${fileName} failed: ${result.error}`);
  assert.deepEqual(result.indices, [...result.tokens.keys()], 'tokens are numbered 0, 1, 2, … in order');
  assert.equal(result.tokens.map(undoWhitespace).join(''), text, 'the token labels, whitespace undone, spell the selection');
  const count = /^([\d,]+) tokens/.exec(result.timings ?? '')?.[1];
  assert.equal(Number(count?.replace(/,/g, '')), result.tokens.length, `the timings (${result.timings}) count the tokens shown`);
  // Tokenized off the page's main thread (webview/tokenizerWorker.ts), not by the page's fallback.
  assert.ok(await panel.evaluate(() => performance.getEntriesByName('lens:tokenized').length > 0), 'the tokenizer worker tokenized the selection');
  assert.ok(await panel.evaluate(() => performance.getEntriesByName('lens:packed').length > 0), 'the page made its tokenizer from the tokenizer worker\'s parts');
  // Its predictions ranked in the logits worker (webview/logitsWorker.ts), not by the page's fallback: the mark
  // (each keeps its latest time) comes after the host's request for this analysis.
  const [request, predicted] = await panel.evaluate(() => ['request', 'predicted'].map((step) => performance.getEntriesByName(`lens:${step}`).at(-1)?.startTime ?? null));
  assert.ok(request !== null && predicted !== null && predicted > request, `the logits worker ranked the predictions of this analysis (request ${request}, predicted ${predicted})`);
  return result.tokens;
}

/** Waits until the heatmap has painted its matrix (a causal matrix fills about half of its plot). */
async function expectHeatmapPainted(panel, notHash) {
  const stats = await panel.locator('[data-testid=heatmap]').evaluate(canvasPainted, { minFraction: 0.25, notHash });
  assert.ok(stats.fraction >= 0.25, `the heatmap canvas has ${stats.painted} of ${stats.total} pixels painted`);
  if (notHash) assert.notEqual(stats.hash, notHash, 'the heatmap was repainted');
  return stats;
}

async function showTab(panel, id) {
  await panel.locator(`[data-testid=tab-${id}]`).click();
  await panel.locator(`[data-testid=tab-${id}][active]`).waitFor();
}

/** Registers the view tests; selection: { fileName, text, firstLine } of the analysis the panel shows. */
export function describeViews(session, selection) {
  describe('the analysis views', function () {
    const shot = (view) => session.page.screenshot({ path: join(screenshots, `${session.backend.name}-${view}.png`) });
    const fileText = readFileSync(join(workspace, selection.fileName), 'utf8');
    const startOffset = fileText.indexOf(selection.text);
    let panel;
    let tokens;
    let heatmapHash;
    let activeFile = selection.fileName; // the file shown in the first editor group

    beforeEach(function () {
      if (this.currentTest !== first && !tokens) this.skip(); // everything below needs the first analysis
    });

    const first = it(`labels every token of ${selection.fileName} once analysed`, async function () {
      this.timeout(150_000);
      assert.ok(startOffset >= 0, `${selection.fileName} contains the selection`);
      const { page } = session;
      // Back from the Compare view (the panel tests opened it) to the Explorer.
      await page.locator('.part.activitybar .action-label[aria-label^="Explorer"]').click();
      panel = await webviewContentFrame(page, 'panel');
      tokens = await expectAnalysis(panel, selection.fileName, selection.text);
    });

    it('paints the heatmap and shows the weight under the pointer', async function () {
      await showTab(panel, 'heatmap');
      const heatmap = panel.locator('[data-testid=heatmap]');
      heatmapHash = (await expectHeatmapPainted(panel)).hash;
      const box = await heatmap.boundingBox();
      await heatmap.hover({ position: { x: box.width * 0.45, y: box.height * 0.8 } }); // below the diagonal
      const tooltip = panel.locator('[data-testid=heatmap-tooltip]');
      await tooltip.waitFor({ state: 'visible' });
      assert.match((await tooltip.textContent()) ?? '', /^#\d+ “.*” → #\d+ “.*”: \d\.\d{4}$/s);
      await shot('heatmap');
    });

    it('lists the next-token predictions of a hovered token', async function () {
      const token = panel.locator('[data-testid=token-strip] [data-testid=token][data-index="6"]');
      await token.hover();
      const popup = panel.locator('[data-testid=predictions]');
      await popup.waitFor({ state: 'visible' });
      const text = (await popup.textContent()) ?? '';
      assert.ok(text.startsWith(`#6 “${tokens[6]}”`), `the popup is about token 6: ${text}`);
      assert.match(text, /Surprisal \d+\.\d\d bits .*Top-5 predictions for the next token/s);
      const items = await popup.locator('.prediction-list li').count();
      assert.ok(items >= 1 && items <= 5, `${items} predictions listed`);
      await shot('tokens');
    });

    it('selects a clicked token in the editor, and keeps it pinned', async function () {
      const { page } = session;
      const index = tokens.findIndex((t, i) => i > 2 && /^[A-Za-z_]\w{3,}$/.test(t));
      assert.ok(index > 0, 'the selection has a word token');
      const start = tokens.slice(0, index).map(undoWhitespace).join('').length;
      const end = start + tokens[index].length;
      const before = selection.text.slice(0, end);
      const line = selection.firstLine + before.split('\n').length - 1;
      const column = end - (before.lastIndexOf('\n') + 1) + 1;
      await panel.evaluate(recordCursorMoves);
      await panel.locator(`[data-testid=token-strip] [data-testid=token][data-index="${index}"]`).click();
      await statusSelection(page, new RegExp(`^Ln ${line}, Col ${column} \\(${tokens[index].length} selected\\)$`));
      // The editor reports its new cursor (the token's end) back to the panel, which pins the token there.
      const echo = await panel.evaluate(cursorMovedTo, { offset: startOffset + end });
      assert.ok(echo, 'the panel heard the editor cursor move to the end of the token');
      assert.equal(echo.pinned, index, `clicking token ${index} (“${tokens[index]}”) leaves it pinned after the editor's echo`);
    });

    it('draws the head view lines from the hovered token', async function () {
      await showTab(panel, 'head');
      const head = panel.locator('[data-testid=head-view]');
      const initial = await head.evaluate(canvasPainted, { minFraction: 0.01 });
      assert.ok(initial.fraction >= 0.01, 'the head view draws its token labels');
      const rows = Math.round((initial.cssHeight - HEAD_TOP - HEAD_FOOT) / HEAD_ROW);
      const rowsEnd = HEAD_TOP + rows * HEAD_ROW;
      // Between the two token columns, over the rows: only lines are drawn there.
      const band = { left: HEAD_QUERY_EDGE + 0.01, right: 1 - HEAD_QUERY_EDGE - 0.01, top: HEAD_TOP / initial.cssHeight, bottom: rowsEnd / initial.cssHeight };
      let hash = initial.hash;
      for (const row of [Math.floor(rows * 0.4), rows - 2]) {
        const y = HEAD_TOP + (row + 0.5) * HEAD_ROW;
        await head.hover({ position: { x: initial.cssWidth * 0.15, y } }); // the query side, on that row's label
        // The column where every line starts (webview/views/headView.ts: 4 px right of the query edge): there a line's
        // pixels lie within its stroke and one pixel of its slope of the row it leaves, however narrow the panel (in
        // a narrow one, a line to a far key climbs ~5 px per pixel; one pixel further right, its pixels left the row).
        const lines = await head.evaluate(canvasPainted, { region: band, minFraction: 0.001, notHash: hash, column: { fraction: HEAD_QUERY_EDGE, offset: 4 } });
        assert.notEqual(lines.hash, hash, `hovering row ${row} redrew the lines`);
        assert.ok(lines.painted > 50, `lines between the columns after hovering row ${row} (${lines.painted} pixels)`);
        // Below the rows, the footer's note about the weight outside the window may cross this column.
        const inRows = lines.columnYs.filter((py) => py < rowsEnd);
        assert.ok(inRows.length > 0, 'lines leave the query column');
        const far = inRows.filter((py) => Math.abs(py - y) > 10);
        assert.deepEqual(far, [], `every line starts at the hovered row (y ${y}); strays at ${far.slice(0, 5).join(', ')}`);
        hash = lines.hash;
      }
      await shot('head');
    });

    it(`shows ${layers}×${heads} thumbnails in the model view; one click opens that head in the heatmap`, async function () {
      await showTab(panel, 'model');
      const thumbs = panel.locator('[data-testid=model-view] [data-testid=model-thumb]');
      await thumbs.first().waitFor();
      const cells = await thumbs.evaluateAll((buttons) => buttons.map((b) => `${b.getAttribute('data-layer')}/${b.getAttribute('data-head')}`));
      const expected = [...Array(layers * heads).keys()].map((i) => `${Math.floor(i / heads)}/${i % heads}`);
      assert.deepEqual(cells, expected, 'one thumbnail per layer and head, row by row');
      const stats = await panel.locator('[data-testid=model-thumb] canvas').evaluateAll(canvasPainted, { minFraction: 0.3 });
      stats.forEach((s, i) => assert.ok(s.fraction >= 0.3, `thumbnail ${cells[i]} is painted (${s.painted} of ${s.total} pixels)`));
      await thumbs.last().hover(); // scrolls the grid into view, the pointer off the tokens (no popup)
      await shot('model');
      const [layer, head] = [layers - 2, 1];
      await panel.locator(`[data-testid=model-thumb][data-layer="${layer}"][data-head="${head}"]`).click();
      await panel.locator('[data-testid=tab-heatmap][active]').waitFor();
      assert.equal(await panel.locator('[data-testid=layer-picker]').evaluate((el) => el.value), String(layer));
      assert.equal(await panel.locator('[data-testid=head-picker]').evaluate((el) => el.value), String(head));
      assert.match((await panel.locator('[data-testid=heatmap-note]').textContent()) ?? '', new RegExp(`^Layer ${layer + 1}, head ${head + 1}:`));
      heatmapHash = (await expectHeatmapPainted(panel, heatmapHash)).hash;
    });

    for (const fileName of OTHER_FILES) {
      it(`analyses the whole of ${fileName} (Ctrl+Alt+A)`, async function () {
        this.timeout(150_000);
        const { page } = session;
        const text = readFileSync(join(workspace, fileName), 'utf8');
        await focusEditor(page, activeFile); // the webview had the focus
        await quickOpen(page, fileName);
        await page.keyboard.press('Control+A');
        await statusSelection(page, new RegExp(`\\(${text.length} selected\\)$`));
        await page.keyboard.press('Control+Alt+A');
        await expectAnalysis(panel, fileName, text);
        heatmapHash = (await expectHeatmapPainted(panel, heatmapHash)).hash;
        activeFile = fileName;
      });
    }

    // 2,048 tokens (attentionLens.maxTokens) of a 3,415-token file: past 1,024 tokens the Transformer runs in
    // chunks from its key/value cache and keeps its attention as lower triangles (src/core/cacheChunks.ts);
    // the views read it a head at a time.
    it('analyses the first 2,048 tokens of a long file, run in chunks from the cache, and paints the heatmap, the model view and the head view', async function () {
      this.timeout(300_000);
      const { page } = session;
      const fileName = 'heldout/stringify.js';
      await focusEditor(page, activeFile);
      await quickOpen(page, 'stringify.js');
      await page.keyboard.press('Control+A');
      await statusSelection(page, /selected\)$/);
      await page.keyboard.press('Control+Alt+A');
      const result = await panel.evaluate(untilAnalysed, { fileName, timeoutMs: 240_000 });
      assert.equal(result.state, 'analysed', `the analysis of ${fileName} failed: ${result.error ?? JSON.stringify(result)}`);
      assert.equal(result.tokens.length, 2048);
      assert.match(result.timings ?? '', /^2,048 tokens/);
      heatmapHash = (await expectHeatmapPainted(panel, heatmapHash)).hash;
      // The mean over heads of a layer at 2,048 tokens is folded in slices (the note says "Averaging…" meanwhile),
      // then drawn: the mean of another layer.
      const pick = (testid, value) => panel.locator(`[data-testid=${testid}]`).evaluate((p, v) => ((p.value = v), p.dispatchEvent(new Event('change'))), value);
      await pick('head-picker', 'mean');
      const layer = await panel.locator('[data-testid=layer-picker]').evaluate((p) => (p.value === '0' ? '1' : '0'));
      await pick('layer-picker', layer);
      await panel.locator('[data-testid=heatmap-note]', { hasText: new RegExp(`^Layer ${Number(layer) + 1}, mean over heads: row = query token`) }).waitFor({ timeout: 60_000 });
      heatmapHash = (await expectHeatmapPainted(panel, heatmapHash)).hash;
      await showTab(panel, 'model');
      const thumb = await panel.locator('[data-testid=model-thumb] canvas').last().evaluate(canvasPainted, { minFraction: 0.2 });
      assert.ok(thumb.fraction >= 0.2, `the last thumbnail has ${thumb.painted} of ${thumb.total} pixels painted`);
      await shot('long-model');
      // The head view reads the weights in place; hovering a row draws its lines.
      await showTab(panel, 'head');
      const head = panel.locator('[data-testid=head-view]');
      const initial = await head.evaluate(canvasPainted, { minFraction: 0.01 });
      const rows = Math.round((initial.cssHeight - HEAD_TOP - HEAD_FOOT) / HEAD_ROW);
      const band = { left: HEAD_QUERY_EDGE + 0.01, right: 1 - HEAD_QUERY_EDGE - 0.01, top: HEAD_TOP / initial.cssHeight, bottom: (HEAD_TOP + rows * HEAD_ROW) / initial.cssHeight };
      await head.hover({ position: { x: initial.cssWidth * 0.15, y: HEAD_TOP + (Math.floor(rows / 2) + 0.5) * HEAD_ROW } });
      const lines = await head.evaluate(canvasPainted, { region: band, minFraction: 0.001, notHash: initial.hash });
      assert.ok(lines.painted > 50, `lines between the columns after hovering a row (${lines.painted} pixels)`);
      await showTab(panel, 'heatmap');
      // Each head of the layer, picked in turn, is drawn: from the pictures prepared ahead in tasks of their own
      // (webview/views/overviewImages.ts), or, for one not prepared yet, at once.
      for (const pickedHead of [0, heads - 1, 1]) {
        await pick('head-picker', String(pickedHead));
        await panel.locator('[data-testid=heatmap-note]', { hasText: new RegExp(`^Layer ${Number(layer) + 1}, head ${pickedHead + 1}:`) }).waitFor({ timeout: 60_000 });
        heatmapHash = (await expectHeatmapPainted(panel, heatmapHash)).hash;
      }
      activeFile = 'stringify.js';
    });
  });
}
