// Why: the worker that reads large model files for the page (see downloadWorkerProtocol.ts). It runs the
// same fetchBytes as the page would, so the same limits and the same errors, naming the same file.

import { type Envelope, Endpoint } from '../src/core/rpc';
import type { DownloadWorkerEvents, DownloadWorkerNotifications, DownloadWorkerRequests } from './downloadWorkerProtocol';
import { fetchBytes, throttledProgress } from './fetchBytes';
import { workerTransport } from './workerScript';

/** An answer's bytes move to the page rather than being copied (fetchBytes gives an array of its own buffer). */
function transferables(message: Envelope): Transferable[] {
  if (message.kind !== 'response' || !(message.result instanceof Uint8Array)) return [];
  const { buffer, byteOffset, byteLength } = message.result;
  return buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength ? [buffer] : [];
}

const page = new Endpoint<Record<string, never>, DownloadWorkerEvents, DownloadWorkerRequests, DownloadWorkerNotifications>(workerTransport(transferables), { peer: 'page' });

// Progress is throttled here too: each event is a task of the page's thread.
page.onRequest('fetch', ({ url, download, options }, signal) => fetchBytes(url, { ...options, onProgress: throttledProgress((loaded, total) => page.notify('progress', { download, loaded, total })), signal }));
