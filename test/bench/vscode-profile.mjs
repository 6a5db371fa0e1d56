// Why: bench:vscode says how long the webview's main thread is busy and in which step; this says with what. It
// builds out/ unminified and packages a VSIX of it (function names kept), runs one command in code-server's VS Code in headless
// Chromium, records a CPU profile of the page's main thread (the workbench and the webviews share it there), and
// prints the busiest stretches (runs of samples without idle time: a long task, or tasks back to back) with their
// functions by self time and their heaviest call paths; then, from a trace of the same stretch of time, each main-thread
// task of 50 ms or more with the samples and the trace's events (style, layout, paint, GC) inside it. Printed, never asserted.
// Usage: npm run bench:profile -- [--model transformer|96|96-past|768|768-past-v50257] [--tokens 1024] [--cold] [--views] [--switches]
//   [--occlusion] [--categories blink,cc,…] [--save <folder>] [--settle-ms 8000]
//   --model: a bundled model id, or a GPT-2-small-shaped bench model's width (gpt2Model.ts); --cold profiles the
//   first command in a fresh window (model load included), else a second command after a warm first one; --views
//   profiles the head view, the model view and heatmap hovers after it too; --switches profiles only the heatmap's
//   head switches after it (each head of the layer in turn); --occlusion profiles only the W(t, k) view's occlusion
//   after it (click to done, as bench:vscode times it); --categories adds trace categories (what a Paint did); --save writes the CPU
//   profile (profile.cpuprofile) and the trace (trace.json) there, for DevTools' Performance panel; --settle-ms presses
//   the command that long after the file was opened and selected (as bench:vscode's option).

import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LensTokenizer } from '../../src/core/tokenizer.ts'; // run through tsx (npm run bench:profile)
import * as harness from '../harness/codeServer.mjs';
import { quickOpen, statusSelection, waitForWorkbench, webviewContentFrame } from '../e2e/workbench.mjs';
import { benchSource, prefixOfTokens } from './benchSelection.mjs';
import { benchModelId, benchSpec, writeBenchModel } from './gpt2Model.ts';
import { headSwitches, heatmapHovers, markShown, OCCLUSION_CLICK, clickTimed, tabPainted, untilIdle, untilPainted } from './webviewTiming.mjs';

const args = process.argv.slice(2);
const option = (name, fallback) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
const MODEL = option('--model', 'transformer');
const TOKENS = Number(option('--tokens', 1024));
const COLD = args.includes('--cold');
const VIEWS = args.includes('--views');
const SWITCHES = args.includes('--switches');
const OCCLUSION = args.includes('--occlusion');
/** More trace categories (e.g. blink,cc,disabled-by-default-skia: what a Paint event did); more event names then. */
const CATEGORIES = option('--categories', '').split(',').filter(Boolean);
const SAVE = option('--save', '');
const SETTLE_MS = Number(option('--settle-ms', 0));

/**
 * Adds up a CPU profile's samples: add(i, into) counts sample i's time under its function (self) and its call path
 * (the last `depth` frames), unless the thread was idle (then false). top(map, n): the n largest, in ms.
 */
function sampleTally(profile, depth) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const add = (i, into) => {
    const id = profile.samples[i];
    const f = byId.get(id).callFrame;
    if (f.functionName === '(idle)') return false;
    const us = profile.timeDeltas[i + 1] ?? 0;
    const name = `${f.functionName || '(anonymous)'} ${f.url.split('/').pop().split('?')[0]}:${f.lineNumber + 1}`;
    into.self.set(name, (into.self.get(name) ?? 0) + us);
    const chain = [];
    for (let p = id; p !== undefined; p = parent.get(p)) chain.push(byId.get(p).callFrame.functionName || '(anonymous)');
    const path = chain.reverse().slice(1).slice(-depth).join(' > ');
    into.paths.set(path, (into.paths.get(path) ?? 0) + us);
    into.us += us;
    return true;
  };
  const top = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, us]) => [k, us / 1000]);
  return { add, top };
}

const emptyTally = () => ({ us: 0, self: new Map(), paths: new Map() });

/** The busiest stretches of a CPU profile: [{ ms, self: [[name, ms]], paths: [[path, ms]] }], longest first. */
function busiestStretches(profile, count) {
  const { add, top } = sampleTally(profile, 8);
  const stretches = [];
  let current = emptyTally();
  profile.samples.forEach((_, i) => {
    if (add(i, current)) return;
    if (current.us) stretches.push(current);
    current = emptyTally();
  });
  if (current.us) stretches.push(current);
  return stretches.sort((a, b) => b.us - a.us).slice(0, count).map((s) => ({ ms: s.us / 1000, self: top(s.self, 8), paths: top(s.paths, 4) }));
}

