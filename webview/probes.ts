// Why: some views need more of the model than one analysis's outputs: the Heads view runs the head probe
// (synthetic sequences, headRoles.ts) and the logit lens reads the readout weights from the model file. Both
// belong to the engine that owns the model's session and bytes, so the engine hands the panel a small
// ModelProbes object per model (passed to the views with their context), and this module holds the probe's
// run: inputs built from the model's tokenizer and declared prefixes, batched within a memory budget through
// the engine's runner. Masked predictions (a masked language model's guess for each token with that token
// hidden, maskedPredictions.ts) run here too, on the analysis's own ids.

import type { Analysis } from '../src/core/analyze';
import type { ModelRunner, SequenceIds } from '../src/core/engine';
import { LensError } from '../src/core/errors';
import { type HeadProbeResult, probeCandidates, runHeadProbe } from '../src/core/headProbe';
import { HEAD_PROBE } from '../src/core/headRoles';
import type { ReadoutWeights } from '../src/core/logitLens';
import { axisIndex } from '../src/core/manifest';
import { type MaskedPredictions, maskTokenId, maskedPredictions } from '../src/core/maskedPredictions';
import { runMemory } from '../src/core/memoryEstimate';
import type { LensTokenizer } from '../src/core/tokenizer';

/** What a model can compute beyond an analysis's outputs. */
export interface ModelProbes {
  /** The readout weights the manifest's `readout` names, read and checked at model load; undefined without one. */
  readonly readout: ReadoutWeights | undefined;
  /** A token's display text (whitespace made visible), for predictions the analysis does not hold. */
  display(id: number): string;
  /**
   * Runs the head probe through the model (after the engine's queued jobs; a newer analysis or follow-up
   * cancels it, as does signal: LensError "cancelled"), with progress in sequences. Kept per model.
   */
  headProbe(onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<HeadProbeResult>;
  /**
   * Masks each ordinary token of the analysis's primary sequence in turn and reads the model's prediction
   * there (a masked language model: see maskedPredictions.ts), with progress in tokens. Queued and cancelled
   * like occlusion: a newer analysis or follow-up cancels it, as does signal (LensError "cancelled"). A model
   * without a mask token (manifest field tokenizer.specialTokens.mask) fails with "model-invalid".
   */
  maskedPredictions(analysis: Pick<Analysis, 'sequences' | 'tokens'>, onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<MaskedPredictions>;
}

/** Outputs per probe batch: a few sequences of a bigger model, all eight of the bundled one. */
const PROBE_BATCH_BYTES = 32 * 2 ** 20;

/** Runs the head probe with a model's runner and tokenizer (inside an engine job: see Engine.headProbe). */
export async function probeHeads(runner: ModelRunner, tokenizer: LensTokenizer, signal: AbortSignal, onProgress: (done: number, total: number) => void): Promise<HeadProbeResult> {
  const { structure, manifest } = runner;
  const prefixes = Object.fromEntries(
    structure.sequences.map((s) => [
      s.id,
      s.prefix.map((token) => {
        const id = tokenizer.idOf(token);
        if (id === undefined) throw new LensError('model-invalid', `sequences.${s.id}.prefix: expected tokens of the tokenizer, found ${JSON.stringify(token)}, which it does not have.`);
        return id;
      }),
    ]),
  );
  const logits = structure.logits;
  const logitsVocab = logits ? logits.axes[axisIndex(logits, 'vocab')]?.size : undefined;
  const vocab = typeof logitsVocab === 'number' ? Math.min(logitsVocab, tokenizer.vocabSize) : tokenizer.vocabSize;
  const candidates = probeCandidates(vocab, (id) => tokenizer.isSpecial(id), Object.values(prefixes).flat());
  const longestPrefix = Math.max(0, ...Object.values(prefixes).map((p) => p.length));
  const perInput = Math.max(1, runMemory(manifest, longestPrefix + 2 * HEAD_PROBE.length).outputBytes);
  const batchSize = runner.batchable ? Math.max(1, Math.min(HEAD_PROBE.sequences, Math.floor(PROBE_BATCH_BYTES / perInput))) : 1;
  // Inference and scoring run on this (the UI) thread: a task boundary before each batch lets the panel paint.
  const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
  return runHeadProbe(structure, async (batch) => (batch.length === 1 ? [await runner.run(batch[0], { signal })] : runner.runBatch(batch)), {
    candidates,
    prefixes,
    batchSize,
    signal,
    onProgress,
    pause,
  });
}

/** Logits per masked-prediction batch: a few copies of a few hundred tokens, so each batch blocks briefly. */
const MASKED_BATCH_BYTES = 12 * 2 ** 20;

/** Runs masked predictions of an analysis with a model's runner and tokenizer (inside an engine job: see Engine.maskedPredictions). */
export function predictMasked(
  runner: ModelRunner,
  tokenizer: LensTokenizer,
  analysis: Pick<Analysis, 'sequences' | 'tokens'>,
  signal: AbortSignal,
  onProgress: (done: number, total: number) => void,
): Promise<MaskedPredictions> {
  const ids: SequenceIds = Object.fromEntries(analysis.sequences.map((s) => [s.id, s.tokens.map((t) => t.id)]));
  const maskId = maskTokenId(runner.manifest, tokenizer);
  const display = (id: number) => {
    try {
      return tokenizer.display(id);
    } catch {
      return `#${id}`; // an id past the tokenizer's vocabulary (a padded unembedding)
    }
  };
  // The runs happen in onnxruntime's worker; each batch's softmax over its few rows runs here: a task boundary before each batch.
  const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
  return maskedPredictions((batch, rows) => runner.runBatchLogitRows(batch, rows), ids, {
    sequence: runner.structure.primary,
    maskId,
    display,
    skip: (i) => analysis.tokens[i]?.special === true,
    maxBatchBytes: runner.batchable ? MASKED_BATCH_BYTES : 0,
    signal,
    onProgress,
    pause,
  });
}
