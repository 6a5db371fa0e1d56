// Why: the State matrix tab draws a state that is a matrix (or a stack of them) at one token, such as linear
// attention's S_t [head, state, feature] or a state-space model's h_t [unit, state]. The canonical state
// tensor (src/core/roleData.ts) is [layer, position, units] with the state's own axes folded into the last
// one (the declared unit axis first, then the others in manifest order: canonicalTensor in
// modelStructure.ts). This module reads the output's declared axes back out of that fold: the last two
// declared axes are rows × columns, any before them make one panel each. It also words what such a state
// costs against attention's T × T. Pure (no DOM), so it is unit-tested in Node.

import type { Analysis } from '../../src/core/analyze';
import type { AxisName, OutputSpec } from '../../src/core/manifest';
import type { StateFamily } from '../../src/core/modelStructure';
import { formatCount } from '../../src/core/text';

/** Axes of a state output that are not the state's own. */
const OUTER: readonly AxisName[] = ['layer', 'batch', 'position'];

export interface StateAxis {
  name: AxisName;
  size: number;
}

export interface StateLayout {
  /** The state's own axes in declared order (what the picture follows). */
  axes: StateAxis[];
  /** The axes that make one panel each (all but the last two), their sizes' product, and rows × columns. */
  panelAxes: StateAxis[];
  panels: number;
  rows: number;
  cols: number;
  /** Numbers per layer at one token: the product of every own axis. */
  size: number;
  /** offsets[(panel · rows + row) · cols + col]: where that entry lies in the folded last canonical axis. */
  offsets: Int32Array;
}

/** The state's own axes (besides layer, batch and position), declared order. */
export function ownAxes(spec: OutputSpec): OutputSpec['axes'] {
  return spec.axes.filter((a) => !OUTER.includes(a.name));
}

/** The state families drawn as matrices: those with two or more own axes. */
export function matrixStates(analysis: Pick<Analysis, 'structure'>): StateFamily[] {
  return analysis.structure.states.filter((f) => ownAxes(f.output).length >= 2);
}

/**
 * The layout of a state whose folded axis holds `folded` numbers, or null when its own axes are fewer than
 * two, or their sizes cannot be read (more than one symbolic size) or do not multiply to `folded`.
 */
export function stateLayout(spec: OutputSpec, folded: number): StateLayout | null {
  const own = ownAxes(spec);
  if (own.length < 2) return null;
  const unknown = own.filter((a) => typeof a.size !== 'number');
  if (unknown.length > 1) return null;
  const known = own.reduce((n, a) => n * (typeof a.size === 'number' ? a.size : 1), 1);
  if (known <= 0 || folded % known !== 0 || (unknown.length === 0 && known !== folded)) return null;
  const axes: StateAxis[] = own.map((a) => ({ name: a.name, size: typeof a.size === 'number' ? a.size : folded / known }));
  // The fold's order: the unit axis (canonical) first, then the other own axes in declared order.
  const foldOrder = [...axes.filter((a) => a.name === 'unit'), ...axes.filter((a) => a.name !== 'unit')];
  const stride = new Map<StateAxis, number>();
  let s = 1;
  for (let i = foldOrder.length - 1; i >= 0; i--) {
    stride.set(foldOrder[i], s);
    s *= foldOrder[i].size;
  }
  const offsets = new Int32Array(folded);
  const index = new Array<number>(axes.length).fill(0);
  for (let d = 0; d < folded; d++) {
    let offset = 0;
    for (let i = 0; i < axes.length; i++) offset += index[i] * stride.get(axes[i])!;
    offsets[d] = offset;
    for (let i = axes.length - 1; i >= 0; i--) {
      if (++index[i] < axes[i].size) break;
      index[i] = 0;
    }
  }
  const panelAxes = axes.slice(0, -2);
  return {
    axes,
    panelAxes,
    panels: panelAxes.reduce((n, a) => n * a.size, 1),
    rows: axes[axes.length - 2].size,
    cols: axes[axes.length - 1].size,
    size: folded,
    offsets,
  };
}

/** The state at one layer and token in display order (panel, row, column), from the canonical [L, T, U] tensor. */
export function stateAt(tensor: { dims: number[]; data: Float32Array }, layout: StateLayout, layer: number, t: number): Float32Array {
  const [, T, U] = tensor.dims;
  const base = (layer * T + t) * U;
  const out = new Float32Array(layout.size);
  for (let d = 0; d < layout.size; d++) out[d] = tensor.data[base + layout.offsets[d]];
  return out;
}

/** The largest |value| of a layer over every token (for one scale across tokens). */
export function layerPeak(tensor: { dims: number[]; data: Float32Array }, layer: number): number {
  const [, T, U] = tensor.dims;
  let peak = 0;
  for (let i = layer * T * U, end = (layer + 1) * T * U; i < end; i++) {
    const a = Math.abs(tensor.data[i]);
    if (a > peak) peak = a;
  }
  return peak;
}

/** "head 2", "head 2, unit 5": a panel's name from its index along the panel axes (1-based for people). */
export function panelName(layout: StateLayout, panel: number): string {
  const parts: string[] = [];
  let rest = panel;
  for (let i = layout.panelAxes.length - 1; i >= 0; i--) {
    const a = layout.panelAxes[i];
    parts.unshift(`${a.name} ${(rest % a.size) + 1}`);
    rest = Math.floor(rest / a.size);
  }
  return parts.join(', ');
}

/** "4 × 32 × 32 = 4,096". */
export function sizeFormula(layout: StateLayout): string {
  const n = formatCount(layout.size);
  return layout.axes.length > 1 ? `${layout.axes.map((a) => a.size).join(' × ')} = ${n}` : n;
}

/**
 * What the state costs against attention's W: "Constant size: 4 × 32 × 32 = 4,096 numbers per layer at every
 * token, however long the text. Attention's W at this length is T × T = 37 × 37 = 1,369 numbers per head
 * and layer, growing as T²; it is larger than this state from 65 tokens on."
 */
export function stateCost(layout: StateLayout, T: number): string {
  const n = formatCount;
  const crossover = Math.floor(Math.sqrt(layout.size)) + 1;
  const versus = T * T > layout.size ? 'already larger than this state' : `larger than this state from ${n(crossover)} tokens on`;
  return (
    `Constant size: ${sizeFormula(layout)} numbers per layer at every token, however long the text. ` +
    `Attention's W at this length is T × T = ${n(T)} × ${n(T)} = ${n(T * T)} numbers per head and layer, growing as T²; it is ${versus}.`
  );
}
