// Runs a model described by a manifest with any onnxruntime build (onnxruntime-web in the webview and in
// Node tests, onnxruntime-node in benchmarks): builds every feed from its input role and named axes (token
// ids per sequence, attention masks, position ids, empty caches, recurrent states), runs, and returns every
// output by name with its batch axis removed. Recurrent models run in chunks that carry their state, so
// there is no length limit and chunked runs equal one full run, but only when every output can be joined
// from chunks (see runsInChunks): a token × token output (query or key axis) cannot, so such a model runs
// in one piece.

import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-web';
import type { Tensor } from './analysis';
import { type ChunkPlan, ChunkJoiner, cacheSeeds, cachesAfter, chunkPlan, chunkTokens } from './cacheChunks';
import { LensError } from './errors';
import { type InputRole, type InputSpec, type ModelManifest, type OutputSpec, axisIndex, formatAxes, sequenceOfAxis } from './manifest';
import { type KeptCaches, type KeptTensor, type StateFeed, cachePrefixFeed, isCachePrefix, keepCaches } from './keptTensor';
import { type RowsOf, pickRows } from './logitRows';
import { type ModelStructure, modelStructure } from './modelStructure';
import type { SequenceIds } from './occlusion';

/** The part of an onnxruntime module the engine uses (the web and node builds both provide it). */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: 'int64' | 'int32' | 'float32', data: BigInt64Array | Int32Array | Float32Array, dims: readonly number[]) => OrtTensor;
  /**
   * Holds a copy of a tensor where the sessions run (the webview's onnxruntime worker), so that later runs are
   * fed parts of it without sending it again (keptTensor.ts). Absent: the engine keeps it on this thread.
   */
  keep?(data: Float32Array, dims: readonly number[]): Promise<KeptTensor>;
}

/** One run's outputs by output name, batch axis removed (e.g. attention [L, H, T, T]). */
export type RunOutputs = Record<string, Tensor>;

/** Token ids by sequence id (most models read one sequence). */
export type { SequenceIds };

/**
 * Run options onnxruntime ignores and the webview's worker client reads (webview/ortClient.ts): transferInputs moves
 * the inputs' buffers to the worker (the caller's arrays are empty afterwards); rowsOf returns only those rows.
 */
export type EngineRunOptions = InferenceSession.RunOptions & { transferInputs?: boolean; rowsOf?: RowsOf };

const TRANSFER_INPUTS: EngineRunOptions = { transferInputs: true };

export interface RunOptions {
  /** Tokens per chunk for recurrent models (default 512); ignored unless runsInChunks(manifest). */
  chunkSize?: number;
  /** Initial recurrent state by state name ("h", "c"); zeros when absent. */
  initialState?: Record<string, Float32Array>;
  /** Tokens per chunk of a model that runs a long text from its cache (default: chunkTokens, cacheChunks.ts). */
  cacheChunk?: number;
  /** Lower triangles larger than this in float32 are held in half precision (default HALF_PRECISION_FROM_BYTES, lowerTriangle.ts). */
  halfPrecisionFromBytes?: number;
  /** Lets other work run between slices of joining a run in chunks (a UI thread: see ChunkJoiner.add). */
  yieldControl?: () => Promise<void>;
  signal?: AbortSignal;
}

export class ModelRunner {
  readonly structure: ModelStructure;
  /** How a long text runs in chunks from the model's key/value cache, when it can (cacheChunks.ts). */
  private readonly cacheChunks: ChunkPlan | undefined;

  private constructor(
    private readonly ort: OrtModule,
    readonly manifest: ModelManifest,
    private readonly session: InferenceSession,
  ) {
    this.structure = modelStructure(manifest);
    this.cacheChunks = chunkPlan(manifest);
  }

  /** Creates the session and checks that the graph has the inputs and outputs the manifest names. */
  static async create(ort: OrtModule, manifest: ModelManifest, modelBytes: Uint8Array, options: InferenceSession.SessionOptions = {}): Promise<ModelRunner> {
    let session: InferenceSession;
    try {
      session = await ort.InferenceSession.create(modelBytes, options);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      throw new LensError('model-invalid', `The model file of "${manifest.id}" could not be loaded by onnxruntime (is it a complete ONNX file?): ${reason}`);
    }
    const missing = [
      ...manifest.inputs.filter((i) => !session.inputNames.includes(i.name)).map((i) => `input "${i.name}"`),
      ...manifest.outputs.filter((o) => !session.outputNames.includes(o.name)).map((o) => `output "${o.name}"`),
    ];
    const undescribed = session.inputNames.filter((name) => !manifest.inputs.some((i) => i.name === name)).map((name) => `graph input "${name}"`);
    if (missing.length || undescribed.length) {
      await session.release();
      const problems = [missing.length ? `the graph has no ${missing.join(', ')}` : '', undescribed.length ? `the manifest does not describe ${undescribed.join(', ')}` : ''];
      throw new LensError('model-invalid', `The model file of "${manifest.id}" does not match its manifest: ${problems.filter(Boolean).join('; ')}.`);
    }
    return new ModelRunner(ort, manifest, session);
  }