/**
 * The renderers' main-thread tasks of at least `minMs` (a trace's RunTask events, on the clock of the CPU profile's
 * timestamps), longest first, each with its thread time and the profile's samples inside it:
 * [{ ms, cpuMs, self, paths, events }]. A stretch above may be many short tasks back to back; this says what one
 * long task did. Tasks without samples (other processes' threads) are left out.
 */
function longTasksOf(events, profile, minMs, count) {
  const { add, top } = sampleTally(profile, 10);
  const times = [];
  let at = profile.startTime;
  for (const delta of profile.timeDeltas) times.push((at += delta));
  const main = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const tasks = events.filter((e) => e.name === 'RunTask' && e.ph === 'X' && e.dur >= minMs * 1000 && main.has(`${e.pid}:${e.tid}`));
  const out = [];
  for (const task of tasks) {
    const tally = emptyTally();
    let samples = 0;
    for (let i = 0; i < times.length; i++) if (times[i] >= task.ts && times[i] <= task.ts + task.dur && add(i, tally)) samples++;
    if (!samples) continue;
    // The trace's own events inside the task (style, layout, paint, GC…): what samples without JS, "(program)", were.
    const inside = new Map();
    for (const e of events) {
      if (e.ph !== 'X' || e.pid !== task.pid || e.tid !== task.tid || e === task || e.ts < task.ts || e.ts + e.dur > task.ts + task.dur) continue;
      inside.set(e.name, (inside.get(e.name) ?? 0) + e.dur);
    }
    // Thread time: on two shared cores a task may last far longer than it ran (the thread was waiting or descheduled).
    out.push({ ms: task.dur / 1000, cpuMs: task.tdur === undefined ? null : task.tdur / 1000, self: top(tally.self, 6), paths: top(tally.paths, 4), events: top(inside, CATEGORIES.length ? 16 : 6) });
  }
  return out.sort((a, b) => b.ms - a.ms).slice(0, count);
}

/** Starts a trace of the main threads' tasks on a CDP session; the returned function ends it and gives its events. */
async function startTrace(cdp) {
  const events = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...e.value));
  await cdp.send('Tracing.start', { categories: ['devtools.timeline,disabled-by-default-devtools.timeline,v8,toplevel', ...CATEGORIES].join(','), transferMode: 'ReportEvents' });
  return async () => {
    const complete = new Promise((resolve) => cdp.once('Tracing.tracingComplete', resolve));
    await cdp.send('Tracing.end');
    await complete;
    return events;
  };
}

