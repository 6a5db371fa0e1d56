// Why: attention outputs grow as layers × heads × T², so a long selection with a GPT-2-sized model asks
// for gigabytes (12 × 12 × 4,096² floats are 9.7 GB). onnxruntime-web's heap is a wasm32 memory (4 GiB at
// most) and a webview has no swap to spare: an over-large run crashes the page instead of failing. This
// estimates, from the manifest's axes alone, what a run of T tokens takes, so the panel can refuse it
// before it starts and offer the longest window that fits. Pure.
//
// The figures. Every output onnxruntime returns (those marked "ignored" too: the session returns them) at
// its dtype's size, sequence axes at the run's lengths. The working set is WORKING_SET_FACTOR (2.5) times
// that: 1× is the copy in onnxruntime's heap (a wasm memory grows and never shrinks, so the peak stays; on
// WebGPU, the GPU buffers), 1× the copy in JavaScript typed arrays that the analysis keeps (onnxruntime-web
// copies each output out of its heap), and 0.5× the views' aggregates: head means per layer (1/H of the
// attention, ≤ 0.5 for H ≥ 2), rollout and the hovers' W(t, k) (a few T² each), and a canonical copy of a
// tensor only when its axis order differs. A model that runs a long text in chunks from its key/value cache
// (cacheChunks.ts) holds only one chunk's share of the outputs in the heap: chunk / T instead of 1×, and its
// causal W as lower triangles in JavaScript (lowerTriangle.ts): (T + 1) / 2T of those outputs, and half that
// again past HALF_PRECISION_FROM_BYTES (half precision). A mixing family the views compute rather than read (a selective
// scan's hidden attention: L × T² floats, one head per layer) adds DERIVED_WORKING_SET_FACTOR (2) times its
// size: the matrices and the row-normalised copy that rollout reads. The budget (DEFAULT_MEMORY_BUDGET,
// 4 GiB of working set, so about 1.6 GiB of outputs) keeps one analysis well inside a renderer process;
// memoryBudget() lowers it for big weights, which share the 4 GiB heap with the outputs' copy there.

import type { Tensor } from './analysis';
import { chunkPlan, chunkTokens } from './cacheChunks';
import { HALF_PRECISION_FROM_BYTES, LowerTriangleTensor } from './lowerTriangle';
import type { ModelManifest, OutputRole, OutputSpec } from './manifest';
import { sequenceOfAxis } from './manifest';
import { modelStructure } from './modelStructure';
import type { SequenceLengths } from './modelSanity';
import type { TokenizeOptions } from './tokenizer';
import { formatCount } from './text';

export type { SequenceLengths };

export const GiB = 2 ** 30;
/** Working set of an analysis per byte of outputs (see the header). */
export const WORKING_SET_FACTOR = 2.5;
/** Working set per byte of a mixing family computed in the views (see the header). */
export const DERIVED_WORKING_SET_FACTOR = 2;
/** Working set one analysis may take in a webview (see the header). */
export const DEFAULT_MEMORY_BUDGET = 4 * GiB;
/**
 * A shown analysis whose outputs hold more than this is released before the next run starts, so that two long
 * analyses never live at once (at 2,048 tokens a 12 × 12 model's previous analysis would add its 1.2 GB of
 * lower triangles, and the views' decoded heads, to the new one's peak); a shorter one stays on screen until
 * the new one replaces it.
 */
export const RELEASE_BEFORE_RUN_BYTES = 256 * 2 ** 20;
/** onnxruntime-web's heap: a wasm32 memory, 4 GiB at most. */
export const WASM_HEAP_LIMIT = 4 * GiB;
/** Heap left for the graph's intermediate tensors (scores before the softmax, feed-forward activations). */
export const HEAP_RESERVE = GiB / 2;

const DTYPE_BYTES = { float32: 4, int32: 4, int64: 8 } as const;

export interface OutputMemory {
  name: string;
  role: OutputRole;
  bytes: number;
}

