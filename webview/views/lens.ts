// Why: the views of one analysis (token strip, heatmap, head view, model view, gate, state and W views)
// must agree on which token is hovered or selected and which layer and head are shown. This small store holds that state and tells
// subscribers what changed, so each view repaints only its own cheap part on hover.

import type { Tensor } from '../../src/core/analysis';
import { type Analysis, outputOf } from '../../src/core/analyze';

/** A head index, or an aggregate over heads (per layer) or over layers (rollout). */
export type HeadChoice = number | 'mean' | 'max' | 'rollout';

export type LensEvent = 'hover' | 'select' | 'matrix' | 'heads' | 'theme';

export interface LensHost {
  /** Reveals token i's range in its editor. */
  reveal(index: number): void;
  /** Persists layer/head/tab after the user changed them. */
  persist(): void;
}

export class Lens {
  readonly tokens: Analysis['tokens'];
  readonly T: number;
  /** Attention [L, H, T, T], when the model has it. */
  readonly attention: Tensor | undefined;
  readonly layers: number;
  readonly heads: number;
  /** Token under the pointer or keyboard focus in some view (query), and the key when a cell is hovered. */
  hover: { query: number | null; key: number | null } = { query: null, key: null };
  /** Token pinned by a click, Enter or the editor cursor. */
  selected: number | null = null;
  layer = 0;
  head: HeadChoice = 'mean';
  /** Heads drawn in the head view. */
  readonly visibleHeads: boolean[];
  private readonly listeners = new Map<LensEvent, Set<() => void>>();

  constructor(
    readonly analysis: Analysis,
    private readonly host: LensHost,
  ) {
    this.tokens = analysis.tokens;
    this.T = analysis.tokens.length;
    this.attention = outputOf(analysis, 'attention');
    // Recurrent models have layers (of gates) but no heads.
    this.layers = this.attention?.dims[0] ?? outputOf(analysis, 'gates')?.dims[0] ?? 0;
    this.heads = this.attention?.dims[1] ?? 0;
    this.visibleHeads = Array.from({ length: this.heads }, () => true);
  }

  on(event: LensEvent, listener: () => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  emit(event: LensEvent): void {
    for (const listener of [...(this.listeners.get(event) ?? [])]) listener();
  }

  /** The token the views centre on: the hovered one, else the pinned one. */
  get active(): number | null {
    return this.hover.query ?? this.selected;
  }

  setHover(query: number | null, key: number | null = null): void {
    if (this.hover.query === query && this.hover.key === key) return;
    this.hover = { query, key };
    this.emit('hover');
  }

  select(index: number | null, reveal = false): void {
    if (index !== null && (index < 0 || index >= this.T)) return;
    if (this.selected !== index) {
      this.selected = index;
      this.emit('select');
    }
    if (reveal && index !== null) this.host.reveal(index);
  }

  setMatrix(layer: number, head: HeadChoice): void {
    const l = Math.max(0, Math.min(this.layers - 1, layer));
    const h = typeof head === 'number' ? Math.max(0, Math.min(this.heads - 1, head)) : head;
    if (l === this.layer && h === this.head) return;
    this.layer = l;
    this.head = h;
    this.emit('matrix');
    this.host.persist();
  }

  toggleHead(head: number, visible: boolean): void {
    this.visibleHeads[head] = visible;
    this.emit('heads');
  }

  /** Label of a token for tooltips and axes: “text” with the index. */
  label(i: number): string {
    return `#${i} “${this.tokens[i]?.text ?? ''}”`;
  }

  /** Description of the current matrix, e.g. "layer 2, head 3" or "rollout over 4 layers". */
  describeMatrix(head: HeadChoice = this.head, layer: number = this.layer): string {
    if (head === 'rollout') return `rollout over ${this.layers} layers`;
    if (head === 'mean') return `layer ${layer + 1}, mean over heads`;
    if (head === 'max') return `layer ${layer + 1}, max over heads`;
    return `layer ${layer + 1}, head ${head + 1}`;
  }

  /** File-name-safe slug of the current matrix. */
  slug(head: HeadChoice = this.head, layer: number = this.layer): string {
    return head === 'rollout' ? 'rollout' : `layer${layer + 1}-${typeof head === 'number' ? `head${head + 1}` : `${head}-heads`}`;
  }
}
