// Occlusion that reuses the unchanged prefix. In a causal model, replacing token k cannot change anything
// before k, so a model that can start a run from a given state needs to run only tokens k..T-1, from what
// the unperturbed run had after token k-1: about T²/2 tokens in all instead of T². Which models can is read
// from roles alone, for one sequence: a recurrent model through `initial_state` inputs, each with a `state`
// output with a position axis holding that state after every token in the input's layout (checked on the
// base run: its last position must equal the `final_state`); an attention model through `empty_cache`
// inputs, each naming the `cache` output that holds its keys or values for every token (checked on the base
// run: its last tokens run from the cache of the others give the same logits).

import type { Tensor } from './analysis';
import type { ModelRunner } from './engine';
import { type SeededCache, cacheSeeds } from './cacheChunks';
import { LensError } from './errors';
import type { KeptCaches, StateFeed } from './keptTensor';
import { type InputSpec, type ModelManifest, type OutputSpec, axisIndex } from './manifest';
import { modelStructure } from './modelStructure';
import { type OcclusionOptions, type OcclusionTarget, type SequenceIds, logitsDims, occlusion, pipelinedBatches, withKlSums, writeColumns } from './occlusion';

/** What occlusion needs of a model runner (a ModelRunner). */
export type OcclusionRunner = Pick<ModelRunner, 'manifest' | 'run' | 'runBatchLogits' | 'keepCaches'>;

/**
 * Consecutive positions k0 < k1 < … share a run, all of length T - k0: from recurrent states, suffixes are padded
 * at the end to the longest (read only after every real token); from a cache, every item starts after token
 * k0 - 1 and recomputes the unchanged tokens k0..k-1 before its replaced one. Either way item k spends k - k0
 * tokens on nothing. Batching barely lowers the cost per token of a recurrent run on a CPU (the bundled ones in
 * onnxruntime-web's wasm cost about the same per token at 1, 4 or 16 sequences per run) but lowers an attention
 * model's by 15–20% at 4–8 items (larger products); it also amortises the per-run overhead, which counts for
 * short suffixes. So positions share a run only while that waste stays at most this share of its tokens.
 */
const MAX_PADDING_SHARE = 1 / 32;

/** One initial_state input and the per-token state that seeds it. */
interface SeededState {
  input: InputSpec;
  /** One tensor with the input's axes plus position, or one per layer (then the input has a layer axis). */
  outputs: OutputSpec[];
  perLayer: boolean;
  final: OutputSpec;
}

export interface PrefixPlan {
  sequence: string;
  /** What a run starts from: recurrent states (one per suffix) or caches (the first suffix's, for every one). */
  states: SeededState[];
  caches: SeededCache[];
  /** Most suffixes per run: 1 when an input has no batch axis. */
  maxItems: number;
}

const names = (spec: { axes: ReadonlyArray<{ name: string }> }, without: readonly string[]) => spec.axes.map((a) => a.name).filter((n) => !without.includes(n));
const sameNames = (a: string[], b: string[]) => a.length === b.length && a.every((n, i) => n === b[i]);

/**
 * How occlusion of this target can start each run from the base run's state, or undefined when it cannot:
 * a non-causal target, several sequences, logits not [batch, position, vocab], no initial_state inputs, an
 * empty cache (the suffix would not see the prefix), position ids (suffixes of one run start at different
 * positions), or an initial_state without a per-token state of the same name and layout.
 */
