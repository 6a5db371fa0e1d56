// Why: head roles are measured best on text built to reveal them: random blocks of ordinary tokens, each
// repeated (headRoles.ts defines the scores and the probe). This runs the probe through any model that
// declares self-mixing of its primary sequence: every sequence the model reads gets the same body after its
// own prefix, the inputs run in batches (as many as the caller's memory budget allows, one at a time for a
// model that cannot batch), each batch is scored and dropped at once, and the scores are averaged per
// family. The model is a function from a batch of inputs to their outputs, so this is pure and Node-tested.

import type { LayeredMatrices } from './analysis';
import type { Analysis } from './analyze';
import type { RunOutputs, SequenceIds } from './engine';
import { LensError } from './errors';
import { HEAD_PROBE, type HeadScores, type KeyMask, layerHeadScores, meanScores, probeSequences } from './headRoles';
import type { MixingFamily, ModelStructure } from './modelStructure';
import { mixingMatrices } from './roleData';

/** Runs a batch of inputs of equal lengths and returns each one's outputs, batch axis removed. */
export type BatchRun = (batch: SequenceIds[]) => Promise<RunOutputs[]>;

export interface HeadProbeResult {
  /** Scores [layer][head] averaged over the sequences, by key of each self-mixing family of the primary sequence. */
  families: Record<string, HeadScores[][]>;
  sequences: number;
  /** Tokens of each primary sequence: its prefix, then the block twice. */
  tokens: number;
  block: number;
  prefix: number;
  /** Inputs per run. */
  batchSize: number;
}

export interface HeadProbeOptions {
  /** The ordinary token ids blocks are drawn from (see probeCandidates). */
  candidates: readonly number[];
  /** Token ids put first, per sequence id (a sequence's declared prefix). */
  prefixes?: Readonly<Record<string, readonly number[]>>;
  /** Inputs per run (1 for a model that cannot batch). */
  batchSize: number;
  signal?: AbortSignal;
  /** Called after each batch with the sequences done, of those to do. */
  onProgress?: (done: number, total: number) => void;
  /** Awaited before each batch, so a UI thread can paint and handle input between them. */
  pause?: () => Promise<void>;
  sequences?: number;
  length?: number;
  seed?: number;
}

/** The self-mixing families of the primary sequence: the ones the probe scores. */
export function probedFamilies(structure: ModelStructure): MixingFamily[] {
  return structure.mixing.filter((f) => f.role === 'mixing' && f.query === structure.primary && f.keys === structure.primary);
}

/** The ids 0..vocab−1 that are ordinary tokens: not special, not in `exclude` (prefix tokens). */
export function probeCandidates(vocab: number, isSpecial: (id: number) => boolean, exclude: Iterable<number> = []): number[] {
  const skip = new Set(exclude);
  const out: number[] = [];
  for (let id = 0; id < vocab; id++) if (!isSpecial(id) && !skip.has(id)) out.push(id);
  return out;
}

/**
 * A family's matrices in one run's outputs (batch axis removed), [layer][head][query][key], read the way an
 * analysis's are (roleData.ts reads a family from the structure and the outputs alone), so that a derived
 * family (a selective scan's hidden attention) is probed like a declared one.
 */
export function familyMatrices(structure: ModelStructure, family: MixingFamily, outputs: RunOutputs): LayeredMatrices {
  for (const o of family.outputs) if (!outputs[o.name]) throw new LensError('model-invalid', `The run has no output "${o.name}" (${family.label}).`);
  return mixingMatrices({ structure, outputs } as Pick<Analysis, 'structure' | 'outputs'> as Analysis, family);
}

/** The mask a family declares, as the scores read it. */
export function familyMask(family: MixingFamily): KeyMask {
  return { mask: family.mask, window: family.window, globalTokens: family.globalTokens, normalised: family.normalised };
}

/** Runs the standard probe (HEAD_PROBE unless options say otherwise) and scores every self-mixing family of the primary sequence. */
export async function runHeadProbe(structure: ModelStructure, run: BatchRun, options: HeadProbeOptions): Promise<HeadProbeResult> {
  const families = probedFamilies(structure);
  if (!families.length) throw new LensError('model-invalid', `The model has no self-attention over its sequence "${structure.primary}" to probe.`);
  const bodies = probeSequences(options.candidates, { sequences: options.sequences ?? HEAD_PROBE.sequences, length: options.length ?? HEAD_PROBE.length, seed: options.seed });
  const prefixOf = (id: string) => options.prefixes?.[id] ?? [];
  const inputs: SequenceIds[] = bodies.map((body) => Object.fromEntries(structure.sequences.map((s) => [s.id, [...prefixOf(s.id), ...body]])));
  const prefix = prefixOf(structure.primary).length;
  const isPrefix = (t: number) => t < prefix;
  const tables = new Map<string, HeadScores[][][]>(families.map((f) => [f.key, []]));
  const batchSize = Math.max(1, Math.floor(options.batchSize));
  for (let first = 0; first < inputs.length; first += batchSize) {
    await options.pause?.();
    if (options.signal?.aborted) throw new LensError('cancelled', 'The head probe was cancelled.');
    const batch = inputs.slice(first, first + batchSize);
    const outputs = await run(batch);
    outputs.forEach((out, b) => {
      const ids = batch[b][structure.primary];
      for (const family of families) tables.get(family.key)!.push(layerHeadScores(familyMatrices(structure, family, out), ids, familyMask(family), isPrefix));
    });
    options.onProgress?.(first + batch.length, inputs.length);
  }
  return {
    families: Object.fromEntries(families.map((f) => [f.key, meanScores(tables.get(f.key)!)])),
    sequences: inputs.length,
    tokens: prefix + bodies[0].length,
    block: bodies[0].length / 2,
    prefix,
    batchSize,
  };
}
