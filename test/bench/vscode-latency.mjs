// Why: issue 4's latency targets are about what a person waits for in VS Code, so this measures there: the
// packaged VSIX in code-server (VS Code 1.100) driven by headless chromium, per backend. It times the
// keybinding (Ctrl+Alt+A) to the heatmap canvas painted, for ~256 tokens cold (fresh window: extension
// activation, webview, backend and model load included) and warm (median of repeats), then for ~2,048
// tokens the hover and head-switch interactions, timed inside the webview with requestAnimationFrame.
// Prints figures and targets; never asserts (a loaded machine is slow, not broken).
// Then the scale figures of vscode-scale.mjs.
// Then cold commands in fresh windows with the extension's file server and without it, side by side (--cold-ab N
// of each, alternating; 0 skips them), or, with --against other.vsix, with this build and that one.
// Then, with --occlusion-ab N, occlusion per model, and masked predictions per masked model, in N fresh windows of
// this build (and of --against's, alternating): vscode-occlusion.mjs. On Linux each cold window's figure comes with
// the CPU each kind of process used meanwhile (cpuAccount.ts), as does the scale section's first command.
// Usage: npm run bench:vscode [-- --backend webgpu|wasm|both] [--runs 5] [--no-package] [--no-scale | --scale-only]
//   [--cold-ab 3] [--cold-backend wasm|auto] [--against other.vsix] [--settle-ms 0] [--cold-network <Mbit/s>,<ms>] [--cold-profile fresh|used] [--cold-file-ext .ts|.txt] [--ab-only] [--scale-models 96-concat,96,96-past,768,768-past] [--scale-lengths 256,512,1024,2048]
//   [--scale-file-server on|off|both] [--occlusion-ab 0] [--occlusion-tokens 256] [--occlusion-models transformer,window,linear,mamba,elman,gru,lstm] [--masked-models encoder]

