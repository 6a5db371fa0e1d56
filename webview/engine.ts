// The webview's inference engine: loads a model's ONNX bytes and tokenizer (from the page's ModelFetcher,
// modelFetcher.ts, with byte progress; the page may fetch them ahead, while the backend starts), creates one onnxruntime-web
// session per model on the chosen backend, warms it up, runs analyses (a newer job cancels the older one)
// and occlusion and the head probe on demand (the probes the views of a model's analysis may call, see
// probes.ts), and releases every session when the view closes.
// Why this shape: a session runs one inference at a time and the user may start, cancel or replace work at
// any moment, so one RunQueue (src/core/runQueue.ts) owns the order of everything that touches
// onnxruntime: analyses, occlusions, and the model loads inside them. Each session belongs to the engine
// from its creation, so dispose() can release every one, once the job in flight has returned.
// A model's first load ends with its warm-up run checked against what its roles promise (modelSanity.ts):
// a model that breaks a promise fails to load, and its session is released like any failed load's.

import { Analysis, analyse } from '../src/core/analyze';
import { ModelRunner, type OrtModule, type SequenceIds } from '../src/core/engine';
import type { ModelManifest } from '../src/core/manifest';
import { assertSaneRun } from '../src/core/modelSanity';
import { looksAhead } from '../src/core/modelStructure';
import { LensError } from '../src/core/errors';
import type { KlSums } from '../src/core/klSums';
import type { PredictRows } from '../src/core/rowPredictions';
import type { HeadProbeResult } from '../src/core/headProbe';
import type { ReadoutWeights } from '../src/core/logitLens';
import type { MaskedPredictions } from '../src/core/maskedPredictions';
import { type InfillResult, runInfill } from '../src/core/infill';
import type { OcclusionMethod } from '../src/core/occlusion';
import { runnerOcclusion } from '../src/core/occlusionPrefix';
import { externaliseWeights } from '../src/core/onnxExternalData';
import { readoutWeights } from '../src/core/onnxWeights';
import type { InfillRequest, ModelDescriptor } from '../src/core/protocol';
import { RunQueue, cancelledError, untilAborted } from '../src/core/runQueue';
import { type OffThreadTokenizers, type Tokenize, type TokenizeSlot, pageTokenizer, tokenizeAside, tokenizeSelection } from './tokenizeRoutes';
import type { LensTokenizer } from '../src/core/tokenizer';
import type { PackedTokenizer } from '../src/core/tokenizerPacked';
import { mark } from './marks';
import type { ModelFileSource, ModelFiles } from './modelFetcher';
import { yieldToUi } from './yieldToUi';
import { type ModelProbes, predictMasked, probeHeads } from './probes';

export interface LoadProgress {
  modelId: string;
  loaded: number;
  total: number;
}

interface LoadedModel {
  runner: ModelRunner;
  tokenizer: LensTokenizer;
  loadMs: number;
}

/**
 * The session option that hands onnxruntime a model's external data: the file's name as the graph gives
 * it (relative to the model file, which it lies beside) with its bytes. None for a model without.
 */
export function externalDataOption(manifest: ModelManifest, data: Uint8Array | undefined): { externalData?: Array<{ path: string; data: Uint8Array }> } {
  if (!manifest.externalData) return {};
  if (!data) throw new LensError('model-invalid', `${manifest.id}/${manifest.externalData}: expected the weights file named by the manifest field externalData, but it was not loaded.`);
  return { externalData: [{ path: manifest.externalData.split('/').pop()!, data }] };
}

/**
 * What a session is created from: a model with its external data as the manifest declares them, or, for a
 * single file, its graph with the large weights read from the file's own bytes as external data
 * (onnxExternalData.ts), so that onnxruntime's heap holds each weight once rather than twice.
 */
export function sessionInputs(manifest: ModelManifest, modelBytes: Uint8Array, externalData: Uint8Array | undefined): { model: Uint8Array; externalData?: Array<{ path: string; data: Uint8Array }> } {
  if (manifest.externalData) return { model: modelBytes, ...externalDataOption(manifest, externalData) };
  const name = (manifest.model ?? 'model.onnx').split('/').pop()!;
  let split: ReturnType<typeof externaliseWeights>;
  try {
    split = externaliseWeights(modelBytes, name);
  } catch {
    split = undefined; // not a well-formed ModelProto: onnxruntime says what is wrong with it
  }
  return split ? { model: split.graph, externalData: [{ path: name, data: modelBytes }] } : { model: modelBytes };
}


