// Entry point of the "Attention Lens: Fill" webview: shows a fill request at once (the file, the hidden
// span, the models that can fill it in), starts the inference backend, loads the model with progress, has
// it score the original span and write its own filling, and renders both with what the filling looked at.
// It reports each outcome to the host (infillDone, infillAttention for the editor hovers, infillFailed),
// answers snapshots, compares every infilling model on request, and restores its request after a reload.
// A newer request (or another model picked) cancels the run in progress; an error leaves the page usable.
// One FillPage owns all of it; the module only creates it.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import { LensError, toErrorPayload } from '../src/core/errors';
import { bitsPerToken, contextLookedAtBy, fillingMatch } from '../src/core/infillViews';
import type { InfillDone, InfillRequest, InfillSnapshot, InitialState, ModelDescriptor } from '../src/core/protocol';
import { backendView, h, invalidModelsView, replace } from './dom';
import type { Engine } from './engine';
import { ModelFetcher } from './modelFetcher';
import { downloadWorkerOf, fileRoutesOf } from './boot';
import { FileRoutes } from './fileRoutes';
import { EngineHost, nextPaint } from './engineHost';
import { FillCompare, type RunOne } from './fill/compare';
import { type FillData, fillData } from './fill/fillData';
import { fillModelPicker, infillingModels, noInfillingModels, requestView } from './fill/requestView';
import { ResultView, visibleViews } from './fill/resultView';
import { errorView, progressView } from './views/status';
import { getState, host, readModelBytes, reportError, setState } from './vscodeApi';
import { quietSelectLayout } from './quietSelect';
import { formatCount, formatMs } from '../src/core/text';

/** What survives a window reload (VS Code keeps it with the webview). */
interface SavedState {
  request: InfillRequest | null;
  modelId: string | null;
}

const isCancel = (err: unknown) => err instanceof LensError && (err.code === 'cancelled' || err.code === 'disposed');

class FillPage {
  private readonly backendSlot = h('div', { class: 'slot' });
  private readonly requestSlot = h('div', { class: 'slot' }, h('p', { class: 'muted' }, 'Waiting for a selection to fill in…'));
  private readonly pickerSlot = h('span', { class: 'picker-slot' });
  private readonly compareButton = h('vscode-button', { secondary: '', 'data-testid': 'fill-compare-run', title: 'Run every installed model that declares infilling on this request, one after another' }, 'Compare infilling models') as HTMLElement & { disabled: boolean };
  private readonly timingsSlot = h('div', { class: 'slot timings-slot' });
  private readonly problemsSlot = h('div', { class: 'slot' });
  private readonly statusSlot = h('div', { class: 'slot status-slot' });
  private readonly resultRoot = h('section', { class: 'fill-result', 'data-testid': 'fill-result', 'data-state': 'idle', 'aria-label': 'Fill' });
  private readonly compareSlot = h('div', { class: 'slot' });
  private readonly saved = getState<Partial<SavedState>>();
  private initial: InitialState | undefined;
  private gotInitial: (state: InitialState) => void = () => undefined;
  private readonly initialState = new Promise<InitialState>((resolve) => (this.gotInitial = resolve));
  private engines: EngineHost | undefined;
  /** Faster routes to the page's files, when the host serves them (browser and remote windows). */
  private readonly routes = new FileRoutes(fileRoutesOf(document.body));
  private readonly files = new ModelFetcher(readModelBytes, undefined, this.routes, downloadWorkerOf(document.body, this.routes));
  private current: { request: InfillRequest; modelId: string | null } | null = null;
  /** The result on screen; `done` once it is painted and reported. */
  private shown: { data: FillData; view: ResultView; done?: InfillDone } | null = null;
  private compare: FillCompare | null = null;
  private controller: AbortController | null = null;
  private runSeq = 0;
  private requested = false;

  constructor(private readonly app: HTMLElement) {
    this.compareButton.disabled = true;
    this.compareButton.addEventListener('click', () => void this.compareModels());
  }

