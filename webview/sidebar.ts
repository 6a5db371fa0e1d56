// Entry point of the "Compare architectures" sidebar webview: follows the editor's selection (a pin freezes
// it), runs the models the user chose (every causal language model by default; the choice is kept in the
// webview's state) on it one after another (reusing the panel's analysis of the same text),
// with progress and cancel, draws the comparison as runs arrive, adds occlusion on demand (each model rerun
// on its own sequences' ids, special tokens left alone), and reports each finished comparison to the host.
// One ComparePage owns all of it; the module only creates it.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import { compareRunOf } from '../src/core/compare';
import { shortName } from '../src/core/compareSummary';
import { LensError, toErrorPayload } from '../src/core/errors';
import { prepareInfluenceMatrix } from '../src/core/influenceMatrix';
import type { BackendInfo, CompareText, InitialState, LensSettings, ModelDescriptor, SelectionSummary } from '../src/core/protocol';
import { formatCount, isBlank } from '../src/core/text';
import { OrtBackends } from './backend';
import { backendView, h, invalidModelsView, replace, selectionSummary } from './dom';
import { type CompareChoice, parseChoice } from './compare/choice';
import { CompareView } from './compare/compareView';
import { ModelChooser } from './compare/modelChooser';
import { Engine } from './engine';
import { ModelFetcher } from './modelFetcher';
import { downloadWorkerOf, fileRoutesOf } from './boot';
import { FileRoutes } from './fileRoutes';
import { errorView, progressView, stepProgressView } from './views/status';
import { getState, host, readModelBytes, reportError, setState } from './vscodeApi';
import { yieldToUi } from './yieldToUi';
import { quietSelectLayout } from './quietSelect';

interface SavedState {
  pinned: SelectionSummary | null;
  /** The user's choice of models to compare (choice.ts); absent: the default. */
  models?: CompareChoice;
}

/** After the user (un)checks a model, wait this long for more changes before comparing again. */
const CHOICE_DEBOUNCE_MS = 500;

const button = (testid: string, label: string, title: string) =>
  h('vscode-button', { 'data-testid': testid, title, secondary: '' }, label) as HTMLElement & { disabled: boolean };

class ComparePage {
  private readonly backendSlot = h('div', { class: 'slot' });
  private readonly selectionSlot = h('div', { class: 'slot' });
  private readonly problemsSlot = h('div', { class: 'slot' });
  private readonly statusSlot = h('div', { class: 'slot status-slot', 'data-testid': 'compare-status' });
  private readonly body = h('div', { class: 'slot' });
  private readonly pinButton = button('compare-pin', 'Pin', 'Keep comparing this selection while you select elsewhere');
  private readonly cancelButton = button('compare-cancel', 'Cancel', 'Stop running the models');
  private readonly occlusionButton = button('compare-occlusion', 'Add occlusion', 'Replace each token in turn (with the model’s occlusion token, else a space) and rerun every model: the same influence measure for all of them (slow)');
  private initial: InitialState | undefined;
  private settings: LensSettings | undefined;
  private ort: OrtBackends | undefined;
  private engine: { preference: string; promise: Promise<{ engine: Engine; info: BackendInfo }> } | undefined;
  /** Faster routes to the page's files, when the host serves them (browser and remote windows). */
  private readonly routes = new FileRoutes(fileRoutesOf(document.body));
  /** Model files, fetched once for this page's engines (the first ahead of the backend). */
  private readonly files = new ModelFetcher(readModelBytes, undefined, this.routes, downloadWorkerOf(document.body, this.routes));
  /** The selection compared (or being compared), and the editor's latest one (differs while pinned). */
  private compared: SelectionSummary | null = null;
  private latest: SelectionSummary | null = null;
  private pinned = getState<SavedState>()?.pinned ?? null;
  private choice = parseChoice(getState<SavedState>()?.models);
  private choiceTimer = 0;
  private readonly chooser = new ModelChooser(this.choice, (choice) => this.choose(choice));
  private view: CompareView | null = null;
  private seq = 0;

