// Decoding for "Fill in the selection": the model writes the hidden span token by token after the target's
// prefix and `begin`, greedily (the most likely token each step) or by beam search, and stops at the
// manifest's `end` token or after maxNewTokens. Without a key/value cache each step reruns the whole target,
// which is cheap for the short spans this fills; the beams of a step run as one batch when the model can.

import { type Tensor, logSumExp } from './analysis';
import type { ModelRunner, SequenceIds } from './engine';
import { LensError } from './errors';
import { axisIndex } from './manifest';
import { canonicalTensor } from './modelStructure';

/** Log-probabilities (natural log) of the next token after each target, one Float64Array [V] per target. */
export type NextTokenLogProbs = (targets: ReadonlyArray<readonly number[]>) => Promise<Float64Array[]>;

/** A decoded filling: its token ids (without `end`), whether the model wrote `end`, and its scores. */
export interface Decoded {
  ids: number[];
  ended: boolean;
  /** Sum of the natural log-probabilities of the tokens written, `end` included when written. */
  logProbability: number;
  /** logProbability divided by the number of tokens written (`end` included): beam search ranks by this. */
  score: number;
}

/**
 * The next-token log-probabilities of a model that reads `source` and writes `target`: one batched run for
 * several targets of equal length when the model allows (batchable, logits [batch, position, vocab]),
 * else one run each.
 */
export function nextTokenLogProbs(runner: ModelRunner, source: { id: string; ids: readonly number[] }, target: string, signal?: AbortSignal): NextTokenLogProbs {
  const spec = runner.structure.logits;
  if (!spec) throw new LensError('model-invalid', `Model "${runner.manifest.id}" has no output with role "logits", so it cannot write a filling.`);
  const batchLayout = ['batch', 'position', 'vocab'].every((name, i) => axisIndex(spec, name as 'batch') === i);
  const inputs = (t: readonly number[]): SequenceIds => ({ [source.id]: source.ids, [target]: t });
  return async (targets) => {
    if (signal?.aborted) throw new LensError('cancelled', 'The fill was cancelled.');
    const equalLengths = targets.every((t) => t.length === targets[0].length);
    if (targets.length > 1 && equalLengths && runner.batchable && batchLayout) {
      const logits = await runner.runBatchLogits(targets.map(inputs));
      const [, T, V] = logits.dims;
      return targets.map((_, b) => lastRowLogProbs(logits.data, (b * T + T - 1) * V, V));
    }
    const rows: Float64Array[] = [];
    for (const t of targets) {
      if (signal?.aborted) throw new LensError('cancelled', 'The fill was cancelled.');
      const outputs = await runner.run(inputs(t), { signal });
      const logits: Tensor = canonicalTensor(spec, outputs[spec.name]);
      const [T, V] = [logits.dims[logits.dims.length - 2], logits.dims[logits.dims.length - 1]];
      rows.push(lastRowLogProbs(logits.data, (T - 1) * V, V));
    }
    return rows;
  };
}

function lastRowLogProbs(data: Float32Array, offset: number, V: number): Float64Array {
  const lse = logSumExp(data, offset, V);
  const out = new Float64Array(V);
  for (let v = 0; v < V; v++) out[v] = data[offset + v] - lse;
  return out;
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let v = 1; v < row.length; v++) if (row[v] > row[best]) best = v;
  return best;
}

function decoded(ids: number[], ended: boolean, logProbability: number): Decoded {
  const written = ids.length + (ended ? 1 : 0);
  return { ids, ended, logProbability, score: written ? logProbability / written : 0 };
}

/** Greedy decoding: after `head`, the most likely token each step until `end` or maxNewTokens tokens. */
export async function decodeGreedy(next: NextTokenLogProbs, head: readonly number[], end: number, maxNewTokens: number): Promise<Decoded> {
  const ids: number[] = [];
  let logProbability = 0;
  while (ids.length < maxNewTokens) {
    const [row] = await next([[...head, ...ids]]);
    const token = argmax(row);
    logProbability += row[token];
    if (token === end) return decoded(ids, true, logProbability);
    ids.push(token);
  }
  return decoded(ids, false, logProbability);
}

interface Hypothesis {
  ids: number[];
  logProbability: number;
}

/**
 * Beam search of `width` beams. Each step extends every live beam by its `width` most likely tokens and keeps
 * the `width` most likely unfinished extensions (by summed log-probability); an extension by `end` is a
 * finished filling. It stops when `width` fillings are finished or the beams hold maxNewTokens tokens, and
 * returns the finished filling of the best length-normalised score (log-probability per token written,
 * `end` included), or, when none finished, the best live beam. Width 1 is greedy decoding.
 */
export async function decodeBeam(next: NextTokenLogProbs, head: readonly number[], end: number, maxNewTokens: number, width: number): Promise<Decoded> {
  if (!Number.isInteger(width) || width < 1) throw new LensError('bad-request', `The beam width must be a whole number of at least 1, got ${width}.`);
  let beams: Hypothesis[] = [{ ids: [], logProbability: 0 }];
  const finished: Decoded[] = [];
  for (let step = 0; step < maxNewTokens && finished.length < width && beams.length; step++) {
    const rows = await next(beams.map((b) => [...head, ...b.ids]));
    const candidates: Array<{ beam: Hypothesis; token: number; logProbability: number }> = [];
    beams.forEach((beam, b) => {
      for (const token of topIndices(rows[b], width)) candidates.push({ beam, token, logProbability: beam.logProbability + rows[b][token] });
    });
    candidates.sort((x, y) => y.logProbability - x.logProbability);
    const live: Hypothesis[] = [];
    for (const c of candidates) {
      if (c.token === end) {
        if (finished.length < width) finished.push(decoded([...c.beam.ids], true, c.logProbability));
      } else if (live.length < width) live.push({ ids: [...c.beam.ids, c.token], logProbability: c.logProbability });
      if (live.length === width && finished.length >= width) break;
    }
    beams = live;
  }
  const pool = finished.length ? finished : beams.map((b) => decoded(b.ids, false, b.logProbability));
  return pool.reduce((best, d) => (d.score > best.score ? d : best));
}

/** Indices of the k largest values, largest first. */
function topIndices(row: ArrayLike<number>, k: number): number[] {
  const top: number[] = [];
  for (let v = 0; v < row.length; v++) {
    if (top.length === k && row[v] <= row[top[k - 1]]) continue;
    let i = top.length < k ? top.length : k - 1;
    top[i] = v;
    while (i > 0 && row[top[i]] > row[top[i - 1]]) {
      [top[i], top[i - 1]] = [top[i - 1], top[i]];
      i--;
    }
  }
  return top;
}