  private persist(): void {
    setState<SavedState>({ request: this.current?.request ?? null, modelId: this.current?.modelId ?? null });
  }

  private setPhase(phase: 'idle' | 'loading' | 'done' | 'error'): void {
    this.resultRoot.setAttribute('data-state', phase);
    this.resultRoot.setAttribute('aria-busy', String(phase === 'loading'));
    this.compareButton.disabled = phase === 'loading' || !this.current || !infillingModels(this.initial?.models ?? []).length;
  }

  /** The model asked for, else the picker's, else the first that declares infilling. */
  private chooseModel(modelId?: string | null): ModelDescriptor | undefined {
    const models = infillingModels(this.initial?.models ?? []);
    const find = (id?: string | null) => (id ? models.find((m) => m.manifest.id === id) : undefined);
    const picker = this.pickerSlot.firstElementChild as (HTMLElement & { value?: string }) | null;
    return find(modelId) ?? find(picker?.value) ?? models[0];
  }

  private showPicker(value: string): void {
    const models = this.initial?.models ?? [];
    replace(
      this.pickerSlot,
      fillModelPicker(models, value, (id) => {
        if (this.current && id !== this.current.modelId) void this.fill(this.current.request, id);
      }),
    );
  }

  private clearResult(): void {
    this.shown?.view.dispose();
    this.shown = null;
    replace(this.resultRoot);
    replace(this.timingsSlot);
  }

  private fail(err: unknown, request: InfillRequest, modelId: string): void {
    const payload = toErrorPayload(err);
    this.clearResult();
    this.setPhase('error');
    replace(this.statusSlot, errorView(payload.message, payload.code));
    host.notify('infillFailed', { ...payload, uri: request.uri, version: request.version, modelId });
  }

  private reveal(data: FillData, col: number): void {
    const token = data.result.source[col];
    if (!token || token.special) return;
    host.request('revealRange', { uri: data.result.request.uri, start: token.start, end: token.end }).catch((err) => reportError(err, 'revealRange'));
  }

