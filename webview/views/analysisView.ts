// Why: one finished analysis on screen. It wires the shared lens state to the token strip, the toolbar
// (layer, family and head pickers, exports) and the tabs. Which tabs there are comes from the view
// registry (registry.ts): every entry whose needs the model's roles meet, in the registry's order.
// It is put on screen in steps of a few tasks (build): the strip, the toolbar and the tabs, the first view's data,
// the first view, then its first frame. As one task and one frame they were 80 and 135 ms on a cold panel
// (bench:profile --cold), past the 50 ms a page's task should take.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import type { Analysis } from '../../src/core/analyze';
import type { SaveFileParams, SelectionSummary } from '../../src/core/protocol';
import { tokenAt } from '../../src/core/influence';
import { type SelectElement, h, select } from '../dom';
import { onThemeChange } from './colors';
import { type JsonScope, MAX_JSON_VALUES, analysisJson, pngBase64 } from './exporter';
import { type HeadChoice, Lens } from './lens';
import { MatrixSource } from './matrixSource';
import { type ViewContext, type ViewEntry, type ViewInstance, viewsFor } from './registry';
import { TokenStrip } from './tokenStrip';
import type { Occlude } from './wFeed';
import type { ModelProbes } from '../probes';
import { formatCount } from '../../src/core/text';
import { LensError } from '../../src/core/errors';
import { TimeSlices } from '../../src/core/timeSlices';
import { yieldToUi } from '../yieldToUi';

export { TABS } from './registry';

/**
 * Main-thread time the steps after the strip take before letting the page draw (build). A task per step kept
 * each under 30 ms, but the page drew a frame of each half-built state in between: in a new window the heatmap
 * painted 274–464 ms after the analysis, against 91–160 ms when it was all one task (bench:vscode, three each).
 */
const BUILD_SLICE_MS = 20;

/** A view's id in the registry ("heatmap", "gates", "w", …). */
export type TabId = string;

export interface ViewChoice {
  tab: TabId;
  layer: number;
  head: HeadChoice;
}

export interface AnalysisViewHost {
  reveal(start: number, end: number): void;
  save(params: SaveFileParams): Promise<string | null>;
  /** The user changed tab, layer or head. */
  changed(choice: ViewChoice): void;
  /** Runs occlusion with the analysis's model (serialised with analyses by the engine). */
  occlude: Occlude;
  /** Called once occlusion has been computed (e.g. to offer it to the editor's influence hovers). */
  occluded?(w: Float32Array): void;
  /** What the analysis's model can compute beyond it (the Heads view's probe, the logit lens's weights). */
  probes?: ModelProbes;
}

export class AnalysisView {
  readonly element: HTMLElement;
  readonly lens: Lens;
  private readonly strip: TokenStrip;
  private readonly matrices: MatrixSource | undefined;
  private readonly entries: ViewEntry[];
  /** Each tab's view once built (see create). */
  private readonly views: Array<ViewInstance | undefined> = [];
  /** Each tab panel's content: its view's element once built. */
  private readonly slots: HTMLElement[];
  private readonly create: (index: number) => ViewInstance;
  private tab: TabId;
  private scope: SelectElement | null = null;
  private readonly status: HTMLElement;
  private readonly cleanup: Array<() => void> = [];
  private readonly context: ViewContext;
  private disposed = false;
  /** Resolves once the toolbar, the tabs and the current tab's view are built and its first frame is asked for. */
  readonly built: Promise<void>;

