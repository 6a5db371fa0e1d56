// An analysis's outputs read by role, in canonical axis order: mixing families as layered matrices (no
// copy of per-layer tensors), gates [L, T, G, U] with their declared meanings, states [L, T, U] (per-layer
// tensors of one state stacked), the hidden states of the primary sequence, and the W(t, k) each family,
// gate set or decay offers (rollout, retention), the parts of a selective scan (and the hidden attention
// derived from them) and of a linear attention. Views, hovers and the Compare view read the model through
// these functions only.

import { type LayeredMatrices, type Tensor, layeredFromLayers, layeredFromTensor, rollout, rowNormalisedAbs } from './analysis';
import type { Analysis, AnalysedSequence } from './analyze';
import { type SelectiveScanTensors, hiddenAttention } from './hiddenAttention';
import type { GateSpec, OutputSpec } from './manifest';
import { type MixingFamily, type StateFamily, canonicalTensor, mainFamily } from './modelStructure';
import { type RetentionGates, retentionGates } from './retention';
import { rolloutLayersInSlices } from './rolloutSlices';
import type { SliceOptions } from './timeSlices';

const cache = new WeakMap<Analysis, Map<string, unknown>>();

/** Computes a value once per analysis. */
function once<T>(analysis: Analysis, key: string, make: () => T): T {
  const map = cacheOf(analysis);
  if (!map.has(key)) map.set(key, make());
  return map.get(key) as T;
}

function cacheOf(analysis: Analysis): Map<string, unknown> {
  let map = cache.get(analysis);
  if (!map) cache.set(analysis, (map = new Map()));
  return map;
}

/**
 * The matrices of a mixing family, [layer][head][query][key]. A family derived from a selective scan is its
 * hidden attention, one head (the mean over channels) per layer, each layer computed when first read.
 */
export function mixingMatrices(analysis: Analysis, family: MixingFamily): LayeredMatrices {
  return once(analysis, `mixing:${family.key}`, () => {
    if (family.derived === 'selective_scan') {
      const scan = selectiveScanData(analysis);
      if (!scan) throw new Error(`${family.label}: the model exports no complete selective scan (parts x, delta, A, B and C)`);
      return hiddenAttention(scan);
    }
    const tensors = family.outputs.map((o) => canonicalTensor(o, analysis.outputs[o.name]));
    if (!family.perLayer) return layeredFromTensor(tensors[0]);
    return layeredFromLayers(tensors); // each [H, Tq, Tk]: a per-layer tensor has no layer axis
  });
}

/** The parts of the model's selective scan in canonical order (x, delta, y [L, T, D]; B, C [L, T, N]; A [L, D, N]; D [L, D]). */
export function selectiveScanData(analysis: Analysis): SelectiveScanTensors | undefined {
  const parts = analysis.structure.selectiveScan;
  if (!parts) return undefined;
  return once(analysis, 'selective_scan', () => {
    const read = (o: OutputSpec) => canonicalTensor(o, analysis.outputs[o.name]);
    return { x: read(parts.x), delta: read(parts.delta), A: read(parts.A), B: read(parts.B), C: read(parts.C), D: parts.D && read(parts.D), y: parts.y && read(parts.y) };
  });
}

/** A linear attention's factors in canonical order, each [L, H, T, F] (linearAttention.ts reads one layer). */
export interface MixingPartsData {
  query: Tensor;
  key: Tensor;
  value?: Tensor;
  output?: Tensor;
}

/** The model's linear-attention factors, if it exports them. */
export function mixingPartsData(analysis: Analysis): MixingPartsData | undefined {
  const parts = analysis.structure.mixingParts;
  if (!parts) return undefined;
  return once(analysis, 'mixing_parts', () => {
    const read = (o: OutputSpec) => canonicalTensor(o, analysis.outputs[o.name]);
    return { query: read(parts.query), key: read(parts.key), value: parts.value && read(parts.value), output: parts.output && read(parts.output) };
  });
}

/** The family the W(t, k) views start on: self-mixing of the primary sequence, else the first. */
export function mainMixing(analysis: Analysis): MixingFamily | undefined {
  return mainFamily(analysis.structure);
}

/** The tokens of a sequence by id. */
export function sequenceTokens(analysis: Analysis, id: string): AnalysedSequence['tokens'] {
  return analysis.sequences.find((s) => s.id === id)?.tokens ?? analysis.tokens;
}

/**
 * Attention rollout [T, T] of a self-mixing family, computed once (O(L·T³)); null for cross-mixing. A family
 * declared `normalised: false` has its |W| row-normalised per head and layer first: rollout multiplies shares.
 */
export function familyRollout(analysis: Analysis, family: MixingFamily): Float32Array | null {
  if (family.role !== 'mixing') return null;
  return once(analysis, `rollout:${family.key}`, () => {
    const m = mixingMatrices(analysis, family);
    return rollout(family.normalised ? m : rowNormalisedAbs(m), family.mask !== 'bidirectional');
  });
}

/**
 * familyRollout (the same values, kept for it) computed in slices, for a page's own thread. Rejects with
 * LensError 'cancelled' when the options say the work was given up; nothing is kept then.
 */
