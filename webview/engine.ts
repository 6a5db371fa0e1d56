// The webview's inference engine: loads a model's ONNX bytes and tokenizer through webview URIs (with
// byte progress; the panel may fetch them ahead, while the backend starts), creates one onnxruntime-web
// session per model on the chosen backend, warms it up, runs analyses (a newer job cancels the older one)
// and occlusion on demand (never while an analysis runs: a session runs one inference at a time), and
// releases every session when the view closes.

import { Analysis, analyse } from '../src/core/analyze';
import { ModelRunner, OrtModule, type SequenceIds } from '../src/core/engine';
import { looksAhead } from '../src/core/modelStructure';
import { LensError } from '../src/core/errors';
import { LatestOnly } from '../src/core/latest';
import { occlusion } from '../src/core/occlusion';
import type { BackendInfo, ModelDescriptor } from '../src/core/protocol';
import { LensTokenizer } from '../src/core/tokenizer';
import { ortFor } from './backend';
import { fetchBytes } from './fetchBytes';

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

interface ModelFiles {
  modelBytes: Uint8Array;
  tokenizerJson: unknown;
}

/** Fetches a model's ONNX bytes (with progress) and its tokenizer JSON. */
async function fetchModelFiles(model: ModelDescriptor, onProgress?: (loaded: number, total: number) => void): Promise<ModelFiles> {
  const [modelBytes, tokenizerJson] = await Promise.all([
    fetchBytes(model.modelUri, { what: `${model.manifest.id}/${model.manifest.model ?? 'model.onnx'}`, code: 'model-invalid', expectedBytes: model.modelBytes, onProgress }),
    fetchBytes(model.tokenizerUri, { what: `${model.manifest.id}/${model.manifest.tokenizer.file}`, code: 'model-invalid' }).then((b) => JSON.parse(new TextDecoder().decode(b)) as unknown),
  ]);
  return { modelBytes, tokenizerJson };
}

/** Files fetched before an engine exists, by model URI; the first load of that model takes them. */
interface Prefetch {
  files: Promise<ModelFiles>;
  /** Set by the load that takes the files: byte progress from then on. */
  onProgress?: (loaded: number, total: number) => void;
}
const prefetched = new Map<string, Prefetch>();

/**
 * Starts fetching a model's files now, so that the download overlaps the backend's start-up (compiling
 * onnxruntime's wasm). A failed prefetch is forgotten; the load then fetches again and reports the error.
 */
export function prefetchModel(model: ModelDescriptor): void {
  if (prefetched.has(model.modelUri)) return;
  const entry: Prefetch = { files: fetchModelFiles(model, (loaded, total) => entry.onProgress?.(loaded, total)) };
  entry.files.catch(() => prefetched.get(model.modelUri) === entry && prefetched.delete(model.modelUri));
  prefetched.set(model.modelUri, entry);
}

/** The prefetched files of a model (taken once), else a fresh fetch. */
async function modelFiles(model: ModelDescriptor, onProgress: (loaded: number, total: number) => void): Promise<ModelFiles> {
  const ahead = prefetched.get(model.modelUri);
  if (!ahead) return fetchModelFiles(model, onProgress);
  prefetched.delete(model.modelUri);
  ahead.onProgress = onProgress;
  return ahead.files.catch(() => fetchModelFiles(model, onProgress));
}

/** Outputs per occlusion batch: a few sequences of a few hundred tokens, so each batch blocks briefly. */
const OCCLUSION_BATCH_BYTES = 12 * 2 ** 20;

export class Engine {
  private readonly loaded = new Map<string, Promise<LoadedModel>>();
  /** One analysis at a time; a newer one cancels the older. */
  private readonly latest = new LatestOnly();
  /** The latest analysis (settled or not); occlusion starts after it. */
  private analysing: Promise<unknown> = Promise.resolve();
  /** The running occlusion, which a newer analysis or occlusion cancels and then waits for. */
  private occluding: { controller: AbortController; done: Promise<unknown> } | undefined;
  private disposed = false;

  constructor(private readonly backend: BackendInfo) {}

  /** Loads (once) and warms up a model. */
  load(model: ModelDescriptor, onProgress?: (p: LoadProgress) => void): Promise<LoadedModel> {
    const id = model.manifest.id;
    let entry = this.loaded.get(id);
    if (!entry) {
      entry = this.create(model, onProgress);
      this.loaded.set(id, entry);
      entry.catch(() => this.loaded.delete(id)); // a failed load may be retried
    }
    return entry;
  }

  /** Analyses a text; an analysis still running is cancelled first, so only the latest completes. */
  analyse(model: ModelDescriptor, text: string, startOffset: number, maxTokens: number, onProgress?: (p: LoadProgress) => void): Promise<Analysis & { loadMs: number }> {
    return this.exclusive((signal) => this.analyseWith(model, text, startOffset, maxTokens, signal, onProgress));
  }

  /**
   * Runs a job (one or more analyses) as the only current one: starting it cancels the running job and
   * any occlusion; the job's signal aborts when a newer job starts or cancel() is called.
   */
  exclusive<T>(job: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const occluding = this.occluding;
    occluding?.controller.abort(); // its result would describe an analysis that is about to be replaced
    const result = this.latest.run(async (signal) => {
      await occluding?.done.catch(() => undefined);
      return job(signal);
    });
    this.analysing = result;
    return result;
  }