export function prefixPlan(manifest: ModelManifest, target: OcclusionTarget): PrefixPlan | undefined {
  const structure = modelStructure(manifest);
  if (!target.causal || target.occluded !== target.observed) return undefined;
  if (structure.sequences.length !== 1 || structure.sequences[0].id !== target.occluded) return undefined;
  if (!structure.logits || !sameNames(names(structure.logits, []), ['batch', 'position', 'vocab'])) return undefined;
  const caches = cacheSeeds(manifest);
  if (caches) return { sequence: target.occluded, states: [], caches, maxItems: Number.MAX_SAFE_INTEGER };
  if (manifest.inputs.some((i) => i.role === 'empty_cache' || i.role === 'position_ids')) return undefined;
  const seeded = manifest.inputs.filter((i) => i.role === 'initial_state');
  if (!seeded.length) return undefined;
  const states: SeededState[] = [];
  for (const input of seeded) {
    const family = structure.states.find((f) => f.state === input.state);
    const final = structure.finalStates.find((o) => o.state === input.state);
    if (!family || !final || family.outputs.some((o) => axisIndex(o, 'position') < 0)) return undefined;
    const wanted = names(input, ['batch']);
    const matches = family.perLayer
      ? wanted.includes('layer') && family.outputs.every((o) => sameNames(names(o, ['batch', 'position']), wanted.filter((n) => n !== 'layer')))
      : family.outputs.length === 1 && sameNames(names(family.output, ['batch', 'position']), wanted);
    if (!matches) return undefined;
    states.push({ input, outputs: family.outputs, perLayer: family.perLayer, final });
  }
  const batched = manifest.inputs.every((i) => axisIndex(i, 'batch') >= 0);
  return { sequence: target.occluded, states, caches: [], maxItems: batched ? Number.MAX_SAFE_INTEGER : 1 };
}

/**
 * What each suffix of a run starts from, by state or cache name (nothing for k = 0 alone: zeros, empty): the
 * state after token k - 1 for each k, or for every item the kept cache of tokens 0..k0 - 1, k0 the first k
 * (built where the model runs: see keptTensor.ts).
 */
function seeds(plan: PrefixPlan, base: Record<string, Tensor>, ks: number[], kept: KeptCaches | undefined): Record<string, StateFeed> {
  const initial: Record<string, StateFeed> = {};
  if (ks.length === 1 && ks[0] === 0) return initial;
  if (kept) Object.assign(initial, kept.after(ks[0]));
  for (const seed of plan.states) {
    const items = ks.map((k) => (k === 0 ? new Float32Array(stateAfter(seed, base, 0).length) : stateAfter(seed, base, k - 1)));
    initial[seed.input.state!] = batchStates(seed.input, items);
  }
  return initial;
}

/** Slices a state tensor (batch removed) at one position: the other axes, in order. */
function atPosition(spec: OutputSpec, value: Tensor, position: number): Float32Array {
  const axis = names(spec, ['batch']).indexOf('position');
  const outer = value.dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = value.dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  const T = value.dims[axis];
  const out = new Float32Array(outer * inner);
  for (let o = 0; o < outer; o++) out.set(value.data.subarray((o * T + position) * inner, (o * T + position + 1) * inner), o * inner);
  return out;
}

/** The state after token `position` in the input's layout without its batch axis. */
function stateAfter(seed: SeededState, base: Record<string, Tensor>, position: number): Float32Array {
  if (!seed.perLayer) return atPosition(seed.outputs[0], base[seed.outputs[0].name], position);
  const layers = seed.outputs.map((o) => atPosition(o, base[o.name], position));
  const dims = names(seed.input, ['batch']);
  const layerAxis = dims.indexOf('layer');
  // Axes before the layer axis have the input's fixed sizes; the per-layer slice lays them out first.
  const outer = seed.input.axes.filter((a) => a.name !== 'batch').slice(0, layerAxis).reduce((n, a) => n * (typeof a.size === 'number' ? a.size : 1), 1);
  const inner = layers[0].length / outer;
  const out = new Float32Array(layers.length * layers[0].length);
  for (let o = 0; o < outer; o++) layers.forEach((slice, l) => out.set(slice.subarray(o * inner, (o + 1) * inner), (o * layers.length + l) * inner));
  return out;
}

