// Why: the webview's workers (onnxruntime's, the tokenizer's) start the same way: a webview cannot start a
// worker from its resource origin, so the script is fetched as a webview resource and run from a blob; and
// each speaks the typed request endpoint of src/core/rpc.ts over postMessage, with transfer lists.

import { Endpoint, type RequestMapOf, type Transport } from '../src/core/rpc';
import { fetchBytes } from './fetchBytes';

/** A started worker and its endpoint; `transfer` sets the buffers the next posted message moves. */
export interface StartedWorker<Req extends RequestMapOf<Req>, Note> {
  worker: Worker;
  endpoint: Endpoint<Req, Note, Record<string, never>, Record<string, never>>;
  /** Buffers the next post transfers instead of copying (read and cleared by that post). */
  transferNext: Transferable[];
  /** Why the worker stopped (an uncaught error, a failed start, out of memory); undefined while it runs. */
  failure?: string;
}

/** Fetches a worker's script and starts it; every pending request fails when the worker stops with an error. */
export async function startWorker<Req extends RequestMapOf<Req>, Note>(scriptUri: string, name: string, timeoutMs: number): Promise<StartedWorker<Req, Note>> {
  const script = await fetchBytes(scriptUri, { what: `the ${name} worker script`, code: 'backend-unavailable' });
  const url = URL.createObjectURL(new Blob([script as Uint8Array<ArrayBuffer>], { type: 'text/javascript' }));
  const worker = new Worker(url, { type: 'module', name });
  worker.addEventListener('message', () => URL.revokeObjectURL(url), { once: true }); // loaded by then
  const started = { worker, transferNext: [] } as unknown as StartedWorker<Req, Note>;
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
  started.endpoint = new Endpoint<Req, Note, Record<string, never>, Record<string, never>>(transport, { peer: `${name} worker`, timeoutMs });
  worker.addEventListener('error', (e) => {
    started.failure = e.message || 'the worker stopped';
    started.endpoint.dispose();
  });
  return started;
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
