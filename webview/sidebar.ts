// Entry point of the "Compare architectures" sidebar webview: follows the editor's selection (a pin freezes
// it), runs every bundled model on it one after another (reusing the panel's analysis of the same text),
// with progress and cancel, draws the comparison as runs arrive, adds occlusion on demand, and reports
// each finished comparison to the host.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import { compareRunOf } from '../src/core/compare';
import { shortName } from '../src/core/compareSummary';
import { LensError, toErrorPayload } from '../src/core/errors';
import type { BackendInfo, CompareText, InitialState, LensSettings, SelectionSummary } from '../src/core/protocol';
import { isBlank } from '../src/core/text';
import { initBackend } from './backend';
import { backendView, h, replace, selectionSummary } from './dom';
import { CompareView } from './compare/compareView';
import { Engine, prefetchModel } from './engine';
import { errorView, progressView, stepProgressView } from './views/status';
import { getState, host, reportError, setState } from './vscodeApi';

interface SavedState {
  pinned: SelectionSummary | null;
}

const app = document.getElementById('app')!;
const backendSlot = h('div', { class: 'slot' });
const selectionSlot = h('div', { class: 'slot' });
const statusSlot = h('div', { class: 'slot status-slot', 'data-testid': 'compare-status' });
const body = h('div', { class: 'slot' });
const button = (testid: string, label: string, title: string, secondary = true) =>
  h('vscode-button', { 'data-testid': testid, title, ...(secondary ? { secondary: '' } : {}) }, label) as HTMLElement & { disabled: boolean };
const pinButton = button('compare-pin', 'Pin', 'Keep comparing this selection while you select elsewhere');
const cancelButton = button('compare-cancel', 'Cancel', 'Stop running the models');
const occlusionButton = button('compare-occlusion', 'Add occlusion', 'Replace each token in turn with a space and rerun every model: the same influence measure for all three (slow)');

let initial: InitialState | undefined;
let settings: LensSettings | undefined;
let engine: { preference: string; promise: Promise<{ engine: Engine; info: BackendInfo }> } | undefined;
/** The selection compared (or being compared), and the editor's latest one (differs while pinned). */
let compared: SelectionSummary | null = null;
let latest: SelectionSummary | null = null;
let pinned = getState<SavedState>()?.pinned ?? null;
let view: CompareView | null = null;
let seq = 0;

function persist(): void {
  setState<SavedState>({ pinned });
}

function busy(on: boolean): void {
  cancelButton.hidden = !on;
  app.setAttribute('aria-busy', String(on));
}

/** The engine for the backend setting, initialised on first use. */
function getEngine(): Promise<{ engine: Engine; info: BackendInfo }> {
  const preference = settings?.backend ?? 'auto';
  if (engine?.preference !== preference) {
    const old = engine;
    void old?.promise.then((e) => e.engine.dispose(), () => undefined);
    replace(backendSlot, backendView('loading'));
    const promise = initBackend(preference, initial!.ortBaseUri, initial!.probeModelUri).then(
      (info) => {
        replace(backendSlot, backendView(info));
        return { engine: new Engine(info), info };
      },
      (err: unknown) => {
        const error = err instanceof Error ? err : new Error(String(err));
        replace(backendSlot, backendView(error));
        reportError(error, 'backend');
        throw error;
      },
    );
    engine = { preference, promise };
  }
  return engine.promise;
}

function showPin(): void {
  pinButton.textContent = pinned ? 'Unpin' : 'Pin';
  pinButton.setAttribute('aria-pressed', String(!!pinned));
  pinButton.title = pinned ? 'Follow the editor selection again' : 'Keep comparing this selection while you select elsewhere';
  pinButton.hidden = !compared;
}