let exitCode = 1;
try {
  harness.ensureCodeServer();
  harness.log('building an unminified VSIX…');
  const work = await harness.makeTempDir('profile');
  const vsix = join(work, 'attention-lens.vsix');
  for (const [cmd, cmdArgs] of [['node', ['esbuild.mjs']], ['npx', ['vsce', 'package', '--no-dependencies', '--no-rewrite-relative-links', '--allow-missing-repository', '-o', vsix]]]) {
    const r = spawnSync(cmd, cmdArgs, { cwd: harness.repoRoot, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${cmd} ${cmdArgs.join(' ')} failed (${r.status ?? r.signal})`);
  }
  const extensionsDir = join(work, 'extensions');
  await harness.installVsix({ root: join(work, 'cli'), vsix, extensionsDir });
  const settings = { 'attentionLens.backend': 'wasm', 'attentionLens.maxTokens': 4096 };
  if (/^\d+(-[a-z]+)?(-v\d+)?$/.test(MODEL)) {
    const models = join(work, 'models');
    writeBenchModel(models, benchSpec(MODEL), harness.repoRoot);
    Object.assign(settings, { 'attentionLens.modelFolders': [models], 'attentionLens.defaultModel': benchModelId(benchSpec(MODEL)) });
  } else settings['attentionLens.defaultModel'] = MODEL;
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(join(harness.repoRoot, 'media/models/transformer/tokenizer.json'), 'utf8')));
  const { text } = prefixOfTokens(tokenizer, benchSource(harness.repoRoot), TOKENS);
  const root = await harness.makeTempDir('prof');
  const folder = await harness.copyWorkspace(root);
  writeFileSync(join(folder, 'profiled.ts'), text);
  writeFileSync(join(folder, 'first.ts'), text.slice(0, 400));
  const server = await harness.startCodeServer({ root: join(root, 'server'), extensionsDir, settings, onLine: () => undefined });
  const browser = await harness.launchChromium({ root, webgpu: false });
  const page = browser.pages()[0] ?? (await browser.newPage());
  await page.goto(`${server.base}/?folder=${encodeURIComponent(folder)}`);
  await waitForWorkbench(page);
  const cdp = await browser.newCDPSession(page); // the webviews run on the page's main thread here
  let frame = null;
  if (!COLD) {
    await quickOpen(page, 'first.ts');
    await page.keyboard.press('Control+A');
    await page.keyboard.press('Control+Alt+A');
    frame = await webviewContentFrame(page, 'panel', 120_000);
    await frame.evaluate(untilPainted, { timeoutMs: 600_000 });
    await frame.evaluate(untilIdle);
    await frame.evaluate(markShown);
  }
  await quickOpen(page, 'profiled.ts');
  await page.keyboard.press('Control+A');
  await statusSelection(page, new RegExp(`\\(${text.length} selected\\)$`));
  // --settle-ms: a person reads the file first (meanwhile its language server, TypeScript's, loads its project).
  if (SETTLE_MS > 0) await page.waitForTimeout(SETTLE_MS);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 250 });
  await cdp.send('Profiler.start');
  const endTrace = await startTrace(cdp);
  await page.keyboard.press('Control+Alt+A');
  frame ??= await webviewContentFrame(page, 'panel', 120_000);
  const painted = await frame.evaluate(untilPainted, { timeoutMs: 600_000 });
  await frame.evaluate(untilIdle);
  if (VIEWS) {
    // As bench:vscode's scale section does after the heatmap: the head view, the model view, back, hovers.
    await frame.evaluate(tabPainted, { tab: 'head', selector: '[data-testid=head-view]', minFraction: 0.005, timeoutMs: 120_000 });
    await frame.evaluate(tabPainted, { tab: 'model', selector: '[data-testid=model-thumb] canvas', minFraction: 0.2, timeoutMs: 300_000 });
    await frame.evaluate(tabPainted, { tab: 'heatmap', selector: '[data-testid=heatmap]', minFraction: 0.2, timeoutMs: 120_000 });
    await frame.evaluate(heatmapHovers, { samples: 12 });
    await frame.evaluate(untilIdle);
  }
  let switched;
  if (SWITCHES) {
    // Only the heatmap's head switches (each head of the layer in turn), as bench:vscode's scale section times them.
    await cdp.send('Profiler.stop');
    await cdp.send('Profiler.start');
    switched = await frame.evaluate(headSwitches, { rounds: 1 });
  }
  let occluded;
  if (OCCLUSION) {
    // Only the occlusion, from the button's click to the frame that says it is done.
    await cdp.send('Profiler.stop');
    await cdp.send('Profiler.start');
    occluded = await frame.evaluate(clickTimed, { ...OCCLUSION_CLICK, timeoutMs: 600_000 });
    if (occluded.timedOut) throw new Error('occlusion did not finish');
  }
  const { profile } = await cdp.send('Profiler.stop');
  const events = await endTrace();
  if (SAVE) {
    mkdirSync(SAVE, { recursive: true });
    writeFileSync(join(SAVE, 'profile.cpuprofile'), JSON.stringify(profile));
    writeFileSync(join(SAVE, 'trace.json'), JSON.stringify({ traceEvents: events }));
  }
  console.log(`\n${COLD ? 'Cold' : 'Warm'} command with ${MODEL}: ${painted.timings ?? JSON.stringify(painted)}`);
  if (switched) {
    const frames = switched.map((s) => s.frame).sort((a, b) => a - b);
    console.log(`Head switches: median ${frames[frames.length >> 1].toFixed(1)} ms to the frame that shows the head (${frames.map((f) => f.toFixed(1)).join(', ')})`);
  }
  if (occluded) console.log(`Occlusion: ${Math.round(occluded.ms)} ms; longest task ${Math.round(occluded.longest)} ms, own ${Math.round(occluded.ownLongest)} ms`);
  console.log('Busiest stretches of the main thread (ms): self time by function, then the heaviest call paths.');
  for (const s of busiestStretches(profile, SWITCHES || OCCLUSION ? 12 : 6)) {
    console.log(`\n${s.ms.toFixed(0)} ms`);
    for (const [name, ms] of s.self) console.log(`  ${ms.toFixed(0).padStart(6)}  ${name}`);
    for (const [path, ms] of s.paths) console.log(`  ${ms.toFixed(0).padStart(6)}  ${path}`);
  }
  console.log('\nLongest main-thread tasks of at least 50 ms (a trace\'s RunTask events), with the samples inside each:');
  for (const t of longTasksOf(events, profile, 50, 12)) {
    console.log(`\n${t.ms.toFixed(0)} ms task${t.cpuMs === null ? '' : `, ${t.cpuMs.toFixed(0)} ms of it on a CPU (the rest waiting or descheduled; samples then count the wait to the function last seen)`}`);
    for (const [name, ms] of t.self) console.log(`  ${ms.toFixed(0).padStart(6)}  ${name}`);
    for (const [path, ms] of t.paths) console.log(`  ${ms.toFixed(0).padStart(6)}  ${path}`);
    console.log(`  trace events (nested ones counted in each): ${t.events.map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(', ')}`);
  }
  await harness.closeBrowser(browser);
  await harness.stopProcess(server.child);
  exitCode = 0;
} catch (err) {
  console.error(`bench:profile: FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
}
await harness.cleanup();
process.exit(exitCode);