  /** Cancels the running job (and occlusion), if any. */
  cancel(): void {
    this.latest.cancel();
    this.occluding?.controller.abort();
  }

  /** One analysis inside a job (see exclusive); loadMs is 0 when the model was already loaded. */
  async analyseWith(model: ModelDescriptor, text: string, startOffset: number, maxTokens: number, signal: AbortSignal, onProgress?: (p: LoadProgress) => void): Promise<Analysis & { loadMs: number }> {
    const wasLoaded = this.loaded.has(model.manifest.id);
    const { runner, tokenizer, loadMs } = await this.load(model, onProgress);
    if (signal.aborted) throw new LensError('cancelled', 'The analysis was cancelled by a newer one.');
    const result = await analyse(tokenizer, runner, text, startOffset, { maxTokens, signal, now: () => performance.now() });
    return { ...result, loadMs: wasLoaded ? 0 : loadMs };
  }

  /**
   * Occlusion [T, T] in KL bits of the analysis's primary sequence (the one its W(t, k) views show): each
   * token replaced by the manifest's occlusion token (default a single space, else the unknown token),
   * special tokens left alone; bidirectional for a model that looks ahead. Waits for the current analysis;
   * a newer analysis or occlusion cancels it ("cancelled"), as does signal.
   */
  async occlusion(model: ModelDescriptor, input: Pick<Analysis, 'sequences' | 'tokens'> | readonly number[], onProgress: (done: number, total: number) => void, signal?: AbortSignal): Promise<Float32Array> {
    const previous = this.occluding;
    previous?.controller.abort();
    const controller = new AbortController();
    const abort = () => controller.abort();
    signal?.addEventListener('abort', abort);
    const done = (async () => {
      await previous?.done.catch(() => undefined);
      await this.analysing.catch(() => undefined);
      if (controller.signal.aborted) throw new LensError('cancelled', 'Occlusion was cancelled.');
      const { runner, tokenizer } = await this.load(model);
      const wanted = model.manifest.occlusionToken;
      const replacementId = wanted !== undefined ? tokenizer.idOf(wanted) : (tokenizer.encode(' ')[0] ?? tokenizer.idOf('[UNK]') ?? tokenizer.idOf('<unk>'));
      if (replacementId === undefined) throw new LensError('model-invalid', `The tokenizer of "${model.manifest.id}" has no ${wanted !== undefined ? `token ${JSON.stringify(wanted)} (manifest field occlusionToken)` : 'token for a single space; set the manifest field occlusionToken'}.`);
      const structure = runner.structure;
      const primary = structure.primary;
      // Token ids alone (the Compare view's runs) are the primary sequence of a one-sequence model.
      const ids: SequenceIds = Array.isArray(input) ? { [primary]: input } : Object.fromEntries((input as Pick<Analysis, 'sequences'>).sequences.map((s) => [s.id, s.tokens.map((t) => t.id)]));
      const special = Array.isArray(input) ? [] : (input as Pick<Analysis, 'tokens'>).tokens.map((t) => t.special);
      // Inference and the KL sums run on this (the UI) thread: small batches with a task boundary before
      // each let the panel paint progress and answer input between them.
      const pause = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
      return occlusion((batch) => runner.runBatchLogits(batch), ids, {
        occluded: primary,
        observed: primary,
        causal: !looksAhead(structure),
        skip: (k) => special[k] === true,
        replacementId,
        signal: controller.signal,
        onProgress,
        pause,
        maxBatchBytes: OCCLUSION_BATCH_BYTES,
      });
    })();
    const entry = { controller, done };
    this.occluding = entry;
    try {
      return await done;
    } finally {
      signal?.removeEventListener('abort', abort);
      if (this.occluding === entry) this.occluding = undefined;
    }
  }

  /** Releases every session. */
  async dispose(): Promise<void> {
    this.disposed = true;
    prefetched.clear();
    this.latest.cancel();
    this.occluding?.controller.abort();
    const entries = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.allSettled(entries.map(async (e) => (await e).runner.release()));
  }

  private async create(model: ModelDescriptor, onProgress?: (p: LoadProgress) => void): Promise<LoadedModel> {
    const started = performance.now();
    const id = model.manifest.id;
    const { modelBytes, tokenizerJson } = await modelFiles(model, (loaded, total) => onProgress?.({ modelId: id, loaded, total }));
    const tokenizer = new LensTokenizer(tokenizerJson, model.manifest.tokenizer.file);
    const runner = await ModelRunner.create(ortFor(this.backend.backend) as unknown as OrtModule, model.manifest, modelBytes, {
      executionProviders: [this.backend.backend],
      graphOptimizationLevel: 'all',
    });
    try {
      if (this.disposed) throw new LensError('disposed', 'The view closed while the model was loading.');
      // First runs compile kernels; a model whose declared axes do not match its outputs fails here.
      const warmUp = tokenizer.encode('function warmUp() {\n  return 1;\n}');
      await runner.run(Object.fromEntries(runner.structure.sequences.map((s) => [s.id, warmUp])));
    } catch (err) {
      await runner.release(); // never leak a session, whatever failed
      throw err;
    }
    return { runner, tokenizer, loadMs: performance.now() - started };
  }
}
