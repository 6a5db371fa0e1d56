// An analysis's outputs read by role, in canonical axis order: mixing families as layered matrices (no
// copy of per-layer tensors), gates [L, T, G, U] with their declared meanings, states [L, T, U], hidden
// states, and the W(t, k) each family or gate set offers (rollout, retention). Views, hovers and the
// Compare view read the model through these functions only.

import { type LayeredMatrices, type Tensor, layeredFromLayers, layeredFromTensor, rollout } from './analysis';
import type { Analysis, AnalysedSequence } from './analyze';
import type { GateSpec } from './manifest';
import { type MixingFamily, type StateFamily, canonicalTensor, mainFamily } from './modelStructure';
import { type RetentionGates, retentionGates } from './retention';

const cache = new WeakMap<Analysis, Map<string, unknown>>();

/** Computes a value once per analysis. */
function once<T>(analysis: Analysis, key: string, make: () => T): T {
  let map = cache.get(analysis);
  if (!map) cache.set(analysis, (map = new Map()));
  if (!map.has(key)) map.set(key, make());
  return map.get(key) as T;
}

/** The matrices of a mixing family, [layer][head][query][key]. */
export function mixingMatrices(analysis: Analysis, family: MixingFamily): LayeredMatrices {
  return once(analysis, `mixing:${family.key}`, () => {
    const tensors = family.outputs.map((o) => canonicalTensor(o, analysis.outputs[o.name]));
    if (!family.perLayer) return layeredFromTensor(tensors[0]);
    return layeredFromLayers(tensors); // each [H, Tq, Tk]: a per-layer tensor has no layer axis
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

/** Attention rollout [T, T] of a self-mixing family, computed once (O(L·T³)); null for cross-mixing. */
export function familyRollout(analysis: Analysis, family: MixingFamily): Float32Array | null {
  if (family.role !== 'mixing') return null;
  return once(analysis, `rollout:${family.key}`, () => rollout(mixingMatrices(analysis, family), family.mask !== 'bidirectional'));
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

export interface StateData {
  family: StateFamily;
  /** [L, T, U] */
  tensor: Tensor;
}

/** Per-token states (cell, hidden…), in manifest order. */
export function stateData(analysis: Analysis): StateData[] {
  return once(analysis, 'states', () => analysis.structure.states.map((family) => ({ family, tensor: canonicalTensor(family.output, analysis.outputs[family.output.name]) })));
}

/** The per-token state the gates update (the LSTM's cell, the GRU's hidden state), else the first. */
export function gatedState(analysis: Analysis): StateData | undefined {
  const states = stateData(analysis);
  const want = analysis.structure.gates?.state;
  return states.find((s) => s.family.state === want) ?? states[0];
}

/** Hidden states [L, T, F] (per-layer outputs stacked), if exported. */
export function hiddenStateData(analysis: Analysis): Tensor | undefined {
  const specs = analysis.structure.hiddenStates;
  if (!specs.length) return undefined;
  return once(analysis, 'hidden', () => {
    const parts = specs.map((s) => canonicalTensor(s, analysis.outputs[s.name]));
    if (specs[0].layer === undefined) return parts[0]; // one tensor with a layer axis
    // One tensor per layer, each [T, F]: stacked in layer order.
    const [T, F] = parts[0].dims;
    const data = new Float32Array(parts.length * T * F);
    parts.forEach((p, l) => data.set(p.data, l * T * F));
    return { dims: [parts.length, T, F], data };
  });
}

/**
 * Layers the layer picker offers: the most the mixing families, gates and states have; the hidden states'
 * count only for a model that exports nothing else per layer (hidden states usually hold L + 1 entries,
 * the embeddings first). 0 when the model exports nothing per layer.
 */
export function layerCount(analysis: Analysis): number {
  let n = 0;
  for (const f of analysis.structure.mixing) n = Math.max(n, mixingMatrices(analysis, f).layers);
  const gates = gateData(analysis);
  if (gates) n = Math.max(n, gates.tensor.dims[0]);
  for (const s of stateData(analysis)) n = Math.max(n, s.tensor.dims[0]);
  return n || (hiddenStateData(analysis)?.dims[0] ?? 0);
}