export async function familyRolloutInSlices(analysis: Analysis, family: MixingFamily, options: SliceOptions): Promise<Float32Array | null> {
  if (family.role !== 'mixing') return null;
  const key = `rollout:${family.key}`;
  const known = cacheOf(analysis).get(key) as Float32Array | undefined;
  if (known) return known;
  const m = mixingMatrices(analysis, family);
  const [r] = await rolloutLayersInSlices(family.normalised ? m : rowNormalisedAbs(m), family.mask !== 'bidirectional', 'last', options);
  return once(analysis, key, () => r);
}

/** The main family's rollout, or null without a self-mixing family. */
export function rolloutOf(analysis: Analysis): Float32Array | null {
  const family = mainMixing(analysis);
  return family ? familyRollout(analysis, family) : null;
}

export interface GateData {
  /** [L, T, G, U] */
  tensor: Tensor;
  gates: GateSpec[];
  /** The state the gates update ("c", "h"), when declared. */
  state?: string;
  /** How to read retention from the gates, or why it cannot be read. */
  retention: { ok: true; gates: RetentionGates } | { ok: false; reason: string };
}

/** The gates, if the model exports them. */
export function gateData(analysis: Analysis): GateData | undefined {
  const family = analysis.structure.gates;
  if (!family) return undefined;
  return once(analysis, 'gates', () => ({
    tensor: canonicalTensor(family.output, analysis.outputs[family.output.name]),
    gates: family.gates,
    state: family.state,
    retention: retentionGates(family.gates),
  }));
}

/**
 * Where retention W(t, k) = (keep_{k+1} ⋯ keep_t) · write_k is read from: the declared keep and write gates,
 * else a decay output (keep = decay, write = 1 − decay, as one gate whose complement writes).
 */
export interface RetentionData {
  /** [L, T, G, U]: the gates, or the decay as G = 1. */
  tensor: Tensor;
  spec: RetentionGates;
  /** What is retained, for labels: "state h", "decay". */
  label: string;
  source: 'gates' | 'decay';
}

/** The model's retention data, from its gates or its decay; undefined when it has neither usable. */
export function retentionData(analysis: Analysis): RetentionData | undefined {
  return once(analysis, 'retention', () => {
    const gates = gateData(analysis);
    if (gates?.retention.ok) return { tensor: gates.tensor, spec: gates.retention.gates, label: `state ${gates.state ?? ''}`.trim(), source: 'gates' as const };
    const decay = analysis.structure.decay;
    if (!decay) return undefined;
    const stacked = stackLayers(analysis, decay.outputs); // [L, T, U]
    const [L, T, U] = stacked.dims;
    return { tensor: { dims: [L, T, 1, U], data: stacked.data }, spec: { keep: 0, write: 0, writeIsComplement: true }, label: decay.label, source: 'decay' as const };
  });
}

export interface StateData {
  family: StateFamily;
  /** [L, T, U] */
  tensor: Tensor;
}

/** Per-token states (cell, hidden…), one per declared state (per-layer tensors stacked), in manifest order. */
export function stateData(analysis: Analysis): StateData[] {
  return once(analysis, 'states', () => analysis.structure.states.map((family) => ({ family, tensor: stackLayers(analysis, family.outputs) })));
}

/** The per-token state the gates update (the LSTM's cell, the GRU's hidden state), else the first. */
export function gatedState(analysis: Analysis): StateData | undefined {
  const states = stateData(analysis);
  const want = analysis.structure.gates?.state;
  return states.find((s) => s.family.state === want) ?? states[0];
}

/** Hidden states [L, T, F] of the primary sequence (per-layer outputs stacked), if exported. */
export function hiddenStateData(analysis: Analysis): Tensor | undefined {
  const specs = analysis.structure.hiddenStates;
  if (!specs.length) return undefined;
  return once(analysis, 'hidden', () => stackLayers(analysis, specs));
}

/**
 * One family's tensors in canonical order [L, …]: the one tensor with a layer axis as it is, or one tensor
 * per layer (each without the layer axis) stacked in the given (layer) order. Cached per output set.
 */
function stackLayers(analysis: Analysis, specs: readonly OutputSpec[]): Tensor {
  return once(analysis, `stack:${specs.map((s) => s.name).join('\n')}`, () => {
    const parts = specs.map((s) => canonicalTensor(s, analysis.outputs[s.name]));
    if (specs[0].layer === undefined) return parts[0];
    const inner = parts[0].dims;
    const size = parts[0].data.length;
    const data = new Float32Array(parts.length * size);
    parts.forEach((p, l) => {
      if (p.data.length !== size) throw new Error(`output "${specs[l].name}" is [${p.dims.join(', ')}]; expected [${inner.join(', ')}] like "${specs[0].name}"`);
      data.set(p.data, l * size);
    });
    return { dims: [parts.length, ...inner], data };
  });
}

/**
 * Layers the layer picker offers: the most the mixing families, gates, decay and states have; the hidden states'
 * count only for a model that exports nothing else per layer (hidden states usually hold L + 1 entries,
 * the embeddings first). 0 when the model exports nothing per layer.
 */
export function layerCount(analysis: Analysis): number {
  let n = 0;
  for (const f of analysis.structure.mixing) n = Math.max(n, mixingMatrices(analysis, f).layers);
  const gates = gateData(analysis);
  if (gates) n = Math.max(n, gates.tensor.dims[0]);
  for (const s of stateData(analysis)) n = Math.max(n, s.tensor.dims[0]);
  const retention = retentionData(analysis);
  if (retention) n = Math.max(n, retention.tensor.dims[0]);
  return n || (hiddenStateData(analysis)?.dims[0] ?? 0);
}
