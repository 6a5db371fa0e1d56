// Why: a model of hundreds of MB arrives in thousands of chunks. Read on the page, each chunk waits for the
// main thread, which the page shares with VS Code's workbench during a window's start. In a cold first
// command of the 768-wide benchmark model, the gaps between chunks held half of a 4.4 s download
// (bench:profile --model 768 --cold). The download worker (downloadWorker.ts) reads such a file
// instead and moves it to the page whole. These are the messages between the page (downloadClient.ts) and it,
// carried by src/core/rpc.ts.

import type { FetchBytesOptions } from './fetchBytes';

/** fetchBytes' options as they cross to the worker: everything but the callbacks and the signal. */
export type WireFetchOptions = Omit<FetchBytesOptions, 'onProgress' | 'signal'>;

export interface DownloadWorkerRequests {
  /**
   * fetchBytes of a URL in the worker; its bytes move to the page with the answer. `download` numbers it in the
   * worker's progress events. Cancelling the request stops the read.
   */
  fetch: { params: { url: string; download: number; options: WireFetchOptions }; result: Uint8Array };
}

export type DownloadWorkerNotifications = Record<string, never>;

/** What the worker tells the page unasked: a download's bytes so far. */
export interface DownloadWorkerEvents {
  progress: { download: number; loaded: number; total: number };
}
