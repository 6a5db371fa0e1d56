// Entry point of the analysis panel webview: the selection, the inference backend, and the analysis
// lifecycle (pick a model, load it with progress, run it, render the views, report to the host). It also
// answers the host's snapshot requests, follows the editor cursor, and restores itself after a reload.
// One PanelPage owns all of it; the module only creates it.
// Before a run, the memory its outputs would take is estimated from the manifest (memoryEstimate.ts): a
// selection that would not fit is not run; the panel says why, with the figures, and offers the first
// tokens that fit, instead of a crashed webview.

import type { Analysis } from '../src/core/analyze';
import { analysisCovers, compareRunOf } from '../src/core/compare';
import { LensError, toErrorPayload } from '../src/core/errors';
import { prepareInfluenceMatrix } from '../src/core/influenceMatrix';
import { RELEASE_BEFORE_RUN_BYTES, formatBytes, halfPrecisionNote, heldBytes, maxTokensWithin, memoryBudget, overBudgetMessage, runMemory, selectionLengths } from '../src/core/memoryEstimate';
import type { AnalysisDone, AnalysisSnapshot, BackendInfo, InitialState, LensSettings, ModelDescriptor, SelectionSummary } from '../src/core/protocol';
import { gateData, mainMixing, mixingMatrices } from '../src/core/roleData';
import { isBlank } from '../src/core/text';
import { fetchedAfterBinary } from '../src/core/ortFiles';
import { type LikelyBuild, OrtBackends } from './backend';
import { mark } from './marks';
import { bootOf, downloadWorkerOf, fileRoutesOf } from './boot';
import type { DownloadWorkerClient } from './downloadClient';
import { type StartedBackend, takeStarted } from './startedBackend';
import { FileRoutes } from './fileRoutes';
import { backendView, h, invalidModelsView, replace, selectionSummary } from './dom';
import { yieldToUi } from './yieldToUi';
import { Engine } from './engine';
import type { Tokenize } from './tokenizeRoutes';
import { ModelFetcher } from './modelFetcher';
import { newEngineSlot, nextPaint } from './engineHost';
import { type InfluenceSource, postInfluence } from './influence';
import { PointerRest } from './pointerRest';
import { AnalysisView, TABS, type ViewChoice } from './views/analysisView';
import { type ModelPicker, errorView, halfPrecisionView, memoryOfferView, modelPicker, progressView, timingsView, truncatedView } from './views/status';
import { getState, host, readModelBytes, reportError, setState } from './vscodeApi';
import { quietSelectLayout } from './quietSelect';

/** What survives a window reload (VS Code keeps it with the webview). */
interface SavedState extends ViewChoice {
  selection: SelectionSummary | null;
  modelId: string | null;
}

class PanelPage {
  private readonly backendSlot = h('div', { class: 'slot' });
  private readonly selectionSlot = h('div', { class: 'slot' }, h('p', { class: 'muted' }, 'Waiting for a selection…'));
  private readonly pickerSlot = h('span', { class: 'picker-slot' });
  private readonly timingsSlot = h('div', { class: 'slot timings-slot' });
  private readonly problemsSlot = h('div', { class: 'slot' });
  private readonly statusSlot = h('div', { class: 'slot status-slot' });
  private readonly analysisRoot = h('section', { class: 'analysis', 'data-testid': 'analysis', 'data-state': 'idle', 'aria-label': 'Analysis' });
  private readonly saved = getState<Partial<SavedState>>();
  private choice: ViewChoice = {
    tab: TABS.includes(this.saved?.tab as ViewChoice['tab']) ? (this.saved!.tab as ViewChoice['tab']) : 'heatmap',
    layer: typeof this.saved?.layer === 'number' ? this.saved.layer : 0,
    head: this.saved?.head ?? 'mean',
  };
  private initial: InitialState | undefined;
  /** Resolves with the answer to `ready`; a showSelection may arrive before it (the host need not wait for it). */
  private gotInitial: (state: InitialState) => void = () => undefined;
  private readonly initialState = new Promise<InitialState>((resolve) => (this.gotInitial = resolve));
  private settings: LensSettings | undefined;
  private picker: ModelPicker | undefined;
  private ort: OrtBackends | undefined;
  private backend: BackendInfo | null = null;
  private backendRequested: string | undefined;
  private engine = newEngineSlot();
  /** Faster routes to the page's files, when the host serves them (browser and remote windows): the started backend's. */
  private readonly routes: FileRoutes;
  /** Model files, fetched once for this page's engines (the first ahead of the backend); the tokenizer file unparsed. */
  private readonly files: ModelFetcher;
  private current: { selection: SelectionSummary; modelId: string } | null = null;
  private shown: { analysis: Analysis; selection: SelectionSummary; view: AnalysisView } | null = null;
  /** Answers the host's influenceAt for the summary last posted, when it offers rollout on demand. */
  private influenceSource: InfluenceSource | undefined;
  /** The summary's and rollout factors' work waits while the pointer moves over the page (pointerRest.ts). */
  private readonly pointerRest = new PointerRest(document);
  private runSeq = 0;
  /** Whether any selection was asked for (the host's showSelection wins over the state saved before a reload). */
  private requested = false;

