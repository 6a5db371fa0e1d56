// Why: issue 17 asks for occlusion at half of its time when the issue was filed, per model, from structure (the
// unchanged prefix) and with the same numbers. That is a ratio between two builds on one machine, so this times
// both in the same run, alternating fresh windows (A B B A …) so that the load of the moment falls on both. In each
// window the panel analyses a selection of --occlusion-tokens tokens; then each model in turn (picked in the
// panel's model picker; the rounds start the list at places spread over it) computes occlusion in its W(t, k)
// view, clicked and timed inside the webview to the frame that says it is done. Then each masked model
// (--masked-models) computes its masked predictions (pseudo-surprisal) the same way: no task of the page's may
// take over 50 ms during them either. Run by npm run bench:vscode -- --occlusion-ab N [--against other.vsix];
// printed, never asserted.

import { MASKED_AUTO_TOKENS } from '../../src/core/maskedReadout.ts'; // run through tsx (npm run bench:vscode)
import * as harness from '../harness/codeServer.mjs';
import { openWindow, selectFile, timeCommand } from './benchWindow.mjs';
import { MASKED_CLICK, OCCLUSION_CLICK, clickTimed, untilIdle } from './webviewTiming.mjs';

/** The middle value, or the mean of the two middle ones. */
const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const ms = (v) => (v === undefined || Number.isNaN(v) ? '–' : `${v < 100 ? v.toFixed(1) : Math.round(v).toLocaleString('en-US')} ms`);

/**
 * In the panel: picks model `id` in its model picker (value and change event, what a click on an option does) and
 * resolves once the panel has analysed the selection with it: { state } ('analysed' or 'error', with error), or
 * { missing: the picker's models } when it offers no such model, or { timedOut }. A model already shown resolves at
 * once. The analysis root's data-state attribute is watched with its old values, so a new analysis is told from
 * the one shown even when its phases change within one task.
 */
export function analysedWith({ id, timeoutMs }) {
  const picker = document.querySelector('[data-testid=model-picker]');
  const root = document.querySelector('[data-testid=analysis]');
  const options = [...(picker?.querySelectorAll('vscode-option') ?? [])].map((o) => o.getAttribute('value'));
  if (!picker || !root || !options.includes(id)) return Promise.resolve({ missing: options });
  if (picker.value === id && root.getAttribute('data-state') === 'analysed') return Promise.resolve({ state: 'analysed' });
  return new Promise((resolve) => {
    let left = false; // the panel has left the analysis it showed: a new one began
    const finish = (result) => {
      observer.disconnect();
      clearTimeout(timer);
      resolve(result);
    };
    const observer = new MutationObserver((records) => {
      left ||= records.some((r) => r.oldValue !== 'analysed');
      const state = root.getAttribute('data-state');
      if (left && state === 'analysed') finish({ state });
      else if (left && state === 'error') finish({ state, error: document.querySelector('[data-testid=analysis-error]')?.textContent ?? '' });
    });
    observer.observe(root, { attributes: true, attributeFilter: ['data-state'], attributeOldValue: true });
    const timer = setTimeout(() => finish({ timedOut: true }), timeoutMs);
    picker.value = id;
    picker.dispatchEvent(new Event('change'));
  });
}

/** The W view note's sentence on how the runs were made, if it has one ("Each run started from …"). */
const method = (note) => /(Each run started[^.]*\.|Whole copies were run[^.]*\.)/.exec(note ?? '')?.[1] ?? '';

/** What each window times: occlusion in the W(t, k) view, pseudo-surprisal in the Masked view. */
const JOBS = {
  occlusion: { click: OCCLUSION_CLICK, what: 'occlusion' },
  masked: { click: MASKED_CLICK, what: 'masked predictions' },
};

/**
 * Occlusion per model (`models`), then masked predictions per model (`maskedModels`), in `rounds` fresh windows of
 * each arm ({ label, extensionsDir }), alternating A B B A … (one arm: its windows one after the other). Returns
 * [{ arm, kind, model, ms, ownLongest, method }] and logs each.
 */
