// Why: the two RNN tabs. Gates: every gate of the chosen layer as a tokens × units heatmap with its
// per-token quantiles under it, and the tokens where the keep gate (LSTM f, GRU z) dips most named in
// words, since that is where the model forgets. State: the cell (LSTM) and hidden state heatmaps, with
// the share of saturated units per token.

import type { Analysis } from '../../src/core/analyze';
import { outputOf } from '../../src/core/analyze';
import { h } from '../dom';
import type { Lens } from './lens';
import { UnitMaps, type UnitPanelSpec } from './unitMaps';
import { type UnitMatrix, gateMatrix, lowestTokens, stateMatrix, tokenSummary, unitLabel } from './unitData';
import { outputByRole } from '../../src/core/manifest';

/** Caches each layer's matrices (cutting them out of the tensors copies T·H values each). */
function perLayer(make: (layer: number) => UnitPanelSpec[]): (layer: number) => UnitPanelSpec[] {
  const cache = new Map<number, UnitPanelSpec[]>();
  return (layer) => {
    let specs = cache.get(layer);
    if (!specs) cache.set(layer, (specs = make(layer)));
    return specs;
  };
}

/** The gate order of the model's gates output, e.g. ["i", "f", "g", "o"]. */
function gateOrder(analysis: Analysis): string[] {
  return outputByRole(analysis.manifest, 'gates')?.gateOrder ?? [];
}

export class GatesView {
  readonly element: HTMLElement;
  readonly maps: UnitMaps;
  private readonly forgetting: HTMLElement;
  private readonly keep: string;
  private readonly specs: (layer: number) => UnitPanelSpec[];
  /** The layer the chips describe (-1 before the tab was first shown). */
  private shown = -1;
  private timer = 0;
  private readonly cleanup: Array<() => void> = [];

  constructor(private readonly lens: Lens) {
    const gates = outputOf(lens.analysis, 'gates')!;
    const order = gateOrder(lens.analysis);
    this.keep = order.includes('f') ? 'f' : order.includes('z') ? 'z' : order[0];
    const specs = perLayer((layer) =>
      order.map((id, g) => ({
        matrix: gateMatrix(gates, layer, g, id),
        testid: 'gate-heatmap',
        attrs: { 'data-gate': id },
        summary: { kind: 'quantiles', testid: 'gate-summary' },
      })),
    );
    this.forgetting = h('div', { class: 'forgetting', 'data-testid': 'forgetting' });
    const keepText = this.keep === 'f' ? 'the forget gate f (c = f·c + i·g)' : 'the update gate z (h = z·h + (1 − z)·n)';
    this.specs = specs;
    this.maps = new UnitMaps(lens, specs, {
      matrices: order.map((id) => [id, unitLabel(id)]),
      testid: 'gates-view',
      label: 'Gate activations',
      sortOf: this.keep,
      intro: `Each gate per token (across) and unit (down) in the layer picked above, then per token its median, mean and 10–90% band over units. The state keeps what ${keepText} keeps: where that gate dips, the model forgets. Hover for exact values, click to pin a token.`,
    });
    this.element = h('div', { class: 'gates-tab' }, this.forgetting, this.maps.element);
    this.cleanup.push(lens.on('matrix', () => this.shown >= 0 && this.scheduleForgetting()));
  }

  /** The forgetting chips need the keep gate's per-token means (tens of ms for long inputs): in their own task. */
  private scheduleForgetting(): void {
    clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      this.shown = this.lens.layer;
      this.showForgetting(this.specs(this.lens.layer));
    }, 0);
  }

  /** The tokens where the keep gate's mean over units is lowest, as chips that pin them. */
  private showForgetting(specs: UnitPanelSpec[]): void {
    const keep = specs.find((s) => s.matrix.id === this.keep)?.matrix;
    if (!keep) return;
    const mean = tokenSummary(keep).mean;
    const chips = lowestTokens(mean, 6).map((t) => {
      const chip = h('button', { class: 'token-chip', title: `Pin ${this.lens.label(t)} and reveal it in the editor` }, h('span', { class: 'chip-text' }, this.lens.tokens[t].text), ` #${t} · ${mean[t].toFixed(2)}`);
      chip.addEventListener('click', () => this.lens.select(t, true));
      return chip;
    });
    this.forgetting.replaceChildren(h('span', { class: 'muted' }, `Strongest forgetting in layer ${this.lens.layer + 1} (lowest mean ${this.keep}):`), ...chips);
  }

  activate(): void {
    this.maps.activate();
    if (this.shown !== this.lens.layer) this.scheduleForgetting();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.cleanup.forEach((f) => f());
    this.maps.dispose();
  }
}

/** The State tab: cell state (LSTM) with quantiles, hidden state with saturation. */
export function stateView(lens: Lens): UnitMaps {
  const cell = outputOf(lens.analysis, 'cell_state');
  const hidden = outputOf(lens.analysis, 'hidden_state');
  const specs = perLayer((layer) => {
    const out: UnitPanelSpec[] = [];
    const add = (m: UnitMatrix, kind: 'quantiles' | 'saturation') => out.push({ matrix: m, testid: 'state-heatmap', attrs: { 'data-kind': m.id }, summary: { kind, testid: 'state-summary' } });
    if (cell) add(stateMatrix(cell, layer, 'cell'), 'quantiles');
    if (hidden) add(stateMatrix(hidden, layer, 'hidden'), 'saturation');
    return out;
  });
  return new UnitMaps(lens, specs, {
    matrices: [...(cell ? ['cell'] : []), ...(hidden ? ['hidden'] : [])].map((id) => [id, unitLabel(id)]),
    testid: 'state-view',
    label: 'Recurrent state',
    sortOf: hidden ? 'hidden' : 'cell',
    intro: cell
      ? 'The cell state c (the memory the forget gate keeps; colours span ± its 99th percentile) and the hidden state h = o·tanh(c) per token and unit, in the layer picked above. Under h: the share of units saturated at |h| > 0.95 per token.'
      : 'The hidden state h (the GRU’s only state) per token and unit, in the layer picked above, and under it the share of units saturated at |h| > 0.95 per token.',
  });
}