  /** started: the backend the HTML's starter began (panelStart.ts), if any; the page takes it over, routes and all. */
  constructor(
    private readonly app: HTMLElement,
    private readonly started: StartedBackend<OrtBackends, DownloadWorkerClient> | undefined,
  ) {
    this.routes = started?.ort.routes ?? new FileRoutes(fileRoutesOf(document.body));
    // The starter's download worker client, with the reads it began (the likely first model's large files).
    this.files = new ModelFetcher(readModelBytes, undefined, this.routes, started?.downloads ?? downloadWorkerOf(document.body, this.routes), false);
  }

  private persist(): void {
    setState<SavedState>({ selection: this.current?.selection ?? null, modelId: this.current?.modelId ?? null, ...this.choice });
  }

  private setPhase(phase: 'idle' | 'loading' | 'analysed' | 'error'): void {
    this.analysisRoot.setAttribute('data-state', phase);
    this.analysisRoot.setAttribute('aria-busy', String(phase === 'loading'));
  }

  /**
   * Downloads a model's files ahead of its load: a model whose files the starter would fetch early
   * (fetchedAfterBinary) once onnxruntime's binary has arrived, as the starter does; a larger one at once, as its
   * download is what the first command waits for. Not if an analysis began meanwhile with another model.
   */
  private prefetchAfterBinary(model: ModelDescriptor): void {
    const small = fetchedAfterBinary(model.modelBytes) && (model.externalDataUri === undefined || fetchedAfterBinary(model.externalDataBytes));
    void ((small && this.ort?.binaryFetched) || Promise.resolve()).then(() => {
      if (!this.current || this.current.modelId === model.manifest.id) this.files.prefetch(model);
    });
  }

  /** The model to use: the one asked for, else the picker's, else the default setting, else the first. */
  private chooseModel(modelId?: string | null): ModelDescriptor | undefined {
    const models = this.initial?.models ?? [];
    const find = (id?: string | null) => (id ? models.find((m) => m.manifest.id === id) : undefined);
    return find(modelId) ?? find(this.picker?.value) ?? find(this.settings?.defaultModel) ?? models[0];
  }

  private fail(err: unknown, selection: SelectionSummary, modelId: string): void {
    const payload = toErrorPayload(err);
    this.closeShown();
    this.setPhase('error');
    replace(this.statusSlot, errorView(payload.message, payload.code));
    host.notify('analysisFailed', { ...payload, uri: selection.uri, version: selection.version, modelId });
  }