async function occlusionRuns(arms, file, models, maskedModels, rounds) {
  const order = [];
  for (let r = 0; r < rounds; r++) order.push(...(r % 2 === 0 ? arms : [...arms].reverse()).map((arm) => ({ arm, round: r })));
  const results = [];
  for (const [i, { arm, round }] of order.entries()) {
    // A model's occlusion may depend on what ran before it in the same window (until 9f5acd5, the RNNs' took
    // 0.6–1.2 s longer after other occlusions), so the rounds start the list at places spread over it: every model
    // takes other places, the same in both builds' windows of a round.
    const shift = Math.floor((round * models.length) / rounds);
    const turn = [...models.map((_, j) => ({ kind: 'occlusion', model: models[(j + shift) % models.length] })), ...maskedModels.map((model) => ({ kind: 'masked', model }))];
    const window = await openWindow(`occlusion-${i}`, arm.extensionsDir, [file], { 'attentionLens.backend': 'wasm' }, false);
    try {
      await selectFile(window.page, file.name, file.text.length);
      const { frame, result } = await timeCommand(window.page, null, 0);
      if (result.refused) throw new Error(`${arm.label}: the panel offered to analyse fewer tokens: ${result.refused}`);
      if (result.tokens !== file.tokens) harness.log(`${arm.label}: the panel analysed ${result.tokens} tokens, the bench counted ${file.tokens}`);
      for (const { kind, model } of turn) {
        const job = JOBS[kind];
        const analysed = await frame.evaluate(analysedWith, { id: model, timeoutMs: 300_000 });
        if (analysed.missing) {
          harness.log(`${arm.label}: no model "${model}" in the panel's picker (${analysed.missing.join(', ')}); left out`);
          continue;
        }
        if (analysed.state !== 'analysed') throw new Error(`${arm.label}: the ${model} analysis did not finish: ${analysed.error ?? 'timed out'}`);
        await frame.evaluate(untilIdle);
        const timed = await frame.evaluate(clickTimed, { ...job.click, timeoutMs: 900_000 });
        if (timed.timedOut || timed.failed) throw new Error(`${arm.label}: the ${model} ${job.what} did not finish${timed.failed ? `: ${timed.note}` : ''}`);
        results.push({ arm, kind, model, ms: timed.ms, ownLongest: timed.ownLongest, method: method(timed.note) });
        harness.log(`${job.what}, ${arm.label}, ${model}: ${ms(timed.ms)} (own longest task ${ms(timed.ownLongest)}) ${results.at(-1).method}`);
      }
    } finally {
      await window.close();
    }
  }
  return results;
}

/**
 * Times occlusion per model (and masked predictions per masked model) in each arm's windows and prints the medians
 * and, with two arms, their ratio.
 */
export async function benchOcclusion({ arms, file, models, maskedModels = [], rounds }) {
  // Below MASKED_AUTO_TOKENS ordinary tokens the Masked view computes as soon as it opens, before any click.
  if (maskedModels.length && file.tokens < MASKED_AUTO_TOKENS + 2) throw new Error(`masked predictions are timed from a click, which needs at least ${MASKED_AUTO_TOKENS + 2} tokens (--occlusion-tokens); use --masked-models '' below that`);
  harness.log(`occlusion at ${file.tokens} tokens, ${models.join(', ')}${maskedModels.length ? `; masked predictions, ${maskedModels.join(', ')}` : ''}: ${arms.map((a) => a.label).join(' and ')}, ${rounds} window(s) each${arms.length > 1 ? ', alternating' : ''}…`);
  const runs = await occlusionRuns(arms, file, models, maskedModels, rounds);
  const where = `wasm, ${file.tokens} tokens, ${rounds} fresh window(s) per build${arms.length > 1 ? ', alternating' : ''}`;
  if (models.length) printTable(runs.filter((r) => r.kind === 'occlusion'), arms, models, `Occlusion: click → done in the W(t, k) view (${where})`, 'an occlusion');
  if (maskedModels.length) printTable(runs.filter((r) => r.kind === 'masked'), arms, maskedModels, `Masked predictions (pseudo-surprisal): click → done in the Masked view (${where})`, 'masked predictions');
  const methods = [...new Set(runs.filter((r) => r.arm === arms[0] && r.method).map((r) => `${r.model}: ${r.method}`))];
  for (const m of methods) console.log(`  ${arms[0].label}, ${m}`);
}

/** One job's medians per model and build, their ratio, and each build's longest task of the page's own during it. */
function printTable(runs, arms, models, title, during) {
  const of = (arm, model) => runs.filter((r) => r.arm === arm && r.model === model).map((r) => r.ms);
  console.log(`\n${title}`);
  const header = ['model', ...arms.map((a) => a.label), ...(arms.length > 1 ? [`ratio (${arms[1].label} / ${arms[0].label})`] : [])];
  const rows = models.map((model) => {
    const cells = arms.map((arm) => {
      const list = of(arm, model);
      return list.length ? `${ms(median(list))} (${list.map(ms).join(', ')})` : '–';
    });
    const [a, b] = arms.map((arm) => of(arm, model));
    const ratio = arms.length > 1 && a.length && b.length ? `${(median(b) / median(a)).toFixed(2)}×` : '';
    return [model, ...cells, ...(arms.length > 1 ? [ratio] : [])];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const row of [header, widths.map((w) => '-'.repeat(w)), ...rows]) console.log(`  ${row.map((c, i) => c.padEnd(widths[i])).join('  ')}`);
  for (const arm of arms) {
    const own = runs.filter((r) => r.arm === arm).map((r) => r.ownLongest);
    if (own.length) console.log(`  ${arm.label}: the page's own longest task during ${during}, ${ms(Math.max(...own))} at most`);
  }
}
