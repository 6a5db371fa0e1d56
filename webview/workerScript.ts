// Why: the webview's workers (onnxruntime's, the tokenizer's, the logits one, the download one) start and are spoken to the same way: a webview
// cannot start a worker from its resource origin, so the script is fetched as a webview resource and run from
// a blob; and each speaks the typed request endpoint of src/core/rpc.ts over postMessage, with transfer lists.

import { LensError } from '../src/core/errors';
import { Endpoint, type RequestMapOf, type RequestOptions, type Transport } from '../src/core/rpc';
import type { FileRoutes } from './fileRoutes';

interface Started<Req extends RequestMapOf<Req>, Note, Events> {
  worker: Worker;
  endpoint: Endpoint<Req, Note, Record<string, never>, Events>;
  /** Buffers the next post transfers instead of copying (read and cleared by that post). */
  transferNext: Transferable[];
  /** Why the worker stopped (an uncaught error, a failed start, out of memory); undefined while it runs. */
  failure?: string;
}

/**
 * The page's side of one worker: started at construction; requests wait for the start and fail when it stops.
 * Events: what the worker tells the page unasked (notifications), heard through on().
 */
export class WorkerConnection<Req extends RequestMapOf<Req>, Note, Events = Record<string, never>> {
  private readonly started: Promise<Started<Req, Note, Events>>;

  /**
   * name: how messages call it ("onnxruntime", "tokenizer", "logits", "download"); routes: the page's faster routes to
   * its script; scriptText: the script itself, when the page's HTML carries it (then it is not fetched).
   */
  constructor(
    scriptUri: string,
    private readonly name: string,
    timeoutMs: number,
    routes: FileRoutes,
    scriptText?: string,
  ) {
    // A worker that cannot start (no Worker here, a refused script) fails each request as the backend's failure.
    this.started = start<Req, Note, Events>(scriptUri, name, timeoutMs, routes, scriptText).catch((err: unknown) => {
      throw err instanceof LensError ? err : new LensError('backend-unavailable', `The ${name} worker could not start: ${err instanceof Error ? err.message : String(err)}`);
    });
    this.started.catch(() => undefined); // reported by each request
  }

  /**
   * Sends a request, moving the `transfer` buffers instead of copying them; options.signal cancels it (the
   * worker's handler sees its own signal abort).
   */
  async request<K extends keyof Req & string>(method: K, params: Req[K]['params'], transfer: Transferable[] = [], options: RequestOptions = {}): Promise<Req[K]['result']> {
    const started = await this.started;
    started.transferNext = transfer;
    const answer = started.endpoint.request(method, params, options); // posts at once, with the transfer list
    started.transferNext = [];
    try {
      return await answer;
    } catch (err) {
      if (started.failure) throw new LensError('backend-unavailable', `The ${this.name} worker failed: ${started.failure}`);
      throw err;
    }
  }

  /** Hears the worker's events of one method, once it has started (a worker that fails to start sends none). */
  on<K extends keyof Events & string>(method: K, handler: (params: Events[K]) => void): void {
    void this.started.then((s) => s.endpoint.onNotification(method, handler), () => undefined);
  }

  /** Stops the worker: pending requests fail with "disposed", and its heap goes with it. */
  dispose(): void {
    void this.started.then((s) => {
      s.endpoint.dispose();
      s.worker.terminate();
    }, () => undefined);
  }
}

async function start<Req extends RequestMapOf<Req>, Note, Events>(scriptUri: string, name: string, timeoutMs: number, routes: FileRoutes, scriptText?: string): Promise<Started<Req, Note, Events>> {
  const script = scriptText ?? (await routes.fetchBytes(scriptUri, { what: `the ${name} worker script`, code: 'backend-unavailable' }));
  const url = URL.createObjectURL(new Blob([script as string | Uint8Array<ArrayBuffer>], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module', name });
  worker.addEventListener('message', () => URL.revokeObjectURL(url), { once: true }); // loaded by then
  const started = { worker, transferNext: [] } as unknown as Started<Req, Note, Events>;
  const transport: Transport = {
    post: (message) => {
      const transfer = started.transferNext;
      started.transferNext = [];
      worker.postMessage(message, transfer);
    },
    listen: (handler) => {
      const listener = (e: MessageEvent) => handler(e.data);
      worker.addEventListener('message', listener);
      return { dispose: () => worker.removeEventListener('message', listener) };
    },
  };
  started.endpoint = new Endpoint<Req, Note, Record<string, never>, Events>(transport, { peer: `${name} worker`, timeoutMs });
  worker.addEventListener('error', (e) => {
    started.failure = e.message || 'the worker stopped';
    started.endpoint.dispose();
  });
  return started;
}

/** The view's buffer when the view covers all of it, so that a message can move it; else undefined (posting copies). */
export function wholeBuffer(view: ArrayBufferView): ArrayBuffer | undefined {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength && view.buffer instanceof ArrayBuffer ? view.buffer : undefined;
}

/** The transport a worker's own side speaks to its page with; `transferables` picks what each message moves. */
export function workerTransport(transferables: (message: Parameters<Transport['post']>[0]) => Transferable[]): Transport {
  const scope = self as unknown as { postMessage(message: unknown, transfer: Transferable[]): void; addEventListener(type: 'message', listener: (e: MessageEvent) => void): void; removeEventListener(type: 'message', listener: (e: MessageEvent) => void): void };
  return {
    post: (message) => scope.postMessage(message, transferables(message)),
    listen: (handler) => {
      const listener = (e: MessageEvent) => handler(e.data);
      scope.addEventListener('message', listener);
      return { dispose: () => scope.removeEventListener('message', listener) };
    },
  };
}
