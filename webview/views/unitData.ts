// Why: the gate and state views show tokens × units matrices of one layer (a gate or a state, labelled by
// what the manifest declares). This module cuts them out of the model's tensors once, and computes what the views sort and
// summarise by (unit means, variances and orders; per-token quantiles; saturation) once per matrix, so
// hovering and redrawing only read precomputed arrays. Saturation is the share of units within 5% (of the
// interval's width) of a bound of the interval the values lie in: the output's declared `range`, else, for
// a state that stays within ±1, [−1, 1].

import type { Tensor } from '../../src/core/analysis';
import type { GateSpec } from '../../src/core/manifest';
import { saturationSentence, saturationSeries } from './saturation';

/** A tokens × units matrix of one layer, token-major: data[t * H + u]. */
export interface UnitMatrix {
  /** The declared gate name ("f", "retain") or the state output's name ("cell", "hidden"). */
  id: string;
  /** Short symbol for values in tooltips and charts: the gate name, or the state's name ("c", "h"). */
  symbol: string;
  /** e.g. "f · forget gate (keeps c)". */
  label: string;
  T: number;
  H: number;
  data: Float32Array;
  /** The colour scale's range. */
  lo: number;
  hi: number;
  /** Values stay within ±1 (a tanh state), or within a declared range: its chart shows saturation rather than quantiles. */
  bounded: boolean;
  /** The interval saturation is measured in: the declared `range`, else [−1, 1] for a state within ±1; absent for neither. */
  range?: [number, number];
  /** Whether `range` was declared by the manifest (else read from the values). */
  rangeDeclared?: boolean;
}


/** What a gate does, in words, from its declared meaning (and the state it updates, when declared). */
export function meaningPhrase(gate: GateSpec, state?: string): string {
  const s = state || 'the state';
  switch (gate.meaning) {
    case 'keep':
      return gate.complementWrites ? `keeps ${s}; 1 − ${gate.name} writes` : `keeps ${s}`;
    case 'write':
      return `writes to ${s}`;
    case 'candidate':
      return `candidate written to ${s}`;
    case 'output':
      return 'reads the state out';
    case 'reset':
      return 'resets what the candidate sees';
    default:
      return '';
  }
}

/** "f · forget gate (keeps c)", from the declared name, label and meaning. */
export function gateLabel(gate: GateSpec, state?: string): string {
  const phrase = meaningPhrase(gate, state);
  const name = gate.label ?? `${gate.meaning} gate`;
  return `${gate.name} · ${name}${phrase ? ` (${phrase})` : ''}`;
}

/**
 * Gate g of one layer from gates [L, T, G, H]; candidates span −1..1, gates 0..1, others their extent; a
 * declared range (the gates output's `range`) sets the span and the saturation bounds.
 */
export function gateMatrix(gates: Tensor, layer: number, g: number, spec: GateSpec, state?: string, declared?: [number, number]): UnitMatrix {
  const [, T, G, H] = gates.dims;
  const data = new Float32Array(T * H);
  const base = layer * T * G * H;
  for (let t = 0; t < T; t++) data.set(gates.data.subarray(base + (t * G + g) * H, base + (t * G + g + 1) * H), t * H);
  const range = declared ?? (spec.meaning === 'candidate' ? [-1, 1] : spec.meaning === 'other' ? extent(data) : [0, 1]);
  const bounds = declared ? { range: declared, rangeDeclared: true } : {};
  return { id: spec.name, symbol: spec.name, label: gateLabel(spec, state), T, H, data, lo: range[0], hi: range[1], bounded: declared !== undefined || spec.meaning !== 'other', ...bounds };
}

/**
 * A state [L, T, H] of one layer. A state with a declared range spans it; one within ±1 (tanh-bounded)
 * spans −1..1; any other (a cell, a residual stream) spans ± the 99th percentile of its |values|.
 */
export function stateMatrix(state: Tensor, layer: number, id: string, symbol: string, label: string, declared?: [number, number]): UnitMatrix {
  const [, T, H] = state.dims;
  const data = state.data.subarray(layer * T * H, (layer + 1) * T * H);
  if (declared) return { id, symbol, label, T, H, data, lo: declared[0], hi: declared[1], bounded: true, range: declared, rangeDeclared: true };
  let peak = 0;
  for (let i = 0; i < data.length; i++) peak = Math.max(peak, Math.abs(data[i]));
  const bounded = peak <= 1 + 1e-4;
  let top = 1;
  if (!bounded) {
    // A strided sample of at most 65,536 values is plenty for a percentile and keeps this within a frame.
    const stride = Math.max(1, Math.floor(data.length / 65_536));
    const sample = new Float32Array(Math.ceil(data.length / stride));
    for (let i = 0, j = 0; i < data.length; i += stride, j++) sample[j] = Math.abs(data[i]);
    sample.sort();
    top = Math.max(1e-6, sample[Math.min(sample.length - 1, Math.floor(sample.length * 0.99))] ?? 1);
  }
  return { id, symbol, label, T, H, data, lo: -top, hi: top, bounded, ...(bounded ? { range: [-1, 1] as [number, number], rangeDeclared: false } : {}) };
}