  constructor(
    analysis: Analysis,
    private readonly selection: SelectionSummary,
    private readonly backend: string,
    initial: ViewChoice,
    private readonly host: AnalysisViewHost,
  ) {
    const lens = (this.lens = new Lens(analysis, {
      reveal: (i) => host.reveal(lens.tokens[i].start, lens.tokens[i].end),
      persist: () => host.changed(this.choice()),
    }));
    this.status = h('div', { class: 'muted export-status', 'data-testid': 'export-status', 'aria-live': 'polite' });
    this.strip = new TokenStrip(lens);
    this.cleanup.push(onThemeChange(() => lens.emit('theme')));
    lens.layer = Math.max(0, Math.min(initial.layer, lens.layers - 1));
    if (lens.heads > 0) lens.head = typeof initial.head === 'number' && initial.head >= lens.heads ? 'mean' : initial.head === 'rollout' && !lens.attention ? 'mean' : initial.head;
    this.matrices = lens.attention ? new MatrixSource(lens) : undefined;
    this.entries = viewsFor(analysis);
    const context: ViewContext = (this.context = {
      analysis,
      lens,
      matrices: this.matrices,
      reveal: (start, end) => host.reveal(start, end),
      occlude: host.occlude,
      occluded: host.occluded ? (w) => host.occluded!(w) : undefined,
      showTab: (id) => this.selectTab(id),
      probes: host.probes,
    });
    // A view is built when its tab is first shown: a 12 × 12 model's first paint does not wait for every tab.
    this.create = (i) => {
      const view = (this.views[i] ??= this.entries[i].create(context));
      this.slots[i].replaceChildren(view.element);
      return view;
    };
    this.slots = this.entries.map(() => h('div', { class: 'view-slot' }));
    this.tab = this.entries.some((e) => e.id === initial.tab) ? initial.tab : this.entries[0].id;
    this.element = h('div', { class: 'analysis-view' }, this.strip.element);
    this.built = this.build();
  }

  /**
   * The rest of the view after the strip, in tasks of about BUILD_SLICE_MS: the toolbar's parts and the tabs (their
   * web components' first renders), then the current tab (activateTab). Stops when disposed meanwhile.
   */
  private async build(): Promise<void> {
    const slices = new TimeSlices({ pause: yieldToUi, sliceMs: BUILD_SLICE_MS, cancelled: () => this.disposed });
    try {
      await slices.pause(); // the strip's task ends here
      const toolbar = h('div', { class: 'toolbar' });
      this.element.append(toolbar);
      for (const part of this.toolbarParts()) {
        toolbar.append(part);
        await slices.more();
      }
      this.element.append(this.tabs());
      await slices.more();
      await this.activateTab(slices);
    } catch (err) {
      if (!(err instanceof LensError && err.code === 'cancelled')) throw err;
    }
  }

  /** Resolves once the token strip holds every token (in slices) and the first view is built. */
  get ready(): Promise<void> {
    return Promise.all([this.strip.ready, this.built]).then(() => undefined);
  }

  private choice(): ViewChoice {
    return { tab: this.tab, layer: this.lens.layer, head: this.lens.head };
  }

  private get index(): number {
    return Math.max(0, this.entries.findIndex((e) => e.id === this.tab));
  }

  /** The current tab's view, built now if it has not been. */
  private get view(): ViewInstance {
    return this.views[this.index] ?? this.create(this.index);
  }