import { spawnSync } from 'node:child_process';
import { copyFileSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { LensTokenizer } from '../../src/core/tokenizer.ts'; // run through tsx (npm run bench:vscode)
import * as harness from '../harness/codeServer.mjs';
import { runCommand, waitForWorkbench } from '../e2e/workbench.mjs';
import { clockOffset, openWindow, selectFile, timeCommand } from './benchWindow.mjs';
import { cpuBetween, cpuSnapshot, formatCpu, formatCpuMedians } from './cpuAccount.ts';
import { median } from './stats.ts';
import { headSwitches, heatmapHovers, longTasks, markShown, OCCLUSION_CLICK, clickTimed, stepTimes, untilIdle, watchLongTasksSinceStart } from './webviewTiming.mjs';
import { SOURCES, benchSource, prefixOfExactly, prefixOfTokens } from './benchSelection.mjs';
import { benchOcclusion } from './vscode-occlusion.mjs';
import { benchScale } from './vscode-scale.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
/** A comma-separated option's items ('' gives none). */
const list = (name, fallback) => option(name, fallback).split(',').filter(Boolean);
const BACKENDS = { webgpu: true, wasm: false };
const chosen = option('--backend', 'both');
const backends = chosen === 'both' ? Object.keys(BACKENDS) : [chosen];
const RUNS = Number(option('--runs', 5));
/** The backend setting of the alternating cold commands: "wasm", or "auto" (which declines the software adapter, then runs wasm too). */
const COLD_BACKEND = option('--cold-backend', 'wasm');
const TARGETS = { cold: 1500, warm: 300 };

const ms = (v) => (v === undefined ? '–' : `${v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} ms`);

/**
 * Cold commands (backend setting --cold-backend, a fresh window each) in two arms, alternating: by default this build with the extension's
 * file server and without it (attentionLens.fileServer "off": VS Code's resource loading); with --against, this
 * build and another VSIX. Returns [{ arm, ms, page, worker, binary, model }] (when the page's document started; how long
 * its own request waited for VS Code's webview service worker; the two files' fetch times).
 */
async function coldAB(arms, file, runs, settleMs, network, profile) {
  const results = [];
  for (let i = 0; i < 2 * runs; i++) {
    const arm = arms[i % 2];
    const window = await openWindow(`cold-${i % 2}`, arm.extensionsDir, [file], { 'attentionLens.backend': COLD_BACKEND, ...arm.settings }, false);
    await selectFile(window.page, file.name, file.text.length);
    // --cold-profile used: the window's first command first, then a new window of the same profile (the page reloaded:
    // a new extension host, language server and webview), as a person's next day; the command timed is that window's
    // first. What the browser kept from the first (Cache Storage: webview/binaryCache.ts) is there for it.
    if (profile === 'used') {
      const first = await timeCommand(window.page, null, 0);
      window.kept = await keptOnceIdle(first.frame);
      // Closed, but the reloaded window restored the panel all the same (in each window traced, even once the panel's
      // frame was gone before the reload): its first command shows in that panel (src/panel.ts, restore).
      await runCommand(window.page, 'View: Close All Editors');
      await window.page.reload();
      await waitForWorkbench(window.page);
      await selectFile(window.page, file.name, file.text.length);
    }
    // --settle-ms: a person reads the file for a while before the first command (meanwhile the language server its
    // opening started, TypeScript's for this file, loads its project: over 2 s of CPU during a cold command pressed
    // at once, by the CPU account below); 0 (the default) presses at once. It holds the scale section's first
    // command in each window too.
    if (settleMs > 0) await window.page.waitForTimeout(settleMs);
    // --cold-network: the browser's network held to a throughput and a latency once the window is open, as where
    // VS Code runs remotely (code-server, a forwarded port): the command's reads then cost their bytes.
    if (network) {
      const cdp = await window.page.context().newCDPSession(window.page);
      const bytesPerSecond = (network.mbit * 1e6) / 8;
      await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: network.latencyMs, downloadThroughput: bytesPerSecond, uploadThroughput: bytesPerSecond });
    }
    // The CPU time each kind of process used from just before the key press to just after the heatmap painted
    // (Linux): whether the machine was busy, and with what (cpuAccount.ts).
    const cpuBefore = cpuSnapshot();
    const cold = await timeCommand(window.page, null, 0);
    const cpuAfter = cpuBefore && cpuSnapshot(cpuBefore.ticksPerSecond);
    const offset = await clockOffset(cold.frame);
    const start = cold.result.at - (cold.ms - offset);
    const { documentStart, documentRequest, fetches } = await cold.frame.evaluate(() => ({
      documentStart: performance.timeOrigin,
      // When the document's own request was sent on (its fetchStart): VS Code's webview service worker answers it,
      // and a worker being replaced is activated first. In a profile that has had a webview before, each new
      // webview registers a new version of it (its id is in the worker's URL, VS Code 1.100), and Chromium waits
      // 1 s before activating a version that replaces a busy one (service_worker_registration.cc, delay).
      documentRequest: performance.getEntriesByType('navigation')[0]?.fetchStart ?? 0,
      fetches: performance.getEntriesByType('resource').map((e) => ({ name: e.name, start: performance.timeOrigin + e.startTime, end: performance.timeOrigin + e.responseEnd, phases: [e.requestStart - e.startTime, e.responseStart - e.requestStart, e.responseEnd - e.responseStart], sent: e.encodedBodySize })),
    }));
    // A fetch's times, and its phases: queued for a connection, waiting for the answer's first byte, receiving the
    // body (the file server's answers allow their timing to be read), with the bytes sent.
    const took = (re) => fetches.filter((f) => re.test(f.name)).map((f) => `${ms(f.start - start)}–${ms(f.end - start)}${f.sent ? ` (queued ${ms(f.phases[0])}, first byte ${ms(f.phases[1])}, body ${ms(f.phases[2])}, ${(f.sent / 1e6).toFixed(2)} MB sent)` : ''}`).join(', ');
    // page: when the webview's document started, VS Code's part (command, activation if not yet, panel and webview).
    // Each window's steps (webview/marks.ts), so that windows that differ by hundreds of ms say where they differ.
    const { marks } = await cold.frame.evaluate(stepTimes);
    const steps = Object.entries(marks).sort((x, y) => x[1] - y[1]).map(([step, at]) => `${step} ${Math.round(at - start)}`).join(' · ');
    const binary = took(/\.wasm(\.gz)?$/) || (window.kept ? `none fetched (kept: ${window.kept})` : 'none fetched');
    results.push({ arm, ms: cold.ms - offset, page: documentStart - start, worker: documentRequest, binary, model: took(/model\.onnx$/), steps, cpu: cpuAfter && cpuBetween(cpuBefore, cpuAfter) });
    harness.log(`cold command, ${arm.label}: ${ms(cold.ms - offset)} (page ${ms(documentStart - start)}, its request sent on after ${ms(documentRequest)}; binary ${results.at(-1).binary}; model ${results.at(-1).model})`);
    await window.close();
  }
  return results;
}

