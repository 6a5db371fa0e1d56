// Why: a manifest can declare roles its graph does not honour (a "normalised" W that is logits before the
// softmax, a "causal" W that sees ahead, a "keep gate" that is a tanh, a vocabulary of another tokenizer).
// The views would then draw confident, wrong pictures. So before a model is first used, its warm-up run on
// a few tokens is checked against what its roles promise, and a model that breaks a promise fails to load
// with a message naming the model, the output, the rule, what was expected and what was found. Pure.

import { LowerTriangleTensor } from './lowerTriangle';
import type { Tensor } from './analysis';
import type { RunOutputs } from './engine';
import { LensError } from './errors';
import { type ModelManifest, type OutputSpec, formatAxes, sequenceOfAxis } from './manifest';
import { type MixingFamily, canonicalTensor, modelStructure } from './modelStructure';
import { formatCount } from './text';

/** How far a softmax row may sum from 1 (float32 sums over long rows drift by ~1e-6; 1e-3 is a broken row). */
export const ROW_SUM_TOLERANCE = 1e-3;
/** How far a gate or decay value may stray outside [0, 1] (a sigmoid in float32 reaches 0 and 1, never beyond). */
export const RANGE_TOLERANCE = 1e-5;
/** A masked weight is exp(−∞) = 0 or exp(−1e9) = 0 in float32; anything above this is a leak. */
const MASKED_TOLERANCE = 1e-6;

/** Token counts by sequence id of the run that produced the outputs. */
export type SequenceLengths = Record<string, number>;

const num = (v: number) => (Number.isNaN(v) ? 'NaN' : String(Number(v.toPrecision(4))));
const more = (n: number, what: string) => (n > 0 ? ` (and ${formatCount(n)} more ${what})` : '');

/**
 * Every broken promise of a run's outputs, one message per output and rule: shapes against the declared
 * axes, normalised mixing (rows sum to 1, no negative weight), causal and windowed masks, gates other than
 * candidates and decay factors in [0, 1], finite logits, and the logits' vocabulary against the tokenizer's.
 */
export function runProblems(manifest: ModelManifest, outputs: RunOutputs, lengths: SequenceLengths, vocabSize: number): string[] {
  const problems: string[] = [];
  const shapeOk = new Set<string>();
  for (const spec of manifest.outputs) {
    if (spec.role === 'ignored' || !outputs[spec.name]) continue;
    const problem = shapeProblem(manifest, spec, outputs[spec.name], lengths);
    if (problem) problems.push(`output "${spec.name}": ${problem}`);
    else shapeOk.add(spec.name);
  }
  const structure = modelStructure(manifest);
  for (const family of structure.mixing) {
    for (const spec of family.outputs) if (shapeOk.has(spec.name)) problems.push(...mixingProblems(family, spec, outputs[spec.name]).map((p) => `output "${spec.name}": ${p}`));
  }
  const gates = structure.gates;
  if (gates && shapeOk.has(gates.output.name)) problems.push(...gateProblems(gates.output, outputs[gates.output.name]));
  for (const spec of structure.decay?.outputs ?? []) {
    if (!shapeOk.has(spec.name)) continue;
    const bad = outOfRange(canonicalTensor(spec, outputs[spec.name]).data);
    if (bad) problems.push(`output "${spec.name}": decay factors must lie in [0, 1] (the share of a state kept), but value ${bad.index} is ${num(bad.value)}${more(bad.others, 'values')}`);
  }
  const logits = structure.logits;
  if (logits && shapeOk.has(logits.name)) problems.push(...logitsProblems(manifest, logits, outputs[logits.name], vocabSize));
  return problems;
}

/** Throws the model-invalid error that names every problem of a run (see runProblems), if there is one. */
export function assertSaneRun(manifest: ModelManifest, outputs: RunOutputs, lengths: SequenceLengths, vocabSize: number): void {
  const problems = runProblems(manifest, outputs, lengths, vocabSize);
  if (problems.length) throw new LensError('model-invalid', `${manifest.id}: ${problems.join('; ')}.`);
}

/** The output's dims (batch removed) against its declared axes: fixed sizes, and sequence axes the run's lengths. */
function shapeProblem(manifest: ModelManifest, spec: OutputSpec, tensor: Tensor, lengths: SequenceLengths): string | undefined {
  const axes = spec.axes.filter((a) => a.name !== 'batch');
  const expected = axes.map((a) => {
    if (typeof a.size === 'number') return a.size;
    const seq = sequenceOfAxis(manifest, a);
    return seq !== undefined ? lengths[seq] : undefined;
  });
  const fits = tensor.dims.length === axes.length && expected.every((e, i) => e === undefined || e === tensor.dims[i]);
  if (fits) return undefined;
  const shown = axes.map((a, i) => ({ ...a, size: expected[i] ?? a.size }));
  return `axes: expected ${formatAxes(shown)} (the manifest's axes, batch removed, on a run of ${describeLengths(lengths)}), found [${tensor.dims.join(', ')}]`;
}

function describeLengths(lengths: SequenceLengths): string {
  return Object.entries(lengths)
    .map(([id, n]) => (Object.keys(lengths).length > 1 ? `${n} ${id} tokens` : `${n} tokens`))
    .join(' and ');
}

