// What a model offers, derived from its manifest's roles alone: its token sequences, which one the logits
// score, its mixing families (attention-like W per layer and head, one sequence or across two), gates with
// their meanings, decay factors, states (per-layer tensors grouped by state) and the hidden states of the
// primary sequence, the parts of a selective scan (whose hidden attention becomes a derived mixing family,
// computed in hiddenAttention.ts) and of a linear attention. Views, hovers, the Compare view and the math ask
// this, never the architecture string.
// It also puts each role's tensor in one canonical axis order, whatever order the model exports (a copy
// only when the order differs).

import type { MixingMask, Tensor } from './analysis';
import {
  type AxisName,
  type GateSpec,
  type InputSpec,
  MIXING_PARTS,
  type MixingPart,
  type ModelManifest,
  type OutputRole,
  type OutputSpec,
  REQUIRED_MIXING_PARTS,
  REQUIRED_SCAN_PARTS,
  SELECTIVE_SCAN_PARTS,
  type SelectiveScanPart,
  axisIndex,
  sequenceOfAxis,
} from './manifest';

export interface SequenceInfo {
  id: string;
  label: string;
  length: string;
  addSpecialTokens: boolean;
  prefix: string[];
  input: InputSpec;
}

/** One attention-like W: a family of tensors (one with a layer axis, or one per layer). */
export interface MixingFamily {
  /** Unique within the model, e.g. "mixing/mixing", "cross_mixing/cross". */
  key: string;
  role: 'mixing' | 'cross_mixing';
  label: string;
  mask: MixingMask;
  window?: number;
  globalTokens?: number;
  /** Rows sum to 1 as declared (`normalised`, default true); when false, rollout row-normalises |W| first. */
  normalised: boolean;
  /** W may be negative (declared `signed`, or derived from a selective scan): drawn on a diverging scale. */
  signed: boolean;
  /** Sequence ids of the query (rows) and key (columns) axes. */
  query: string;
  keys: string;
  /** The tensors, in layer order; empty for a derived family. */
  outputs: OutputSpec[];
  perLayer: boolean;
  /**
   * Set when W is not exported but computed from other outputs: "selective_scan", the hidden attention of a
   * selective scan (roleData's mixingMatrices computes it from ModelStructure.selectiveScan, one head per layer).
   */
  derived?: 'selective_scan';
}

/** The parts of a selective scan (role selective_scan), by part; x, delta, A, B and C always, D and y when exported. */
export type SelectiveScanParts = { [P in 'x' | 'delta' | 'A' | 'B' | 'C']: OutputSpec } & { [P in 'D' | 'y']?: OutputSpec };

/** The factors of a linear attention (role mixing_parts), by part; query and key always. */
export type MixingParts = { [P in 'query' | 'key']: OutputSpec } & { [P in 'value' | 'output']?: OutputSpec };

export interface GateFamily {
  output: OutputSpec;
  gates: GateSpec[];
  /** The state they update, when declared ("c", "h"). */
  state?: string;
}

/** One recurrent state: a tensor with a layer axis, or one tensor per layer (stacked when read). */
export interface StateFamily {
  /** The first tensor (the only one unless per-layer). */
  output: OutputSpec;
  /** The tensors, in layer order. */
  outputs: OutputSpec[];
  perLayer: boolean;
  state: string;
  label: string;
}

/** Per-token keep factors in [0, 1] (retention with keep = decay, write = 1 − decay). */
export interface DecayFamily {
  /** The tensors, in layer order: one with a layer axis, or one per layer. */
  outputs: OutputSpec[];
  perLayer: boolean;
  label: string;
}

export interface ModelStructure {
  sequences: SequenceInfo[];
  /** The sequence the logits score (the decoder's for an encoder–decoder), else the last one declared. */
  primary: string;
  logits?: OutputSpec;
  /** Whether logits at t score token t + 1 (causal language model) or token t (masked language model). */
  predictsNext: boolean;
  mixing: MixingFamily[];
  gates?: GateFamily;
  decay?: DecayFamily;
  states: StateFamily[];
  /** The hidden states of the primary sequence (one family: the first group indexing it), in layer order. */
  hiddenStates: OutputSpec[];
  finalStates: OutputSpec[];
  /** Runs in chunks that carry a state (initial_state inputs fed from final_state outputs). */
  recurrent: boolean;
  /** The selective scan's parts, when the model exports them (its hidden attention is the last of `mixing`). */
  selectiveScan?: SelectiveScanParts;
  /** The linear attention's factors, when the model exports them. */
  mixingParts?: MixingParts;
}

/** Key of the mixing family derived from a selective scan. */
export const HIDDEN_ATTENTION_KEY = 'mixing/hidden_attention';

const structures = new WeakMap<ModelManifest, ModelStructure>();

/** The structure of a (validated) manifest, derived once. */
export function modelStructure(manifest: ModelManifest): ModelStructure {
  let s = structures.get(manifest);
  if (!s) structures.set(manifest, (s = deriveStructure(manifest)));
  return s;
}