export interface EngineOptions {
  /** The execution provider every session runs on. */
  provider: 'webgpu' | 'wasm';
  /** The onnxruntime build that provides it. */
  ort: OrtModule;
  files: ModelFileSource;
  /** Where analysed text is tokenized; absent: on the engine's own thread. */
  tokenizers?: OffThreadTokenizers;
  /** Where each occlusion's KL sums run (the page's logits worker); absent: on the engine's own thread, in slices. */
  klSums?: () => KlSums;
  /** Where each analysis's predictions are ranked (the page's logits worker); absent: on the engine's own thread, in slices. */
  predictRows?: PredictRows;
  /**
   * The page tokenizes only through the engine's worker routes (the panel; the Fill page's infilling tokenizes on
   * the page): its tokenizer copy then leaves out the library's tokenizer (src/core/tokenizerBuild.ts).
   */
  tokenizeOnlyOffThread?: boolean;
}

/** A model as far as it is loaded; a session in `runner` is the engine's to release. */
interface ModelSlot extends TokenizeSlot {
  /** The download; dropped once the session is warm, or when it fails (a retry fetches again). */
  files?: Promise<ModelFiles>;
  /** Byte progress, for whichever job waits for the download now. */
  onProgress?: (p: LoadProgress) => void;
  tokenizer?: LensTokenizer;
  /** The tokenizer the worker built, packed (when asked), until the page's copy is made from it. */
  packed?: Promise<PackedTokenizer | null>;
  runner?: ModelRunner;
  warm: boolean;
  /** The manifest's readout weights, read from the model bytes at load (the logit lens). */
  readout?: ReadoutWeights;
  /** The head probe's result, once run. */
  probe?: HeadProbeResult;
}

/** Outputs per occlusion batch: a few sequences of a few hundred tokens, so each batch blocks briefly. */
const OCCLUSION_BATCH_BYTES = 12 * 2 ** 20;
const WARM_UP_TEXT = 'function warmUp() {\n  return 1;\n}';

export class Engine {
  /** The one owner of the order of every onnxruntime call: only its job bodies load models or run them. */
  private readonly queue = new RunQueue();
  private readonly models = new Map<string, ModelSlot>();
  private disposing: Promise<void> | undefined;

  constructor(private readonly options: EngineOptions) {}

  /** Analyses a text; an analysis still running is cancelled first, so only the latest completes. */
  analyse(model: ModelDescriptor, text: string, startOffset: number, maxTokens: number, onProgress?: (p: LoadProgress) => void): Promise<Analysis & { loadMs: number }> {
    return this.exclusive((signal) => this.analyseWith(model, text, startOffset, maxTokens, signal, onProgress));
  }

  /**
   * Runs a job (one or more analyses) as the only current one: starting it cancels the running job and
   * any occlusion, and it starts once the running job's body returns (within one inference of the cancel).
   * The job's signal aborts when a newer job starts or cancel() is called. A job must not await another
   * call of this engine other than analyseWith and load (it would wait for itself).
   */
  exclusive<T>(job: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return this.queue.exclusive(job);
  }

  /** Cancels the running job and occlusion, and any queued behind them. */
  cancel(): void {
    this.queue.cancel();
  }

  /** One analysis inside a job (see exclusive), with its signal; loadMs is 0 when the model was already loaded. */
  async analyseWith(model: ModelDescriptor, text: string, startOffset: number, maxTokens: number, signal: AbortSignal, onProgress?: (p: LoadProgress) => void): Promise<Analysis & { loadMs: number }> {
    const { runner, tokenizer, loadMs } = await this.ready(model, signal, onProgress);
    const result = await analyse(tokenizer, runner, text, startOffset, { maxTokens, signal, now: () => performance.now(), yieldControl: yieldToUi, tokenize: this.tokenizeFor(model, tokenizer), predictRows: this.options.predictRows });
    return { ...result, loadMs };
  }

