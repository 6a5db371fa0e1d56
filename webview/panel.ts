// Entry point of the analysis panel webview: the selection, the inference backend, and the analysis
// lifecycle (pick a model, load it with progress, run it, render the views, report to the host). It also
// answers the host's snapshot requests, follows the editor cursor, and restores itself after a reload.

import { type Analysis, outputOf } from '../src/core/analyze';
import { analysisCovers, compareRunOf } from '../src/core/compare';
import { LensError, toErrorPayload } from '../src/core/errors';
import type { AnalysisDone, AnalysisSnapshot, BackendInfo, InitialState, LensSettings, ModelDescriptor, SelectionSummary } from '../src/core/protocol';
import { initBackend } from './backend';
import { backendView, h, replace, selectionSummary } from './dom';
import { Engine, prefetchModel } from './engine';
import { postInfluence } from './influence';
import { AnalysisView, TABS, type ViewChoice } from './views/analysisView';
import { type ModelPicker, errorView, modelPicker, progressView, timingsView, truncatedView } from './views/status';
import { getState, host, reportError, setState } from './vscodeApi';
import { outputByRole } from '../src/core/manifest';

/** What survives a window reload (VS Code keeps it with the webview). */
interface SavedState extends ViewChoice {
  selection: SelectionSummary | null;
  modelId: string | null;
}

const app = document.getElementById('app')!;
const backendSlot = h('div', { class: 'slot' });
const selectionSlot = h('div', { class: 'slot' }, h('p', { class: 'muted' }, 'Waiting for a selection…'));
const pickerSlot = h('span', { class: 'picker-slot' });
const timingsSlot = h('div', { class: 'slot timings-slot' });
const statusSlot = h('div', { class: 'slot status-slot' });
const analysisRoot = h('section', { class: 'analysis', 'data-testid': 'analysis', 'data-state': 'idle', 'aria-label': 'Analysis' });

const saved = getState<Partial<SavedState>>();
let choice: ViewChoice = {
  tab: TABS.includes(saved?.tab as ViewChoice['tab']) ? (saved!.tab as ViewChoice['tab']) : 'heatmap',
  layer: typeof saved?.layer === 'number' ? saved.layer : 0,
  head: saved?.head ?? 'mean',
};
let initial: InitialState | undefined;
/** Resolves with the answer to `ready`; a showSelection may arrive before it (the host need not wait for it). */
let gotInitial: (state: InitialState) => void = () => undefined;
const initialState = new Promise<InitialState>((resolve) => (gotInitial = resolve));
let settings: LensSettings | undefined;
let picker: ModelPicker | undefined;
let backend: BackendInfo | null = null;
let backendRequested: string | undefined;
let engine: { promise: Promise<Engine>; resolve(e: Engine): void; reject(err: unknown): void; engine?: Engine; loaded: Set<string> };
let current: { selection: SelectionSummary; modelId: string } | null = null;
let shown: { analysis: Analysis; selection: SelectionSummary; view: AnalysisView } | null = null;
let runSeq = 0;
/** Whether any selection was asked for (the host's showSelection wins over the state saved before a reload). */
let requested = false;

function newEngineSlot(): typeof engine {
  let resolve!: (e: Engine) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<Engine>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // awaited by each analysis, which reports the failure itself
  return { promise, resolve, reject, loaded: new Set() };
}
engine = newEngineSlot();

function persist(): void {
  setState<SavedState>({ selection: current?.selection ?? null, modelId: current?.modelId ?? null, ...choice });
}

function setPhase(phase: 'idle' | 'loading' | 'analysed' | 'error'): void {
  analysisRoot.setAttribute('data-state', phase);
  analysisRoot.setAttribute('aria-busy', String(phase === 'loading'));
}

function showSelection(selection: SelectionSummary): void {
  replace(selectionSlot, selectionSummary(selection, true));
}

/** The model to use: the one asked for, else the picker's, else the default setting, else the first. */
function chooseModel(modelId?: string | null): ModelDescriptor | undefined {
  const models = initial?.models ?? [];
  const find = (id?: string | null) => (id ? models.find((m) => m.manifest.id === id) : undefined);
  return find(modelId) ?? find(picker?.value) ?? find(settings?.defaultModel) ?? models[0];
}

function fail(err: unknown, selection: SelectionSummary, modelId: string): void {
  const payload = toErrorPayload(err);
  shown?.view.dispose();
  shown = null;
  replace(analysisRoot);
  replace(timingsSlot);
  setPhase('error');
  replace(statusSlot, errorView(payload.message, payload.code));
  host.notify('analysisFailed', { ...payload, uri: selection.uri, version: selection.version, modelId });
}