/** Interleaves one state per batch item into the input's layout with a batch axis of size items.length. */
function batchStates(input: InputSpec, items: Float32Array[]): Float32Array {
  const n = items[0].length;
  const batchAxis = axisIndex(input, 'batch');
  if (batchAxis < 0) return items[0];
  const outer = input.axes.slice(0, batchAxis).reduce((m, a) => m * (typeof a.size === 'number' ? a.size : 1), 1);
  const inner = n / outer;
  const out = new Float32Array(items.length * n);
  for (let o = 0; o < outer; o++) items.forEach((item, b) => out.set(item.subarray(o * inner, (o + 1) * inner), (o * items.length + b) * inner));
  return out;
}

/**
 * Whether a run can start from what the base run left: the states at the last position equal the final states
 * (the outputs hold the state after each token), and the last tokens (at most 4) run from the cache of the
 * others give the base run's logits there (the cache holds every token's keys and values, in order). Returns
 * why not, or undefined when it can.
 */
async function prefixCheck(runner: OcclusionRunner, plan: PrefixPlan, base: Record<string, Tensor>, kept: KeptCaches | undefined, tokens: readonly number[], logits: Float32Array, V: number): Promise<string | undefined> {
  const T = tokens.length;
  if (kept && T > 1) {
    const k = Math.max(1, T - 4);
    const rest = await runner.runBatchLogits([{ [plan.sequence]: tokens.slice(k) }], seeds(plan, base, [k], kept));
    const expected = logits.subarray(k * V);
    if (rest.data.length !== expected.length || rest.data.some((x, i) => !(Math.abs(x - expected[i]) <= 1e-4 * (1 + Math.abs(expected[i]))))) {
      return `the last ${T - k} tokens run from the cache outputs (${plan.caches.map((c) => `"${c.output.name}"`).join(', ')}) of the others did not give the whole run's logits`;
    }
  }
  const wrong = plan.states.find((seed) => {
    const last = stateAfter(seed, base, T - 1);
    const final = base[seed.final.name].data;
    return !(last.length === final.length && last.every((x, i) => Math.abs(x - final[i]) <= 1e-5 * (1 + Math.abs(final[i]))));
  });
  return wrong && `the state outputs of "${wrong.input.state}" (${wrong.outputs.map((o) => `"${o.name}"`).join(', ')}) do not end in the final state "${wrong.final.name}"`;
}

/**
 * Occlusion as occlusion() computes it for a causal model observing the sequence it occludes, running for
 * each k only tokens k..T-1 from the base run's state after token k-1 (zeros for k = 0), or from its cache of
 * tokens 0..k-1 (empty for k = 0); rows before k stay 0 as there. Returns undefined when the base run fails
 * the check (then run occlusion()).
 */
export async function occlusionReusingPrefix(
  runner: OcclusionRunner,
  plan: PrefixPlan,
  ids: SequenceIds,
  options: OcclusionOptions,
): Promise<Float32Array | undefined> {
  const tokens = ids[plan.sequence];
  if (!tokens) throw new LensError('model-invalid', `Occlusion: no sequence "${plan.sequence}" to occlude.`);
  const cancelled = () => {
    if (options.signal?.aborted) throw new LensError('cancelled', 'Occlusion was cancelled.');
  };
  const T = tokens.length;
  const positions = Array.from({ length: T }, (_, k) => k).filter((k) => !options.skip?.(k));
  const out = new Float32Array(T * T);
  if (!positions.length) return out;
  cancelled();
  const base = await runner.run(ids, { signal: options.signal });
  const logitsName = runner.manifest.outputs.find((o) => o.role === 'logits')!.name;
  const V = logitsDims({ dims: [1, ...base[logitsName].dims], data: base[logitsName].data }, 1, T);
  // The caches go once to where the model runs; each batch names the prefix it starts from.
  const kept = plan.caches.length ? await runner.keepCaches(base) : undefined;
  try {
    const refused = await prefixCheck(runner, plan, base, kept, tokens, base[logitsName].data, V);
    if (refused) {
      options.onMethod?.({ reused: null, refused, tokens: positions.length * T, wholeTokens: positions.length * T });
      return undefined;
    }
    await runSuffixes(runner, plan, base[logitsName].data, kept, base, tokens, positions, V, out, options, cancelled);
    return out;
  } finally {
    // Freeing fails only with the worker that holds them (then the occlusion failed already, or its result stands).
    await kept?.release().catch(() => undefined);
  }
}

