// Why: issue 17's scale figures, in VS Code: GPT-2-small-shaped models (gpt2Model.ts: 12 × 12, random weights)
// added through attentionLens.modelFolders as a user adds an export, analysed on wasm at growing lengths. Per
// length: the command to the painted heatmap, then the head view and the model view painted after a click on
// their tab, the heatmap hover and head switch frame times, the longest main-thread task in the webview during
// it all (PerformanceObserver 'longtask'), and the renderer processes' peak resident memory (VmHWM, reset
// before each length through /proc/<pid>/clear_refs) when the heatmap painted and after the other views, with
// what stays resident after a garbage collection (logged). Each model runs in a fresh window. Printed, never
// asserted. Run by npm run bench:vscode (after the latency figures); --scale-models 96,96-past,768-past and
// --scale-lengths 256,512,1024,2048 choose what runs, --no-scale skips it; --scale-file-server both runs each
// model a second time with the extension's file server off (VS Code's resource loading), for the two side by side.

import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { quickOpen, statusSelection, waitForWorkbench, webviewContentFrame } from '../e2e/workbench.mjs';
import { benchModelId, benchSpec, writeBenchModel } from './gpt2Model.ts';
import { cpuBetween, cpuSnapshot, formatCpu } from './cpuAccount.ts';
import { median } from './stats.ts';
import { headSwitches, heatmapHovers, longTasks, markShown, stepTimes, tabPainted, untilIdle, untilPainted, watchLongTasks, watchLongTasksSinceStart } from './webviewTiming.mjs';

const ms = (v) => (v === undefined || Number.isNaN(v) ? '–' : `${v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} ms`);
const gb = (bytes) => `${(bytes / 2 ** 30).toFixed(2)} GB`;

/** Pid → { ppid, cmdline } of every process (cmdline with NULs as spaces: chromium's children rewrite theirs). */
function processes() {
  const all = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      all.set(Number(entry), { ppid, cmdline: readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ') });
    } catch {
      // a process that ended meanwhile
    }
  }
  return all;
}

/** The renderer processes of the chromium whose profile lies under root: descendants of its browser process. */
function rendererPids(root) {
  const all = processes();
  const profile = `--user-data-dir=${join(root, 'chromium-profile')}`;
  const browser = [...all].find(([, p]) => p.cmdline.includes(profile) && !p.cmdline.includes('--type='))?.[0];
  const descends = (pid) => {
    for (let p = all.get(pid)?.ppid; p; p = all.get(p)?.ppid) if (p === browser) return true;
    return false;
  };
  return [...all].filter(([pid, p]) => p.cmdline.includes('--type=renderer') && descends(pid)).map(([pid]) => pid);
}

/** Resets the peak resident set of each process (Linux: writing 5 to clear_refs). */
function resetPeaks(pids) {
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // gone
    }
  }
}

/** The largest peak resident set (VmHWM) among the processes, in bytes. */
function peakResident(pids) {
  let peak = 0;
  for (const pid of pids) {
    try {
      const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      peak = Math.max(peak, kb * 1024);
    } catch {
      // gone
    }
  }
  return peak;
}

/** The longest task and the step it started after (webview/marks.ts). */
function longestTask({ longest, byStep, ownLongest }) {
  const step = Object.entries(byStep).find(([, d]) => d === longest)?.[0];
  return { longest, longestStep: step ? `after ${step}` : '', ownLongest };
}