  /** The selection's tokenizing (tokenizeRoutes.ts): in the worker when the model is loaded there, its spans kept. */
  private tokenizeFor(model: ModelDescriptor, tokenizer: LensTokenizer): Tokenize {
    return tokenizeSelection(model.manifest.id, tokenizer, this.options.tokenizers, () => this.models.get(model.manifest.id));
  }

  /** A probe's tokenizing (tokenizeRoutes.ts): in the worker when the model is there, nothing kept. */
  private tokenizeAside(model: ModelDescriptor, tokenizer: LensTokenizer): Tokenize {
    return tokenizeAside(model.manifest.id, tokenizer, this.options.tokenizers, () => this.models.get(model.manifest.id));
  }

  /** What the views may ask of this model beyond an analysis (see probes.ts). */
  probes(model: ModelDescriptor): ModelProbes {
    const slot = () => this.models.get(model.manifest.id);
    return {
      get readout() {
        return slot()?.readout;
      },
      display: (id) => {
        try {
          return slot()?.tokenizer?.display(id) ?? `#${id}`;
        } catch {
          return `#${id}`; // an id past the tokenizer's vocabulary (a padded unembedding)
        }
      },
      headProbe: (onProgress, signal) => this.headProbe(model, onProgress, signal),
      maskedPredictions: (analysis, onProgress, signal) => this.maskedPredictions(model, analysis, onProgress, signal),
    };
  }