  /**
   * Analyses a selection and shows it; a newer call supersedes an older one silently. `fitted` is a token
   * limit the user took from the memory offer (else the setting applies).
   */
  private async analyse(selection: SelectionSummary, modelId?: string | null, fitted?: number): Promise<void> {
    const seq = ++this.runSeq;
    this.requested = true;
    replace(this.selectionSlot, selectionSummary(selection, true));
    await this.initialState;
    if (seq !== this.runSeq) return;
    const model = this.chooseModel(modelId);
    if (!model) {
      this.fail(new LensError('model-invalid', 'No models are available: the extension found no valid bundled model.'), selection, modelId ?? '');
      return;
    }
    const id = model.manifest.id;
    this.current = { selection, modelId: id };
    this.files.keepOnly(model); // a download begun for another model (the HTML's guess, the first choice) stops
    if (this.picker && this.picker.value !== id) this.picker.value = id;
    this.persist();
    this.setPhase('loading');
    if (isBlank(selection.text)) {
      this.fail(new LensError('empty-selection', 'The selection is empty or only whitespace: select some text or code to analyse.'), selection, id);
      return;
    }
    const name = model.manifest.displayName;
    replace(this.statusSlot, progressView(this.backend ? `Analysing with ${name}…` : 'Waiting for the inference backend…'));
    const slot = this.engine;
    let engine: Engine;
    try {
      engine = await slot.promise;
    } catch (err) {
      if (seq === this.runSeq) this.fail(new LensError('backend-unavailable', `The inference backend is unavailable: ${toErrorPayload(err).message}`), selection, id);
      return;
    }
    if (seq !== this.runSeq) return;
    const wasLoaded = slot.loaded.has(id);
    if (!wasLoaded) replace(this.statusSlot, progressView(`Loading ${name}…`, 0, model.modelBytes + (model.externalDataBytes ?? 0)));
    const maxTokens = fitted ?? this.settings?.maxTokens ?? 2048;
    const onProgress = (p: { loaded: number; total: number }) => {
      if (seq !== this.runSeq) return;
      const done = p.loaded >= p.total;
      replace(this.statusSlot, progressView(done ? `Creating the ${name} session and running it…` : `Loading ${name}…`, p.loaded, p.total));
    };
    let outcome: { result: Awaited<ReturnType<Engine['analyse']>> } | { overBudget: string; fit: number };
    try {
      // One job: load, count the tokens, and run only when the outputs fit in memory.
      outcome = await engine.exclusive(async (signal) => {
        const loaded = await engine.load(model, signal, onProgress, selection.text);
        const over = await this.overBudget(model, loaded.tokenize, loaded.tokenizeAside, selection.text, maxTokens);
        if (over) return over;
        await yieldToUi(); // counting the tokens and the analysis's own tokenizing: two tasks, not one
        this.releaseLarge(name);
        const result = await engine.analyseWith(model, selection.text, selection.startOffset, maxTokens, signal, onProgress);
        return { result: { ...result, loadMs: loaded.loadMs + result.loadMs } };
      });
    } catch (err) {
      if ((err instanceof LensError && (err.code === 'cancelled' || err.code === 'disposed')) || seq !== this.runSeq) return;
      this.fail(err, selection, id);
      return;
    }
    if (seq !== this.runSeq) return;
    slot.loaded.add(id);
    if ('overBudget' in outcome) {
      this.offerShorter(outcome.overBudget, outcome.fit, selection, id);
      return;
    }
    const { result } = outcome;
    mark('analysed');
    await yieldToUi(); // the analysis and the views' construction are two tasks, not one long one
    if (seq !== this.runSeq) return;
    const renderStart = performance.now();
    try {
      const view = this.render(result, selection, engine, model, fitted !== undefined ? 'the memory an analysis may take' : undefined);
      await view.built; // in steps over a few tasks (AnalysisView.build)
      if (seq !== this.runSeq) return;
      mark('rendered');
      await nextPaint();
      mark('painted');
      void this.ort?.keepFetchedBinaries(); // for the next pages and windows, now that the first result is shown
      void this.files.keepFetched(this.ort?.modelFileWriter); // the model's small files too, in onnxruntime's worker (keptModelFiles.ts)
      await view.ready; // "analysed" once the strip holds every token
    } catch (err) {
      this.fail(err, selection, id);
      return;
    }
    if (seq !== this.runSeq) return;
    const done: AnalysisDone = {
      uri: selection.uri,
      version: selection.version,
      modelId: id,
      backend: this.backend?.backend ?? 'wasm',
      tokenCount: result.tokens.length,
      truncated: result.truncated,
      timings: { loadMs: wasLoaded ? 0 : result.loadMs, ...result.timings, renderMs: performance.now() - renderStart },
    };
    replace(this.timingsSlot, timingsView(done));
    this.setPhase('analysed');
    host.notify('analysisDone', done);
    // Editor hovers and decorations: computed after the first paint, off the critical path.
    setTimeout(() => {
      if (seq !== this.runSeq) return;
      const stale = () => seq !== this.runSeq;
      void postInfluence(result, selection.uri, selection.version, this.settings?.influenceMetric ?? 'rollout', undefined, stale, this.pointerRest).then((source) => {
        if (stale()) return;
        this.influenceSource = source;
        mark('influence');
      });
    }, 0);
  }