/** One model in a fresh window at every length: the rows of the table. */
async function benchModel(spec, modelsDir, extensionsDir, files, served, settleMs) {
  const id = `${benchModelId(spec)}${served ? '' : ' (resource loading)'}`;
  const root = await harness.makeTempDir('scale'); // short: chromium's socket path under it has a length limit
  const folder = await harness.copyWorkspace(root);
  for (const f of files) writeFileSync(join(folder, f.name), f.text);
  const settings = { 'attentionLens.backend': 'wasm', 'attentionLens.modelFolders': [modelsDir], 'attentionLens.defaultModel': benchModelId(spec), 'attentionLens.maxTokens': 4096, ...(served ? {} : { 'attentionLens.fileServer': 'off' }) };
  const server = await harness.startCodeServer({ root: join(root, 'server'), extensionsDir, settings, onLine: () => undefined });
  const browser = await harness.launchChromium({ root, webgpu: false });
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${server.base}/?folder=${encodeURIComponent(folder)}`);
  await waitForWorkbench(page);
  const rows = [];
  let frame = null;
  for (const f of files) {
    await quickOpen(page, f.name);
    await page.keyboard.press('Control+A');
    await statusSelection(page, new RegExp(`\\(${f.text.length} selected\\)$`));
    const pids = rendererPids(root);
    resetPeaks(pids);
    if (frame) {
      await frame.evaluate(untilIdle);
      await frame.evaluate(markShown);
      await frame.evaluate(watchLongTasks);
    }
    // --settle-ms: the window's first command that long after its file was opened and selected, as a person reads
    // first (meanwhile the file's language server, TypeScript's, loads its project).
    if (!frame && settleMs > 0) await page.waitForTimeout(settleMs);
    const cpuBefore = frame ? undefined : cpuSnapshot(); // the first command's CPU account (cpuAccount.ts)
    const start = Date.now();
    await page.keyboard.press('Control+Alt+A');
    if (!frame) {
      frame = await webviewContentFrame(page, 'panel', 120_000);
      await frame.evaluate(watchLongTasksSinceStart);
    }
    const painted = await frame.evaluate(untilPainted, { timeoutMs: 900_000 });
    const row = { model: id, tokens: f.tokens, command: Date.now() - start };
    const cpuAfter = cpuBefore && cpuSnapshot(cpuBefore.ticksPerSecond);
    if (cpuAfter) harness.log(`${id}: first command's CPU, key press to painted heatmap: ${formatCpu(cpuBetween(cpuBefore, cpuAfter))}`);
    if (painted.refused || painted.error || painted.timedOut) {
      row.failed = (painted.refused ?? painted.error ?? 'timed out').replace(/\s+/g, ' ').slice(0, 240);
      row.peak = peakResident(rendererPids(root));
      rows.push(row);
      harness.log(`${id} at ${f.tokens} tokens: ${row.failed}`);
      continue;
    }
    row.timings = painted.timings;
    // The model file's fetch (file server or resource loading; Resource Timing), apart from the rest of the load.
    const fetched = await frame.evaluate(() => performance.getEntriesByType('resource').filter((e) => /model\.onnx/.test(e.name)).map((e) => ({ at: performance.timeOrigin + e.startTime, ms: e.responseEnd - e.startTime, bytes: e.decodedBodySize || e.encodedBodySize })));
    for (const e of fetched) harness.log(`${id}: model.onnx fetched from ${ms(e.at - start)} after the key press in ${ms(e.ms)}${e.bytes ? ` (${(e.bytes / 2 ** 20 / (e.ms / 1000)).toFixed(1)} MiB/s)` : ''}`);
    // A first command's load in its steps (webview/marks.ts): the files (file server, host or resource loading), the session, the warm-up.
    const { documentStart, marks } = await frame.evaluate(stepTimes);
    if (rows.length === 0 && marks.request && marks.files && marks.session && marks.warm) {
      harness.log(`${id}: load steps: files read ${ms(marks.files - marks.request)} after the request, session created in ${ms(marks.session - marks.files)}, warm-up and check ${ms(marks.warm - marks.session)}`);
      // The whole first command (page clock ≈ this clock: one machine), each step's end after the key press.
      const steps = Object.entries({ page: documentStart, ...marks }).sort((a, b) => a[1] - b[1]).map(([name, at]) => `${name} ${ms(at - start)}`);
      harness.log(`${id}: first command's steps after the key press: ${steps.join(', ')}`);
    }
    row.peakHeatmap = peakResident(rendererPids(root));
    // Hovers as a person makes them at once, while the work after the first paint goes on (logged; the table's
    // hover column is taken after the other tabs, below).
    const early = await frame.evaluate(heatmapHovers, { samples: 12 });
    harness.log(`${id} at ${f.tokens} tokens: hovers right after the first paint, each to its frame: ${early.map((h) => ms(h.frame)).join(', ')} (median ${ms(median(early.map((h) => h.frame)))})`);
    const head = await frame.evaluate(tabPainted, { tab: 'head', selector: '[data-testid=head-view]', minFraction: 0.005, timeoutMs: 120_000 });
    const model = await frame.evaluate(tabPainted, { tab: 'model', selector: '[data-testid=model-thumb] canvas', minFraction: 0.2, timeoutMs: 300_000 });
    await frame.evaluate(tabPainted, { tab: 'heatmap', selector: '[data-testid=heatmap]', minFraction: 0.2, timeoutMs: 120_000 });
    const hovers = await frame.evaluate(heatmapHovers, { samples: 12 });
    const switches = await frame.evaluate(headSwitches, { rounds: 1 });
    Object.assign(row, {
      headView: head.timedOut ? NaN : head.ms,
      modelView: model.timedOut ? NaN : model.ms,
      hover: median(hovers.map((h) => h.frame)),
      headSwitch: median(switches.map((s) => s.frame)),
      ...longestTask(await frame.evaluate(longTasks)),
      peak: peakResident(rendererPids(root)),
    });
    rows.push(row);
    const resident = () => Math.max(...rendererPids(root).map((pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024));
    const before = resident();
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.detach();
    harness.log(`${id} at ${f.tokens} tokens: head switches, each to its frame: ${switches.map((s) => ms(s.frame)).join(', ')}`);
    harness.log(`${id} at ${f.tokens} tokens: heatmap ${ms(row.command)}, peak ${gb(row.peakHeatmap)} at the heatmap, ${gb(row.peak)} with the views; resident now ${gb(before)}, ${gb(resident())} after a garbage collection`);
  }
  // A new window of the same profile (the page reloaded: a new extension host and webview), where the model's
  // files were checked before: the first command as a person meets it after the model's first use.
  await page.reload();
  await waitForWorkbench(page);
  const [f] = files;
  await quickOpen(page, f.name);
  await page.keyboard.press('Control+A');
  await statusSelection(page, new RegExp(`\\(${f.text.length} selected\\)$`));
  resetPeaks(rendererPids(root));
  const start = Date.now();
  await page.keyboard.press('Control+Alt+A');
  const again = await webviewContentFrame(page, 'panel', 120_000);
  const painted = await again.evaluate(untilPainted, { timeoutMs: 180_000 });
  // The figures are the bench model's only if the panel analysed with it (a window that does not see the model's
  // folder analyses with a bundled model, in a fraction of the time).
  const used = await again.evaluate(() => document.querySelector('[data-testid=model-picker]')?.value);
  if (painted.timedOut) harness.log(`${id}, a new window of the same profile: no heatmap painted within 180 s (the panel's page ${painted.hidden ? 'hidden' : 'visible'}, its analysis ${painted.state ?? 'not begun'}); no row`);
  else if (used !== benchModelId(spec)) harness.log(`${id}, a new window of the same profile: analysed with ${used ?? 'no model'}, not the bench model; no row`);
  else if (!painted.refused && !painted.error && !painted.timedOut) {
    rows.push({ model: `${id}, new window`, tokens: f.tokens, command: Date.now() - start, timings: painted.timings, peakHeatmap: peakResident(rendererPids(root)), peak: peakResident(rendererPids(root)) });
    const { documentStart, marks } = await again.evaluate(stepTimes);
    const steps = Object.entries({ page: documentStart, ...marks }).sort((a, b) => a[1] - b[1]).map(([name, at]) => `${name} ${ms(at - start)}`);
    harness.log(`${id}, a new window of the same profile (model checked before): heatmap ${ms(Date.now() - start)}; steps after the key press: ${steps.join(', ')}`);
  }
  await harness.closeBrowser(browser);
  await harness.stopProcess(server.child);
  return rows;
}

