// Why: the recurrent tabs, built from what the manifest declares. Gates: every declared gate of the chosen
// layer as a tokens × units heatmap with its per-token quantiles under it, and the tokens where the gate
// meaning "keep" dips most named in words, since that is where the model forgets. State: each declared
// state (or, when the model exports only those, its hidden states) with a per-token summary. Outputs that
// declare a `range` (tanh [-1, 1], sigmoid [0, 1]) also show the share of units saturated near its bounds.

import type { Analysis } from '../../src/core/analyze';
import type { GateSpec } from '../../src/core/manifest';
import { gateData, gatedState, hiddenStateData, stateData } from '../../src/core/roleData';
import { h } from '../dom';
import type { Lens } from './lens';
import { UnitMaps, type UnitPanelSpec } from './unitMaps';
import { gateMatrix, lowestTokens, stateMatrix, tokenSummary } from './unitData';

/** Caches each layer's matrices (cutting them out of the tensors copies T·H values each). */
function perLayer(make: (layer: number) => UnitPanelSpec[]): (layer: number) => UnitPanelSpec[] {
  const cache = new Map<number, UnitPanelSpec[]>();
  return (layer) => {
    let specs = cache.get(layer);
    if (!specs) cache.set(layer, (specs = make(layer)));
    return specs;
  };
}

/** "the keep gate (forget gate f)": a gate named by its meaning, then its own label and name. */
function named(gate: GateSpec): string {
  return `the ${gate.meaning} gate (${gate.label ? `${gate.label} ` : ''}${gate.name})`;
}

/** The update the gates declare, e.g. "c = f·c + i·g" or "h = z·h + (1 − z)·n"; empty when they do not say enough. */
export function updateFormula(gates: GateSpec[], state?: string): string {
  const by = (meaning: string) => gates.find((g) => g.meaning === meaning);
  const keep = by('keep');
  const candidate = by('candidate');
  const write = by('write');
  if (!keep || !candidate || (!write && !keep.complementWrites)) return '';
  const s = state || 's';
  const w = write ? write.name : `(1 − ${keep.name})`;
  return `${s} = ${keep.name}·${s} + ${w}·${candidate.name}`;
}

export class GatesView {
  readonly element: HTMLElement;
  readonly maps: UnitMaps;
  private readonly forgetting: HTMLElement;
  /** The gate meaning "keep", when the model declares one. */
  private readonly keep: GateSpec | undefined;
  private readonly specs: (layer: number) => UnitPanelSpec[];
  /** The layer the chips describe (-1 before the tab was first shown). */
  private shown = -1;
  private timer = 0;
  private readonly cleanup: Array<() => void> = [];

