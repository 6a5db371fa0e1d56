// Why: one finished analysis on screen. It wires the shared lens state to the token strip, the layer (and
// for attention, head) pickers, the exports and the tabs the model has: Heatmap / Head view / Model view
// for attention, Gates / State for recurrent gates, and W(t, k) for every model.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-tab-header/index.js';
import '@vscode-elements/elements/dist/vscode-tab-panel/index.js';
import '@vscode-elements/elements/dist/vscode-tabs/index.js';
import { type Analysis, outputOf } from '../../src/core/analyze';
import type { SaveFileParams, SelectionSummary } from '../../src/core/protocol';
import { h } from '../dom';
import { onThemeChange } from './colors';
import { type JsonScope, analysisJson, jsonValueCount, pngBase64 } from './exporter';
import { AttentionFeed } from './feeds';
import { GatesView, stateView } from './gatesView';
import { HeadView } from './headView';
import { Heatmap } from './heatmap';
import { type HeadChoice, Lens } from './lens';
import { MatrixSource, isCausal } from './matrices';
import { ModelView } from './modelView';
import { TokenStrip } from './tokenStrip';
import type { UnitMaps } from './unitMaps';
import { type Occlude, WFeed } from './wFeed';
import { WView } from './wView';

export const TABS = ['heatmap', 'head', 'model', 'gates', 'state', 'w'] as const;
export type TabId = (typeof TABS)[number];

const TAB_LABELS: Record<TabId, string> = { heatmap: 'Heatmap', head: 'Head view', model: 'Model view', gates: 'Gates', state: 'State', w: 'W(t, k)' };

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
}

type SelectElement = HTMLElement & { value: string; disabled: boolean };

function select(testid: string, label: string, options: Array<[string, string]>, value: string): SelectElement {
  return h(
    'vscode-single-select',
    { 'data-testid': testid, 'aria-label': label, title: label },
    ...options.map(([v, text]) => h('vscode-option', v === value ? { value: v, selected: '' } : { value: v }, text)),
  ) as SelectElement;
}