export interface RunMemory {
  /** Tokens per sequence id. */
  lengths: SequenceLengths;
  /** Bytes of each output, in manifest order. */
  outputs: OutputMemory[];
  /** All outputs, once. */
  outputBytes: number;
  /** The mixing families computed from other outputs (a selective scan's hidden attention), once. */
  derivedBytes: number;
  /** The working set: outputBytes × WORKING_SET_FACTOR (the heap's share lower for a run in chunks) + derivedBytes × DERIVED_WORKING_SET_FACTOR. */
  bytes: number;
  /** The largest family of outputs in words, with its bytes: "attention of 12 layers × 12 heads at 4,096 tokens". */
  largest: { text: string; bytes: number };
}

/**
 * The working-set budget for a model whose weights take `weightBytes` (ONNX file and external data): the
 * default, or less when the weights leave the heap less than that room for the outputs' copy there.
 */
export function memoryBudget(weightBytes = 0): number {
  const heapRoom = Math.max(0, WASM_HEAP_LIMIT - HEAP_RESERVE - weightBytes);
  return Math.min(DEFAULT_MEMORY_BUDGET, heapRoom * WORKING_SET_FACTOR);
}

/** Lengths by sequence id: T for every sequence when one number is given. */
function lengthsOf(manifest: ModelManifest, lengths: SequenceLengths | number): SequenceLengths {
  if (typeof lengths !== 'number') return lengths;
  return Object.fromEntries(Object.keys(manifest.sequences).map((id) => [id, lengths]));
}

/** Elements of one output (batch 1): sequence axes at their lengths, fixed sizes as declared, free symbols 1. */
function elements(manifest: ModelManifest, o: OutputSpec, lengths: SequenceLengths): number {
  return o.axes.reduce<number>((n, a) => {
    if (a.name === 'batch') return n;
    if (typeof a.size === 'number') return n * a.size;
    const seq = sequenceOfAxis(manifest, a);
    return n * (seq !== undefined ? (lengths[seq] ?? 1) : 1);
  }, 1);
}

/** What a run on sequences of these lengths (or T tokens in each) takes: every output and the working set. */
export function runMemory(manifest: ModelManifest, lengths: SequenceLengths | number): RunMemory {
  const byId = lengthsOf(manifest, lengths);
  const outputs = manifest.outputs.map((o) => ({ name: o.name, role: o.role, bytes: DTYPE_BYTES[o.dtype] * elements(manifest, o, byId) }));
  const outputBytes = outputs.reduce((n, o) => n + o.bytes, 0);
  const derived = derivedFamilies(manifest, byId);
  const derivedBytes = derived.reduce((n, f) => n + f.bytes, 0);
  // A run in chunks from the model's cache holds one chunk's outputs in onnxruntime's heap, not all of them,
  // and keeps its causal W as lower triangles: (T + 1) / 2T of the matrices.
  const plan = Object.keys(byId).length === 1 ? chunkPlan(manifest) : undefined;
  const T = Object.values(byId)[0];
  const size = plan ? chunkTokens(plan, T) : T;
  const chunked = plan !== undefined && size < T;
  const heapShare = size / T;
  const rowBytes = chunked ? outputs.filter((o) => plan.joins[o.name] === 'rows').reduce((n, o) => n + o.bytes, 0) : 0;
  const triangleBytes = rowBytes * ((T + 1) / (2 * T));
  const heldBytes = outputBytes - rowBytes + (triangleBytes > HALF_PRECISION_FROM_BYTES ? triangleBytes / 2 : triangleBytes);
  const bytes = heldBytes * (WORKING_SET_FACTOR - 1) + outputBytes * heapShare + derivedBytes * DERIVED_WORKING_SET_FACTOR;
  return { lengths: byId, outputs, outputBytes, derivedBytes, bytes, largest: largestFamily(manifest, byId, outputs, derived) };
}

/** The mixing families the views compute (float32, one head per layer, T × T at the length of the sequence they mix), in words. */
function derivedFamilies(manifest: ModelManifest, lengths: SequenceLengths): Array<{ text: string; bytes: number }> {
  const structure = modelStructure(manifest);
  return structure.mixing
    .filter((f) => f.derived === 'selective_scan' && structure.selectiveScan)
    .map((f) => {
      const size = structure.selectiveScan!.x.axes.find((a) => a.name === 'layer')?.size;
      const L = typeof size === 'number' ? size : 1;
      const T = lengths[f.query] ?? 1;
      return { text: `${f.label} of ${count(L)} layer${L === 1 ? '' : 's'} at ${count(T)} tokens`, bytes: 4 * L * T * T };
    });
}