/** Rows of a mixing tensor: sums (normalised families), signs (normalised) and masks (causal, windowed). */
function mixingProblems(family: MixingFamily, spec: OutputSpec, tensor: Tensor): string[] {
  // Axes the canonical order does not name would fold into the key axis: rows are then not rows.
  if (spec.axes.some((a) => !['batch', 'layer', 'head', 'query', 'key'].includes(a.name))) return [];
  const t = canonicalTensor(spec, tensor);
  const [L, H, Q, K] = spec.layer !== undefined ? [1, ...t.dims] : t.dims;
  const where = (l: number, h: number) => [spec.layer === undefined ? `layer ${l}` : '', H > 1 ? `head ${h}` : ''].filter(Boolean).join(', ');
  const at = (l: number, h: number, q: number) => `row ${q}${where(l, h) ? ` (${where(l, h)})` : ''}`;
  const sums = { first: '', others: 0 };
  const signs = { first: '', others: 0 };
  const masks = { first: '', others: 0 };
  const note = (into: typeof sums, text: () => string) => {
    if (into.first) into.others++;
    else into.first = text();
  };
  const window = family.mask === 'windowed' ? family.window : undefined;
  const globals = family.globalTokens ?? 0;
  const masked = (q: number, k: number) => (family.mask === 'causal' || family.mask === 'windowed') && (k > q || (window !== undefined && k <= q - window && k >= globals));
  let scratch: Float32Array | undefined; // lower triangles decode into it, one matrix after another
  for (let l = 0; l < L; l++) {
    for (let h = 0; h < H; h++) {
      // One matrix at a time: attention held as lower triangles decodes just it (lowerTriangle.ts).
      const m = l * H + h;
      const data = t instanceof LowerTriangleTensor ? t.decode(m, m + 1, (scratch ??= new Float32Array(Q * K))) : t.data.subarray(m * Q * K, (m + 1) * Q * K);
      for (let q = 0; q < Q; q++) {
        const row = q * K;
        let sum = 0;
        let negative = -1;
        let leak = -1;
        for (let k = 0; k < K; k++) {
          const w = data[row + k];
          sum += w;
          if (negative < 0 && w < 0) negative = k;
          if (leak < 0 && masked(q, k) && !(Math.abs(w) <= MASKED_TOLERANCE)) leak = k;
        }
        if (family.normalised && !(Math.abs(sum - 1) <= ROW_SUM_TOLERANCE)) note(sums, () => `rows must sum to 1 (a softmax), but ${at(l, h, q)} sums to ${num(sum)}`);
        if (family.normalised && negative >= 0) note(signs, () => `weights must not be negative (probabilities), but ${at(l, h, q)} gives key ${negative} the weight ${num(data[row + negative])}`);
        if (leak >= 0) note(masks, () => `${maskRule(family)}, but ${at(l, h, q)} gives key ${leak} the weight ${num(data[row + leak])}`);
      }
    }
  }
  return [sums, signs, masks].filter((p) => p.first).map((p) => p.first + more(p.others, 'rows'));
}

function maskRule(family: MixingFamily): string {
  if (family.mask === 'causal') return 'structure "causal": weights above the diagonal must be 0 (a token sees no later token)';
  const globals = family.globalTokens ? ` and the first ${family.globalTokens}` : '';
  return `structure "windowed" (window ${family.window}): a token may weigh only itself, the ${(family.window ?? 1) - 1} before it${globals}; the rest must be 0`;
}

/** Every gate but candidates lies in [0, 1]. */
function gateProblems(spec: OutputSpec, tensor: Tensor): string[] {
  const t = canonicalTensor(spec, tensor); // [L, T, G, U]
  const [L, T, G, U] = t.dims;
  const problems: string[] = [];
  (spec.gates ?? []).forEach((gate, g) => {
    if (gate.meaning === 'candidate' || g >= G) return;
    let first = '';
    let others = 0;
    for (let l = 0; l < L; l++) {
      for (let p = 0; p < T; p++) {
        for (let u = 0; u < U; u++) {
          const v = t.data[((l * T + p) * G + g) * U + u];
          if (v >= -RANGE_TOLERANCE && v <= 1 + RANGE_TOLERANCE) continue;
          if (first) others++;
          else first = `layer ${l}, token ${p}, unit ${u} is ${num(v)}`;
        }
      }
    }
    if (first) problems.push(`output "${spec.name}": gate "${gate.name}" (${gate.meaning}) must lie in [0, 1] (a sigmoid), but ${first}${more(others, 'values')}`);
  });
  return problems;
}

/** The first value outside [0, 1] (NaN included), with how many others there are. */
function outOfRange(data: Float32Array): { index: number; value: number; others: number } | undefined {
  let found: { index: number; value: number; others: number } | undefined;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v >= -RANGE_TOLERANCE && v <= 1 + RANGE_TOLERANCE) continue;
    if (found) found.others++;
    else found = { index: i, value: v, others: 0 };
  }
  return found;
}

/** Logits are finite, and have one entry per token of the tokenizer's vocabulary. */
function logitsProblems(manifest: ModelManifest, spec: OutputSpec, tensor: Tensor, vocabSize: number): string[] {
  const problems: string[] = [];
  const t = canonicalTensor(spec, tensor); // [T, V]
  const V = t.dims[t.dims.length - 1];
  if (V !== vocabSize) {
    problems.push(`output "${spec.name}": vocab axis: expected ${formatCount(vocabSize)} entries, one per token of ${manifest.tokenizer.file}, found ${formatCount(V)} (the model and the tokenizer must share one vocabulary)`);
  }
  let first = -1;
  let others = 0;
  for (let i = 0; i < t.data.length; i++) {
    if (Number.isFinite(t.data[i])) continue;
    if (first >= 0) others++;
    else first = i;
  }
  if (first >= 0) {
    const where = `token ${Math.floor(first / V)}, vocabulary entry ${first % V}`;
    problems.push(`output "${spec.name}": logits must be finite numbers, but ${where} is ${num(t.data[first])}${more(others, 'values')}`);
  }
  return problems;
}