  get isRecurrent(): boolean {
    return this.structure.recurrent;
  }

  /** Runs the model on token ids (batch 1): ids per sequence, or one array for a one-sequence model. */
  async run(input: SequenceIds | readonly number[], options: RunOptions = {}): Promise<RunOutputs> {
    const ids = this.sequenceIds(input);
    if (Object.values(ids).some((s) => s.length === 0)) throw new LensError('empty-selection', 'There are no tokens to run the model on.');
    if (!runsInChunks(this.manifest)) {
      const T = Object.values(ids)[0].length;
      const size = this.cacheChunks ? Math.max(1, options.cacheChunk ?? chunkTokens(this.cacheChunks, T)) : T;
      if (size < T) return this.runFromCaches(ids, this.cacheChunks!, size, options);
      return this.runOnce(ids, options.initialState ?? {}, 0);
    }
    const seq = this.structure.sequences[0].id;
    const all = ids[seq];
    const chunkSize = Math.max(1, options.chunkSize ?? 512);
    const chunks: RunOutputs[] = [];
    let state: Record<string, Float32Array> = { ...(options.initialState ?? {}) };
    for (let start = 0; start < all.length; start += chunkSize) {
      if (options.signal?.aborted) throw new LensError('cancelled', 'The analysis was cancelled.');
      const out = await this.runOnce({ [seq]: all.slice(start, start + chunkSize) }, state, start);
      chunks.push(out);
      state = {};
      for (const o of this.structure.finalStates) if (o.state) state[o.state] = out[o.name].data;
    }
    return chunks.length === 1 ? chunks[0] : this.concatChunks(chunks);
  }