function extent(data: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of data) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo < hi ? [lo, hi] : [lo - 1, lo + 1];
}

interface UnitStats {
  mean: Float32Array;
  variance: Float32Array;
  byMean?: Int32Array;
  byVariance?: Int32Array;
}

const statsCache = new WeakMap<UnitMatrix, UnitStats>();

/** Mean and variance of each unit over tokens. */
export function unitStats(m: UnitMatrix): UnitStats {
  let s = statsCache.get(m);
  if (!s) {
    const { T, H, data } = m;
    const mean = new Float32Array(H);
    const variance = new Float32Array(H);
    const sum = new Float64Array(H);
    const sq = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      for (let u = 0; u < H; u++) {
        const v = data[t * H + u];
        sum[u] += v;
        sq[u] += v * v;
      }
    }
    for (let u = 0; u < H; u++) {
      mean[u] = sum[u] / T;
      variance[u] = Math.max(0, sq[u] / T - mean[u] * mean[u]);
    }
    s = { mean, variance };
    statsCache.set(m, s);
  }
  return s;
}

export type UnitSort = 'index' | 'mean' | 'variance' | 'token';

/** Units in display order, largest first; 'token' sorts by the values at token t. Mean and variance orders are cached. */
export function unitOrder(m: UnitMatrix, by: UnitSort, t: number | null): Int32Array {
  const indices = () => Int32Array.from({ length: m.H }, (_, u) => u);
  const sortBy = (key: ArrayLike<number>) => indices().sort((a, b) => key[b] - key[a] || a - b);
  if (by === 'index' || (by === 'token' && t === null)) return indices();
  if (by === 'token') return sortBy(m.data.subarray(t! * m.H, (t! + 1) * m.H));
  const s = unitStats(m);
  if (by === 'mean') return (s.byMean ??= sortBy(s.mean));
  return (s.byVariance ??= sortBy(s.variance));
}

/** Per-token summary across units. */
export interface TokenSummary {
  mean: Float32Array;
  q10: Float32Array;
  q50: Float32Array;
  q90: Float32Array;
}

const summaryCache = new WeakMap<UnitMatrix, TokenSummary>();

/** Mean and 10/50/90% quantiles across units for each token (linear interpolation between order statistics). */
export function tokenSummary(m: UnitMatrix): TokenSummary {
  let s = summaryCache.get(m);
  if (!s) {
    const { T, H, data } = m;
    s = { mean: new Float32Array(T), q10: new Float32Array(T), q50: new Float32Array(T), q90: new Float32Array(T) };
    const row = new Float32Array(H);
    const q = (p: number) => {
      const x = p * (H - 1);
      const i = Math.floor(x);
      return i + 1 < H ? row[i] + (x - i) * (row[i + 1] - row[i]) : row[i];
    };
    for (let t = 0; t < T; t++) {
      row.set(data.subarray(t * H, (t + 1) * H));
      let sum = 0;
      for (let u = 0; u < H; u++) sum += row[u];
      row.sort();
      s.mean[t] = sum / H;
      s.q10[t] = q(0.1);
      s.q50[t] = q(0.5);
      s.q90[t] = q(0.9);
    }
    summaryCache.set(m, s);
  }
  return s;
}

const saturationCache = new WeakMap<UnitMatrix, Float32Array>();

/** Share of units saturated at each token (saturation.ts), computed once per matrix. */
export function saturation(m: UnitMatrix): Float32Array {
  let s = saturationCache.get(m);
  if (!s) saturationCache.set(m, (s = saturationSeries(m)));
  return s;
}

/** The saturation sentence under a panel (saturation.ts), from the cached series. */
export function saturationNote(m: UnitMatrix, t: number | null, tokenLabel: string): string {
  return saturationSentence(m, saturation(m), t, tokenLabel);
}

/** The k tokens with the lowest value of a per-token series (e.g. where the keep gate dips most). */
export function lowestTokens(series: Float32Array, k: number): number[] {
  return Array.from(series.keys())
    .sort((a, b) => series[a] - series[b])
    .slice(0, k);
}

/** Runs each job in its own macrotask (so the UI can paint between them); returns a function that stops the rest. */
export function inTasks(jobs: Array<() => unknown>): () => void {
  let timer = 0;
  const step = () => {
    jobs.shift()?.();
    if (jobs.length) timer = window.setTimeout(step, 0);
  };
  timer = window.setTimeout(step, 0);
  return () => clearTimeout(timer);
}