/** Compares the models on a selection; a newer call supersedes (and cancels) the running one. */
async function compare(selection: SelectionSummary | null): Promise<void> {
  const mine = ++seq;
  compared = selection;
  showPin();
  occlusionButton.hidden = true;
  view?.dispose();
  view = null;
  replace(body);
  replace(statusSlot);
  if (!selection) {
    engine && void engine.promise.then((e) => e.engine.cancel(), () => undefined);
    busy(false);
    replace(selectionSlot, h('p', { class: 'muted', 'data-testid': 'no-selection' }, 'Select text or code in an editor to compare how the models read it.'));
    return;
  }
  replace(selectionSlot, selectionSummary(selection, false));
  if (isBlank(selection.text)) {
    replace(statusSlot, errorView('The selection is only whitespace: select some text or code to compare the models on.', 'empty-selection'));
    return;
  }
  const models = initial!.models;
  if (!engine) models.forEach(prefetchModel); // the first comparison: download while the backend starts
  busy(true);
  replace(statusSlot, progressView('Waiting for the inference backend…'));
  let eng: Engine;
  let info: BackendInfo;
  try {
    ({ engine: eng, info } = await getEngine());
  } catch (err) {
    if (mine === seq) {
      busy(false);
      replace(statusSlot, errorView(`The inference backend is unavailable: ${toErrorPayload(err).message}`, 'backend-unavailable'));
    }
    return;
  }
  if (mine !== seq) return;
  const current = (view = new CompareView(models, selection, { open: (modelId) => void host.request('openInPanel', { selection, modelId }).catch((err) => reportError(err, 'openInPanel')) }));
  replace(body, current.element);
  const maxTokens = settings?.compareMaxTokens ?? 256;
  const text: CompareText = { uri: selection.uri, version: selection.version, startOffset: selection.startOffset, text: selection.text, maxTokens };
  try {
    await eng.exclusive(async (signal) => {
      const reused = await host.request('panelRun', text, { timeoutMs: 30_000, signal }).catch(() => null);
      for (const [i, model] of models.entries()) {
        if (mine !== seq) throw new LensError('cancelled', 'A newer selection replaced this comparison.');
        const id = model.manifest.id;
        const name = shortName(model.manifest);
        let run = reused?.modelId === id ? reused : undefined;
        if (!run) {
          const step = `${name} (${i + 1} of ${models.length})`;
          current.setRunning(id, `Running on ${info.backend === 'webgpu' ? 'WebGPU' : 'wasm'}…`);
          replace(statusSlot, progressView(`Running ${step}…`));
          try {
            const analysis = await eng.analyseWith(model, selection.text, selection.startOffset, maxTokens, signal, (p) => {
              if (mine === seq) replace(statusSlot, progressView(p.loaded >= p.total ? `Starting ${step}…` : `Loading ${step}…`, p.loaded, p.total));
            });
            run = compareRunOf(analysis, info.backend, analysis.loadMs);
          } catch (err) {
            if (signal.aborted || (err instanceof LensError && (err.code === 'cancelled' || err.code === 'disposed'))) throw err;
            current.setFailed(id, toErrorPayload(err).message);
            reportError(err, `compare ${id}`);
            continue;
          }
        }
        current.setRun(id, run);
        await new Promise((resolve) => setTimeout(resolve, 0)); // paint this model before the next runs
      }
    });
  } catch (err) {
    if (mine !== seq) return;
    busy(false);
    const payload = toErrorPayload(err);
    replace(statusSlot, payload.code === 'cancelled' ? h('div', { class: 'notice', 'data-testid': 'compare-cancelled', role: 'status' }, 'Cancelled. Select again (or unpin) to compare.') : errorView(payload.message, payload.code));
    return;
  }
  if (mine !== seq) return;
  busy(false);
  const { figures, sentences } = current.finish();
  const truncated = figures.find((f) => f.run.truncated)?.run.truncated ?? null;
  replace(
    statusSlot,
    truncated
      ? h('div', { class: 'notice', 'data-testid': 'compare-truncated', role: 'status' }, `Compared the first ${truncated.keptTokens.toLocaleString('en-US')} of ${truncated.totalTokens.toLocaleString('en-US')} tokens (attentionLens.compare.maxTokens).`)
      : null,
  );
  occlusionButton.hidden = figures.length === 0;
  host.notify('comparisonDone', {
    uri: selection.uri,
    version: selection.version,
    startOffset: selection.startOffset,
    length: selection.text.length,
    tokenCount: Math.max(0, ...figures.map((f) => f.T)),
    truncated: truncated !== null,
    models: figures.map((f) => ({
      modelId: f.manifest.id,
      backend: f.run.backend,
      reused: f.run.reused,
      runMs: f.run.runMs,
      bitsPerByte: f.bitsPerByte,
      halfLife: Number.isFinite(f.halfLife) ? f.halfLife : null,
    })),
    sentences,
  });
}

/** Occlusion for every model that ran, one after another, with progress; cancel stops it. */
async function addOcclusion(): Promise<void> {
  const current = view;
  if (!current || !engine) return;
  const mine = seq;
  const { engine: eng } = await engine.promise;
  occlusionButton.hidden = true;
  busy(true);
  try {
    for (const { model, run } of current.runs) {
      const name = shortName(model.manifest);
      const w = await eng.occlusion(model, run.tokenIds, (done, total) => {
        if (mine === seq) replace(statusSlot, stepProgressView(`Occlusion, ${name}: ${done} of ${total} tokens replaced…`, done, total));
      });
      if (mine !== seq) return;
      current.setOcclusion(model.manifest.id, w);
    }
    replace(statusSlot, h('div', { class: 'muted', 'data-testid': 'occlusion-done', role: 'status' }, 'Occlusion added: dashed lines in "Influence against distance".'));
  } catch (err) {
    if (mine !== seq) return;
    const payload = toErrorPayload(err);
    replace(statusSlot, payload.code === 'cancelled' ? h('div', { class: 'notice', role: 'status' }, 'Occlusion cancelled.') : errorView(payload.message, payload.code));
    occlusionButton.hidden = false;
  } finally {
    if (mine === seq) busy(false);
  }
}

async function main(): Promise<void> {
  replace(
    app,
    h('p', { class: 'muted intro' }, 'The same selection through every bundled model: the Transformer, the LSTM and the GRU.'),
    backendSlot,
    selectionSlot,
    h('div', { class: 'compare-controls' }, pinButton, cancelButton, occlusionButton),
    statusSlot,
    body,
  );
  pinButton.hidden = true;
  busy(false);
  occlusionButton.hidden = true;
  pinButton.addEventListener('click', () => {
    pinned = pinned ? null : compared;
    persist();
    showPin();
    if (!pinned && latest !== compared) void compare(latest);
  });
  cancelButton.addEventListener('click', () => void engine?.promise.then((e) => e.engine.cancel(), () => undefined));
  occlusionButton.addEventListener('click', () => void addOcclusion());
  host.onNotification('selectionChanged', (selection) => {
    latest = selection;
    if (!pinned && initial) void compare(selection);
  });
  host.onNotification('settingsChanged', (next) => {
    const rerun = settings && (settings.compareMaxTokens !== next.compareMaxTokens || settings.backend !== next.backend);
    settings = next;
    if (rerun && compared) void compare(compared);
  });
  const state = (initial = await host.request('ready', { view: 'sidebar' }));
  settings = state.settings;
  latest = state.selection;
  window.addEventListener('pagehide', () => void engine?.promise.then((e) => e.engine.dispose(), () => undefined));
  await compare(pinned ?? state.selection);
}

main().catch((err) => {
  reportError(err, 'sidebar');
  replace(app, h('p', { class: 'error', role: 'alert' }, `Attention Lens could not start: ${err instanceof Error ? err.message : String(err)}`));
});