/** Generates the models, measures each, prints the table. */
export async function benchScale({ extensionsDir, models, lengths, prefixOf, fileServer = 'on', settleMs = 0 }) {
  if (!['on', 'off', 'both'].includes(fileServer)) throw new Error(`--scale-file-server must be on, off or both, not ${fileServer}`);
  const modes = { on: [true], off: [false], both: [true, false] }[fileServer];
  const modelsDir = join(await harness.makeTempDir('bench-scale-models'), 'models');
  const specs = models.map(benchSpec);
  if (specs.some((s) => s.half)) throw new Error('--scale-models: the extension reads float32 attention; the -half variants are for npm run bench only');
  const sizes = {};
  for (const spec of specs) sizes[benchModelId(spec)] = writeBenchModel(modelsDir, spec, harness.repoRoot).bytes;
  const files = lengths.map((limit) => ({ name: `scale-${limit}.ts`, ...prefixOf(limit) }));
  const rows = [];
  for (const spec of specs) {
    for (const served of modes) {
      harness.log(`scale: measuring ${benchModelId(spec)}${served ? '' : ' through resource loading'}…`);
      rows.push(...(await benchModel(spec, modelsDir, extensionsDir, files, served, settleMs)));
    }
  }
  console.log('\nScale: GPT-2-small-shaped models (12 × 12, random weights) added from a folder, wasm. The first row of each model is the first');
  console.log('command in its window (extension, webview, onnxruntime and the model load included). Longest task: the longest main-thread task the');
  console.log('webview saw from the command on (VS Code\'s workbench shares its thread), with the step it started after (webview/marks.ts); own: the longest');
  console.log('the browser attributes to the webview\'s own frame (its scripts; rendering and garbage collection belong to no one frame).');
  console.log('Peak: the largest VmHWM among the renderer processes, when the heatmap painted and after the other views.');
  const header = ['model (file)', 'tokens', 'command → heatmap', 'head view', 'model view', 'hover', 'head switch', 'longest task', 'peak: heatmap', 'with views'];
  const table = [header];
  const name = (r) => `${r.model} (${(sizes[r.model.split(/[ ,]/)[0]] / 2 ** 20).toFixed(0)} MiB)`;
  for (const r of rows.filter((x) => !x.failed)) {
    table.push([name(r), String(r.tokens), ms(r.command), ms(r.headView), ms(r.modelView), ms(r.hover), ms(r.headSwitch), `${ms(r.longest)}${r.longestStep ? ` (${r.longestStep})` : ''}; own ${ms(r.ownLongest)}`, gb(r.peakHeatmap), gb(r.peak)]);
  }
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  table.forEach((r, i) => {
    console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ').trimEnd());
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  for (const r of rows.filter((x) => x.failed)) console.log(`${name(r)} at ${r.tokens} tokens: not shown (renderer peak ${gb(r.peak)}): ${r.failed}`);
  console.log('\nThe panel\'s breakdown of each analysis:');
  for (const r of rows) if (r.timings) console.log(`  ${r.model} at ${r.tokens} tokens: ${r.timings}`);
}