  /** Shows a request and fills it in with a model; a newer call cancels this one. */
  private async fill(request: InfillRequest, modelId?: string | null): Promise<void> {
    const seq = ++this.runSeq;
    this.controller?.abort();
    const controller = (this.controller = new AbortController());
    this.compare?.cancel();
    if (this.current?.request !== request) replace(this.compareSlot); // a comparison of another request is stale
    this.requested = true;
    replace(this.requestSlot, requestView(request));
    this.current = { request, modelId: modelId ?? request.modelId ?? null };
    await this.initialState;
    if (seq !== this.runSeq) return;
    const model = this.chooseModel(modelId ?? request.modelId);
    if (!model) {
      replace(this.pickerSlot, noInfillingModels());
      this.fail(new LensError('model-invalid', 'No installed model declares "infilling" in its manifest, so none can fill in a selection.'), request, modelId ?? request.modelId ?? '');
      return;
    }
    const id = model.manifest.id;
    this.current = { request, modelId: id };
    this.showPicker(id);
    this.persist();
    this.setPhase('loading');
    const name = model.manifest.displayName;
    const engines = this.engines!;
    replace(this.statusSlot, progressView(engines.backend ? `Filling in with ${name}…` : 'Waiting for the inference backend…'));
    const slot = engines.slot;
    let engine: Engine;
    try {
      engine = await slot.promise;
    } catch (err) {
      if (seq === this.runSeq) this.fail(new LensError('backend-unavailable', `The inference backend is unavailable: ${toErrorPayload(err).message}`), request, id);
      return;
    }
    if (seq !== this.runSeq) return;
    const wasLoaded = slot.loaded.has(id);
    if (!wasLoaded) replace(this.statusSlot, progressView(`Loading ${name}…`, 0, model.modelBytes + (model.externalDataBytes ?? 0)));
    let outcome: { data: FillData; loadMs: number };
    try {
      const loaded = await engine.exclusive((signal) =>
        engine.load(model, signal, (p) => {
          if (seq === this.runSeq) replace(this.statusSlot, progressView(p.loaded >= p.total ? `Creating the ${name} session…` : `Loading ${name}…`, p.loaded, p.total));
        }),
      );
      if (seq !== this.runSeq) return;
      slot.loaded.add(id);
      replace(this.statusSlot, progressView(`${name} scores the original span and writes its own filling…`));
      const result = await engine.infill(model, request, controller.signal);
      if (seq !== this.runSeq) return;
      outcome = { data: fillData(result), loadMs: wasLoaded ? 0 : loaded.loadMs };
    } catch (err) {
      if (isCancel(err) || seq !== this.runSeq) return;
      this.fail(err, request, id);
      return;
    }
    const renderStart = performance.now();
    try {
      this.render(outcome.data);
      await nextPaint();
    } catch (err) {
      if (seq === this.runSeq) this.fail(err, request, id);
      return;
    }
    if (seq !== this.runSeq) return;
    const done = this.report(outcome.data, engines.backend?.backend ?? 'wasm', outcome.loadMs, performance.now() - renderStart);
    this.shown!.done = done;
    this.setPhase('done');
    replace(this.statusSlot);
    const t = done.timings;
    replace(this.timingsSlot, h('div', { class: 'timings muted', 'data-testid': 'fill-timings' }, `${formatCount(done.sourceTokenCount)} source tokens · load ${formatMs(t.loadMs)} · score ${formatMs(t.scoreMs)} · generate ${formatMs(t.generateMs)} · render ${formatMs(t.renderMs)}`));
    host.notify('infillDone', done);
    // Editor hovers: off the critical path, after the first paint.
    setTimeout(() => {
      const summary = outcome.data.summary;
      if (seq !== this.runSeq || !summary) return;
      const { result } = outcome.data;
      host.notify('infillAttention', { uri: request.uri, version: request.version, modelId: id, label: summary.label, context: contextLookedAtBy(result.source, summary.matrix, result.filling.tokens, 3) });
    }, 0);
  }

  private render(data: FillData): void {
    this.clearResult();
    const view = new ResultView(data, (col) => this.reveal(data, col));
    this.shown = { data, view };
    replace(this.resultRoot, view.element);
  }

  /** The small report of a finished fill (no tensors). */
  private report(data: FillData, backend: 'webgpu' | 'wasm', loadMs: number, renderMs: number): InfillDone {
    const { result } = data;
    const surprisal = result.original.surprisal;
    return {
      uri: result.request.uri,
      version: result.request.version,
      modelId: result.modelId,
      backend,
      sourceTokenCount: result.source.length,
      original: {
        text: result.request.span.text,
        tokens: result.original.tokens.map((t, i) => ({ text: t.text, probability: result.original.probability[i], surprisal: surprisal[i] })),
        bitsPerToken: bitsPerToken(surprisal),
      },
      filling: { text: result.filling.text, tokenCount: result.filling.ids.length, matchesOriginal: fillingMatch(result.request.span.text, result.filling.text) === 'exact' },
      timings: { loadMs, scoreMs: result.timings.scoreMs, generateMs: result.timings.generateMs, renderMs },
    };
  }

  private snapshot(includeTensors: boolean): InfillSnapshot | null {
    if (!this.shown?.done) return null;
    const { data, done } = this.shown;
    const { result, cross } = data;
    let tensors: InfillSnapshot['cross'];
    if (includeTensors && cross) {
      const m = cross.matrices;
      const values: number[] = [];
      for (let l = 0; l < m.layers; l++) for (const v of m.layer(l)) values.push(v);
      tensors = { dims: [m.layers, m.heads, m.rows, m.cols], data: values };
    }
    return {
      uri: done.uri,
      version: done.version,
      modelId: done.modelId,
      source: result.source.map((t) => ({ text: t.text, start: t.start, end: t.end, special: t.special })),
      original: done.original,
      filling: { text: result.filling.text, tokens: [...result.filling.tokens] },
      ...(tensors ? { cross: tensors } : {}),
      views: visibleViews(this.app),
    };
  }