  /**
   * Why a run of this selection would not fit in memory, with the first tokens that would (see
   * memoryEstimate.ts: the model's outputs at the selection's token counts, against the budget its
   * weights leave); undefined when it fits.
   */
  private async overBudget(model: ModelDescriptor, tokenize: Tokenize, tokenizeAside: Tokenize, text: string, maxTokens: number): Promise<{ overBudget: string; fit: number } | undefined> {
    const budget = memoryBudget(model.modelBytes + (model.externalDataBytes ?? 0));
    const counted = await selectionLengths(model.manifest, tokenizeAside, text, maxTokens, await tokenize(text, {}));
    const memory = runMemory(model.manifest, counted.lengths);
    if (memory.bytes <= budget) return undefined;
    const fit = Math.min(maxTokensWithin(model.manifest, budget, counted.special), counted.tokens - 1);
    return { overBudget: overBudgetMessage(model.manifest, memory, budget, fit), fit };
  }

  /** Disposes the shown analysis's views and empties their places. */
  private closeShown(): void {
    this.shown?.view.dispose();
    this.shown = null;
    replace(this.analysisRoot);
    replace(this.timingsSlot);
  }

  /**
   * Before a run: drops the shown analysis when its outputs hold more than RELEASE_BEFORE_RUN_BYTES, so that its
   * memory is free for the new run's (the progress says so); a smaller one stays on screen until replaced.
   */
  private releaseLarge(name: string): void {
    const bytes = this.shown ? heldBytes(this.shown.analysis.outputs) : 0;
    if (bytes <= RELEASE_BEFORE_RUN_BYTES) return;
    this.closeShown();
    this.influenceSource = undefined;
    replace(this.statusSlot, progressView(`Analysing with ${name}… (the previous analysis, ${formatBytes(bytes)}, was closed to make room for this one)`));
  }

  /** Shows why a selection was not run, and a button that analyses the first `fit` tokens; the host hears of it as a refused request. */
  private offerShorter(message: string, fit: number, selection: SelectionSummary, modelId: string): void {
    this.closeShown();
    this.setPhase('error');
    replace(this.statusSlot, memoryOfferView(message, fit, () => void this.analyse(selection, modelId, fit)));
    host.notify('analysisFailed', { code: 'over-budget', message, uri: selection.uri, version: selection.version, modelId });
  }

  /** Replaces the views with those of a finished analysis; `truncatedBy` names a limit other than the setting. */
  private render(result: Analysis, selection: SelectionSummary, engine: Engine, model: ModelDescriptor, truncatedBy?: string): AnalysisView {
    this.shown?.view.dispose();
    this.shown = null;
    this.influenceSource = undefined;
    const view = new AnalysisView(result, selection, this.backend?.backend ?? 'wasm', this.choice, {
      reveal: (start, end) => void host.request('revealRange', { uri: selection.uri, start, end }).catch((err) => reportError(err, 'revealRange')),
      save: (params) => host.request('saveFile', params, { timeoutMs: 10 * 60_000 }),
      changed: (next) => {
        this.choice = next;
        this.persist();
      },
      // The analysis itself, not only its ids: occlusion leaves its special tokens alone.
      occlude: (_ids, onProgress, signal, onMethod) => engine.occlusion(model, result, onProgress, signal, onMethod),
      probes: engine.probes(model),
      // Once occlusion is computed, editor hovers can show it when that is the chosen metric.
      occluded: (w) => {
        if (this.settings?.influenceMetric === 'occlusion' && this.shown?.analysis === result) void postInfluence(result, selection.uri, selection.version, 'occlusion', w, () => this.shown?.analysis !== result, this.pointerRest);
      },
    });
    this.shown = { analysis: result, selection, view };
    replace(this.analysisRoot, view.element);
    replace(this.statusSlot, truncatedView(result.truncated, truncatedBy), halfPrecisionView(halfPrecisionNote(result.outputs)));
    return view;
  }