  constructor(private readonly app: HTMLElement) {}

  private persist(): void {
    setState<SavedState>({ pinned: this.pinned, ...(this.choice ? { models: this.choice } : {}) });
  }

  /** The user changed which models are compared: keep it, name them, and compare again after a pause. */
  private choose(choice: CompareChoice | undefined): void {
    this.choice = choice;
    this.persist();
    this.nameModels();
    clearTimeout(this.choiceTimer);
    this.choiceTimer = window.setTimeout(() => {
      const shown = this.pinned ?? this.compared;
      if (this.initial && shown) void this.compare(this.initial, shown);
    }, CHOICE_DEBOUNCE_MS);
  }

  private busy(on: boolean): void {
    this.cancelButton.hidden = !on;
    this.app.setAttribute('aria-busy', String(on));
  }

  /** Runs an action on the engine once it exists (ignoring a backend that failed: it says so itself). */
  private withEngine(action: (engine: Engine) => unknown): void {
    void this.engine?.promise.then((e) => action(e.engine), () => undefined);
  }

  /** The engine for the backend setting, initialised on first use. */
  private getEngine(initial: InitialState): Promise<{ engine: Engine; info: BackendInfo }> {
    const preference = this.settings?.backend ?? 'auto';
    if (this.engine?.preference !== preference) {
      this.withEngine((e) => e.dispose());
      replace(this.backendSlot, backendView('loading'));
      const ort = (this.ort ??= new OrtBackends(initial.ortBaseUri, this.routes));
      const promise = ort.init(preference, initial.probeModelUri).then(
        (info) => {
          replace(this.backendSlot, backendView(info));
          void ort.keepFetchedBinaries(); // for the next pages and windows (binaryCache.ts)
          void this.files.keepFetched(ort.modelFileWriter); // and the models' small files, as they are fetched (keptModelFiles.ts)
          return { engine: new Engine({ provider: info.backend, ort: ort.module(info.backend), files: this.files, tokenizers: ort.tokenizers, klSums: () => ort.logits.sums(), predictRows: ort.logits.predictRows }), info };
        },
        (err: unknown) => {
          const error = err instanceof Error ? err : new Error(String(err));
          replace(this.backendSlot, backendView(error));
          reportError(error, 'backend');
          throw error;
        },
      );
      this.engine = { preference, promise };
    }
    return this.engine.promise;
  }

  private showPin(): void {
    const pin = this.pinButton;
    pin.textContent = this.pinned ? 'Unpin' : 'Pin';
    pin.setAttribute('aria-pressed', String(!!this.pinned));
    pin.title = this.pinned ? 'Follow the editor selection again' : 'Keep comparing this selection while you select elsewhere';
    pin.hidden = !this.compared;
  }