  /** Runs every infilling model on the current request, one after another, below the result. */
  private async compareModels(): Promise<void> {
    const current = this.current;
    const engines = this.engines;
    if (!current || !engines) return;
    const models = infillingModels(this.initial?.models ?? []);
    this.compare ??= new FillCompare((data, col) => this.reveal(data, col));
    replace(this.compareSlot, this.compare.element);
    const runOne: RunOne = async (model, signal, onProgress) => {
      const engine = await engines.slot.promise;
      const stop = () => engine.cancel();
      signal.addEventListener('abort', stop, { once: true });
      try {
        const loaded = await engine.exclusive((jobSignal) => engine.load(model, jobSignal, (p) => onProgress(p.loaded, p.total)));
        engines.slot.loaded.add(model.manifest.id);
        const started = performance.now();
        const result = await engine.infill(model, current.request, signal);
        return { data: fillData(result), loadMs: loaded.loadMs, runMs: performance.now() - started };
      } finally {
        signal.removeEventListener('abort', stop);
      }
    };
    await this.compare.run(models, current.request, runOne);
  }

  async start(): Promise<void> {
    replace(
      this.app,
      h('header', { class: 'panel-header' }, h('h1', {}, 'Attention Lens: Fill'), this.backendSlot),
      this.requestSlot,
      h('div', { class: 'controls' }, h('label', { class: 'field' }, h('span', { class: 'muted' }, 'Model'), this.pickerSlot), this.compareButton, this.timingsSlot),
      this.problemsSlot,
      this.statusSlot,
      this.resultRoot,
      this.compareSlot,
    );
    host.onRequest('showInfill', (request) => {
      void this.fill(request);
      return { version: request.version };
    });
    host.onRequest('infillSnapshot', ({ includeTensors }) => this.snapshot(includeTensors));
    host.onNotification('modelsChanged', ({ models, invalidModels }) => {
      if (!this.initial) return;
      this.initial = { ...this.initial, models, invalidModels };
      replace(this.problemsSlot, invalidModelsView(invalidModels));
      this.showPicker(this.chooseModel(this.current?.modelId)?.manifest.id ?? '');
      this.setPhase((this.resultRoot.getAttribute('data-state') as 'idle' | 'loading' | 'done' | 'error') ?? 'idle');
    });
    host.onNotification('settingsChanged', (next) => {
      if (this.engines) void this.engines.start(next.backend);
    });
    const state = (this.initial = await host.request('ready', { view: 'fill' }));
    replace(this.problemsSlot, invalidModelsView(state.invalidModels));
    this.engines = new EngineHost(state.ortBaseUri, state.probeModelUri, this.files, this.routes, {
      status: (info) => {
        replace(this.backendSlot, backendView(info));
        if (info instanceof Error) reportError(info, 'backend');
        else if (info !== 'loading') host.notify('backendReady', info);
      },
      restarted: () => {
        if (this.current) void this.fill(this.current.request, this.current.modelId);
      },
    });
    const first = this.chooseModel(this.saved?.modelId);
    this.showPicker(first?.manifest.id ?? '');
    this.gotInitial(state);
    if (this.saved?.request && !this.requested) void this.fill(this.saved.request, this.saved.modelId); // restored after a window reload
    window.addEventListener('pagehide', () => {
      this.files.dispose();
      this.engines?.dispose();
    });
    if (first) this.files.prefetch(first); // the page opens to fill: download while the backend starts
    await this.engines.start(state.settings.backend);
  }
}

quietSelectLayout();
const app = document.getElementById('app')!;
new FillPage(app).start().catch((err) => {
  reportError(err, 'fill');
  replace(app, h('p', { class: 'error', role: 'alert' }, `Attention Lens could not start: ${err instanceof Error ? err.message : String(err)}`));
});