/**
 * What the page keeps in Cache Storage once its first command is done (webview/binaryCache.ts): "file (bytes)"s, or
 * '' for a build that keeps nothing. Read once the page is idle and 10 s more have passed (the same in both arms,
 * so that their second windows open as long after their first; the page keeps its binary meanwhile).
 */
async function keptOnceIdle(frame) {
  await frame.evaluate(untilIdle);
  await frame.waitForTimeout(10_000);
  return frame.evaluate(async () => {
    const cache = await caches.open('attention-lens-onnxruntime');
    return (await Promise.all((await cache.keys()).map(async (r) => `${new URL(r.url).pathname.split('/').pop()} (${(await (await cache.match(r)).arrayBuffer()).byteLength} bytes)`))).join(', ');
  });
}

async function benchBackend(name, extensionsDir, files) {
  // "auto" declines headless chromium's software WebGPU adapter, so the WebGPU run asks for it explicitly.
  const settings = BACKENDS[name] ? { 'attentionLens.backend': 'webgpu' } : {};
  const { page, close } = await openWindow(name, extensionsDir, files, settings, BACKENDS[name]);
  const [small, large] = files;
  const rows = [];
  await selectFile(page, small.name, small.text.length);
  // Cold: the page clock offset is measured afterwards (the webview does not exist before the command).
  const cold = await timeCommand(page, null, 0);
  const offset = await clockOffset(cold.frame);
  cold.ms -= offset;
  const frame = cold.frame;
  await frame.evaluate(watchLongTasksSinceStart);
  const coldSteps = coldBreakdown(await frame.evaluate(stepTimes), cold.result.at - cold.ms, cold.result.at, await frame.evaluate(longTasks));
  // The page's fetches during the cold command (Resource Timing, page clock): what each file's trip took.
  // A file the page's HTML preloads is listed once, as a "link" fetch, when the page's own fetch took its answer.
  const coldFetches = (await frame.evaluate(() => performance.getEntriesByType('resource').map((e) => ({ name: e.name, start: performance.timeOrigin + e.startTime, ms: e.responseEnd - e.startTime, bytes: e.decodedBodySize || e.encodedBodySize, by: e.initiatorType }))))
    .filter((f) => f.start < cold.result.at)
    .map((f) => [decodeURIComponent(f.name.split('?')[0].split('/').slice(-2).join('/')), f.start - (cold.result.at - cold.ms), f.ms, f.bytes, f.by]);
  const info = await frame.evaluate(() => ({
    backend: document.querySelector('[data-testid=backend]')?.getAttribute('data-backend'),
    ready: /Ready in ([\d,]+) ms/.exec(document.querySelector('[data-testid=backend]')?.textContent ?? '')?.[1],
  }));
  rows.push([`command → heatmap painted, cold (1 run)`, cold.result.tokens, [cold.ms], TARGETS.cold, cold.result.timings]);
  const warm = [];
  const toRequest = [];
  let lastTimings = '';
  for (let i = 0; i < RUNS; i++) {
    await frame.evaluate(untilIdle);
    await frame.evaluate(markShown);
    const run = await timeCommand(page, frame, offset);
    warm.push(run.ms);
    toRequest.push(run.toRequest);
    lastTimings = run.result.timings;
  }
  rows.push([`command → heatmap painted, warm (median of ${RUNS})`, cold.result.tokens, warm, TARGETS.warm, lastTimings]);
  rows.push(['  of which key press → request in the webview', cold.result.tokens, toRequest]);
  rows.push(['  of which request → heatmap painted', cold.result.tokens, warm.map((w, i) => w - toRequest[i])]);
  // Occlusion of the same selection: each token replaced in turn, the W(t, k) view's "Compute occlusion".
  await frame.evaluate(untilIdle);
  const occluded = await frame.evaluate(clickTimed, { ...OCCLUSION_CLICK, timeoutMs: 600_000 });
  if (occluded.timedOut) throw new Error('occlusion did not finish');
  rows.push([`occlusion: click → done (longest task ${ms(occluded.longest)}, own ${ms(occluded.ownLongest)})`, cold.result.tokens, [occluded.ms]]);
  await frame.evaluate(() => document.querySelector('[data-testid=tab-heatmap]')?.click()); // the next analysis paints its heatmap
  await selectFile(page, large.name, large.text.length);
  await frame.evaluate(markShown);
  const big = await timeCommand(page, frame, offset);
  rows.push(['command → heatmap painted, model loaded (1 run)', big.result.tokens, [big.ms], undefined, big.result.timings]);
  const hovers = await frame.evaluate(heatmapHovers, { samples: 30 });
  rows.push(['heatmap hover: mousemove → tooltip updated', big.result.tokens, hovers.map((h) => h.handler)]);
  rows.push(['heatmap hover: mousemove → next frame', big.result.tokens, hovers.map((h) => h.frame)]);
  const switches = await frame.evaluate(headSwitches, { rounds: 3 });
  // The first round shows each head for the first time; later rounds return to heads already drawn.
  rows.push(['head switch, first view of a head: → repainted', big.result.tokens, switches.filter((s) => s.round === 0).map((s) => s.frame)]);
  rows.push(['head switch, back to a head seen: → repainted', big.result.tokens, switches.filter((s) => s.round > 0).map((s) => s.frame)]);
  // A new window of the same profile (the page reloaded: a new extension host and webview), as after the first
  // window of an installation: the bundled models were checked before, and only their files are stat'ed.
  await runCommand(page, 'View: Close All Editors'); // the panel is not restored: the window opens as a person's would
  await page.reload();
  await waitForWorkbench(page);
  await selectFile(page, small.name, small.text.length);
  const again = await timeCommand(page, null, 0);
  const againOffset = await clockOffset(again.frame);
  again.ms -= againOffset;
  rows.push(['command → heatmap painted, cold in a new window of the same profile (1 run)', again.result.tokens, [again.ms], TARGETS.cold, again.result.timings]);
  await again.frame.evaluate(watchLongTasksSinceStart);
  const newWindowSteps = coldBreakdown(await again.frame.evaluate(stepTimes), again.result.at - again.ms, again.result.at, await again.frame.evaluate(longTasks));
  await close();
  return { info, rows, coldSteps, newWindowSteps, coldFetches };
}