  private snapshot(includeTensors: boolean): AnalysisSnapshot | null {
    if (!this.shown) return null;
    const { analysis, selection } = this.shown;
    // The main family's matrices as one [L, H, rows, cols] array: concatenated here only, on request.
    const family = includeTensors ? mainMixing(analysis) : undefined;
    let attention: { dims: number[]; data: number[] } | undefined;
    if (family) {
      const m = mixingMatrices(analysis, family);
      const data: number[] = [];
      for (let l = 0; l < m.layers; l++) for (const v of m.layer(l)) data.push(v);
      attention = { dims: [m.layers, m.heads, m.rows, m.cols], data };
    }
    const gates = includeTensors ? gateData(analysis) : undefined;
    const sequences = { sequences: analysis.sequences.map((s) => ({ id: s.id, label: s.label, tokenCount: s.tokens.length })) };
    return {
      uri: selection.uri,
      version: selection.version,
      modelId: analysis.model.id,
      tokens: analysis.tokens.map((t) => ({ id: t.id, text: t.text, start: t.start, end: t.end, partial: t.partial, special: t.special })),
      surprisal: Array.from(analysis.surprisal, (s) => (Number.isFinite(s) ? s : null)),
      ...(attention ? { attention } : {}),
      ...(gates ? { gates: { dims: [...gates.tensor.dims], data: Array.from(gates.tensor.data), order: gates.gates.map((g) => g.name) } } : {}),
      ...sequences,
    };
  }

  /** initialising: the initialisation for this preference when it is already under way (the HTML's starter began it). */
  private async startBackend(ort: OrtBackends, probeModelUri: string, preference: LensSettings['backend'], initialising?: Promise<BackendInfo>, likely?: LikelyBuild): Promise<void> {
    if (this.backendRequested === preference) {
      return;
    }
    const firstStart = this.backendRequested === undefined;
    this.backendRequested = preference;
    this.backend = null;
    if (!firstStart) {
      // Analyses wait on the slot of the backend they started with; a new backend gets a new engine.
      const old = this.engine;
      this.engine = newEngineSlot();
      void old.engine?.dispose();
      old.reject(new LensError('cancelled', 'The backend setting changed.'));
    }
    replace(this.backendSlot, backendView('loading'));
    if (!firstStart && this.current) void this.analyse(this.current.selection, this.current.modelId);
    try {
      const info = await (initialising ?? ort.init(preference, probeModelUri, likely));
      if (this.backendRequested !== preference) {
        return; // A newer setting superseded this initialisation.
      }
      this.backend = info;
      mark('backend');
      replace(this.backendSlot, backendView(info));
      host.notify('backendReady', info);
      this.engine.engine = new Engine({ provider: info.backend, ort: ort.module(info.backend), files: this.files, tokenizers: ort.tokenizers, klSums: () => ort.logits.sums(), predictRows: ort.logits.predictRows, tokenizeOnlyOffThread: true });
      this.engine.resolve(this.engine.engine);
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      replace(this.backendSlot, backendView(error));
      reportError(error, 'backend');
      this.engine.reject(error);
    }
  }

