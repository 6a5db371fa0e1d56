// Why: the W(t, k) tab, the product's central idea on one screen: whatever the architecture, which
// earlier tokens k each token t draws on, on one colour scale. It picks the source (attention, rollout,
// retention, occlusion), runs occlusion on demand with progress and cancel, and for RNNs adds the
// per-unit retention of the hovered token and the units' memory half-lives.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import { h, select } from '../dom';
import type { HeatmapIds } from './feeds';
import { Heatmap } from './heatmap';
import type { Lens } from './lens';
import { HalfLifeView, HalfLives, UnitRetentionView } from './memory';
import type { WFeed } from './wFeed';
import { formatCount } from '../../src/core/text';

const W_IDS: HeatmapIds = { canvas: 'w-matrix', tooltip: 'w-tooltip', note: 'w-note', legend: 'w-legend', roleDescription: 'W(t, k) matrix' };

export class WView {
  readonly element: HTMLElement;
  readonly heatmap: Heatmap;
  private readonly run: HTMLElement;
  private readonly cancel: HTMLElement;
  private readonly progress: HTMLElement & { value?: number; max: number };
  private readonly progressText: HTMLElement;
  private readonly units: UnitRetentionView | undefined;
  private readonly halfLife: HalfLifeView | undefined;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    lens: Lens,
    private readonly feed: WFeed,
  ) {
    const source = select('w-source', 'Source of W(t, k)', feed.sources(), feed.source);
    source.addEventListener('change', () => this.choose(source.value));
    this.run = h('vscode-button', { 'data-testid': 'occlusion-run', title: `Replace each of the ${lens.T} tokens in turn with a space and run the model on each copy` }, 'Compute occlusion');
    this.run.addEventListener('click', () => {
      source.value = 'occlusion';
      this.choose('occlusion');
      if (feed.occlusion.status !== 'done') feed.runOcclusion(); // the result is kept: the same analysis gives the same matrix
    });
    this.cancel = h('vscode-button', { secondary: '', 'data-testid': 'occlusion-cancel', hidden: '' }, 'Cancel');
    this.cancel.addEventListener('click', () => feed.cancelOcclusion());
    this.progress = h('vscode-progress-bar', { 'aria-label': 'Occlusion progress' }) as HTMLElement & { value?: number; max: number };
    this.progressText = h('span', { class: 'muted' });
    const progressWrap = h('div', { class: 'occlusion-progress', 'data-testid': 'occlusion-progress', role: 'status', hidden: '' }, this.progress, this.progressText);
    this.heatmap = new Heatmap(lens, feed, W_IDS);
    if (feed.gates && feed.spec) {
      const lives = new HalfLives(feed.gates, feed.spec);
      this.units = new UnitRetentionView(lens, feed, lives);
      this.halfLife = new HalfLifeView(lens, lives);
    }
    const layerNote = lens.layers > 1 ? ' Per-layer sources use the layer picked above.' : '';
    this.element = h(
      'div',
      { class: 'w-view', 'data-testid': 'w-view' },
      h('p', { class: 'muted view-note' }, `Every model here computes x(t) = Σ W(t, k) u(k) over earlier tokens k; only how W is made differs. Row t, column k: how much token t draws on token k.${layerNote}`),
      feed.retentionUnavailable ? h('p', { class: 'notice', role: 'status' }, feed.retentionUnavailable) : null,
      h('div', { class: 'view-toolbar' }, h('label', { class: 'field' }, h('span', { class: 'muted' }, 'Source'), source), this.run, this.cancel),
      progressWrap,
      this.heatmap.element,
      this.units?.element,
      this.halfLife?.element,
    );
    const update = () => {
      const o = feed.occlusion;
      const running = o.status === 'running';
      progressWrap.hidden = !running;
      this.cancel.hidden = !running;
      (this.run as HTMLElement & { disabled: boolean }).disabled = running;
      this.run.textContent = o.status === 'done' ? 'Show occlusion' : 'Compute occlusion';
      if (running) {
        this.progress.max = Math.max(1, o.total);
        this.progress.value = o.done;
        this.progressText.textContent = `${formatCount(o.done)} of ${formatCount(o.total)} tokens`;
      }
      if (this.units) this.units.element.hidden = feed.source !== 'retention';
    };
    this.cleanup.push(feed.onChange(update));
    update();
  }

  private choose(value: string): void {
    this.feed.setSource(value);
    if (this.units) {
      this.units.element.hidden = value !== 'retention';
      this.units.activate();
    }
  }

  /** Called when the tab becomes visible. */
  activate(): void {
    this.feed.setActive(true);
    this.heatmap.activate();
    this.units?.activate();
    this.halfLife?.activate();
  }

  deactivate(): void {
    this.feed.setActive(false);
  }

  dispose(): void {
    this.cleanup.forEach((f) => f());
    this.heatmap.dispose();
    this.units?.dispose();
    this.halfLife?.dispose();
  }
}