  constructor(private readonly lens: Lens) {
    const data = gateData(lens.analysis)!;
    const gates = data.gates;
    const state = data.state;
    const layers = data.tensor.dims[0];
    const range = lens.analysis.structure.gates?.output.range;
    this.keep = gates.find((g) => g.meaning === 'keep');
    this.specs = perLayer((layer) =>
      layer >= layers
        ? []
        : gates.map((spec, g) => ({
            matrix: gateMatrix(data.tensor, layer, g, spec, state, range),
            testid: 'gate-heatmap',
            attrs: { 'data-gate': spec.name, 'data-meaning': spec.meaning },
            summary: { kind: 'quantiles', testid: 'gate-summary' },
          })),
    );
    this.forgetting = h('div', { class: 'forgetting', 'data-testid': 'forgetting' });
    const formula = updateFormula(gates, state);
    const stateName = gatedState(lens.analysis)?.family.label ?? (state ? `state ${state}` : 'the state');
    const keeps = this.keep
      ? ` The ${stateName} keeps what ${named(this.keep)} keeps${formula ? ` (${formula})` : ''}: where that gate dips, the model forgets.`
      : formula
        ? ` The gates update the state as ${formula}.`
        : '';
    this.maps = new UnitMaps(lens, this.specs, {
      matrices: gates.map((g) => [g.name, `${g.name} · ${g.label ?? g.meaning}`]),
      testid: 'gates-view',
      label: 'Gate activations',
      sortOf: this.keep?.name ?? gates[0]?.name ?? '',
      intro: `Each gate per token (across) and unit (down) in the layer picked above, then per token its median, mean and 10–90% band over units${range ? `, and a row of the share of units saturated (within 5% of a bound of the declared range [${range[0]}, ${range[1]}])` : ''}.${keeps} Hover for exact values, click to pin a token.`,
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
    const keep = this.keep && specs.find((s) => s.matrix.id === this.keep!.name)?.matrix;
    if (!keep) {
      this.forgetting.replaceChildren();
      return;
    }
    const mean = tokenSummary(keep).mean;
    const chips = lowestTokens(mean, 6).map((t) => {
      const chip = h('button', { class: 'token-chip', title: `Pin ${this.lens.label(t)} and reveal it in the editor` }, h('span', { class: 'chip-text' }, this.lens.tokens[t].text), ` #${t} · ${mean[t].toFixed(2)}`);
      chip.addEventListener('click', () => this.lens.select(t, true));
      return chip;
    });
    this.forgetting.replaceChildren(h('span', { class: 'muted' }, `Strongest forgetting in layer ${this.lens.layer + 1} (lowest mean ${this.keep!.name}, the keep gate):`), ...chips);
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

interface ShownState {
  /** The output's name (the panels' data-kind). */
  id: string;
  symbol: string;
  label: string;
  tensor: { dims: number[]; data: Float32Array };
  /** The declared interval of its values, if any. */
  range?: [number, number];
}

/** What the State tab shows: the declared states, else the hidden states. */
function shownStates(analysis: Analysis): ShownState[] {
  const states = stateData(analysis).map((s) => ({ id: s.family.output.name, symbol: s.family.state || s.family.output.name, label: s.family.label, tensor: s.tensor, range: s.family.output.range }));
  if (states.length) return states;
  const hidden = hiddenStateData(analysis);
  const spec = analysis.structure.hiddenStates[0];
  return hidden && spec ? [{ id: spec.name, symbol: 'x', label: spec.label ?? 'hidden states', tensor: hidden }] : [];
}

/** Layers the State tab's data has. */
export function stateViewLayers(analysis: Analysis): number {
  return Math.max(0, ...shownStates(analysis).map((s) => s.tensor.dims[0]));
}

/** The State tab: each state per token and unit, bounded ones with saturation, others with quantiles. */
export function stateView(lens: Lens): UnitMaps {
  const states = shownStates(lens.analysis);
  const gated = gatedState(lens.analysis);
  const specs = perLayer((layer) =>
    states
      .filter((s) => layer < s.tensor.dims[0])
      .map((s) => {
        const m = stateMatrix(s.tensor, layer, s.id, s.symbol, `${s.symbol} · ${s.label}`, s.range);
        return { matrix: m, testid: 'state-heatmap', attrs: { 'data-kind': s.id }, summary: { kind: m.range ? 'saturation' : 'quantiles', testid: 'state-summary' } } satisfies UnitPanelSpec;
      }),
  );
  const names = states.map((s) => `${s.label} (${s.symbol})`).join(' and ');
  const updated = gated && gateData(lens.analysis) ? ` The gates update the ${gated.family.label}.` : '';
  const exportsHidden = !stateData(lens.analysis).length;
  return new UnitMaps(lens, specs, {
    matrices: states.map((s) => [s.id, `${s.symbol} · ${s.label}`]),
    testid: 'state-view',
    label: exportsHidden ? 'Hidden states' : 'Recurrent state',
    sortOf: states[states.length - 1]?.id ?? '',
    intro:
      `The ${names} per token (across) and unit (down), in the layer picked above.${updated} ` +
      'Under a state with a declared range (tanh: [-1, 1]), or one that stays within ±1: the share of units saturated per token (within 5% of a bound), and in words at the hovered or pinned token; under any other: its median, mean and 10–90% band over units, with colours spanning ± its 99th percentile.',
  });
}