  async start(): Promise<void> {
    replace(
      this.app,
      h('header', { class: 'panel-header' }, h('h1', {}, 'Attention Lens'), this.backendSlot),
      this.selectionSlot,
      h('div', { class: 'controls' }, h('label', { class: 'field' }, h('span', { class: 'muted' }, 'Model'), this.pickerSlot), this.timingsSlot),
      this.problemsSlot,
      this.statusSlot,
      this.analysisRoot,
    );
    host.onRequest('showSelection', (params) => {
      const { modelId, ...selection } = params;
      mark('request'); // when it arrived: npm run bench:vscode splits the command's latency here
      void this.analyse(selection, modelId);
      return { version: selection.version, length: selection.text.length, backend: this.backend };
    });
    host.onRequest('analysisSnapshot', ({ includeTensors }) => this.snapshot(includeTensors));
    host.onRequest('influenceAt', (params) => this.influenceSource?.at(params) ?? null);
    host.onRequest('compareRun', async (text, signal) => {
      const shown = this.shown;
      if (!shown || shown.selection.uri !== text.uri || shown.selection.version !== text.version) return null;
      if (!analysisCovers(shown.analysis, text.startOffset, text.text, text.maxTokens)) return null;
      // Usually computed already, for the hovers' summary; if not, in slices rather than in this task.
      await prepareInfluenceMatrix(shown.analysis, 'rollout', { pause: yieldToUi, cancelled: () => signal.aborted });
      return compareRunOf(shown.analysis, this.backend?.backend ?? 'wasm', 0, true);
    });
    host.onNotification('cursorMoved', ({ uri, version, offset }) => {
      if (this.shown && this.shown.selection.uri === uri && this.shown.selection.version === version) this.shown.view.showOffset(offset);
    });
    host.onNotification('modelsChanged', ({ models, invalidModels }) => {
      if (!this.initial) return;
      this.initial = { ...this.initial, models, invalidModels };
      replace(this.problemsSlot, invalidModelsView(invalidModels));
      const keep = this.picker?.value ?? this.current?.modelId;
      const chosen = this.chooseModel(keep);
      this.picker = modelPicker(models, chosen?.manifest.id ?? '', (id) => {
        if (this.current && id !== this.current.modelId) void this.analyse(this.current.selection, id);
      });
      replace(this.pickerSlot, this.picker);
    });
    host.onNotification('settingsChanged', (next) => {
      const rerun = this.settings !== undefined && this.settings.maxTokens !== next.maxTokens;
      this.settings = next;
      if (this.initial && this.ort && this.backendRequested !== next.backend) void this.startBackend(this.ort, this.initial.probeModelUri, next.backend);
      else if (rerun && this.current) void this.analyse(this.current.selection, this.current.modelId);
    });
    // The page's HTML names onnxruntime's files and the backend setting (webviewHtml.ts): the backend starts
    // now, while the host gathers the initial state (it checks the models on a first run).
    const boot = bootOf(document.body);
    // The model the host expects the first command to load: its files download while the host checks the
    // models and answers `ready` (seconds for a large model on a first run); it is loaded only if `ready` lists it.
    // An answer that comes after the first analysis began (and chose its files) is ignored.
    void host.request('likelyFirstModel', {}).then((model) => model && !this.requested && this.prefetchAfterBinary(model), (err: unknown) => console.warn(`No early download: ${toErrorPayload(err).message}`));
    // The HTML's starter (panelStart.ts) has usually begun it already, from the same boot attributes; else it begins here.
    const backendStarted = boot
      ? this.startBackend((this.ort = this.started?.ort ?? new OrtBackends(boot.ortBaseUri, this.routes)), boot.probeModelUri, boot.backend, this.started?.info, boot.likely)
      : undefined;
    const state = (this.initial = await host.request('ready', { view: 'panel' }));
    mark('ready');
    this.settings = state.settings;
    replace(this.problemsSlot, invalidModelsView(state.invalidModels));
    const first = this.chooseModel(this.saved?.modelId);
    this.picker = modelPicker(state.models, first?.manifest.id ?? '', (id) => {
      if (this.current && id !== this.current.modelId) void this.analyse(this.current.selection, id);
    });
    replace(this.pickerSlot, this.picker);
    this.gotInitial(state);
    if (state.selection) {
      void this.analyse(state.selection);
    } else if (this.saved?.selection && !this.requested) {
      void this.analyse(this.saved.selection, this.saved.modelId); // restored after a window reload
    }
    // The engine releases its sessions, then the worker that held them stops.
    window.addEventListener('pagehide', () => {
      this.files.dispose();
      this.pointerRest.dispose();
      void Promise.resolve(this.engine.engine?.dispose()).finally(() => this.ort?.dispose());
    });
    if (first) this.prefetchAfterBinary(first); // the panel opens to analyse: download while the backend starts
    const ort = (this.ort ??= new OrtBackends(state.ortBaseUri, this.routes));
    // Whether this page holds a kept copy of onnxruntime's binary: the host's next panel preloads it only when none is.
    ort.onBinaryKept((file, kept) => host.notify('binaryKept', { file, kept }));
    await backendStarted;
    await this.startBackend(ort, state.probeModelUri, state.settings.backend); // nothing if the setting is the one started with
  }
}

mark('script');
quietSelectLayout();
const app = document.getElementById('app')!;
// Taken as the script starts, even without boot attributes: a starter that runs later then starts nothing.
new PanelPage(app, takeStarted<OrtBackends, DownloadWorkerClient>()).start().catch((err) => {
  reportError(err, 'panel');
  replace(app, h('p', { class: 'error', role: 'alert' }, `Attention Lens could not start: ${err instanceof Error ? err.message : String(err)}`));
});
