// Why: the page's side of the onnxruntime worker (ortWorker.ts). It starts the worker from its script (fetched
// as a webview resource and run from a blob: a webview cannot start a worker from its resource origin) and
// offers each backend as the OrtModule the engine already runs through, so ModelRunner, occlusion and the
// probes work unchanged while every session lives, and every run happens, off the main thread.

import type { InferenceSession } from 'onnxruntime-web';
import type { OrtModule } from '../src/core/engine';
import { LensError } from '../src/core/errors';
import { Endpoint, type Transport } from '../src/core/rpc';
import { fetchBytes } from './fetchBytes';
import type { OrtBackendName, OrtWorkerNotifications, OrtWorkerRequests, WireData, WireSessionOptions, WireTensor, WireTensorType } from './ortWorkerProtocol';

type WorkerEndpoint = Endpoint<OrtWorkerRequests, OrtWorkerNotifications, Record<string, never>, Record<string, never>>;

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

export class OrtWorkerClient {
  private readonly endpoint: Promise<WorkerEndpoint>;
  private worker: Worker | undefined;
  private failure: string | undefined;
  /** Buffers the next posted message transfers (set by request() around the endpoint's synchronous post). */
  private transferNext: Transferable[] = [];

  constructor(scriptUri: string) {
    this.endpoint = this.start(scriptUri);
    this.endpoint.catch(() => undefined); // reported by the first request
  }

  private async start(scriptUri: string): Promise<WorkerEndpoint> {
    const script = await fetchBytes(scriptUri, { what: 'the onnxruntime worker script', code: 'backend-unavailable' });
    const url = URL.createObjectURL(new Blob([script as Uint8Array<ArrayBuffer>], { type: 'text/javascript' }));
    const worker = (this.worker = new Worker(url, { type: 'module', name: 'onnxruntime' }));
    worker.addEventListener('message', () => URL.revokeObjectURL(url), { once: true }); // loaded by then
    const transport: Transport = {
      post: (message) => {
        const transfer = this.transferNext;
        this.transferNext = [];
        worker.postMessage(message, transfer);
      },
      listen: (handler) => {
        const listener = (e: MessageEvent) => handler(e.data);
        worker.addEventListener('message', listener);
        return { dispose: () => worker.removeEventListener('message', listener) };
      },
    };
    const endpoint: WorkerEndpoint = new Endpoint(transport, { peer: 'onnxruntime worker', timeoutMs: WORKER_TIMEOUT_MS });
    worker.addEventListener('error', (e) => {
      // An uncaught error or a failed start (e.g. out of memory): every pending request fails with it.
      this.failure = e.message || 'the worker stopped';
      endpoint.dispose();
    });
    return endpoint;
  }

  private async request<K extends keyof OrtWorkerRequests & string>(method: K, params: OrtWorkerRequests[K]['params'], transfer: Transferable[] = []): Promise<OrtWorkerRequests[K]['result']> {
    const endpoint = await this.endpoint;
    this.transferNext = transfer;
    const answer = endpoint.request(method, params); // posts at once, with the transfer list
    this.transferNext = [];
    try {
      return await answer;
    } catch (err) {
      if (this.failure) throw new LensError('backend-unavailable', `onnxruntime's worker failed: ${this.failure}`);
      throw err;
    }
  }

  version(): Promise<string> {
    return this.request('version', {});
  }

  /**
   * Creates a session on a backend, handing the build its binary when it has not started yet. With `give`, the
   * model's bytes (and external data) move to the worker instead of being copied: hundreds of MB not held twice,
   * and no long copy on the main thread; the caller's arrays are empty afterwards.
   */
  async createSession(backend: OrtBackendName, model: Uint8Array, options: WireSessionOptions = {}, wasmBinary?: Uint8Array, give = false): Promise<InferenceSession> {
    const owned = (a: ArrayBufferView) => (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer ? [a.buffer] : []);
    // onnxruntime's binary is read once, by this creation: it moves too.
    const transfer = [...(give ? [model, ...(options.externalData ?? []).map((d) => d.data)] : []), ...(wasmBinary ? [wasmBinary] : [])].flatMap(owned);
    const created = await this.request('create', { backend, model, options, wasmBinary }, [...new Set(transfer)]);
    const session = {
      inputNames: created.inputNames,
      outputNames: created.outputNames,
      run: async (feeds: Record<string, WireTensor>, ...rest: unknown[]) => {
        // As onnxruntime's run(feeds, fetches?, options?) and run(feeds, options?): the engine's transferInputs
        // option moves the inputs' own buffers to the worker instead of copying them.
        const fetches = Array.isArray(rest[0]) ? (rest[0] as readonly string[]) : undefined;
        const options = (fetches ? rest[1] : rest[0]) as { transferInputs?: boolean } | undefined;
        const wire: Record<string, WireTensor> = {};
        for (const [name, t] of Object.entries(feeds)) wire[name] = { type: t.type, data: t.data, dims: [...t.dims] };
        const transfer = options?.transferInputs ? [...new Set(Object.values(wire).flatMap((t) => owned(t.data)))] : [];
        return this.request('run', { session: created.session, feeds: wire, ...(fetches ? { fetches: [...fetches] } : {}) }, transfer);
      },
      release: async () => {
        await this.request('release', { session: created.session });
      },
    };
    return session as unknown as InferenceSession;
  }

  /** A backend as the engine's OrtModule: sessions in the worker, tensors as plain data. */
  module(backend: OrtBackendName): OrtModule {
    return {
      // The engine reads nothing of a model's bytes once its session is created: they move to the worker.
      InferenceSession: { create: (model, options) => this.createSession(backend, model, options as WireSessionOptions, undefined, true) },
      Tensor: WireTensorOf as unknown as OrtModule['Tensor'],
    };
  }

  /** Stops the worker: its sessions and heap go with it. */
  dispose(): void {
    void this.endpoint.then((e) => e.dispose(), () => undefined);
    this.worker?.terminate();
  }
}