  /** The toolbar's parts, in order: the pickers, the export buttons and the export status. */
  private toolbarParts(): HTMLElement[] {
    const lens = this.lens;
    const png = h('vscode-button', { secondary: '', 'data-testid': 'export-png', title: 'Save the current view as a PNG image' }, 'Export PNG');
    png.addEventListener('click', () => void this.exportPng());
    const layer = select('layer-picker', 'Layer', [...Array(lens.layers).keys()].map((l) => [String(l), `Layer ${l + 1}`]), String(lens.layer));
    layer.addEventListener('change', () => lens.setMatrix(Number(layer.value), lens.head));
    const field = (label: string, control: HTMLElement) => h('label', { class: 'field' }, h('span', { class: 'muted' }, label), control);
    let family: SelectElement | null = null;
    if (lens.families.length > 1) {
      family = select('family-picker', 'Which attention of this sequence', lens.families.map((f) => [f.key, f.label]), lens.family!.key);
      family.addEventListener('change', () => lens.setFamily(family!.value));
    }
    let head: SelectElement | null = null;
    if (lens.heads > 0) {
      const headOptions: Array<[string, string]> = [...Array(lens.heads).keys()].map((hd) => [String(hd), `Head ${hd + 1}`]);
      headOptions.push(['mean', 'Mean over heads'], ['max', 'Max over heads']);
      if (lens.attention) headOptions.push(['rollout', 'Rollout (through the chosen layer)']);
      head = select('head-picker', 'Head or aggregate shown in the attention views', headOptions, String(lens.head));
      head.addEventListener('change', () => lens.setMatrix(lens.layer, parseHead(head!.value)));
    }
    const sync = () => {
      if (layer.value !== String(lens.layer)) layer.value = String(lens.layer);
      if (head && head.value !== String(lens.head)) head.value = String(lens.head);
    };
    this.cleanup.push(lens.on('matrix', sync));
    this.syncToolbar = sync;
    sync();
    return [
      lens.layers > 0 ? field('Layer', layer) : null,
      family ? field('Attention', family) : null,
      head ? field('Heads', head) : null,
      h('span', { class: 'spacer' }),
      png,
      this.exportJsonButton(),
      this.status,
    ].filter((part) => part !== null);
  }

  private exportJsonButton(): HTMLElement {
    const wrap = h('span', { class: 'export-json' });
    if (this.entries.some((e) => e.scoped)) {
      this.scope = select(
        'export-scope',
        'What the JSON export holds',
        [
          ['matrix', 'JSON: current matrix'],
          ['layer', 'JSON: current layer, all heads'],
          ['all', 'JSON: all layers'],
        ],
        'matrix',
      );
      this.scope.hidden = !this.entries[this.index].scoped;
      wrap.append(this.scope);
    }
    const button = h('vscode-button', { secondary: '', 'data-testid': 'export-json', title: 'Save the tokens (with document ranges), surprisal and the data the current view shows as JSON' }, 'Export JSON');
    button.addEventListener('click', () => void this.exportJson());
    wrap.append(button);
    return wrap;
  }

