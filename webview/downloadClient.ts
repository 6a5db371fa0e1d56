// Why: the page's side of the download worker (downloadWorker.ts; downloadWorkerProtocol.ts says why it
// exists). Started on the first large download, not with the page, and stopped when no download is under way:
// most models are a few MB, and a page that never reads a large one never starts it. When the worker cannot
// run (its script cannot be read, it stops), the page reads the file itself, as it did before the worker existed.
// The panel's starter makes the page's client and may begin reads with it (begin) that the page's reads take
// (earlyReads.ts).

import { LensError } from '../src/core/errors';
import type { DownloadWorkerEvents, DownloadWorkerNotifications, DownloadWorkerRequests } from './downloadWorkerProtocol';
import { EarlyReads } from './earlyReads';
import { type FetchBytesOptions, fetchBytes } from './fetchBytes';
import type { FileRoutes } from './fileRoutes';
import { WorkerConnection } from './workerScript';

/** A download of hundreds of MB over a slow connection takes minutes; the read's own limits (stall, answer) apply inside. */
const DOWNLOAD_TIMEOUT_MS = 30 * 60_000;

export class DownloadWorkerClient {
  private connection: WorkerConnection<DownloadWorkerRequests, DownloadWorkerNotifications, DownloadWorkerEvents> | undefined;
  /** Progress callbacks of the downloads under way, by the download number their events carry. */
  private readonly listeners = new Map<number, (loaded: number, total: number) => void>();
  private nextDownload = 1;
  /** Reads under way in the worker. */
  private inFlight = 0;
  /** Why the worker could not read files, once it could not: every read is the page's from then on. */
  private failure: string | undefined;
  /** Reads begun before the page asked for them (the starter's), which its reads take. */
  private readonly early = new EarlyReads();

  /** scriptText: the worker's script, when the page's HTML carries it (not fetched then). */
  constructor(
    private readonly scriptUri: string,
    private readonly routes: FileRoutes,
    private readonly warn: (message: string) => void = (message) => console.warn(message),
    private readonly scriptText?: string,
  ) {}

  /**
   * Begins reading a URL now, as fetchBytes(url, options) would (options without callbacks or signal), for a later
   * fetchBytes of it to take: the panel's starter reads the likely first model's large files from its start.
   */
  begin(url: string, options: Omit<FetchBytesOptions, 'onProgress' | 'signal'>): void {
    this.early.begin(url, (signal, onProgress) => this.read(url, { ...options, signal, onProgress }));
  }

  /** Stops the reads begun early that no read took, but those of these URLs (the files of the page's first model). */
  dropEarly(except: readonly string[]): void {
    this.early.drop(except);
  }

  /**
   * fetchBytes(url, options), read in the worker; on the page when the worker cannot run. A read of the URL begun
   * early is taken instead, its failure reported as this read's (its options were the same).
   */
  fetchBytes(url: string, options: FetchBytesOptions): Promise<Uint8Array> {
    return this.early.take(url, options.onProgress, options.signal) ?? this.read(url, options);
  }

  private async read(url: string, options: FetchBytesOptions): Promise<Uint8Array> {
    if (this.failure) return fetchBytes(url, options);
    const connection = (this.connection ??= this.start());
    const download = this.nextDownload++;
    this.inFlight++;
    if (options.onProgress) this.listeners.set(download, options.onProgress);
    const { onProgress: _, signal, ...wire } = options;
    try {
      return await connection.request('fetch', { url, download, options: wire }, [], signal ? { signal } : {});
    } catch (err) {
      // The read was stopped: say so as the page's read would have (with the signal's reason).
      signal?.throwIfAborted();
      // The file's own failures carry the caller's code; "backend-unavailable" is the worker's (its script, its start).
      if (!(err instanceof LensError) || err.code !== 'backend-unavailable' || options.code === 'backend-unavailable') throw err;
      if (!this.failure) {
        this.failure = err.message.replace(/\.$/, '');
        this.warn(`Reading large model files on the page from now on: ${this.failure}.`);
        // A worker that failed while alive may still be reading: it stops, so the file is not read twice at once.
        this.stop();
      }
      return fetchBytes(url, options);
    } finally {
      this.listeners.delete(download);
      this.inFlight--;
      // Idle: the worker stops, its heap with it; the next large file starts another.
      if (this.inFlight === 0) this.stop();
    }
  }

  private stop(): void {
    this.connection?.dispose();
    this.connection = undefined;
  }

  private start(): WorkerConnection<DownloadWorkerRequests, DownloadWorkerNotifications, DownloadWorkerEvents> {
    const connection = new WorkerConnection<DownloadWorkerRequests, DownloadWorkerNotifications, DownloadWorkerEvents>(this.scriptUri, 'download', DOWNLOAD_TIMEOUT_MS, this.routes, this.scriptText);
    connection.on('progress', ({ download, loaded, total }) => this.listeners.get(download)?.(loaded, total));
    return connection;
  }

  /** Stops the worker (the page is going away; its owner aborts the reads first): reads under way fail with "disposed". */
  dispose(): void {
    this.early.drop();
    this.stop();
  }
}