  /** Compares the models on a selection; a newer call supersedes (and cancels) the running one. */
  private async compare(initial: InitialState, selection: SelectionSummary | null): Promise<void> {
    const mine = ++this.seq;
    const statusSlot = this.statusSlot;
    this.compared = selection;
    this.showPin();
    this.occlusionButton.hidden = true;
    this.view?.dispose();
    this.view = null;
    replace(this.body);
    replace(statusSlot);
    if (!selection) {
      this.withEngine((e) => e.cancel());
      this.busy(false);
      replace(this.selectionSlot, h('p', { class: 'muted', 'data-testid': 'no-selection' }, 'Select text or code in an editor to compare how the models read it.'));
      return;
    }
    replace(this.selectionSlot, selectionSummary(selection, false));
    if (isBlank(selection.text)) {
      replace(statusSlot, errorView('The selection is only whitespace: select some text or code to compare the models on.', 'empty-selection'));
      return;
    }
    const models = this.chooser.compared();
    if (!models.length) {
      this.withEngine((e) => e.cancel());
      this.busy(false);
      replace(statusSlot, h('p', { class: 'notice', 'data-testid': 'compare-no-models', role: 'status' }, 'No model is chosen: check at least one under “Models compared” above.'));
      return;
    }
    if (!this.engine) models.forEach((m) => this.files.prefetch(m)); // the first comparison: download while the backend starts
    this.busy(true);
    replace(statusSlot, progressView('Waiting for the inference backend…'));
    let eng: Engine;
    let info: BackendInfo;
    try {
      ({ engine: eng, info } = await this.getEngine(initial));
    } catch (err) {
      if (mine === this.seq) {
        this.busy(false);
        replace(statusSlot, errorView(`The inference backend is unavailable: ${toErrorPayload(err).message}`, 'backend-unavailable'));
      }
      return;
    }
    if (mine !== this.seq) return;
    const open = (modelId: string) => void host.request('openInPanel', { selection, modelId }).catch((err) => reportError(err, 'openInPanel'));
    const current = (this.view = new CompareView(models, selection, { open }));
    replace(this.body, current.element);
    const maxTokens = this.settings?.compareMaxTokens ?? 256;
    const text: CompareText = { uri: selection.uri, version: selection.version, startOffset: selection.startOffset, text: selection.text, maxTokens };
    try {
      await eng.exclusive(async (signal) => {
        const reused = await host.request('panelRun', text, { timeoutMs: 30_000, signal }).catch(() => null);
        for (const [i, model] of models.entries()) {
          if (mine !== this.seq) throw new LensError('cancelled', 'A newer selection replaced this comparison.');
          const id = model.manifest.id;
          const name = shortName(model.manifest);
          let run = reused?.modelId === id ? reused : undefined;
          if (!run) {
            const step = `${name} (${i + 1} of ${models.length})`;
            current.setRunning(id, `Running on ${info.backend === 'webgpu' ? 'WebGPU' : 'wasm'}…`);
            replace(statusSlot, progressView(`Running ${step}…`));
            try {
              const analysis = await eng.analyseWith(model, selection.text, selection.startOffset, maxTokens, signal, (p) => {
                if (mine === this.seq) replace(statusSlot, progressView(p.loaded >= p.total ? `Starting ${step}…` : `Loading ${step}…`, p.loaded, p.total));
              });
              // The rollout W (O(L·T³)) in slices first, so that the page stays responsive while it is computed.
              await prepareInfluenceMatrix(analysis, 'rollout', { pause: yieldToUi, cancelled: () => signal.aborted });
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
      if (mine !== this.seq) return;
      this.busy(false);
      const payload = toErrorPayload(err);
      replace(statusSlot, payload.code === 'cancelled' ? h('div', { class: 'notice', 'data-testid': 'compare-cancelled', role: 'status' }, 'Cancelled. Select again (or unpin) to compare.') : errorView(payload.message, payload.code));
      return;
    }
    if (mine !== this.seq) return;
    this.busy(false);
    const { figures, sentences } = current.finish();
    const truncated = figures.find((f) => f.run.truncated)?.run.truncated ?? null;
    replace(
      statusSlot,
      truncated
        ? h('div', { class: 'notice', 'data-testid': 'compare-truncated', role: 'status' }, `Compared the first ${formatCount(truncated.keptTokens)} of ${formatCount(truncated.totalTokens)} tokens (attentionLens.compare.maxTokens).`)
        : null,
    );
    this.occlusionButton.hidden = figures.length === 0;
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
  private async addOcclusion(): Promise<void> {
    const current = this.view;
    if (!current || !this.engine) return;
    const mine = this.seq;
    const { engine: eng } = await this.engine.promise;
    this.occlusionButton.hidden = true;
    this.busy(true);
    try {
      for (const { model, run } of current.runs) {
        const name = shortName(model.manifest);
        const w = await eng.occlusion(model, { sequenceIds: run.sequenceIds, special: run.special }, (done, total) => {
          if (mine === this.seq) replace(this.statusSlot, stepProgressView(`Occlusion, ${name}: ${done} of ${total} tokens replaced…`, done, total));
        });
        if (mine !== this.seq) return;
        current.setOcclusion(model.manifest.id, w);
      }
      replace(this.statusSlot, h('div', { class: 'muted', 'data-testid': 'occlusion-done', role: 'status' }, 'Occlusion added: dashed lines in "Influence against distance".'));
    } catch (err) {
      if (mine !== this.seq) return;
      const payload = toErrorPayload(err);
      replace(this.statusSlot, payload.code === 'cancelled' ? h('div', { class: 'notice', role: 'status' }, 'Occlusion cancelled.') : errorView(payload.message, payload.code));
      this.occlusionButton.hidden = false;
    } finally {
      if (mine === this.seq) this.busy(false);
    }
  }

  /** Names the models compared in the intro, from their manifests. */
  private nameModels(): void {
    const names = this.chooser.compared().map((m) => shortName(m.manifest));
    this.intro.textContent = `The same selection through the models chosen below: ${names.length > 1 ? `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}` : (names[0] ?? 'none yet')}.`;
  }

  /** Lists the installed models in the chooser and names those compared. */
  private offer(models: readonly ModelDescriptor[]): void {
    this.chooser.set(models);
    this.nameModels();
  }

  /** Names the models compared, from their manifests, once the host has listed them. */
  private readonly intro = h('p', { class: 'muted intro', 'data-testid': 'compare-intro' }, 'The same selection through the models chosen below.');

  async start(): Promise<void> {
    replace(
      this.app,
      this.intro,
      this.backendSlot,
      this.problemsSlot,
      this.selectionSlot,
      this.chooser.element,
      h('div', { class: 'compare-controls' }, this.pinButton, this.cancelButton, this.occlusionButton),
      this.statusSlot,
      this.body,
    );
    this.pinButton.hidden = true;
    this.busy(false);
    this.occlusionButton.hidden = true;
    this.pinButton.addEventListener('click', () => {
      this.pinned = this.pinned ? null : this.compared;
      this.persist();
      this.showPin();
      if (!this.pinned && this.initial && this.latest !== this.compared) void this.compare(this.initial, this.latest);
    });
    this.cancelButton.addEventListener('click', () => this.withEngine((e) => e.cancel()));
    this.occlusionButton.addEventListener('click', () => void this.addOcclusion());
    host.onNotification('selectionChanged', (selection) => {
      this.latest = selection;
      if (!this.pinned && this.initial) void this.compare(this.initial, selection);
    });
    host.onNotification('modelsChanged', ({ models, invalidModels }) => {
      if (!this.initial) return;
      this.initial = { ...this.initial, models, invalidModels };
      replace(this.problemsSlot, invalidModelsView(invalidModels));
      this.offer(models);
      const shown = this.pinned ?? this.compared;
      if (shown) void this.compare(this.initial, shown);
    });
    host.onNotification('settingsChanged', (next) => {
      const previous = this.settings;
      this.settings = next;
      const rerun = previous && (previous.compareMaxTokens !== next.compareMaxTokens || previous.backend !== next.backend);
      if (rerun && this.initial && this.compared) void this.compare(this.initial, this.compared);
    });
    const state = (this.initial = await host.request('ready', { view: 'sidebar' }));
    this.settings = state.settings;
    this.offer(state.models);
    this.latest = state.selection;
    replace(this.problemsSlot, invalidModelsView(state.invalidModels));
    window.addEventListener('pagehide', () => {
      clearTimeout(this.choiceTimer);
      this.files.dispose();
      // The engine releases its sessions, then the worker that held them stops.
      this.withEngine((e) => void e.dispose().finally(() => this.ort?.dispose()));
    });
    await this.compare(state, this.pinned ?? state.selection);
  }
}

quietSelectLayout();
const app = document.getElementById('app')!;
new ComparePage(app).start().catch((err) => {
  reportError(err, 'sidebar');
  replace(app, h('p', { class: 'error', role: 'alert' }, `Attention Lens could not start: ${err instanceof Error ? err.message : String(err)}`));
});