const nextPaint = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

/** Analyses a selection and shows it; a newer call supersedes an older one silently. */
async function analyse(selection: SelectionSummary, modelId?: string | null): Promise<void> {
  const seq = ++runSeq;
  requested = true;
  showSelection(selection);
  await initialState;
  if (seq !== runSeq) return;
  const model = chooseModel(modelId);
  if (!model) {
    fail(new LensError('model-invalid', 'No models are available: the extension found no valid bundled model.'), selection, modelId ?? '');
    return;
  }
  const id = model.manifest.id;
  current = { selection, modelId: id };
  if (picker && picker.value !== id) picker.value = id;
  persist();
  setPhase('loading');
  if (selection.text.trim().length === 0) {
    fail(new LensError('empty-selection', 'The selection is empty or only whitespace: select some text or code to analyse.'), selection, id);
    return;
  }
  replace(statusSlot, progressView(backend ? `Analysing with ${model.manifest.displayName}…` : 'Waiting for the inference backend…'));
  const slot = engine;
  let eng: Engine;
  try {
    eng = await slot.promise;
  } catch (err) {
    if (seq === runSeq) fail(new LensError('backend-unavailable', `The inference backend is unavailable: ${toErrorPayload(err).message}`), selection, id);
    return;
  }
  if (seq !== runSeq) return;
  const wasLoaded = slot.loaded.has(id);
  if (!wasLoaded) replace(statusSlot, progressView(`Loading ${model.manifest.displayName}…`, 0, model.modelBytes));
  let result: Awaited<ReturnType<Engine['analyse']>>;
  try {
    result = await eng.analyse(model, selection.text, selection.startOffset, settings?.maxTokens ?? 2048, (p) => {
      if (seq !== runSeq) return;
      const done = p.loaded >= p.total;
      replace(statusSlot, progressView(done ? `Creating the ${model.manifest.displayName} session and running it…` : `Loading ${model.manifest.displayName}…`, p.loaded, p.total));
    });
  } catch (err) {
    if ((err instanceof LensError && (err.code === 'cancelled' || err.code === 'disposed')) || seq !== runSeq) return;
    fail(err, selection, id);
    return;
  }
  if (seq !== runSeq) return;
  slot.loaded.add(id);
  const renderStart = performance.now();
  try {
    shown?.view.dispose();
    shown = null;
    const view = new AnalysisView(result, selection, backend?.backend ?? 'wasm', choice, {
      reveal: (start, end) => void host.request('revealRange', { uri: selection.uri, start, end }).catch((err) => reportError(err, 'revealRange')),
      save: (params) => host.request('saveFile', params, { timeoutMs: 10 * 60_000 }),
      changed: (next) => {
        choice = next;
        persist();
      },
      occlude: (ids, onProgress, signal) => eng.occlusion(model, ids, onProgress, signal),
      // Once occlusion is computed, editor hovers can show it when that is the chosen metric.
      occluded: (w) => {
        if (settings?.influenceMetric === 'occlusion' && shown?.analysis === result) postInfluence(result, selection.uri, selection.version, 'occlusion', w);
      },
    });
    shown = { analysis: result, selection, view };
    replace(analysisRoot, view.element);
    replace(statusSlot, truncatedView(result.truncated));
    view.activateTab();
    await nextPaint();
  } catch (err) {
    fail(err, selection, id);
    return;
  }
  if (seq !== runSeq) return;
  const done: AnalysisDone = {
    uri: selection.uri,
    version: selection.version,
    modelId: id,
    backend: backend?.backend ?? 'wasm',
    tokenCount: result.tokens.length,
    truncated: result.truncated,
    timings: { loadMs: wasLoaded ? 0 : result.loadMs, ...result.timings, renderMs: performance.now() - renderStart },
  };
  replace(timingsSlot, timingsView(done));
  setPhase('analysed');
  host.notify('analysisDone', done);
  // Editor hovers and decorations: computed after the first paint, off the critical path.
  setTimeout(() => {
    if (seq === runSeq) postInfluence(result, selection.uri, selection.version, settings?.influenceMetric ?? 'rollout');
  }, 0);
}