/** The batched runs of each suffix (occlusionReusingPrefix, once the base run passed the check), written to `out`. */
async function runSuffixes(
  runner: OcclusionRunner,
  plan: PrefixPlan,
  baseLogits: Float32Array,
  kept: KeptCaches | undefined,
  base: Record<string, Tensor>,
  tokens: readonly number[],
  positions: number[],
  V: number,
  out: Float32Array,
  options: OcclusionOptions,
  cancelled: () => void,
): Promise<void> {
  const T = tokens.length;
  const maxBytes = options.maxBatchBytes ?? 256 * 2 ** 20;
  const batches: number[][] = [];
  for (let first = 0; first < positions.length; ) {
    const k0 = positions[first];
    const length = T - k0;
    const byBytes = Math.max(1, Math.floor(maxBytes / (length * V * 4)));
    const ks = [k0];
    let padding = 0;
    while (first + ks.length < positions.length && ks.length < Math.min(byBytes, plan.maxItems)) {
      const extra = positions[first + ks.length] - k0;
      if (padding + extra > MAX_PADDING_SHARE * (ks.length + 1) * length) break;
      padding += extra;
      ks.push(positions[first + ks.length]);
    }
    batches.push(ks);
    first += ks.length;
  }
  options.onMethod?.({ reused: plan.caches.length ? 'cache' : 'state', tokens: batches.reduce((n, ks) => n + ks.length * (T - ks[0]), 0), wholeTokens: positions.length * T });
  // From a cache: tokens k0.. with token k replaced. From states: token k replaced, then the rest, padded at
  // the end with any id (read after every real token only). Item k's position t is then its row t - start(k).
  const fromCache = plan.caches.length > 0;
  const start = (ks: number[], k: number) => (fromCache ? ks[0] : k);
  let done = 0;
  await withKlSums(options, cancelled, async (sums) => {
    // Not awaited here: the worker starts (its first occlusion) and keeps the baseline while the first batch runs.
    const baselineKept = sums.baseline(baseLogits.slice(0, T * V), T, V);
    baselineKept.catch(() => undefined); // awaited before the first batch's sums
    await pipelinedBatches(
      batches,
      (ks) => {
        const length = T - ks[0];
        const batch = ks.map((k) => {
          const suffix = fromCache ? tokens.slice(ks[0]) : [options.replacementId, ...tokens.slice(k + 1)];
          if (fromCache) suffix[k - ks[0]] = options.replacementId;
          while (suffix.length < length) suffix.push(options.replacementId);
          return { [plan.sequence]: suffix };
        });
        return runner.runBatchLogits(batch, seeds(plan, base, ks, kept));
      },
      async (ks, logits) => {
        const length = T - ks[0];
        logitsDims(logits, ks.length, length);
        const batch = { first: [...ks], rowStart: ks.map((k, b) => b * length + k - start(ks, k)) };
        await baselineKept;
        writeColumns(out, T, ks, batch, T, await sums.columns(batch, logits.data));
        options.onProgress?.((done += ks.length), positions.length);
      },
      options,
      cancelled,
    );
  });
}

/**
 * Occlusion of a model through its runner: reusing the prefix where prefixPlan allows, else occlusion()'s
 * whole perturbed copies (an attention model without a cache it can be handed, an encoder or a masked model,
 * which is not causal).
 */
export async function runnerOcclusion(runner: OcclusionRunner, ids: SequenceIds, options: OcclusionOptions & OcclusionTarget): Promise<Float32Array> {
  const plan = prefixPlan(runner.manifest, options);
  const reused = plan ? await occlusionReusingPrefix(runner, plan, ids, options) : undefined;
  return reused ?? occlusion((batch) => runner.runBatchLogits(batch), ids, options);
}