  /**
   * The head probe of a model (headRoles.ts): its synthetic sequences run after the queued jobs, in batches,
   * with progress; a newer analysis or follow-up cancels it ("cancelled"), as does signal. The result is kept
   * with the model, so a later call gets it at once.
   */
  async headProbe(model: ModelDescriptor, onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<HeadProbeResult> {
    const kept = this.models.get(model.manifest.id)?.probe;
    if (kept) return kept;
    return this.queue.followUp(async (jobSignal) => {
      const { runner, tokenizer } = await this.ready(model, jobSignal);
      const result = await probeHeads(runner, tokenizer, jobSignal, onProgress);
      const slot = this.models.get(model.manifest.id);
      if (slot?.runner === runner) slot.probe = result;
      return result;
    }, signal);
  }

  /**
   * Occlusion [T, T] in KL bits of the analysis's primary sequence (the one its W(t, k) views show): each
   * token replaced by the manifest's occlusion token (default a single space, else the unknown token),
   * special tokens left alone; bidirectional for a model that looks ahead. The input is an analysis or the
   * same as plain data (the Compare view's runs): every sequence's ids and the primary tokens' special
   * flags. Waits for the current analysis; a newer analysis or occlusion cancels it ("cancelled"), as does signal.
   */
  async occlusion(
    model: ModelDescriptor,
    input: Pick<Analysis, 'sequences' | 'tokens'> | { sequenceIds: SequenceIds; special: readonly boolean[] },
    onProgress: (done: number, total: number) => void,
    signal?: AbortSignal,
    onMethod?: (method: OcclusionMethod) => void,
  ): Promise<Float32Array> {
    const ids: SequenceIds = 'sequenceIds' in input ? input.sequenceIds : Object.fromEntries(input.sequences.map((s) => [s.id, s.tokens.map((t) => t.id)]));
    const special = 'sequenceIds' in input ? input.special : input.tokens.map((t) => t.special);
    return this.queue.followUp(async (jobSignal) => {
      const { runner, tokenizer } = await this.ready(model, jobSignal);
      const wanted = model.manifest.occlusionToken;
      const replacementId = wanted !== undefined ? tokenizer.idOf(wanted) : ((await this.tokenizeAside(model, tokenizer)(' ', {}))[0]?.id ?? tokenizer.idOf('[UNK]') ?? tokenizer.idOf('<unk>'));
      if (replacementId === undefined) throw new LensError('model-invalid', `The tokenizer of "${model.manifest.id}" has no ${wanted !== undefined ? `token ${JSON.stringify(wanted)} (manifest field occlusionToken)` : 'token for a single space; set the manifest field occlusionToken'}.`);
      const structure = runner.structure;
      const primary = structure.primary;
      // The runs happen in onnxruntime's worker, the KL sums in the options' worker (or on this thread, in
      // slices) while it runs the next batch (pipelinedBatches): small batches with a task boundary before each
      // let the panel paint progress and answer input between them.
      const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
      // A model that can start from the state or key/value cache after a prefix runs only each suffix
      // (occlusionPrefix.ts); any other runs whole copies.
      return runnerOcclusion(runner, ids, {
        occluded: primary,
        observed: primary,
        causal: !looksAhead(structure),
        skip: (k) => special[k] === true,
        replacementId,
        signal: jobSignal,
        onProgress,
        pause,
        maxBatchBytes: OCCLUSION_BATCH_BYTES,
        klSums: this.options.klSums,
        onMethod,
      });
    }, signal);
  }

  /**
   * Masked predictions of an analysis (a masked language model: each ordinary token of the primary sequence
   * masked in turn, see probes.ts): queued and cancelled like occlusion (a newer analysis or follow-up, or signal).
   */
  async maskedPredictions(model: ModelDescriptor, analysis: Pick<Analysis, 'sequences' | 'tokens'>, onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<MaskedPredictions> {
    return this.queue.followUp(async (jobSignal) => {
      const { runner, tokenizer } = await this.ready(model, jobSignal);
      return predictMasked(runner, tokenizer, analysis, jobSignal, onProgress);
    }, signal);
  }

  /**
   * "Fill in the selection" (infill.ts): scores the request's span and writes the model's own filling,
   * queued like an analysis: it cancels the running job and any queued one, and a newer job (or signal)
   * cancels it ("cancelled") within one inference. At most maxSourceTokens source tokens (the context
   * nearest the hole). loadMs as for analyseWith.
   */
  infill(model: ModelDescriptor, request: InfillRequest, signal?: AbortSignal, maxSourceTokens = 512): Promise<InfillResult & { loadMs: number }> {
    return this.queue.exclusive(async (jobSignal) => {
      const { runner, tokenizer, loadMs } = await this.ready(model, jobSignal);
      const result = await runInfill(tokenizer, runner, request, { maxSourceTokens, signal: jobSignal, now: () => performance.now() });
      return { ...result, loadMs };
    }, signal);
  }

  /**
   * A model's tokenizer, its session loaded and warmed up first if need be, inside a job (see exclusive):
   * the panel counts a selection's tokens with it to check the run's memory before it runs. loadMs as for
   * analyseWith (0 when the model was loaded before).
   */
  async load(model: ModelDescriptor, signal: AbortSignal, onProgress?: (p: LoadProgress) => void, ahead?: string): Promise<{ tokenizer: LensTokenizer; tokenize: Tokenize; tokenizeAside: Tokenize; loadMs: number }> {
    const { tokenizer, loadMs } = await this.ready(model, signal, onProgress, ahead);
    return { tokenizer, tokenize: this.tokenizeFor(model, tokenizer), tokenizeAside: this.tokenizeAside(model, tokenizer), loadMs };
  }

  /**
   * Cancels every job, refuses new ones ("disposed") and, once the job in flight has returned (a session
   * must not be released while it runs), releases every session. Idempotent.
   */
  dispose(): Promise<void> {
    this.queue.close();
    this.disposing ??= this.queue.idle().then(async () => {
      const runners = [...this.models.values()].flatMap((slot) => (slot.runner ? [slot.runner] : []));
      for (const [id, slot] of this.models) if (slot.offThread) this.options.tokenizers?.unload(id);
      this.models.clear();
      await Promise.allSettled(runners.map((runner) => runner.release()));
    });
    return this.disposing;
  }

  /**
   * A model's tokenizer and warm session, loaded first if need be. Called only inside a job body, so that
   * creating and warming a session never overlaps another inference. A cancelled job stops waiting for a
   * download at once (the download goes on for the next job) and stops after a session creation in flight
   * (the session stays for the next job). A failed load is forgotten, its session released, so that it may
   * be retried. loadMs is what this call waited for the load: 0 when the model was loaded before.
   */
  private async ready(model: ModelDescriptor, signal: AbortSignal, onProgress?: (p: LoadProgress) => void, ahead?: string): Promise<LoadedModel> {
    const id = model.manifest.id;
    const known = this.models.get(id);
    if (known?.warm && known.runner && known.tokenizer) return { runner: known.runner, tokenizer: known.tokenizer, loadMs: 0 };
    const started = performance.now();
    const slot: ModelSlot = known ?? { warm: false };
    this.models.set(id, slot);
    slot.onProgress = onProgress;
    try {
      if (!slot.files) {
        const files = this.options.files.files(model, (loaded, total) => slot.onProgress?.({ modelId: id, loaded, total }));
        files.catch(() => slot.files === files && (slot.files = undefined)); // a failed download is fetched again
        slot.files = files;
      }
      const files = await untilAborted(slot.files, signal);
      const { modelBytes, externalData } = files;
      mark('files');
      // The worker's tokenizer first: it builds while the page builds its own copy, or gives the page its parts.
      const onlyOffThread = !!this.options.tokenizeOnlyOffThread && !!this.options.tokenizers;
      if (this.options.tokenizers && !slot.offThread) {
        slot.packed = this.options.tokenizers.load(id, model.manifest.tokenizer.file, files.tokenizerBytes.slice(), onlyOffThread); // a copy moves: a retry still has the bytes
        slot.packed.catch(() => undefined); // the page's copy then comes from the file, which says what is wrong
        slot.offThread = true;
      }
      // The page's own copy is built before the session's creation starts, not during it (beside onnxruntime's and
      // the tokenizer's workers, on two cores, it took 280 ms instead of 72: bench:profile --cold), and in slices
      // (src/core/tokenizerBuild.ts). A page that tokenizes only in the worker builds it from the worker's parts
      // (tokenizerPacked.ts: no JSON parsed here) and leaves out the library's tokenizer, the one long step; it is
      // built should the worker fail.
      if (!slot.tokenizer) {
        const slices = { pause: yieldToUi, cancelled: () => signal.aborted };
        slot.tokenizer = await pageTokenizer(model, files, onlyOffThread ? slot.packed : undefined, onlyOffThread, slices, signal);
        slot.packed = undefined;
        await yieldToUi(); // building the tokenizer and reading the model's graph: two tasks (53 ms as one, bench:profile --cold)
      }
      // The text about to be analysed is tokenized in its worker while onnxruntime's creates the session; the
      // analysis then takes these spans (tokenizeFor). Its failure is the analysis's to report.
      if (ahead !== undefined && !slot.runner && slot.offThread) this.tokenizeFor(model, slot.tokenizer)(ahead, {}).catch(() => undefined);
      // The logit lens's weights: checked against the graph (names, types, shapes) and kept as float32. Read
      // before the session is created, which may take the bytes (onnxruntime's worker owns them then).
      if (model.manifest.readout && !slot.readout && !slot.runner) slot.readout = readoutWeights(model.manifest, modelBytes, externalData);
      if (!slot.runner) {
        const inputs = sessionInputs(model.manifest, modelBytes, externalData);
        slot.runner = await ModelRunner.create(this.options.ort, model.manifest, inputs.model, {
          executionProviders: [this.options.provider],
          graphOptimizationLevel: 'all',
          ...(inputs.externalData ? { externalData: inputs.externalData } : {}),
        });
      }
      mark('session');
      if (signal.aborted) throw cancelledError('exclusive');
      // First runs compile kernels; a model whose declared axes do not match its outputs fails here, and
      // one whose outputs break what its roles promise (rows summing to 1, gates in [0, 1]…) fails the check.
      const warmUp = (await this.tokenizeAside(model, slot.tokenizer)(WARM_UP_TEXT, {})).map((t) => t.id);
      const sequences = slot.runner.structure.sequences;
      const outputs = await slot.runner.run(Object.fromEntries(sequences.map((s) => [s.id, warmUp])));
      assertSaneRun(model.manifest, outputs, Object.fromEntries(sequences.map((s) => [s.id, warmUp.length])), slot.tokenizer.vocabSize);
      mark('warm');
      slot.warm = true;
      slot.files = undefined;
      slot.onProgress = undefined;
      return { runner: slot.runner, tokenizer: slot.tokenizer, loadMs: performance.now() - started };
    } catch (err) {
      if (signal.aborted && err instanceof LensError && err.code === 'cancelled') throw err; // kept for the next job
      if (this.models.get(id) === slot) this.models.delete(id);
      if (slot.offThread && !this.models.has(id)) this.options.tokenizers?.unload(id);
      await slot.runner?.release().catch(() => undefined); // never leak a session, whatever failed; report that failure
      throw err;
    }
  }
}