function snapshot(includeTensors: boolean): AnalysisSnapshot | null {
  if (!shown) return null;
  const { analysis, selection } = shown;
  const attention = includeTensors ? outputOf(analysis, 'attention') : undefined;
  const gates = includeTensors ? outputOf(analysis, 'gates') : undefined;
  const gateOrder = outputByRole(analysis.manifest, 'gates')?.gateOrder ?? [];
  return {
    uri: selection.uri,
    version: selection.version,
    modelId: analysis.model.id,
    tokens: analysis.tokens.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end, partial: t.partial })),
    surprisal: Array.from(analysis.surprisal, (s) => (Number.isFinite(s) ? s : null)),
    ...(attention ? { attention: { dims: [...attention.dims], data: Array.from(attention.data) } } : {}),
    ...(gates ? { gates: { dims: [...gates.dims], data: Array.from(gates.data), order: gateOrder } } : {}),
  };
}

async function startBackend(state: InitialState, preference: LensSettings['backend']): Promise<void> {
  if (backendRequested === preference) {
    return;
  }
  const firstStart = backendRequested === undefined;
  backendRequested = preference;
  backend = null;
  if (!firstStart) {
    // Analyses wait on the slot of the backend they started with; a new backend gets a new engine.
    const old = engine;
    engine = newEngineSlot();
    void old.engine?.dispose();
    old.reject(new LensError('cancelled', 'The backend setting changed.'));
  }
  replace(backendSlot, backendView('loading'));
  if (!firstStart && current) void analyse(current.selection, current.modelId);
  try {
    const info = await initBackend(preference, state.ortBaseUri, state.probeModelUri);
    if (backendRequested !== preference) {
      return; // A newer setting superseded this initialisation.
    }
    backend = info;
    replace(backendSlot, backendView(info));
    host.notify('backendReady', info);
    engine.engine = new Engine(info);
    engine.resolve(engine.engine);
  } catch (err) {
    const error = err instanceof Error ? err : new Error(String(err));
    replace(backendSlot, backendView(error));
    reportError(error, 'backend');
    engine.reject(error);
  }
}

async function main(): Promise<void> {
  replace(
    app,
    h('header', { class: 'panel-header' }, h('h1', {}, 'Attention Lens'), backendSlot),
    selectionSlot,
    h('div', { class: 'controls' }, h('label', { class: 'field' }, h('span', { class: 'muted' }, 'Model'), pickerSlot), timingsSlot),
    statusSlot,
    analysisRoot,
  );
  host.onRequest('showSelection', (params) => {
    const { modelId, ...selection } = params;
    performance.clearMarks('lens:request');
    performance.mark('lens:request'); // when it arrived: npm run bench:vscode splits the command's latency here
    void analyse(selection, modelId);
    return { version: selection.version, length: selection.text.length, backend };
  });
  host.onRequest('analysisSnapshot', ({ includeTensors }) => snapshot(includeTensors));
  host.onRequest('compareRun', (text) => {
    if (!shown || shown.selection.uri !== text.uri || shown.selection.version !== text.version) return null;
    const { analysis } = shown;
    return analysisCovers(analysis, text.startOffset, text.text, text.maxTokens) ? compareRunOf(analysis, backend?.backend ?? 'wasm', 0, true) : null;
  });
  host.onNotification('cursorMoved', ({ uri, version, offset }) => {
    if (shown && shown.selection.uri === uri && shown.selection.version === version) shown.view.showOffset(offset);
  });
  host.onNotification('settingsChanged', (next) => {
    const rerun = settings !== undefined && settings.maxTokens !== next.maxTokens;
    settings = next;
    if (initial && backendRequested !== next.backend) void startBackend(initial, next.backend);
    else if (rerun && current) void analyse(current.selection, current.modelId);
  });
  const state = (initial = await host.request('ready', { view: 'panel' }));
  settings = state.settings;
  const first = chooseModel(saved?.modelId);
  picker = modelPicker(state.models, first?.manifest.id ?? '', (id) => {
    if (current && id !== current.modelId) void analyse(current.selection, id);
  });
  replace(pickerSlot, picker);
  gotInitial(state);
  if (state.selection) {
    void analyse(state.selection);
  } else if (saved?.selection && !requested) {
    void analyse(saved.selection, saved.modelId); // restored after a window reload
  }
  window.addEventListener('pagehide', () => void engine.engine?.dispose());
  if (first) prefetchModel(first); // the panel opens to analyse: download while the backend starts
  await startBackend(state, state.settings.backend);
}

main().catch((err) => {
  reportError(err, 'panel');
  replace(app, h('p', { class: 'error', role: 'alert' }, `Attention Lens could not start: ${err instanceof Error ? err.message : String(err)}`));
});
