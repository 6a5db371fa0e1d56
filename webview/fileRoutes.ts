// Why: in a browser or remote window the host serves the webview's files over plain HTTP as well
// (src/fileRoutes.ts), several times faster than VS Code's resource loading there. This object, owned by
// the page, maps a webview resource URI to its served URL and reads through it first; when a served read
// fails (the port is not forwarded, a proxy refuses, the server stopped) it says why once and every read
// from then on, that one included, goes through the resource URI as before.

import { type FileRoute, SERVED_HEADER } from '../src/core/protocol';
import { servedInflatedUrlOf, servedUrlOf } from '../src/core/servedUrl';
import { type FetchBytesOptions, fetchBytes } from './fetchBytes';

/** How long a served URL may take to answer (headers) before the resource URI is used instead. */
const SERVED_ANSWER_MS = 10_000;
/** How long a served body may stop sending before the resource URI is used instead. */
const SERVED_STALL_MS = 30_000;

/** What a read through the file server adds to a read's options: time limits, and its answer's header (the starter's early reads too). */
export const SERVED_READ: Pick<FetchBytesOptions, 'answerWithinMs' | 'stallMs' | 'requireHeader'> = { answerWithinMs: SERVED_ANSWER_MS, stallMs: SERVED_STALL_MS, requireHeader: SERVED_HEADER };

export class FileRoutes {
  private failure: string | undefined;

  /**
   * routes: those of the page's HTML (webviewHtml.ts), so that its very first downloads take them; servedUrlOf
   * compares them normalised, as the host does when it names the files to preload.
   */
  constructor(
    private readonly routes: readonly FileRoute[] = [],
    private readonly warn: (message: string) => void = (message) => console.warn(message),
  ) {}

  /** Why served reads stopped, once one failed. */
  get failed(): string | undefined {
    return this.failure;
  }

  /** The served URL of a webview URI, when a route covers it and no served read has failed. */
  servedUrl(uri: string): string | undefined {
    return this.failure ? undefined : servedUrlOf(this.routes, uri);
  }

  /**
   * fetchBytes through the served URL first (within SERVED_READ's limits), read by `readServed` (by default on
   * this thread; a large model file in the download worker); when there is none, or once a served read
   * failed, through `direct` (by default the URI itself; a model file may first be read through the host).
   */
  fetchBytes(uri: string, options: FetchBytesOptions, direct: () => Promise<Uint8Array> = () => fetchBytes(uri, options), readServed: typeof fetchBytes = fetchBytes): Promise<Uint8Array> {
    return this.read(this.servedUrl(uri), options, direct, readServed);
  }

  /**
   * A gzipped file's bytes (its name ends in .gz): through the file server decoded on the way (the server sends
   * them, or its Brotli copy, encoded under the plain name, servedInflatedUrlOf), else through the URI as stored, gzipped. The
   * caller tells which by their first bytes (isGzip).
   */
  fetchGzipped(uri: string, options: FetchBytesOptions): Promise<Uint8Array> {
    return this.read(this.servedInflatedUrl(uri), options, () => fetchBytes(uri, options), fetchBytes);
  }

  /** The served URL of a gzipped file under its plain name (servedInflatedUrlOf), when a route covers it and no served read has failed. */
  servedInflatedUrl(gzUri: string): string | undefined {
    return this.failure ? undefined : servedInflatedUrlOf(this.routes, gzUri);
  }

  private async read(url: string | undefined, options: FetchBytesOptions, direct: () => Promise<Uint8Array>, readServed: typeof fetchBytes): Promise<Uint8Array> {
    if (!url) return direct();
    try {
      return await readServed(url, { ...options, ...SERVED_READ });
    } catch (err) {
      options.signal?.throwIfAborted(); // the caller stopped the read: the route did not fail
      this.fail(err instanceof Error ? err.message : String(err));
      return direct();
    }
  }

  /** Sends every read from now on through the resource URIs: a served read failed (here, or one made elsewhere: onnxruntime's worker streams its binary). */
  fail(reason: string): void {
    if (this.failure) return;
    this.failure = reason.replace(/\.$/, '');
    this.warn(`Reading files through VS Code's resource loading from now on: the extension's file server failed (${this.failure}).`);
  }
}
