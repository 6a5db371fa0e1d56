// The only module that calls acquireVsCodeApi(): it wraps the webview's postMessage in the typed
// protocol endpoint and reports every unhandled error or rejection to the host's log.

import type { HostNotifications, HostRequests, ModelBytesParams, WebviewNotifications, WebviewRequests } from '../src/core/protocol';
import { toErrorPayload } from '../src/core/errors';
import { Endpoint } from '../src/core/rpc';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export type WebviewEndpoint = Endpoint<WebviewRequests, WebviewNotifications, HostRequests, HostNotifications>;

const api = acquireVsCodeApi();

export const host: WebviewEndpoint = new Endpoint(
  {
    post: (message) => api.postMessage(message),
    listen: (handler) => {
      const listener = (event: MessageEvent) => handler(event.data);
      window.addEventListener('message', listener);
      return { dispose: () => window.removeEventListener('message', listener) };
    },
  },
  {
    peer: 'host',
    onError: (error) => host.notify('error', { ...error, source: 'protocol' }),
  },
);

/** Sends an error to the host's log; used for failures the UI also shows. */
export function reportError(err: unknown, source: string): void {
  host.notify('error', { ...toErrorPayload(err), source });
}

// "ResizeObserver loop completed with undelivered notifications" is the browser saying that a resize handler
// changed the layout and the rest waits for the next frame: nothing failed, so it is not logged as an error.
const BENIGN = /^ResizeObserver loop (completed with undelivered notifications|limit exceeded)/;
window.addEventListener('error', (event) => {
  if (!event.error && BENIGN.test(event.message)) return;
  reportError(event.error ?? event.message, 'window.onerror');
});
window.addEventListener('unhandledrejection', (event) => reportError(event.reason, 'unhandledrejection'));

/** Persisted webview state (survives hiding and reloads). */
export function getState<T>(): T | undefined {
  return api.getState() as T | undefined;
}

export function setState<T>(state: T): void {
  api.setState(state);
}

/** Reads bytes of a model file through the host (modelBytes): how large models arrive (src/modelBytes.ts). */
export function readModelBytes(params: ModelBytesParams): Promise<Uint8Array> {
  return host.request('modelBytes', params, { timeoutMs: 120_000 });
}