  /**
   * A long text in chunks of `size` tokens, each run from the cache of the tokens before it (cacheChunks.ts):
   * the outputs of one run, while onnxruntime's heap holds one chunk's attention rows at a time.
   */
  private async runFromCaches(ids: SequenceIds, plan: ChunkPlan, size: number, { signal, halfPrecisionFromBytes, yieldControl }: RunOptions): Promise<RunOutputs> {
    const seq = this.structure.sequences[0].id;
    const all = ids[seq];
    const joiner = new ChunkJoiner(this.manifest, plan, all.length, halfPrecisionFromBytes);
    let caches: Record<string, Float32Array> = {};
    // Each chunk is joined while the next one runs (the session answers off this thread when it is a worker's).
    let joining: Promise<void> = Promise.resolve();
    for (let start = 0; start < all.length; start += size) {
      if (signal?.aborted) throw new LensError('cancelled', 'The analysis was cancelled.');
      const tokens = all.slice(start, start + size);
      // The caches move to the session's worker rather than being copied there (150 MB per chunk for a
      // 12-layer, 768-wide model at 2,048 tokens): nothing here reads them again but the last chunk's.
      const out = await this.runOnce({ [seq]: tokens }, caches, 0, true);
      caches = cachesAfter(plan.seeds, out, start + tokens.length);
      await joining;
      joining = joiner.add(out, tokens.length, yieldControl, true); // its copied buffers are freed once joined
      joining.catch(() => undefined); // awaited below or by the next chunk; not an unhandled rejection meanwhile
    }
    await joining;
    return joiner.result();
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /**
   * Runs several inputs of equal lengths in one batch and returns the logits [B, T, V] of the sequence they
   * score. Used by occlusion. initialState: by state name, each in its initial_state input's layout with
   * the batch axis of size B (one state per input); zeros when absent. A cache (an empty_cache input's
   * `state`) given here holds P earlier tokens in the input's layout with a past axis of P, or is the prefix of P
   * tokens of a kept cache (keepCaches): the inputs then continue those tokens (position ids from P, an attention
   * mask over P + T); empty when absent.
   */
  async runBatchLogits(batch: ReadonlyArray<SequenceIds>, initialState: Record<string, StateFeed> = {}): Promise<Tensor> {
    const spec = this.batchLogits(batch, 'Occlusion needs');
    // Only the logits come back: a run still computes every output, but copies out just these.
    const value = (await this.feedAndRun(batch, initialState, 0, [spec.name]))[spec.name];
    return { dims: value.dims as number[], data: value.data as Float32Array };
  }

  /** Each item's logits at one position, item b's at rows[b]: [B, 1, V] (zero initial state; a worker sends only those). */
  async runBatchLogitRows(batch: ReadonlyArray<SequenceIds>, rows: readonly number[]): Promise<Tensor> {
    const spec = this.batchLogits(batch, 'Masked predictions need');
    if (rows.length !== batch.length) throw new LensError('internal', `${rows.length} rows of logits asked for a batch of ${batch.length}.`);
    const options: EngineRunOptions = { rowsOf: { output: spec.name, rows: [...rows] } };
    const value = (await this.feedAndRun(batch, {}, 0, [spec.name], options))[spec.name];
    const dims = value.dims as number[];
    // A session that ran here (or a worker without the option) returns every row: picked here then.
    return dims.length === 3 && dims[1] === 1 ? { dims, data: value.data as Float32Array } : pickRows(value.data as Float32Array, dims, rows);
  }

  /** The logits output a batch's run returns, checked to be [batch, position, vocab] (`who` needs that). */
  private batchLogits(batch: ReadonlyArray<SequenceIds>, who: string): OutputSpec {
    const spec = this.structure.logits;
    if (!spec) throw new LensError('model-invalid', `Model "${this.manifest.id}" has no output with role "logits".`);
    if (batch.length === 0) throw new LensError('empty-selection', 'There are no tokens to run the model on.');
    if (['batch', 'position', 'vocab'].some((n, j) => axisIndex(spec, n as 'batch') !== j)) throw new LensError('model-invalid', `${who} logits with axes [batch, position, vocab]; "${spec.name}" has ${formatAxes(spec.axes)}.`);
    return spec;
  }

  /**
   * Keeps the caches of a run's outputs (batch removed, as run() returns them) where the session runs, for runs
   * that continue their first tokens: runBatchLogits(batch, kept.after(k)) then sends no cache. The caller
   * releases them.
   */
  async keepCaches(outputs: RunOutputs): Promise<KeptCaches> {
    const seeds = cacheSeeds(this.manifest);
    if (!seeds) throw new LensError('internal', `Model "${this.manifest.id}" has no caches it can be handed.`);
    return keepCaches(this.ort, seeds, outputs);
  }

  /**
   * Whether several inputs can run in one batch: every integer input and every output read has a batch
   * axis, and the model does not run in chunks (see runsInChunks). Otherwise run them one at a time.
   */
  get batchable(): boolean {
    const integer = this.manifest.inputs.filter((i) => i.role !== 'initial_state' && i.role !== 'empty_cache');
    const outputs = this.manifest.outputs.filter((o) => o.role !== 'ignored');
    return !runsInChunks(this.manifest) && [...integer, ...outputs].every((t) => axisIndex(t, 'batch') >= 0);
  }

  /**
   * Runs several inputs of equal lengths in one batch (zero initial state) and returns each one's outputs,
   * batch axis removed, as run() would (used by the head probe). Needs a batchable model when B > 1.
   */
  async runBatch(batch: ReadonlyArray<SequenceIds>): Promise<RunOutputs[]> {
    if (batch.length === 0) throw new LensError('empty-selection', 'There are no tokens to run the model on.');
    if (batch.length > 1 && !this.batchable) throw new LensError('internal', `Model "${this.manifest.id}" cannot run ${batch.length} inputs in one batch: run them one at a time.`);
    const results = await this.feedAndRun(batch, {}, 0);
    const outputs: RunOutputs[] = batch.map(() => ({}));
    for (const spec of this.manifest.outputs) {
      if (spec.role === 'ignored') continue;
      const value = results[spec.name];
      const dims = value.dims as number[];
      const data = value.data as Float32Array;
      if (dims.length !== spec.axes.length) throw new LensError('model-invalid', `Output "${spec.name}" has ${dims.length} axes [${dims.join(', ')}], but the manifest declares ${formatAxes(spec.axes)}.`);
      const b = axisIndex(spec, 'batch');
      if (b < 0) {
        outputs[0][spec.name] = { dims, data };
        continue;
      }
      // Item i of [outer…, B, inner…]: `outer` runs of `inner` values, a copy unless the batch axis comes first.
      const outer = dims.slice(0, b).reduce((x, y) => x * y, 1);
      const inner = dims.slice(b + 1).reduce((x, y) => x * y, 1);
      const itemDims = dims.filter((_, i) => i !== b);
      batch.forEach((_, i) => {
        let item: Float32Array;
        if (outer === 1) item = data.subarray(i * inner, (i + 1) * inner);
        else {
          item = new Float32Array(outer * inner);
          for (let o = 0; o < outer; o++) item.set(data.subarray((o * batch.length + i) * inner, (o * batch.length + i + 1) * inner), o * inner);
        }
        outputs[i][spec.name] = { dims: itemDims, data: item };
      });
    }
    return outputs;
  }

  /** Normalises run input to ids by sequence id. */
  private sequenceIds(input: SequenceIds | readonly number[]): SequenceIds {
    if (!Array.isArray(input)) return input as SequenceIds;
    if (this.structure.sequences.length !== 1) throw new LensError('internal', `Model "${this.manifest.id}" reads ${this.structure.sequences.length} sequences: give ids per sequence.`);
    return { [this.structure.sequences[0].id]: input as readonly number[] };
  }

  private async runOnce(ids: SequenceIds, state: Record<string, Float32Array>, offset: number, transferInputs = false): Promise<RunOutputs> {
    const results = await this.feedAndRun([ids], state, offset, undefined, transferInputs ? TRANSFER_INPUTS : {});
    const outputs: RunOutputs = {};
    for (const spec of this.manifest.outputs) {
      if (spec.role === 'ignored') continue;
      const value = results[spec.name];
      outputs[spec.name] = squeezeBatch(spec, value.dims as number[], value.data as Float32Array);
    }
    return outputs;
  }

  /** Builds every feed from its input role and axes, and runs the session (for every output, or `fetches`). */
  private async feedAndRun(batch: ReadonlyArray<SequenceIds>, state: Record<string, StateFeed>, offset: number, fetches?: string[], options: EngineRunOptions = {}): Promise<Record<string, OrtTensor>> {
    const B = batch.length;
    const feeds: Record<string, OrtTensor> = {};
    const past = this.pastLength(B, state);
    offset += past;
    for (const input of this.manifest.inputs) {
      const seq = sequenceOfAxis(this.manifest, input.axes[axisIndex(input, 'position')]);
      const T = seq ? batch[0][seq]?.length : undefined;
      if (seq && T === undefined) throw new LensError('internal', `No token ids given for sequence "${seq}".`);
      if (seq && batch.some((ids) => ids[seq].length !== T)) throw new LensError('internal', 'Every input of a batch must have the same lengths.');
      const dims = input.axes.map((a) => (a.name === 'batch' ? B : a.name === 'position' ? T! : typeof a.size === 'number' ? a.size : NaN));
      if (dims.some(Number.isNaN)) throw new LensError('model-invalid', `Input "${input.name}" has axes ${formatAxes(input.axes)}: every axis but batch and sequence axes needs a fixed size.`);
      const size = dims.reduce((a, b) => a * b, 1);
      if (input.role === 'empty_cache' && past > 0) {
        dims[axisIndex(input, 'past')] = past;
        const given = state[input.state!];
        feeds[input.name] = isCachePrefix(given) ? cachePrefixFeed(input, given, B, dims) : new this.ort.Tensor('float32', given, dims);
        continue;
      }
      if (input.role === 'initial_state' || input.role === 'empty_cache') {
        const feed = input.role === 'initial_state' ? state[input.state ?? ''] : undefined;
        if (feed && isCachePrefix(feed)) throw new LensError('internal', `Initial state "${input.state}" is a kept cache; "${input.name}" is not a cache input.`);
        const given = feed;
        if (given && given.length !== size) throw new LensError('model-invalid', `Initial state "${input.state}" has ${given.length} values; "${input.name}" needs ${size}.`);
        feeds[input.name] = new this.ort.Tensor('float32', given ?? new Float32Array(size), dims);
        continue;
      }
      if (input.role === 'attention_mask' && past > 0) {
        const at = axisIndex(input, 'position');
        dims[at] += past;
        feeds[input.name] = this.intTensor(input, new Array<number>(B * dims[at]).fill(1), dims);
        continue;
      }
      if (axisIndex(input, 'batch') < 0 && B > 1) throw new LensError('model-invalid', `Input "${input.name}" has no batch axis, so the model cannot run ${B} inputs at once.`);
      const positionFirst = axisIndex(input, 'position') < axisIndex(input, 'batch');
      feeds[input.name] = this.intTensor(input, integerFeed(input.role, batch.map((ids) => ids[seq!]), offset, positionFirst), dims);
    }
    return fetches ? this.session.run(feeds, fetches, options) : this.session.run(feeds, options);
  }

  /**
   * The tokens the given caches hold (0 when none is given): every empty_cache input must then get one, each
   * with the same number of tokens along its past axis.
   */
  private pastLength(B: number, state: Record<string, StateFeed>): number {
    const caches = this.manifest.inputs.filter((i) => i.role === 'empty_cache');
    const given = caches.filter((i) => i.state !== undefined && state[i.state] !== undefined);
    if (!given.length) return 0;
    const lengths = caches.map((input) => {
      const data = input.state === undefined ? undefined : state[input.state];
      if (!data) throw new LensError('internal', `A run from a cache needs every cache input; none was given for "${input.name}".`);
      if (isCachePrefix(data)) return data.tokens;
      const perToken = input.axes.reduce((n, a) => n * (a.name === 'batch' ? B : a.name === 'past' ? 1 : typeof a.size === 'number' ? a.size : 1), 1);
      if (!perToken || data.length % perToken !== 0) throw new LensError('internal', `The cache for "${input.name}" has ${data.length} values, not a whole number of tokens of ${perToken}.`);
      return data.length / perToken;
    });
    if (lengths.some((n) => n !== lengths[0])) throw new LensError('internal', `The caches given hold different numbers of tokens (${lengths.join(', ')}).`);
    return lengths[0];
  }

  private intTensor(input: InputSpec, values: number[], dims: number[]): OrtTensor {
    if (input.dtype === 'int32') return new this.ort.Tensor('int32', Int32Array.from(values), dims);
    return new this.ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }

  /** Joins chunk outputs along their position axis; final states come from the last chunk. */
  private concatChunks(chunks: RunOutputs[]): RunOutputs {
    const out: RunOutputs = {};
    for (const name of Object.keys(chunks[0])) {
      const spec = this.manifest.outputs.find((o) => o.name === name)!;
      const axis = spec.axes.filter((a) => a.name !== 'batch').findIndex((a) => a.name === 'position');
      out[name] = axis < 0 ? chunks[chunks.length - 1][name] : concatAxis(chunks.map((c) => c[name]), axis);
    }
    return out;
  }
}

/**
 * Whether a model runs in chunks that carry its state: it has initial_state inputs, reads one sequence, and
 * every output (ignored ones aside) can be joined from chunks: it has a position axis (concatenated) or is
 * a final state (the last chunk's). Anything else (a query or key axis: a mixing W is token × token, and
 * the last chunk's block is not the whole matrix) means one run over the whole text.
 */
export function runsInChunks(manifest: ModelManifest): boolean {
  const structure = modelStructure(manifest);
  if (!structure.recurrent || structure.sequences.length !== 1) return false;
  return manifest.outputs.every((o) => {
    if (o.role === 'ignored' || o.role === 'final_state') return true;
    const names = o.axes.map((a) => a.name);
    return names.includes('position') && !names.includes('query') && !names.includes('key');
  });
}

/**
 * The values of an integer input for a batch of id sequences of equal length T, in the input's layout:
 * [B, T] (batch first, or no batch axis with B = 1) or [T, B] (position first). input_ids are the ids, an
 * attention_mask ones, position_ids offset + t (the chunk's start), token_type_ids zeros.
 */
export function integerFeed(role: InputRole, batch: ReadonlyArray<readonly number[]>, offset: number, positionFirst: boolean): number[] {
  const B = batch.length;
  const T = batch[0].length;
  const values = new Array<number>(B * T);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const v = role === 'input_ids' ? batch[b][t] : role === 'attention_mask' ? 1 : role === 'position_ids' ? offset + t : 0;
      values[positionFirst ? t * B + b : b * T + t] = v;
    }
  }
  return values;
}

/** Removes the manifest's batch axis (size 1) from an output. */
function squeezeBatch(spec: OutputSpec, dims: number[], data: Float32Array): Tensor {
  const b = axisIndex(spec, 'batch');
  if (dims.length !== spec.axes.length) {
    throw new LensError('model-invalid', `Output "${spec.name}" has ${dims.length} axes [${dims.join(', ')}], but the manifest declares ${formatAxes(spec.axes)}.`);
  }
  if (b >= 0 && dims[b] !== 1) throw new LensError('internal', `Output "${spec.name}" has batch size ${dims[b]}; expected 1.`);
  return { dims: b >= 0 ? dims.filter((_, i) => i !== b) : dims, data };
}

/** Concatenates tensors along one axis. */
export function concatAxis(parts: Tensor[], axis: number): Tensor {
  const dims = [...parts[0].dims];
  const outer = dims.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
  dims[axis] = parts.reduce((n, p) => n + p.dims[axis], 0);
  const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
  let offset = 0;
  for (let o = 0; o < outer; o++) {
    for (const p of parts) {
      const len = p.dims[axis] * inner;
      data.set(p.data.subarray(o * len, (o + 1) * len), offset);
      offset += len;
    }
  }
  return { dims, data };
}