/** Names of the cold start's steps: what happened up to each mark (webview/marks.ts). */
const STEP_NAMES = {
  documentStart: 'command, panel and webview created (and activation, when the window had not activated it yet)',
  start: "panel's starter (inline in the HTML) ran",
  script: "webview's script loaded and started",
  ready: 'host answered the initial state',
  request: 'host asked for the analysis',
  worker: "onnxruntime's worker started",
  binary: "onnxruntime's binary fetched",
  instantiated: 'probe session created (binary compiled)',
  backend: 'probe model run: backend ready',
  files: "model's files fetched",
  packed: "page's tokenizer made from the tokenizer worker's parts",
  tokenized: 'a text tokenized in the tokenizer worker (the warm-up text or the selection, whichever was later)',
  session: 'session created',
  warm: 'warm-up run and sanity check',
  analysed: 'selection tokenized, run and analysed',
  rendered: 'views built',
  painted: 'first frame painted',
};

/** The cold command's steps in time order, from the key press (page clock): [name, ms since key press, ms since the step before, longest task]. */
function coldBreakdown({ documentStart, marks }, keyPress, paintedAt, tasks) {
  const times = { documentStart, ...marks, painted: paintedAt };
  const steps = Object.entries(times).filter(([name]) => name in STEP_NAMES).sort((a, b) => a[1] - b[1]);
  const started = (i) => (i === 0 ? undefined : steps[i - 1][0] === 'documentStart' ? 'page' : steps[i - 1][0]); // byStep's name for the step's start
  return steps.map(([name, at], i) => [STEP_NAMES[name], at - keyPress, at - (i ? steps[i - 1][1] : keyPress), tasks.byStep[started(i)]]);
}

