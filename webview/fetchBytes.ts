// Why: the webviews read every file they run (models, tokenizers, onnxruntime's binary, the probe model)
// through webview resource URIs or their served URLs (fileRoutes.ts); this is the one place that fetches
// such a file, reports its bytes as they arrive, and says which file could not be read.

import { type ErrorCode, LensError } from '../src/core/errors';
import { type EarlyFetches, pageEarlyFetches } from './earlyFetches';
import { yieldToUi } from './yieldToUi';

export interface FetchBytesOptions {
  /** What the file is, for the error message: "the probe model", "transformer/model.onnx". */
  what: string;
  /** The error code a failed read reports. */
  code: ErrorCode;
  /** Size to report progress against when the response has no Content-Length. */
  expectedBytes?: number;
  /** Bytes received so far, and the total expected. */
  onProgress?(loaded: number, total: number): void;
  /** Fail when the response has not begun within this many ms. */
  answerWithinMs?: number;
  /** Fail when the body stops: no bytes for this many ms. */
  stallMs?: number;
  /** Fail unless the response carries this header (the answer is the one the caller means to read). */
  requireHeader?: string;
  /** Stops the read (the caller no longer wants the file): it then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Where a fetch begun early for the URL is taken from (by default the page's: earlyFetches.ts). */
  early?: EarlyFetches;
}

/** The least time between two progress reports of a download, but for the last. */
const PROGRESS_EVERY_MS = 100;

/**
 * A progress report that passes on at most one call every PROGRESS_EVERY_MS, and the last (loaded = total): a
 * fetched body comes in thousands of chunks, and whoever hears of them needs a few a second.
 */
export function throttledProgress(report: (loaded: number, total: number) => void): (loaded: number, total: number) => void {
  let reported = -Infinity;
  return (loaded, total) => {
    const now = performance.now();
    if (loaded < total && now - reported < PROGRESS_EVERY_MS) return;
    reported = now;
    report(loaded, total);
  };
}

/** Main-thread time between yields while reading a response. */
const SLICE_MS = 8;

/**
 * The response to a GET of uri, once it begins (the fetch the panel's starter began for it, if any:
 * earlyFetches.ts); a LensError naming the file when it does not.
 */
