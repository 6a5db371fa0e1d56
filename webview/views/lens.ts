// Why: the views of one analysis (token strip, heatmap, head view, model view, gate, state and W views)
// must agree on which token is hovered or selected and which layer, head and mixing family are shown. This
// small store holds that state for one token sequence and tells subscribers what changed, so each view
// repaints only its own cheap part on hover. What it offers comes from the analysis's roles: the layer
// count from every per-layer role, the heads from the current self-mixing family of its sequence.

import type { LayeredMatrices } from '../../src/core/analysis';
import type { Analysis } from '../../src/core/analyze';
import type { MixingFamily } from '../../src/core/modelStructure';
import { layerCount, mixingMatrices, sequenceTokens } from '../../src/core/roleData';

/** A head index, or an aggregate over heads (per layer) or over the layers up to the chosen one (rollout). */
export type HeadChoice = number | 'mean' | 'max' | 'rollout';

export type LensEvent = 'hover' | 'select' | 'matrix' | 'heads' | 'family' | 'theme';

export interface LensHost {
  /** Reveals token i's range in its editor (never called for special tokens). */
  reveal(index: number): void;
  /** Persists layer/head/tab after the user changed them. */
  persist(): void;
}

/** The self-mixing families whose rows and columns are both the tokens of a sequence. */
export function selfFamilies(analysis: Analysis, sequence: string): MixingFamily[] {
  return analysis.structure.mixing.filter((f) => f.role === 'mixing' && f.query === sequence && f.keys === sequence);
}

/**
 * A head choice for a family of `heads` heads (another family than the lens's, e.g. cross-attention): a
 * head past its last is clamped to the last, and `clamped` says so, so the view can show it; rollout,
 * defined for self-attention only, becomes the mean over heads.
 */
export function headWithin(choice: HeadChoice, heads: number): { head: number | 'mean' | 'max'; clamped: boolean } {
  if (typeof choice !== 'number') return { head: choice === 'max' ? 'max' : 'mean', clamped: false };
  return choice < heads ? { head: choice, clamped: false } : { head: Math.max(0, heads - 1), clamped: true };
}

/** Whether a family's matrices are lower-triangular (zeros above the diagonal mean "no weight"). */
export function isCausalMask(family: MixingFamily | undefined): boolean {
  return family?.mask === 'causal' || family?.mask === 'windowed';
}

export class Lens {
  readonly sequence: string;
  readonly tokens: Analysis['tokens'];
  readonly T: number;
  /** The self-mixing families of this sequence, in manifest order (the toolbar chooses among them). */
  readonly families: MixingFamily[];
  /** The family the attention views show, when the sequence has one. */
  family: MixingFamily | undefined;
  /** Its matrices [layer][head][T][T] (per-layer tensors stay separate: read them with layer(l)). */
  attention: LayeredMatrices | undefined;
  readonly layers: number;
  /** Token under the pointer or keyboard focus in some view (query), and the key when a cell is hovered. */
  hover: { query: number | null; key: number | null } = { query: null, key: null };
  /** Token pinned by a click, Enter or the editor cursor. */
  selected: number | null = null;
  layer = 0;
  head: HeadChoice = 'mean';
  /** Heads drawn in the head view. */
  visibleHeads: boolean[] = [];
  private readonly listeners = new Map<LensEvent, Set<() => void>>();
  private layerCache: { key: string; data: Float32Array } | null = null;

  constructor(
    readonly analysis: Analysis,
    private readonly host: LensHost,
    sequence: string = analysis.structure.primary,
  ) {
    this.sequence = sequence;
    this.tokens = sequence === analysis.structure.primary ? analysis.tokens : sequenceTokens(analysis, sequence);
    this.T = this.tokens.length;
    this.families = selfFamilies(analysis, sequence);
    const primary = sequence === analysis.structure.primary;
    // The primary sequence's picker covers every per-layer role; another sequence's, its own families.
    this.layers = primary ? layerCount(analysis) : Math.max(0, ...this.families.map((f) => mixingMatrices(analysis, f).layers));
    this.useFamily(this.families[0]);
  }

  /**
   * Heads of the current family; without one, the most any mixing family has. A view of another family
   * (cross-attention) whose head count differs offers its own head range (see headWithin).
   */
  get heads(): number {
    if (this.attention) return this.attention.heads;
    return Math.max(0, ...this.analysis.structure.mixing.map((f) => mixingMatrices(this.analysis, f).heads));
  }

  /** Whether the current family is lower-triangular (causal or windowed), from its declared mask. */
  get causal(): boolean {
    return isCausalMask(this.family);
  }

  private useFamily(family: MixingFamily | undefined): void {
    this.family = family;
    this.attention = family ? mixingMatrices(this.analysis, family) : undefined;
    this.visibleHeads = Array.from({ length: this.heads }, () => true);
    if (typeof this.head === 'number' && this.head >= this.heads) this.head = 'mean';
    this.layerCache = null;
  }

  /** Shows another self-mixing family of this sequence (the toolbar's family chooser). */
  setFamily(key: string): void {
    const family = this.families.find((f) => f.key === key);
    if (!family || family === this.family) return;
    this.useFamily(family);
    this.emit('family');
    this.emit('heads');
    this.emit('matrix');
    this.host.persist();
  }

  /** The current family's layer [H, T, T], or null when it has no such layer. */
  layerData(layer: number = this.layer): Float32Array | null {
    const m = this.attention;
    if (!m || layer >= m.layers) return null;
    const key = `${this.family!.key}|${layer}`;
    if (this.layerCache?.key !== key) this.layerCache = { key, data: m.layer(layer) };
    return this.layerCache.data;
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

  /** Pins a token; `reveal` also selects its range in the editor, unless it is a special token (no text). */
  select(index: number | null, reveal = false): void {
    if (index !== null && (index < 0 || index >= this.T)) return;
    if (this.selected !== index) {
      this.selected = index;
      this.emit('select');
    }
    if (reveal && index !== null && !this.tokens[index].special) this.host.reveal(index);
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

  /** The last layer the rollout at `layer` runs through: the layer, or the family's last when it has fewer. */
  rolloutLayer(layer: number = this.layer): number {
    return Math.max(0, Math.min(layer, (this.attention?.layers ?? this.layers) - 1));
  }

  /** Description of the current matrix, e.g. "layer 2, head 3" or "rollout through layer 4". */
  describeMatrix(head: HeadChoice = this.head, layer: number = this.layer): string {
    const of = this.families.length > 1 && this.family ? ` (${this.family.label})` : '';
    if (head === 'rollout') return `rollout through layer ${this.rolloutLayer(layer) + 1}${of}`;
    if (head === 'mean') return `layer ${layer + 1}, mean over heads${of}`;
    if (head === 'max') return `layer ${layer + 1}, max over heads${of}`;
    return `layer ${layer + 1}, head ${head + 1}${of}`;
  }

  /** File-name-safe slug of the current matrix (with the family when there are several). */
  slug(head: HeadChoice = this.head, layer: number = this.layer): string {
    const of = this.families.length > 1 && this.family ? `${this.family.label.replace(/[^a-z0-9]+/gi, '-')}-` : '';
    return of + (head === 'rollout' ? `rollout-layer${this.rolloutLayer(layer) + 1}` : `layer${layer + 1}-${typeof head === 'number' ? `head${head + 1}` : `${head}-heads`}`);
  }
}