/** The latency table of each backend measured, its cold command's steps and fetches, and the panel's own breakdown. */
function printLatency(results) {
  const header = ['backend', 'measurement', 'tokens', 'median', 'min', 'max', 'target'];
  const table = [header];
  for (const [name, { info, rows }] of Object.entries(results)) {
    for (const [what, tokens, values, target] of rows) {
      table.push([`${name}${info.backend !== name ? ` (used ${info.backend})` : ''}`, what, String(tokens), ms(median(values)), ms(Math.min(...values)), ms(Math.max(...values)), target ? `≤ ${target.toLocaleString('en-US')} ms ${median(values) <= target ? 'met' : 'MISSED'}` : '']);
    }
  }
  const widths = header.map((_, c) => Math.max(...table.map((r) => r[c].length)));
  table.forEach((r, i) => {
    console.log(r.map((cell, c) => (c >= 2 && c <= 5 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  console.log('\nThe cold command, step by step (each step ends at the time shown; the longest main-thread task that started in it):');
  for (const [name, { coldSteps, newWindowSteps }] of Object.entries(results)) {
    for (const [what, at, took, task] of coldSteps) console.log(`  ${name}: ${ms(at).padStart(9)}  (+${ms(took).padStart(8)})  ${what}${task ? `; longest task ${ms(task)}` : ''}`);
    console.log(`  ${name}, a new window of the same profile (models checked before):`);
    for (const [what, at, took, task] of newWindowSteps) console.log(`  ${name}: ${ms(at).padStart(9)}  (+${ms(took).padStart(8)})  ${what}${task ? `; longest task ${ms(task)}` : ''}`);
  }
  console.log('\nThe cold command\'s fetches, through the file server or resource loading (start after the key press, duration, bytes, initiator: "link" when preloaded by the HTML):');
  for (const [name, { coldFetches }] of Object.entries(results)) {
    for (const [file, at, took, bytes, by] of coldFetches) console.log(`  ${name}: ${ms(at).padStart(9)}  ${ms(took).padStart(9)}  ${(bytes / 2 ** 20).toFixed(2).padStart(6)} MiB  ${file} (${by})`);
  }
  console.log('\nThe panel\'s own breakdown of each analysis (last run of each row):');
  for (const [name, { info, rows }] of Object.entries(results)) {
    console.log(`  ${name}: backend ready in ${info.ready ?? '?'} ms after the webview started`);
    for (const [what, , , , timings] of rows) if (timings) console.log(`  ${name}: ${what}: ${timings}`);
  }
}

/** Installs another VSIX (--against) into extensions of its own: the second arm of the side-by-side figures. */
async function installAgainst(against) {
  const otherRoot = await harness.makeTempDir('bench-against');
  const otherCopy = join(otherRoot, 'other.vsix');
  copyFileSync(against, otherCopy);
  const otherExtensions = join(otherRoot, 'extensions');
  await harness.installVsix({ root: join(otherRoot, 'cli'), vsix: otherCopy, extensionsDir: otherExtensions });
  return { label: `--against ${against}`, extensionsDir: otherExtensions, settings: {} };
}

let exitCode = 1;
const started = Date.now();
try {
  harness.ensureCodeServer();
  const vsix = join(harness.repoRoot, 'out/attention-lens.vsix');
  if (!args.includes('--no-package')) {
    harness.log('packaging the VSIX (npm run package)…');
    const r = spawnSync('npm', ['run', '--silent', 'package'], { cwd: harness.repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`npm run package failed (${r.status ?? r.signal})`);
  }
  const copy = join(await harness.makeTempDir('bench-vsix'), 'attention-lens.vsix');
  copyFileSync(vsix, copy);
  const installRoot = await harness.makeTempDir('bench-install');
  const extensionsDir = join(installRoot, 'extensions');
  await harness.installVsix({ root: join(installRoot, 'cli'), vsix: copy, extensionsDir });
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(join(harness.repoRoot, 'media/models/transformer/tokenizer.json'), 'utf8')));
  const source = benchSource(harness.repoRoot);
  const files = [256, 2048].map((limit) => ({ name: `latency-${limit}.ts`, ...prefixOfTokens(tokenizer, source, limit) }));
  harness.log(`selections: ${files.map((f) => `${f.name} (${f.tokens} tokens, ${f.text.split('\n').length - 1} lines of ${SOURCES[0]}…)`).join(', ')}`);
  const results = {};
  const abOnly = args.includes('--ab-only'); // only the side-by-side figures: the alternating cold commands and occlusion
  for (const name of args.includes('--scale-only') || abOnly ? [] : backends) {
    if (!(name in BACKENDS)) throw new Error(`--backend must be webgpu, wasm or both, not ${name}`);
    harness.log(`measuring with ${name}…`);
    results[name] = await benchBackend(name, extensionsDir, files);
  }
  const load = loadavg().map((v) => v.toFixed(1)).join(' ');
  console.log(`\nAttention Lens latency in VS Code ${harness.vscodeVersion()} (code-server ${harness.CODE_SERVER_VERSION}), headless chromium, ` +
    `${cpus().length} CPU cores, load average ${load} at the end. Times from the key press (cold/warm) or the event (hover, switch) ` +
    'to the frame that shows the result, measured in the webview with requestAnimationFrame (resolution: one frame, ~16.7 ms).\n');
  if (Object.keys(results).length) printLatency(results);
  const coldRuns = Number(option('--cold-ab', 3));
  const occlusionRounds = Number(option('--occlusion-ab', 0));
  const against = option('--against', undefined);
  const againstArm = against && (coldRuns > 0 || occlusionRounds > 0) ? await installAgainst(against) : undefined;
  if (coldRuns > 0 && !args.includes('--scale-only')) {
    let arms = [{ label: 'file server', extensionsDir, settings: {} }, { label: 'resource loading', extensionsDir, settings: { 'attentionLens.fileServer': 'off' } }];
    if (againstArm) arms = [{ label: 'this build', extensionsDir, settings: {} }, againstArm];
    harness.log(`cold commands, ${arms[0].label} and ${arms[1].label}, ${coldRuns} each, alternating…`);
    const settleMs = Number(option('--settle-ms', 0));
    // --cold-file-ext .txt: the cold commands' file as plain text, which starts no language server as it opens.
    const ext = option('--cold-file-ext', '.ts');
    const coldFile = { ...files[0], name: files[0].name.replace(/\.ts$/, ext) };
    const networkOption = option('--cold-network', '');
    const [mbit, latencyMs = 0] = networkOption ? networkOption.split(',').map(Number) : [];
    if (networkOption && !(mbit > 0 && latencyMs >= 0)) throw new Error(`--cold-network takes <Mbit/s>,<ms> (say 50,20), not "${networkOption}"`);
    const network = networkOption ? { mbit, latencyMs } : undefined;
    const profile = option('--cold-profile', 'fresh');
    if (!['fresh', 'used'].includes(profile)) throw new Error(`--cold-profile takes fresh or used, not "${profile}"`);
    const runs = await coldAB(arms, coldFile, coldRuns, settleMs, network, profile);
    const of = (arm) => runs.filter((r) => r.arm === arm);
    const [a, b] = arms.map(of);
    const width = Math.max(...arms.map((arm) => arm.label.length));
    console.log(`\nCold command → heatmap painted (backend setting ${COLD_BACKEND}, ${files[0].tokens} tokens, ${profile === 'used' ? "a fresh window each, timed in the profile's second window (--cold-profile used)" : 'a fresh window each'}, alternating, ${coldFile.name}${settleMs ? `, the command ${settleMs} ms after the file was opened and selected` : ''}${network ? `, the network held to ${network.mbit} Mbit/s and ${network.latencyMs} ms` : ''}): ${arms[0].label} against ${arms[1].label}`);
    for (const [arm, list] of [[arms[0], a], [arms[1], b]]) console.log(`  ${`${arm.label}:`.padEnd(width + 1)} median ${ms(median(list.map((r) => r.ms)))} (${list.map((r) => ms(r.ms)).join(', ')})`);
    console.log(`  ratio (${arms[1].label} / ${arms[0].label}): ${(median(b.map((r) => r.ms)) / median(a.map((r) => r.ms))).toFixed(2)}×`);
    // VS Code's part (key press → the webview's document started) and the page's (that → painted), each arm's medians.
    // Of the page's part, how long its document's own request waited for VS Code's webview service worker.
    for (const [arm, list] of [[arms[0], a], [arms[1], b]]) console.log(`  ${`${arm.label}:`.padEnd(width + 1)} key press → page started, median ${ms(median(list.map((r) => r.page)))}; page started → painted, median ${ms(median(list.map((r) => r.ms - r.page)))}, of which the document's request waited for VS Code's webview service worker, median ${ms(median(list.map((r) => r.worker)))}`);
    for (const [arm, list] of [[arms[0], a], [arms[1], b]]) if (list.every((r) => r.cpu)) console.log(`  ${`${arm.label}:`.padEnd(width + 1)} CPU from the key press to the painted heatmap, medians: ${formatCpuMedians(list.map((r) => r.cpu))}`);
    for (const r of runs) console.log(`  ${r.arm.label.padEnd(width)}  ${ms(r.ms).padStart(9)}: page ${ms(r.page)} (its request sent on after ${ms(r.worker)}); binary ${r.binary}; model ${r.model} (after the key press)\n  ${''.padEnd(width)}  ${''.padStart(9)}  steps (ms after the key press): ${r.steps}${r.cpu ? `\n  ${''.padEnd(width)}  ${''.padStart(9)}  CPU: ${formatCpu(r.cpu)}` : ''}`);
  }
  if (occlusionRounds > 0) {
    const file = { name: 'occlusion.ts', ...prefixOfExactly(tokenizer, source, Number(option('--occlusion-tokens', 256))) };
    const arms = [{ label: 'this build', extensionsDir }, ...(againstArm ? [againstArm] : [])];
    await benchOcclusion({ arms, file, models: list('--occlusion-models', 'transformer,window,linear,mamba,elman,gru,lstm'), maskedModels: list('--masked-models', 'encoder'), rounds: occlusionRounds });
  }
  if (!args.includes('--no-scale') && !abOnly) {
    await benchScale({ extensionsDir, models: list('--scale-models', '96-concat,96,96-past,768,768-past'), lengths: list('--scale-lengths', '256,512,1024,2048').map(Number), prefixOf: (limit) => prefixOfTokens(tokenizer, source, limit), fileServer: option('--scale-file-server', 'on'), settleMs: Number(option('--settle-ms', 0)) });
  }
  exitCode = 0;
} catch (err) {
  console.error(`bench:vscode: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
}
await harness.cleanup();
harness.log(`bench took ${Math.round((Date.now() - started) / 1000)} s`);
process.exit(exitCode);