/**
 * The most tokens a run may read within a working-set budget (each sequence reads them, plus its special
 * tokens given in `special`); 0 when not even one fits, Infinity when the outputs do not grow with T.
 */
export function maxTokensWithin(manifest: ModelManifest, budgetBytes: number, special: SequenceLengths = {}): number {
  const fits = (n: number) => runMemory(manifest, Object.fromEntries(Object.keys(manifest.sequences).map((id) => [id, n + (special[id] ?? 0)]))).bytes <= budgetBytes;
  if (!fits(1)) return 0;
  let lo = 1;
  let hi = 2;
  while (fits(hi)) {
    lo = hi;
    hi *= 2;
    if (hi > 2 ** 40) return Infinity;
  }
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/** Token counts of an analysis of `text`: the kept tokens (at most maxTokens) plus each sequence's special tokens. */
export interface SelectionLengths {
  /** Tokens of the text the analysis keeps (without special tokens). */
  tokens: number;
  /** Special tokens each sequence adds (post-processor, prefix). */
  special: SequenceLengths;
  lengths: SequenceLengths;
}

/**
 * How many tokens each sequence of an analysis of `text` reads, as analyse() will tokenize it, with `tokenize`
 * (a tokenizer's, or the webview's tokenizer worker's); `plain`: the text's tokens when already known.
 */
export async function selectionLengths(manifest: ModelManifest, tokenize: (text: string, options: TokenizeOptions) => readonly unknown[] | Promise<readonly unknown[]>, text: string, maxTokens: number, plain?: readonly unknown[]): Promise<SelectionLengths> {
  const sequences = modelStructure(manifest).sequences;
  // Special tokens do not depend on the text: count them once on a probe (the calls may go to a worker: all at once).
  const [counted, probe, withSpecial] = await Promise.all([
    plain ?? tokenize(text, {}),
    tokenize('a', {}),
    Promise.all(sequences.map(async (s) => (s.addSpecialTokens || s.prefix.length ? tokenize('a', { addSpecialTokens: s.addSpecialTokens, prefix: s.prefix }) : undefined))),
  ]);
  const tokens = Math.min(counted.length, maxTokens);
  const special: SequenceLengths = {};
  const lengths: SequenceLengths = {};
  sequences.forEach((s, i) => {
    special[s.id] = (withSpecial[i]?.length ?? probe.length) - probe.length;
    lengths[s.id] = tokens + special[s.id];
  });
  return { tokens, special, lengths };
}

const count = formatCount;

/** Bytes for people, decimal units: "9.7 GB", "850.7 MB". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${(bytes / 1e3).toFixed(1)} kB`;
}

/**
 * The outputs a run holds in half precision (lower triangles past HALF_PRECISION_FROM_BYTES), as the panel
 * says it: undefined when every output holds the model's float32 values.
 */
export function halfPrecisionNote(outputs: Record<string, Tensor>): string | undefined {
  const half = Object.entries(outputs).filter((e): e is [string, LowerTriangleTensor] => e[1] instanceof LowerTriangleTensor && e[1].half);
  if (!half.length) return undefined;
  const bytes = half.reduce((n, [, t]) => n + t.byteLength, 0);
  const names = half.map(([name]) => name);
  const list = names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
  return (
    `Long input: ${list} ${half.length === 1 ? 'is' : 'are'} held in half precision (${formatBytes(bytes)} instead of ${formatBytes(2 * bytes)} in float32), ` +
    'so each weight shown is within 0.05% of the model\'s value (3·10⁻⁸ below 6·10⁻⁵; rows sum to 1 within 0.1%).'
  );
}

/** What a finished run's outputs hold in JavaScript: their arrays, lower triangles as stored (never decoded). */
export function heldBytes(outputs: Record<string, Tensor>): number {
  return Object.values(outputs).reduce((n, t) => n + (t instanceof LowerTriangleTensor ? t.byteLength : t.data.byteLength), 0);
}

/**
 * Why a run does not fit, with the model's figures: "attention of 12 layers × 12 heads at 4,096 tokens
 * takes 9.7 GB; …; at most 1,530 tokens fit." `fit` comes from maxTokensWithin.
 */
export function overBudgetMessage(manifest: ModelManifest, memory: RunMemory, budgetBytes: number, fit: number): string {
  const rest = memory.outputBytes + memory.derivedBytes > memory.largest.bytes ? 'with the other outputs, ' : '';
  const tail = fit >= 1 ? `at most ${count(fit)} tokens fit` : 'not even one token fits';
  return (
    `${manifest.displayName}: ${memory.largest.text} takes ${formatBytes(memory.largest.bytes)}; ${rest}held by onnxruntime and by the views ` +
    `(× ${WORKING_SET_FACTOR}), the analysis would need about ${formatBytes(memory.bytes)}, more than the ${formatBytes(budgetBytes)} one analysis may take in this panel; ${tail}.`
  );
}

/** The family of outputs that takes the most (a mixing family, or the tensors of one role and group), in words. */
function largestFamily(manifest: ModelManifest, lengths: SequenceLengths, outputs: OutputMemory[], derived: Array<{ text: string; bytes: number }>): { text: string; bytes: number } {
  const bytesOf = (specs: readonly OutputSpec[]) => specs.reduce((n, o) => n + (outputs.find((m) => m.name === o.name)?.bytes ?? 0), 0);
  const seqLength = (o: OutputSpec, axis: string) => {
    const seq = sequenceOfAxis(manifest, o.axes.find((a) => a.name === axis));
    return seq !== undefined ? (lengths[seq] ?? 1) : 1;
  };
  const layersOf = (specs: readonly OutputSpec[]) => {
    if (specs[0].layer !== undefined) return specs.length;
    const size = specs[0].axes.find((a) => a.name === 'layer')?.size;
    return typeof size === 'number' ? size : 1;
  };
  const layerWords = (specs: readonly OutputSpec[]) => {
    const L = layersOf(specs);
    return specs[0].layer !== undefined || specs[0].axes.some((a) => a.name === 'layer') ? `${count(L)} layer${L === 1 ? '' : 's'}` : '';
  };
  const candidates: Array<{ text: string; bytes: number }> = [...derived];
  const grouped = new Set<string>();
  for (const f of modelStructure(manifest).mixing) {
    const o = f.outputs[0];
    if (!o) continue; // derived: counted above
    const heads = o.axes.find((a) => a.name === 'head')?.size;
    const parts = [layerWords(f.outputs), typeof heads === 'number' ? `${count(heads)} head${heads === 1 ? '' : 's'}` : ''].filter(Boolean).join(' × ');
    const q = seqLength(o, 'query');
    const k = seqLength(o, 'key');
    const at = q === k ? `${count(q)} tokens` : `${count(q)} × ${count(k)} tokens`;
    candidates.push({ text: `${f.label} of ${parts ? `${parts} at ` : ''}${at}`, bytes: bytesOf(f.outputs) });
    f.outputs.forEach((x) => grouped.add(x.name));
  }
  const families = new Map<string, OutputSpec[]>();
  for (const o of manifest.outputs) {
    if (grouped.has(o.name)) continue;
    const key = o.role === 'ignored' ? `ignored/${o.name}` : `${o.role}/${o.role === 'state' || o.role === 'final_state' ? (o.state ?? '') : (o.group ?? '')}`;
    families.set(key, [...(families.get(key) ?? []), o]);
  }
  for (const specs of families.values()) {
    const o = specs[0];
    const T = seqLength(o, 'position');
    const vocab = o.axes.find((a) => a.name === 'vocab')?.size;
    const label = o.label ?? (o.role === 'ignored' || o.role === 'cache' ? `output "${o.name}"${specs.length > 1 ? ' and its family' : ''}` : o.role.replace('_', ' '));
    const layers = layerWords(specs);
    const text =
      o.role === 'logits' && typeof vocab === 'number'
        ? `logits of ${count(T)} tokens × ${count(vocab)} vocabulary entries`
        : `${label}${layers ? ` of ${layers}` : ''}${o.axes.some((a) => a.name === 'position') ? ` at ${count(T)} tokens` : ''}`;
    candidates.push({ text, bytes: bytesOf(specs) });
  }
  return candidates.reduce((a, b) => (b.bytes > a.bytes ? b : a), { text: 'the outputs', bytes: 0 });
}