async function answer(uri: string, options: FetchBytesOptions): Promise<Response> {
  const abort = new AbortController();
  const timer = options.answerWithinMs === undefined ? undefined : setTimeout(() => abort.abort(), options.answerWithinMs);
  // The caller's signal stops this fetch too (by hand: AbortSignal.any is missing from browsers of early 2024).
  const stop = () => abort.abort(options.signal?.reason);
  if (options.signal?.aborted) stop();
  options.signal?.addEventListener('abort', stop, { once: true });
  const early = (options.early ?? pageEarlyFetches()).take(uri);
  if (early) {
    // Stopped as this read's own fetch would be: its body then fails the same way.
    if (abort.signal.aborted) early.abort(abort.signal.reason);
    else abort.signal.addEventListener('abort', () => early.abort(abort.signal.reason), { once: true });
  }
  try {
    return await (early ? early.response : fetch(uri, { signal: abort.signal }));
  } catch (err) {
    options.signal?.throwIfAborted();
    const why = abort.signal.aborted ? `no answer within ${options.answerWithinMs} ms` : err instanceof Error ? err.message : String(err);
    throw new LensError(options.code, `Could not load ${options.what} (${why}).`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The answer to a GET of uri, checked: begun in time, a success with a body, with options.requireHeader; a LensError
 * naming the file otherwise. Its body is the caller's to read (fetchBytes; onnxruntime's worker compiles it as it
 * streams: servedBinary.ts).
 */
export async function checkedAnswer(uri: string, options: FetchBytesOptions): Promise<Response & { body: ReadableStream<Uint8Array> }> {
  const response = await answer(uri, options);
  if (!response.ok || !response.body) {
    throw new LensError(options.code, `Could not load ${options.what} (${response.status} ${response.statusText}).`);
  }
  if (options.requireHeader && !response.headers.has(options.requireHeader)) {
    void response.body.cancel();
    throw new LensError(options.code, `Could not load ${options.what} (the answer has no ${options.requireHeader} header).`);
  }
  return response as Response & { body: ReadableStream<Uint8Array> };
}

/** Fetches a webview resource's bytes, reporting progress; throws a LensError naming it when it cannot be read. */
export async function fetchBytes(uri: string, options: FetchBytesOptions): Promise<Uint8Array> {
  const response = await checkedAnswer(uri, options);
  // An encoded answer's length is that of its encoding (a gzipped binary: 3.5 MiB that reads as 13.6 MiB): not the
  // size of what is read, which then has none declared. Cross-origin, the file server exposes Content-Encoding.
  const encoding = response.headers.get('content-encoding');
  const declared = encoding && encoding.toLowerCase() !== 'identity' ? 0 : Number(response.headers.get('content-length')) || 0;
  const total = declared || options.expectedBytes || 0;
  const reader = response.body.getReader();
  // With a declared length, chunks are written straight into one array of that size: a model of hundreds of
  // MB is never held twice (chunks, then their concatenation), and no long copy runs at the end. A body
  // without one (compressed on the way) is written into an array of the size the caller expects, if any.
  const size = declared || (options.expectedBytes ?? 0);
  // One watch for the whole body, not a timer per chunk (a large model arrives in thousands of them).
  const stall = options.stallMs === undefined ? undefined : watchStall(reader, options.stallMs, options);
  try {
    return await readBody(reader, size, stall, (loaded) => options.onProgress?.(loaded, total));
  } finally {
    stall?.stop();
  }
}

/** Reads a body to its end: into one array of `size` bytes while it fits, then collected and joined. */
async function readBody(reader: ReadableStreamDefaultReader<Uint8Array>, size: number, stall: StallWatch | undefined, onRead: (loaded: number) => void): Promise<Uint8Array> {
  let bytes = new Uint8Array(size);
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  let slice = performance.now();
  for (;;) {
    // Chunks that queued while the thread was busy would be read back to back, in one long task for a large
    // file: other tasks run every few ms.
    if (performance.now() - slice > SLICE_MS) {
      await yieldToUi();
      slice = performance.now();
    }
    const { done, value } = await (stall ? Promise.race([reader.read(), stall.stalled]) : reader.read());
    stall?.touch();
    if (done) break;
    if (chunks.length === 0 && loaded + value.length <= bytes.length) bytes.set(value, loaded);
    else {
      if (chunks.length === 0 && loaded > 0) chunks.push(bytes.subarray(0, loaded)); // more than declared: collect instead
      chunks.push(value);
    }
    loaded += value.length;
    onRead(loaded);
  }
  if (chunks.length === 0) return loaded === bytes.length ? bytes : bytes.slice(0, loaded);
  bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

interface StallWatch {
  stalled: Promise<never>;
  touch(): void;
  stop(): void;
}

/**
 * Watches a body's reads: `stalled` rejects with a LensError naming the file once no chunk came for ms (the
 * read is then cancelled); each chunk calls touch(), and stop() ends the watch.
 */
function watchStall(reader: ReadableStreamDefaultReader<Uint8Array>, ms: number, options: FetchBytesOptions): StallWatch {
  let last = performance.now();
  let timer: ReturnType<typeof setInterval> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setInterval(() => {
      if (performance.now() - last < ms) return;
      clearInterval(timer);
      // Rejected before the cancel, which ends the pending read as if the body were complete.
      reject(new LensError(options.code, `Could not load ${options.what} (no bytes for ${ms} ms).`));
      void reader.cancel();
    }, Math.min(1000, ms / 4));
  });
  stalled.catch(() => undefined); // raced by each read; unobserved once the body is complete
  return { stalled, touch: () => void (last = performance.now()), stop: () => clearInterval(timer) };
}
