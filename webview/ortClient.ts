// Why: the page's side of the onnxruntime worker (ortWorker.ts, started through workerScript.ts). It offers
// each backend as the OrtModule the engine already runs through, so ModelRunner, occlusion and the probes work
// unchanged while every session lives, and every run happens, off the main thread.

import type { InferenceSession } from 'onnxruntime-web';
import type { EngineRunOptions, OrtModule } from '../src/core/engine';
import type { KeptTensor, PrefixCopies } from '../src/core/keptTensor';
import type { OrtBackendName, OrtWorkerNotifications, OrtWorkerRequests, WireData, WireFeed, WireSessionOptions, WireTensor, WireTensorType } from './ortWorkerProtocol';
import type { FileRoutes } from './fileRoutes';
import { WorkerConnection, wholeBuffer } from './workerScript';

/** Creating the session of a large model or running a long input takes minutes on a slow machine. */
const WORKER_TIMEOUT_MS = 30 * 60_000;

/** A tensor as ModelRunner builds its feeds and reads its outputs: type, data and dims. */
class WireTensorOf implements WireTensor {
  constructor(
    readonly type: WireTensorType,
    readonly data: WireData,
    readonly dims: number[],
  ) {}
}

/** A feed the worker builds from a tensor it keeps: only its number and what to take cross over. */
class KeptFeed {
  readonly type = 'float32';

  constructor(
    readonly kept: number,
    readonly copies: PrefixCopies,
    readonly dims: number[],
  ) {}
}

/** A build's binary as the worker takes it: its bytes, or the file server's URL it streams them from. */
export type BinarySource = Uint8Array | { readonly url: string };

/**
 * The file server's URL gave the worker no compiled binary (createSession): another answer, none in time, or a body
 * cut, stalled or not WebAssembly. Nothing was started: the bytes may be sent instead.
 */
export class ServedBinaryFailed extends Error {}

export class OrtWorkerClient {
  private readonly connection: WorkerConnection<OrtWorkerRequests, OrtWorkerNotifications>;

  constructor(scriptUri: string, routes: FileRoutes) {
    this.connection = new WorkerConnection(scriptUri, 'onnxruntime', WORKER_TIMEOUT_MS, routes);
  }

  version(): Promise<string> {
    return this.connection.request('version', {});
  }

  /**
   * Creates a session on a backend, handing the build its binary when it has not started yet. With `give`, the
   * model's bytes (and external data) move to the worker instead of being copied: hundreds of MB not held twice,
   * and no long copy on the main thread; the caller's arrays are empty afterwards. With `holdBinaryAs` (its file
   * name), the worker holds the binary once compiled, for keepBinary to keep for later windows. A binary given by
   * URL that the worker could not fetch rejects with ServedBinaryFailed.
   */
  async createSession(backend: OrtBackendName, model: Uint8Array, options: WireSessionOptions = {}, binary?: BinarySource, give = false, holdBinaryAs?: string): Promise<InferenceSession> {
    const owned = (a: ArrayBufferView) => (wholeBuffer(a) ? [a.buffer as ArrayBuffer] : []);
    const wasmBinary = binary instanceof Uint8Array ? binary : undefined;
    // onnxruntime's binary is read once, by this creation: it moves too.
    const transfer = [...(give ? [model, ...(options.externalData ?? []).map((d) => d.data)] : []), ...(wasmBinary ? [wasmBinary] : [])].flatMap(owned);
    const hold = wasmBinary && holdBinaryAs ? { holdBinary: holdBinaryAs } : {};
    const source = binary instanceof Uint8Array ? { wasmBinary: binary } : binary ? { wasmUrl: binary.url } : {};
    const created = await this.connection.request('create', { backend, model, options, ...source, ...hold }, [...new Set(transfer)]);
    if ('binaryFailed' in created) throw new ServedBinaryFailed(created.binaryFailed);
    const session = {
      inputNames: created.inputNames,
      outputNames: created.outputNames,
      run: async (feeds: Record<string, WireTensor>, ...rest: unknown[]) => {
        // As onnxruntime's run(feeds, fetches?, options?) and run(feeds, options?): the engine's transferInputs
        // option moves the inputs' own buffers to the worker instead of copying them, and rowsOf has the worker
        // return only those rows of an output.
        const fetches = Array.isArray(rest[0]) ? (rest[0] as readonly string[]) : undefined;
        const options = (fetches ? rest[1] : rest[0]) as EngineRunOptions | undefined;
        const wire: Record<string, WireFeed> = {};
        for (const [name, t] of Object.entries(feeds)) wire[name] = t instanceof KeptFeed ? { kept: t.kept, copies: t.copies, dims: t.dims } : { type: t.type, data: t.data, dims: [...t.dims] };
        const transfer = options?.transferInputs ? [...new Set(Object.values(wire).flatMap((t) => ('data' in t ? owned(t.data) : [])))] : [];
        const rowsOf = options?.rowsOf ? { rowsOf: options.rowsOf } : {};
        return this.connection.request('run', { session: created.session, feeds: wire, ...(fetches ? { fetches: [...fetches] } : {}), ...rowsOf }, transfer);
      },
      release: async () => {
        await this.connection.request('release', { session: created.session });
      },
    };
    return session as unknown as InferenceSession;
  }

  /** Keeps the binary the worker holds under this file name (createSession's holdBinaryAs) for later windows; whether it was kept. */
  keepBinary(file: string): Promise<boolean> {
    return this.connection.request('keepBinary', { file });
  }

  /** Keeps a small model file's bytes (moved to the worker when they own their buffer) for later windows, off this thread. */
  async keepModelFile(sha256: string, bytes: Uint8Array, what: string): Promise<void> {
    await this.connection.request('keepModelFile', { sha256, bytes, what }, wholeBuffer(bytes) ? [bytes.buffer as ArrayBuffer] : []);
  }

  /** Keeps a copy of a tensor in the worker; runs of any session there are fed parts of it by number. */
  async keep(data: Float32Array, dims: readonly number[]): Promise<KeptTensor> {
    // Copied, not moved: the caller keeps its outputs. A view into a larger buffer is cut out first (posting it
    // would copy the whole buffer), and that copy moves.
    const own = wholeBuffer(data) !== undefined;
    const sent = own ? data : data.slice();
    const id = await this.connection.request('keep', { data: sent, dims: [...dims] }, own ? [] : [sent.buffer as ArrayBuffer]);
    return {
      dims,
      feed: (copies, feedDims) => new KeptFeed(id, { ...copies }, [...feedDims]) as unknown as ReturnType<KeptTensor['feed']>,
      release: async () => {
        await this.connection.request('drop', { tensor: id });
      },
    };
  }

  /** Frees the outputs that arrive on `port` (the logits worker's, once summed) in this worker, which allocated them. */
  async freeFrom(port: MessagePort): Promise<void> {
    await this.connection.request('spentLogits', { port }, [port]);
  }

  /** A backend as the engine's OrtModule: sessions in the worker, tensors as plain data. */
  module(backend: OrtBackendName): OrtModule {
    return {
      // The engine reads nothing of a model's bytes once its session is created: they move to the worker.
      InferenceSession: { create: (model, options) => this.createSession(backend, model, options as WireSessionOptions, undefined, true) },
      Tensor: WireTensorOf as unknown as OrtModule['Tensor'],
      keep: (data, dims) => this.keep(data, dims),
    };
  }

  /** Stops the worker: its sessions and heap go with it. */
  dispose(): void {
    this.connection.dispose();
  }
}
