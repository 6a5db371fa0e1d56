// Why: every VS Code benchmark opens fresh windows, selects a file and times the command to the painted heatmap
// the same way; these are those steps, shared by vscode-latency.mjs and vscode-occlusion.mjs.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { quickOpen, statusSelection, waitForWorkbench, webviewContentFrame } from '../e2e/workbench.mjs';
import { untilPainted } from './webviewTiming.mjs';

/** Page clock minus this process's clock (both epoch ms), from the quickest of a few round trips. */
export async function clockOffset(frame) {
  let best = { rtt: Infinity, offset: 0 };
  for (let i = 0; i < 7; i++) {
    const before = performance.timeOrigin + performance.now();
    const inPage = await frame.evaluate(() => performance.timeOrigin + performance.now());
    const after = performance.timeOrigin + performance.now();
    if (after - before < best.rtt) best = { rtt: after - before, offset: inPage - (before + after) / 2 };
  }
  return best.offset;
}

/** Selects the whole of fileName in the editor (which keeps the focus). */
export async function selectFile(page, fileName, length) {
  await quickOpen(page, fileName);
  await page.keyboard.press('Control+A');
  await statusSelection(page, new RegExp(`\\(${length} selected\\)$`));
}

/** Presses the keybinding and resolves with { ms, result } once a new heatmap is painted. */
export async function timeCommand(page, frameOrNull, offset) {
  const start = performance.timeOrigin + performance.now();
  await page.keyboard.press('Control+Alt+A');
  const frame = frameOrNull ?? (await webviewContentFrame(page, 'panel', 120_000));
  const result = await frame.evaluate(untilPainted, { timeoutMs: 600_000 }); // software WebGPU is slow
  if (result.error || result.timedOut) throw new Error(`the analysis did not paint: ${result.error ?? 'timed out'}`);
  // In page-clock terms: key press → request received by the webview → result painted.
  return { frame, ms: result.at - (offset ?? 0) - start, toRequest: result.requestedAt - (offset ?? 0) - start, result };
}

/** A fresh window (its own server, profile and browser) on a copy of the workspace holding files. */
export async function openWindow(label, extensionsDir, files, settings, webgpu) {
  const root = await harness.makeTempDir(`bench-${label}`);
  const folder = await harness.copyWorkspace(root);
  for (const f of files) writeFileSync(join(folder, f.name), f.text);
  const server = await harness.startCodeServer({ root: join(root, 'server'), extensionsDir, settings, onLine: () => undefined });
  const browser = await harness.launchChromium({ root, webgpu });
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${server.base}/?folder=${encodeURIComponent(folder)}`);
  await waitForWorkbench(page);
  return { page, close: async () => (await harness.closeBrowser(browser), await harness.stopProcess(server.child)) };
}
