// Why: the worker that reads large model files for the page (see downloadWorkerProtocol.ts). It runs the
// same fetchBytes as the page would, so the same limits and the same errors, naming the same file.

import { type Envelope, Endpoint } from '../src/core/rpc';
import type { DownloadWorkerEvents, DownloadWorkerNotifications, DownloadWorkerRequests } from './downloadWorkerProtocol';
import { fetchBytes } from './fetchBytes';
import { workerTransport } from './workerScript';

/** The least time between two progress events of one download, but for the last. */
const PROGRESS_EVERY_MS = 100;

/** An answer's bytes move to the page rather than being copied (fetchBytes gives an array of its own buffer). */
function transferables(message: Envelope): Transferable[] {
  if (message.kind !== 'response' || !(message.result instanceof Uint8Array)) return [];
  const { buffer, byteOffset, byteLength } = message.result;
  return buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength ? [buffer] : [];
}

const page = new Endpoint<Record<string, never>, DownloadWorkerEvents, DownloadWorkerRequests, DownloadWorkerNotifications>(workerTransport(transferables), { peer: 'page' });

page.onRequest('fetch', ({ url, download, options }, signal) => {
  let reported = -Infinity;
  const onProgress = (loaded: number, total: number) => {
    const now = performance.now();
    if (loaded < total && now - reported < PROGRESS_EVERY_MS) return;
    reported = now;
    page.notify('progress', { download, loaded, total });
  };
  return fetchBytes(url, { ...options, onProgress, signal });
});