function deriveStructure(manifest: ModelManifest): ModelStructure {
  const sequences: SequenceInfo[] = Object.entries(manifest.sequences).map(([id, spec]) => ({
    id,
    label: spec.label ?? (id === 'tokens' ? 'Tokens' : id[0].toUpperCase() + id.slice(1)),
    length: spec.length,
    addSpecialTokens: spec.addSpecialTokens ?? false,
    prefix: spec.prefix ?? [],
    input: manifest.inputs.find((i) => i.role === 'input_ids' && sequenceOfAxis(manifest, i.axes[axisIndex(i, 'position')]) === id)!,
  }));
  const logits = manifest.outputs.find((o) => o.role === 'logits');
  const logitsSeq = logits ? sequenceOfAxis(manifest, logits.axes[axisIndex(logits, 'position')]) : undefined;
  const families = new Map<string, MixingFamily>();
  for (const o of manifest.outputs) {
    if (o.role !== 'mixing' && o.role !== 'cross_mixing') continue;
    const key = `${o.role}/${o.group ?? o.role}`;
    let f = families.get(key);
    if (!f) {
      const cross = o.role === 'cross_mixing';
      f = {
        key,
        role: o.role,
        label: o.label ?? (cross ? 'cross-attention' : 'attention'),
        mask: cross ? 'cross' : (o.structure ?? 'causal'),
        window: o.window,
        globalTokens: o.globalTokens,
        normalised: o.normalised ?? true,
        signed: o.signed ?? false,
        query: sequenceOfAxis(manifest, o.axes[axisIndex(o, 'query')]) ?? sequences[0].id,
        keys: sequenceOfAxis(manifest, o.axes[axisIndex(o, 'key')]) ?? sequences[0].id,
        outputs: [],
        perLayer: o.layer !== undefined,
      };
      families.set(key, f);
    }
    f.outputs.push(o);
  }
  for (const f of families.values()) f.outputs.sort(byLayer);
  const gatesOut = manifest.outputs.find((o) => o.role === 'gates');
  const primary = logitsSeq ?? sequences[sequences.length - 1].id;
  const states = new Map<string, StateFamily>();
  for (const o of manifest.outputs.filter((x) => x.role === 'state')) {
    const state = o.state ?? '';
    const f = states.get(state);
    if (f) f.outputs.push(o);
    else states.set(state, { output: o, outputs: [o], perLayer: o.layer !== undefined, state, label: o.label ?? `state ${state}`.trim() });
  }
  for (const f of states.values()) f.output = f.outputs.sort(byLayer)[0];
  const decays = manifest.outputs.filter((o) => o.role === 'decay');
  const decayGroup = decays.filter((o) => (o.group ?? '') === (decays[0]?.group ?? '')).sort(byLayer);
  // Hidden states: the first group whose position axis indexes the primary sequence (an encoder's differ in length).
  const hidden = manifest.outputs.filter((o) => o.role === 'hidden_states' && sequenceOfAxis(manifest, o.axes[axisIndex(o, 'position')]) === primary);
  const selectiveScan = partsOf(manifest, 'selective_scan') as SelectiveScanParts | undefined;
  if (selectiveScan) {
    // The hidden attention α(t, k) of a selective scan: causal, signed, rows not normalised (Ali et al. 2024).
    const seq = sequenceOfAxis(manifest, selectiveScan.x.axes[axisIndex(selectiveScan.x, 'position')]) ?? sequences[0].id;
    const derived: MixingFamily = { key: HIDDEN_ATTENTION_KEY, role: 'mixing', label: 'hidden attention', mask: 'causal', normalised: false, signed: true, query: seq, keys: seq, outputs: [], perLayer: false, derived: 'selective_scan' };
    families.set(derived.key, derived);
  }
  return {
    sequences,
    primary,
    logits,
    predictsNext: (logits?.predicts ?? 'next') === 'next',
    mixing: [...families.values()],
    gates: gatesOut?.gates ? { output: gatesOut, gates: gatesOut.gates, state: gatesOut.state } : undefined,
    decay: decayGroup.length ? { outputs: decayGroup, perLayer: decayGroup[0].layer !== undefined, label: decayGroup[0].label ?? 'decay' } : undefined,
    states: [...states.values()],
    hiddenStates: hidden.filter((o) => (o.group ?? '') === (hidden[0]?.group ?? '')).sort(byLayer),
    finalStates: manifest.outputs.filter((o) => o.role === 'final_state'),
    recurrent: manifest.inputs.some((i) => i.role === 'initial_state'),
    selectiveScan,
    mixingParts: partsOf(manifest, 'mixing_parts') as MixingParts | undefined,
  };
}

/** The outputs of a role by part, or undefined when a required part is missing (the validator reports that). */
function partsOf(manifest: ModelManifest, role: 'selective_scan' | 'mixing_parts'): Record<string, OutputSpec> | undefined {
  const outputs = manifest.outputs.filter((o) => o.role === role && o.part !== undefined);
  if (!outputs.length) return undefined;
  const parts: Record<string, OutputSpec> = {};
  for (const o of outputs) parts[o.part!] ??= o;
  const required: readonly string[] = role === 'selective_scan' ? REQUIRED_SCAN_PARTS : REQUIRED_MIXING_PARTS;
  return required.every((p) => parts[p]) ? parts : undefined;
}