export class AnalysisView {
  readonly element: HTMLElement;
  readonly lens: Lens;
  private readonly strip: TokenStrip;
  private readonly source: MatrixSource | undefined;
  private readonly attentionFeed: AttentionFeed | undefined;
  private heatmap: Heatmap | undefined;
  private headView: HeadView | undefined;
  private modelView: ModelView | undefined;
  private gatesView: GatesView | undefined;
  private stateView: UnitMaps | undefined;
  private readonly wFeed: WFeed;
  private readonly wView: WView;
  /** The tabs this model has, in order. */
  private readonly tabIds: TabId[];
  private tab: TabId;
  private readonly status: HTMLElement;
  private readonly cleanup: Array<() => void> = [];

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
    this.tab = initial.tab;
    this.status = h('div', { class: 'muted export-status', 'data-testid': 'export-status', 'aria-live': 'polite' });
    this.strip = new TokenStrip(lens);
    this.cleanup.push(onThemeChange(() => lens.emit('theme')));
    lens.layer = Math.max(0, Math.min(initial.layer, lens.layers - 1));
    const gates = outputOf(analysis, 'gates');
    let causal = false;
    if (lens.attention) {
      lens.head = typeof initial.head === 'number' && initial.head >= lens.heads ? 'mean' : initial.head;
      causal = isCausal(lens);
      const source = (this.source = new MatrixSource(lens, () => {
        this.attentionFeed?.rolloutProgress();
        this.wFeed?.rolloutProgress();
      }));
      this.attentionFeed = new AttentionFeed(lens, source, causal);
      this.heatmap = new Heatmap(lens, this.attentionFeed);
      this.headView = new HeadView(lens);
      this.modelView = new ModelView(lens, source, causal, () => this.selectTab('heatmap'));
    } else if (gates) {
      this.gatesView = new GatesView(lens);
      this.stateView = stateView(lens);
    }
    this.wFeed = new WFeed(lens, this.source, causal, host.occlude);
    this.wView = new WView(lens, this.wFeed);
    let occluded: Float32Array | null = null;
    this.cleanup.push(
      this.wFeed.onChange(() => {
        const w = this.wFeed.occlusionResult;
        if (w && w !== occluded) host.occluded?.((occluded = w));
      }),
    );
    this.tabIds = lens.attention ? ['heatmap', 'head', 'model', 'w'] : gates ? ['gates', 'state', 'w'] : ['w'];
    this.tab = this.tabIds.includes(initial.tab) ? initial.tab : this.tabIds[0];
    this.element = h('div', { class: 'analysis-view' }, this.strip.element, this.toolbar(), this.tabs());
  }

  private choice(): ViewChoice {
    return { tab: this.tab, layer: this.lens.layer, head: this.lens.head };
  }

  private toolbar(): HTMLElement {
    const lens = this.lens;
    const png = h('vscode-button', { secondary: '', 'data-testid': 'export-png', title: 'Save the current view as a PNG image' }, 'Export PNG');
    png.addEventListener('click', () => void this.exportPng());
    const layer = select('layer-picker', 'Layer', [...Array(lens.layers).keys()].map((l) => [String(l), `Layer ${l + 1}`]), String(lens.layer));
    layer.addEventListener('change', () => lens.setMatrix(Number(layer.value), lens.head));
    const layerField = lens.layers > 0 ? h('label', { class: 'field' }, h('span', { class: 'muted' }, 'Layer'), layer) : null;
    if (!lens.attention) {
      this.cleanup.push(lens.on('matrix', () => layer.value !== String(lens.layer) && (layer.value = String(lens.layer))));
      return h('div', { class: 'toolbar' }, layerField, h('span', { class: 'spacer' }), png, this.exportJsonButton(), this.status);
    }
    const headOptions: Array<[string, string]> = [...Array(lens.heads).keys()].map((hd) => [String(hd), `Head ${hd + 1}`]);
    headOptions.push(['mean', 'Mean over heads'], ['max', 'Max over heads'], ['rollout', 'Rollout (all layers)']);
    const head = select('head-picker', 'Head or aggregate shown in the heatmap', headOptions, String(lens.head));
    const parseHead = (v: string): HeadChoice => (v === 'mean' || v === 'max' || v === 'rollout' ? v : Number(v));
    layer.disabled = lens.head === 'rollout';
    head.addEventListener('change', () => lens.setMatrix(lens.layer, parseHead(head.value)));
    this.cleanup.push(
      lens.on('matrix', () => {
        if (layer.value !== String(lens.layer)) layer.value = String(lens.layer);
        if (head.value !== String(lens.head)) head.value = String(lens.head);
        layer.disabled = lens.head === 'rollout';
      }),
    );
    return h(
      'div',
      { class: 'toolbar' },
      layerField,
      h('label', { class: 'field' }, h('span', { class: 'muted' }, 'Heatmap'), head),
      h('span', { class: 'spacer' }),
      png,
      this.exportJsonButton(),
      this.status,
    );
  }

  private exportJsonButton(): HTMLElement {
    const wrap = h('span', { class: 'export-json' });
    let scope: SelectElement | null = null;
    if (this.lens.attention) {
      scope = select(
        'export-scope',
        'What the JSON export holds',
        [
          ['matrix', 'JSON: current matrix'],
          ['layer', 'JSON: current layer, all heads'],
          ['all', 'JSON: all layers'],
        ],
        'matrix',
      );
      wrap.append(scope);
    }
    const button = h('vscode-button', { secondary: '', 'data-testid': 'export-json', title: 'Save the tokens (with document ranges), surprisal and attention as JSON' }, 'Export JSON');
    button.addEventListener('click', () => void this.exportJson((scope?.value as JsonScope | undefined) ?? 'matrix'));
    wrap.append(button);
    return wrap;
  }

  private tabs(): HTMLElement {
    const panels: Partial<Record<TabId, HTMLElement>> = {
      heatmap: this.heatmap?.element,
      head: this.headView?.element,
      model: this.modelView?.element,
      gates: this.gatesView?.element,
      state: this.stateView?.element,
      w: this.wView.element,
    };
    const tabs = h('vscode-tabs', { 'data-testid': 'views', 'aria-label': this.lens.attention ? 'Attention views' : 'Model views' }) as HTMLElement & { selectedIndex: number };
    for (const id of this.tabIds) {
      tabs.append(h('vscode-tab-header', { slot: 'header', 'data-testid': `tab-${id}` }, TAB_LABELS[id]));
      tabs.append(h('vscode-tab-panel', { 'aria-label': TAB_LABELS[id] }, panels[id]));
    }
    tabs.selectedIndex = this.tabIds.indexOf(this.tab);
    tabs.addEventListener('vsc-tabs-select', (e) => {
      this.tab = this.tabIds[(e as CustomEvent<{ selectedIndex: number }>).detail.selectedIndex] ?? this.tabIds[0];
      this.activateTab();
      this.host.changed(this.choice());
    });
    this.selectTab = (id: TabId) => {
      tabs.selectedIndex = this.tabIds.indexOf(id);
      this.tab = id;
      this.activateTab();
      this.host.changed(this.choice());
    };
    return tabs;
  }

  private selectTab: (id: TabId) => void = () => undefined;

  /** Lets the newly visible tab size and paint itself (hidden canvases have no size). */
  activateTab(): void {
    requestAnimationFrame(() => {
      if (this.tab !== 'w') this.wView.deactivate();
      if (this.tab === 'heatmap') this.heatmap?.activate();
      else if (this.tab === 'head') this.headView?.activate();
      else if (this.tab === 'model') this.modelView?.activate();
      else if (this.tab === 'gates') this.gatesView?.activate();
      else if (this.tab === 'state') this.stateView?.activate();
      else this.wView.activate();
    });
  }

  /** Pins and shows the token containing a document offset (the editor cursor moved). */
  showOffset(offset: number): void {
    const tokens = this.lens.tokens;
    // Revealing a token selects it in the editor, whose cursor then sits at the token's end: keep that token
    // pinned rather than moving on to the next one, which starts there.
    const pinned = this.lens.selected === null ? undefined : tokens[this.lens.selected];
    if (pinned && pinned.start < offset && offset <= pinned.end) return;
    let lo = 0;
    let hi = tokens.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (tokens[mid].end <= offset) lo = mid + 1;
      else if (tokens[mid].start > offset) hi = mid - 1;
      else return this.lens.select(mid);
    }
    if (tokens.length && offset === tokens[tokens.length - 1].end) this.lens.select(tokens.length - 1);
    else this.lens.select(null);
  }

  private currentCanvas(): HTMLCanvasElement | undefined {
    if (this.tab === 'heatmap') return this.heatmap?.canvas;
    if (this.tab === 'head') return this.headView?.canvas;
    if (this.tab === 'model') return this.modelView?.snapshot();
    if (this.tab === 'gates') return this.gatesView?.maps.snapshot();
    if (this.tab === 'state') return this.stateView?.snapshot();
    return this.wView.heatmap.canvas;
  }

  private async save(params: SaveFileParams): Promise<void> {
    this.status.className = 'muted export-status';
    this.status.removeAttribute('role');
    this.status.textContent = 'Saving…';
    try {
      const path = await this.host.save(params);
      this.status.textContent = path ? `Saved ${path}` : 'Export cancelled.';
    } catch (err) {
      this.status.className = 'error export-status';
      this.status.setAttribute('role', 'alert');
      this.status.textContent = `Export failed: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private async exportPng(): Promise<void> {
    const canvas = this.currentCanvas();
    if (!canvas || canvas.width <= 1) {
      this.status.className = 'error export-status';
      this.status.textContent = 'Nothing to export yet: the view has not been drawn.';
      return;
    }
    const layer = `layer${this.lens.layer + 1}`;
    const names: Record<TabId, string> = {
      heatmap: `attention-${this.lens.slug()}`,
      head: `head-view-${layer}`,
      model: 'model-view',
      gates: `gates-${layer}`,
      state: `state-${layer}`,
      w: `w-${this.wFeed.key().replace(/[^a-z0-9]+/gi, '-')}`,
    };
    const name = names[this.tab];
    await this.save({ suggestedName: `${name}.png`, filters: { 'PNG image': ['png'] }, data: pngBase64(canvas), encoding: 'base64' });
  }

  private async exportJson(scope: JsonScope): Promise<void> {
    const values = jsonValueCount(this.lens, scope);
    if (values > 4_000_000) this.status.textContent = `Preparing ${values.toLocaleString('en-US')} values…`;
    let data: string;
    try {
      data = await analysisJson(this.lens, this.source, scope, this.selection, this.backend);
    } catch (err) {
      this.status.className = 'error export-status';
      this.status.setAttribute('role', 'alert');
      this.status.textContent = err instanceof Error ? err.message : String(err);
      return;
    }
    const suffix = !this.lens.attention ? '' : scope === 'all' ? '-all-layers' : scope === 'layer' ? `-layer${this.lens.layer + 1}` : `-${this.lens.slug()}`;
    await this.save({ suggestedName: `analysis-${this.lens.analysis.model.id}${suffix}.json`, filters: { JSON: ['json'] }, data, encoding: 'utf8' });
  }

  dispose(): void {
    this.cleanup.forEach((f) => f());
    this.strip.dispose();
    this.heatmap?.dispose();
    this.headView?.dispose();
    this.modelView?.dispose();
    this.gatesView?.dispose();
    this.stateView?.dispose();
    this.wView.dispose();
    this.wFeed.dispose();
    this.attentionFeed?.dispose();
    this.source?.dispose();
  }
}