  private tabs(): HTMLElement {
    const tabs = h('vscode-tabs', { 'data-testid': 'views', 'aria-label': 'Model views' }) as HTMLElement & { selectedIndex: number };
    this.entries.forEach((entry, i) => {
      const label = entry.label(this.lens.analysis);
      tabs.append(h('vscode-tab-header', { slot: 'header', 'data-testid': `tab-${entry.id}` }, label));
      tabs.append(h('vscode-tab-panel', { 'aria-label': label }, this.slots[i]));
    });
    tabs.selectedIndex = this.index;
    tabs.addEventListener('vsc-tabs-select', (e) => {
      this.tab = this.entries[(e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex]?.id ?? this.entries[0].id;
      void this.activateTab();
      this.host.changed(this.choice());
    });
    this.selectTab = (id: TabId) => {
      const i = this.entries.findIndex((e) => e.id === id);
      if (i < 0) return;
      tabs.selectedIndex = i;
      this.tab = id;
      void this.activateTab();
      this.host.changed(this.choice());
    };
    return tabs;
  }

  private selectTab: (id: TabId) => void = () => undefined;
  private syncToolbar: () => void = () => undefined;

  /**
   * Lets the newly visible tab size and paint itself in the next frame (hidden canvases have no size). A view not
   * built yet is first built, after its entry has prepared its data in slices and the page has had a turn (on the
   * build's clock, when given): its construction, and its layout and first draw, are then no longer one task.
   */
  private async activateTab(slices?: TimeSlices): Promise<void> {
    const index = this.index;
    if (!this.views[index]) {
      // A failure here is the view's to show when it computes the same data itself.
      await this.entries[index].prepare?.(this.context).catch(() => undefined);
      if (slices) await slices.more();
      else await yieldToUi();
      if (this.disposed || this.index !== index) return;
      void this.view; // built now; laid out and drawn in the next frame
    }
    requestAnimationFrame(() => {
      if (this.disposed) return;
      const current = this.view;
      this.views.forEach((v) => v && v !== current && v.deactivate?.());
      // A layer the view's data does not have (e.g. the residual stream's extra layer) is clamped to its last.
      const layers = current.layers?.() ?? this.lens.layers;
      if (layers > 0 && this.lens.layer >= layers) this.lens.setMatrix(layers - 1, this.lens.head);
      if (this.scope) this.scope.hidden = !this.entries[this.index].scoped;
      this.syncToolbar();
      current.activate();
    });
  }

  /** Pins and shows the token containing a document offset (the editor cursor moved); special tokens are skipped. */
  showOffset(offset: number): void {
    const tokens = this.lens.tokens;
    // Revealing a token selects it in the editor, whose cursor then sits at the token's end: keep that token
    // pinned rather than moving on to the next one, which starts there.
    const pinned = this.lens.selected === null ? undefined : tokens[this.lens.selected];
    if (pinned && pinned.start < offset && offset <= pinned.end) return;
    const at = tokenAt(tokens, offset);
    if (at >= 0) return this.lens.select(at);
    let last = tokens.length - 1;
    while (last >= 0 && tokens[last].special) last--;
    if (last >= 0 && offset === tokens[last].end) this.lens.select(last);
    else this.lens.select(null);
  }

  private async save(params: SaveFileParams): Promise<void> {
    this.status.className = 'muted export-status';
    this.status.removeAttribute('role');
    this.status.textContent = 'Saving…';
    try {
      const path = await this.host.save(params);
      this.status.textContent = path ? `Saved ${path}` : 'Export cancelled.';
    } catch (err) {
      this.fail(`Export failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private fail(message: string): void {
    this.status.className = 'error export-status';
    this.status.setAttribute('role', 'alert');
    this.status.textContent = message;
  }

  private async exportPng(): Promise<void> {
    const view = this.view;
    const canvas = view.canvas?.();
    if (!canvas || canvas.width <= 1) {
      this.fail('Nothing to export yet: the view has not been drawn.');
      return;
    }
    const name = view.pngName?.() ?? this.tab;
    await this.save({ suggestedName: `${name}.png`, filters: { 'PNG image': ['png'] }, data: pngBase64(canvas), encoding: 'base64' });
  }

  private async exportJson(): Promise<void> {
    const view = this.view;
    const scope = this.entries[this.index].scoped ? ((this.scope?.value as JsonScope | undefined) ?? 'matrix') : 'matrix';
    const values = view.jsonValues?.(scope) ?? 0;
    if (values > MAX_JSON_VALUES) {
      const n = formatCount;
      this.fail(`That export would hold ${n(values)} values (${n(this.lens.T)} tokens): too large for one JSON file. Export the current layer or the current matrix instead.`);
      return;
    }
    if (values > 4_000_000) this.status.textContent = `Preparing ${formatCount(values)} values…`;
    let data: string;
    let suffix: string;
    try {
      const part = view.exportJson ? await view.exportJson(scope) : null;
      suffix = part?.fileSuffix ? `-${part.fileSuffix}` : '';
      data = analysisJson(this.lens.analysis, this.selection, this.backend, { id: this.tab, label: this.entries[this.index].label(this.lens.analysis) }, part);
    } catch (err) {
      this.fail(err instanceof Error ? err.message : String(err));
      return;
    }
    await this.save({ suggestedName: `analysis-${this.lens.analysis.model.id}${suffix}.json`, filters: { JSON: ['json'] }, data, encoding: 'utf8' });
  }

  dispose(): void {
    this.disposed = true;
    this.cleanup.forEach((f) => f());
    this.strip.dispose();
    this.views.forEach((v) => v?.dispose());
    this.matrices?.dispose();
  }
}

function parseHead(v: string): HeadChoice {
  return v === 'mean' || v === 'max' || v === 'rollout' ? v : Number(v);
}
