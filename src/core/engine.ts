// Runs a model described by a manifest with any onnxruntime build (onnxruntime-web in the webview and in
// Node tests, onnxruntime-node in benchmarks): builds the feeds from input roles, runs, and returns every
// output by name with the batch axis removed. Recurrent models run in chunks that carry their state, so
// there is no length limit and chunked runs equal one full run.

import type { InferenceSession, Tensor as OrtTensor } from 'onnxruntime-web';
import type { Tensor } from './analysis';
import { LensError } from './errors';
import type { ModelManifest, OutputSpec } from './manifest';

/** The part of an onnxruntime module the engine uses (the web and node builds both provide it). */
export interface OrtModule {
  InferenceSession: { create(model: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession> };
  Tensor: new (type: 'int64' | 'float32', data: BigInt64Array | Float32Array, dims: readonly number[]) => OrtTensor;
}

/** One run's outputs by output name, batch axis removed (e.g. attention [L, H, T, T]). */
export type RunOutputs = Record<string, Tensor>;

export interface RunOptions {
  /** Tokens per chunk for recurrent models (default 512); ignored for models without state inputs. */
  chunkSize?: number;
  /** Initial recurrent state by stateOf ("h", "c"), [L, H] each; zeros when absent. */
  initialState?: Record<string, Float32Array>;
  signal?: AbortSignal;
}

export class ModelRunner {
  private constructor(
    private readonly ort: OrtModule,
    readonly manifest: ModelManifest,
    private readonly session: InferenceSession,
  ) {}

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
    return this.manifest.inputs.some((i) => i.role === 'initial_state');
  }

  /** Runs the model on token ids (batch 1). */
  async run(ids: readonly number[], options: RunOptions = {}): Promise<RunOutputs> {
    if (ids.length === 0) throw new LensError('empty-selection', 'There are no tokens to run the model on.');
    if (!this.isRecurrent) return this.runOnce(ids, {});
    const chunkSize = Math.max(1, options.chunkSize ?? 512);
    const chunks: RunOutputs[] = [];
    let state: Record<string, Float32Array> = { ...(options.initialState ?? {}) };
    for (let start = 0; start < ids.length; start += chunkSize) {
      if (options.signal?.aborted) throw new LensError('cancelled', 'The analysis was cancelled.');
      const out = await this.runOnce(ids.slice(start, start + chunkSize), state);
      chunks.push(out);
      state = {};
      for (const o of this.manifest.outputs) if (o.role === 'final_state' && o.stateOf) state[o.stateOf] = out[o.name].data;
    }
    return chunks.length === 1 ? chunks[0] : this.concatChunks(chunks);
  }

  async release(): Promise<void> {
    await this.session.release();
  }

  /**
   * Runs several sequences of equal length in one batch (zero initial state) and returns each output
   * with its batch axis kept where the manifest puts "B". Used by occlusion.
   */
  async runBatch(batch: ReadonlyArray<readonly number[]>): Promise<RunOutputs> {
    if (batch.length === 0 || batch[0].length === 0) throw new LensError('empty-selection', 'There are no tokens to run the model on.');
    const T = batch[0].length;
    if (batch.some((ids) => ids.length !== T)) throw new LensError('internal', 'Every sequence of a batch must have the same length.');
    const results = await this.feedAndRun(batch, {});
    const outputs: RunOutputs = {};
    for (const spec of this.manifest.outputs) outputs[spec.name] = { dims: results[spec.name].dims as number[], data: results[spec.name].data as Float32Array };
    return outputs;
  }

  private async runOnce(ids: readonly number[], state: Record<string, Float32Array>): Promise<RunOutputs> {
    const results = await this.feedAndRun([ids], state);
    const outputs: RunOutputs = {};
    for (const spec of this.manifest.outputs) {
      const value = results[spec.name];
      outputs[spec.name] = squeezeBatch(spec, value.dims as number[], value.data as Float32Array);
    }
    return outputs;
  }

  /** Builds the feeds from input roles (state inputs zero unless given) and runs the session. */
  private async feedAndRun(batch: ReadonlyArray<readonly number[]>, state: Record<string, Float32Array>): Promise<Record<string, OrtTensor>> {
    const B = batch.length;
    const T = batch[0].length;
    const feeds: Record<string, OrtTensor> = {};
    for (const input of this.manifest.inputs) {
      if (input.role === 'input_ids') {
        const data = new BigInt64Array(B * T);
        batch.forEach((ids, b) => ids.forEach((id, t) => (data[b * T + t] = BigInt(id))));
        feeds[input.name] = new this.ort.Tensor('int64', data, [B, T]);
      } else {
        const dims = input.shape.map((d) => (d === 'B' ? B : typeof d === 'number' ? d : NaN));
        if (dims.some(Number.isNaN)) throw new LensError('model-invalid', `Input "${input.name}" needs fixed sizes except "B", got [${input.shape.join(', ')}].`);
        const size = dims.reduce((a, b) => a * b, 1);
        const given = state[input.stateOf ?? ''];
        if (given && given.length !== size) throw new LensError('model-invalid', `Initial state "${input.stateOf}" has ${given.length} values; "${input.name}" needs ${size}.`);
        feeds[input.name] = new this.ort.Tensor('float32', given ?? new Float32Array(size), dims);
      }
    }
    return this.session.run(feeds);
  }

  /** Joins chunk outputs along their "T" axis; final states come from the last chunk. */
  private concatChunks(chunks: RunOutputs[]): RunOutputs {
    const out: RunOutputs = {};
    for (const spec of this.manifest.outputs) {
      const axis = spec.shape.filter((d) => d !== 'B').indexOf('T');
      out[spec.name] = axis < 0 ? chunks[chunks.length - 1][spec.name] : concatAxis(chunks.map((c) => c[spec.name]), axis);
    }
    return out;
  }
}

/** Removes the manifest's "B" axis (size 1) from an output. */
function squeezeBatch(spec: OutputSpec, dims: number[], data: Float32Array): Tensor {
  const b = spec.shape.indexOf('B');
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