function byLayer(a: OutputSpec, b: OutputSpec): number {
  return (a.layer ?? 0) - (b.layer ?? 0);
}

/** The family the W(t, k) views start on: self-mixing of the primary sequence, else any self-mixing, else the first. */
export function mainFamily(structure: ModelStructure): MixingFamily | undefined {
  const { mixing, primary } = structure;
  return mixing.find((f) => f.role === 'mixing' && f.query === primary) ?? mixing.find((f) => f.role === 'mixing') ?? mixing[0];
}

/**
 * Whether the model is a language model of the text it reads: one sequence, and logits that score each next
 * token before the model has seen it. (A masked language model scores the token it reads; an encoder–decoder
 * has read the text as its source too.) Only such models' bits per byte compare.
 */
export function predictsUnseenText(structure: ModelStructure): boolean {
  return structure.logits !== undefined && structure.predictsNext && structure.sequences.length === 1;
}

/** Whether the model's W(t, k) on its primary sequence may look ahead (an encoder, a masked language model). */
export function looksAhead(structure: ModelStructure): boolean {
  return mainFamily(structure)?.mask === 'bidirectional' || !structure.predictsNext;
}

/** The canonical axis order of each role's tensor (batch removed); absent axes are inserted with size 1. */
const CANONICAL: Partial<Record<OutputRole, AxisName[]>> = {
  logits: ['position', 'vocab'],
  mixing: ['layer', 'head', 'query', 'key'],
  cross_mixing: ['layer', 'head', 'query', 'key'],
  gates: ['layer', 'position', 'gate', 'unit'],
  state: ['layer', 'position', 'unit'],
  hidden_states: ['layer', 'position', 'feature'],
  decay: ['layer', 'position', 'unit'],
};

/** The canonical axis order of an output: its role's, or for a part of a scan or a linear attention the part's. */
function canonicalOrder(spec: OutputSpec): readonly AxisName[] | undefined {
  if (spec.role === 'selective_scan') return SELECTIVE_SCAN_PARTS[spec.part as SelectiveScanPart];
  if (spec.role === 'mixing_parts') return MIXING_PARTS[spec.part as MixingPart];
  return CANONICAL[spec.role];
}

/**
 * An output's tensor (batch axis already removed) in its role's (or part's) canonical order. Axes the role does not
 * name (e.g. the state dimension of a state-space model) are folded into the last canonical axis, and a
 * per-layer tensor gets no layer axis (its spec's `layer` says which one it is).
 */
export function canonicalTensor(spec: OutputSpec, tensor: Tensor): Tensor {
  const order = canonicalOrder(spec);
  if (!order) return tensor;
  const names = spec.axes.filter((a) => a.name !== 'batch').map((a) => a.name);
  if (names.length !== tensor.dims.length) throw new Error(`output "${spec.name}" has ${tensor.dims.length} axes; its manifest names ${names.length} besides batch`);
  const wanted = order.filter((n) => !(n === 'layer' && spec.layer !== undefined));
  const extra = names.map((n, i) => ({ n, i })).filter(({ n }) => !wanted.includes(n));
  // Source axis for each canonical axis (-1: inserted, size 1); extra axes fold into the last one.
  const source = wanted.map((n) => names.indexOf(n));
  const perm = [...source.filter((i) => i >= 0), ...extra.map((e) => e.i)];
  const identity = perm.every((p, i) => p === i);
  // Already canonical: the tensor itself (which may hold its matrices as lower triangles, decoded when read).
  if (identity && wanted.length === names.length && source.every((s, i) => s === i)) return tensor;
  const data = identity ? tensor.data : permute(tensor, perm);
  const permutedDims = perm.map((p) => tensor.dims[p]);
  // Rebuild dims: canonical sizes, with the extra axes multiplied into the last.
  const dims: number[] = [];
  let j = 0;
  for (const s of source) dims.push(s >= 0 ? permutedDims[j++] : 1);
  for (; j < permutedDims.length; j++) dims[dims.length - 1] *= permutedDims[j];
  return { dims, data };
}

/** A copy of a tensor with its axes reordered: out axis i is input axis perm[i]. */
function permute(t: Tensor, perm: number[]): Float32Array {
  const n = t.dims.length;
  const strides = new Array<number>(n);
  strides[n - 1] = 1;
  for (let i = n - 2; i >= 0; i--) strides[i] = strides[i + 1] * t.dims[i + 1];
  const outDims = perm.map((p) => t.dims[p]);
  const outStrides = perm.map((p) => strides[p]);
  const out = new Float32Array(t.data.length);
  const index = new Array<number>(n).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let i = 0; i < n; i++) src += index[i] * outStrides[i];
    out[o] = t.data[src];
    for (let i = n - 1; i >= 0; i--) {
      if (++index[i] < outDims[i]) break;
      index[i] = 0;
    }
  }
  return out;
}
