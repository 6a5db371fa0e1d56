// Why: a model's files reach the page by one of three routes, fastest first: the host's file server
// (fileRoutes.ts: browser and remote windows), reads through the host in pieces (the modelBytes request,
// for large files: src/modelBytes.ts says why), or the webview resource URI. This module picks the route
// per file (a large file from the file server is read in the download worker: downloadWorkerProtocol.ts says
// why), falls back when one fails, reports byte progress, and lets the page start a download before an
// engine exists (prefetch), so that it overlaps the backend's start-up.

import { LensError } from '../src/core/errors';
// Files of at least WORKER_READ_FROM_BYTES are read in the download worker when they come from the file server (downloadWorkerProtocol.ts says why).
import { WORKER_READ_FROM_BYTES, modelFileLabel } from '../src/core/ortFiles';
import type { ModelBytesParams, ModelDescriptor } from '../src/core/protocol';
import { pageEarlyFetches } from './earlyFetches';
import { type FetchBytesOptions, fetchBytes, throttledProgress } from './fetchBytes';
import { FileRoutes } from './fileRoutes';
import { type KeptModelFiles, type ModelFileWriter, keepsFileOf, pageKeptModelFiles } from './keptModelFiles';

/** A model's files: the ONNX bytes, its external-data bytes when it has them, and the tokenizer file's bytes. */
export interface ModelFiles {
  modelBytes: Uint8Array;
  /** The weights of a model saved with ONNX external data (manifest field externalData). */
  externalData?: Uint8Array;
  tokenizerBytes: Uint8Array;
  /** The tokenizer file parsed as it arrived, for a fetcher that parses (the panel's does not: tokenizerPacked.ts). */
  tokenizerJson?: unknown;
}

/** Where an engine reads a model's files (the page's ModelFetcher; bytes from disk in Node tests). */
export interface ModelFileSource {
  files(model: ModelDescriptor, onProgress: (loaded: number, total: number) => void): Promise<ModelFiles>;
}

/** The tokenizer file as JSON, or an error naming the file (it changed since the host checked it). */
export function parseTokenizerFile(model: ModelDescriptor, bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
  } catch (err) {
    const found = err instanceof Error ? err.message : String(err);
    throw new LensError('model-invalid', `${model.manifest.id}/${model.manifest.tokenizer.file}: expected a JSON tokenizer file, but it does not parse (${found}).`);
  }
}

/** Where large files from the file server are read off the page's thread: the download worker (downloadClient.ts). */
export interface OffThreadReader {
  fetchBytes(url: string, options: FetchBytesOptions): Promise<Uint8Array>;
  /** Stops the reads begun before the page asked (the starter's: downloadClient.ts) but those of these URLs. */
  dropEarly(except: readonly string[]): void;
  dispose(): void;
}

/** Reads bytes of a model file through the host (the modelBytes request). */
export type HostModelReader = (params: ModelBytesParams) => Promise<Uint8Array>;

/** Files at least this large are read through the host when it can (src/modelBytes.ts says why). */
export const HOST_READ_FROM_BYTES = 64 * 2 ** 20;
/** Bytes per modelBytes request, and how many are in flight at once (8 MiB × 4: 21.5 s for 343 MiB in code-server, 32 MiB × 2: 23.5 s). */
const HOST_READ_PIECE = 8 * 2 ** 20;
const HOST_READS_IN_FLIGHT = 4;

/** A whole model file read through the host in pieces, into one array, reporting progress. */
async function readThroughHost(read: HostModelReader, params: Omit<ModelBytesParams, 'start' | 'length'>, size: number, what: string, onProgress: (loaded: number, total: number) => void, signal?: AbortSignal): Promise<Uint8Array> {
  const bytes = new Uint8Array(size);
  let next = 0;
  let loaded = 0;
  const worker = async () => {
    while (next < size) {
      signal?.throwIfAborted();
      const start = next;
      const length = Math.min(HOST_READ_PIECE, size - start);
      next += length;
      const piece = await read({ ...params, start, length });
      const view = piece instanceof Uint8Array ? piece : new Uint8Array(piece as ArrayBuffer);
      if (view.length !== length) throw new LensError('model-invalid', `${what}: the host sent ${view.length} bytes from byte ${start}; ${length} were asked for.`);
      bytes.set(view, start);
      loaded += length;
      onProgress(loaded, size);
    }
  };
  await Promise.all(Array.from({ length: HOST_READS_IN_FLIGHT }, worker));
  return bytes;
}

/** Fetches a model's ONNX bytes and external data (progress counts both) and its tokenizer file. */
async function fetchModelFiles(model: ModelDescriptor, onProgress: ((loaded: number, total: number) => void) | undefined, routes: FetchRoutes, signal?: AbortSignal): Promise<ModelFiles> {
  const { readFromHost, hostReadFrom, served, downloads } = routes;
  const { manifest } = model;
  const parts = [{ loaded: 0, total: model.modelBytes }, { loaded: 0, total: model.externalDataBytes ?? 0 }];
  const report = throttledProgress((loaded, total) => onProgress?.(loaded, total));
  const progress = (part: number) => (loaded: number, total: number) => {
    parts[part] = { loaded, total };
    report(parts[0].loaded + parts[1].loaded, parts[0].total + parts[1].total);
  };
  const file = (uri: string, name: string, part: number, expectedBytes: number | undefined, which: ModelBytesParams['file']) => {
    const options = { what: modelFileLabel(manifest.id, name), code: 'model-invalid' as const, expectedBytes, onProgress: progress(part), signal };
    const fetched = () => fetchBytes(uri, options);
    // A host that cannot answer (an older one) or fails: the resource URI still works.
    const direct = () =>
      !readFromHost || !expectedBytes || expectedBytes < hostReadFrom
        ? fetched()
        : readThroughHost(readFromHost, { modelId: manifest.id, file: which }, expectedBytes, options.what, options.onProgress, signal).catch((err: unknown) => {
            if (signal?.aborted) throw err;
            return fetched();
          });
    const reader = downloads && expectedBytes !== undefined && expectedBytes >= WORKER_READ_FROM_BYTES ? downloads.fetchBytes.bind(downloads) : fetchBytes;
    return served.fetchBytes(uri, options, direct, reader);
  };
  // A small file whose digest the host verified comes from the copy a page kept, when there is one, and is kept once fetched.
  const keptOr = async (uri: string, sha256: string | undefined, what: string, expectedBytes: number | undefined, fetched: () => Promise<Uint8Array>, part?: number): Promise<Uint8Array> => {
    if (!routes.kept?.enabled || !sha256 || (expectedBytes !== undefined && !keepsFileOf(expectedBytes))) return fetched();
    const kept = await routes.kept.read(sha256, what);
    signal?.throwIfAborted();
    if (kept && (expectedBytes === undefined || kept.length === expectedBytes)) {
      if (part !== undefined) progress(part)(kept.length, kept.length);
      // A fetch of it the starter began before it learnt of the copy (none, when it read the copy first) stops.
      for (const url of new Set([uri, served.servedUrl(uri) ?? uri])) pageEarlyFetches().take(url)?.abort(new DOMException('The page kept a copy of this file.', 'AbortError'));
      return kept;
    }
    const bytes = await fetched();
    routes.kept.fetched(sha256, bytes, what);
    return bytes;
  };
  const modelFile = manifest.model ?? 'model.onnx';
  const tokenizerWhat = modelFileLabel(manifest.id, manifest.tokenizer.file);
  const [modelBytes, externalData, tokenizer] = await Promise.all([
    keptOr(model.modelUri, model.sha256?.model, modelFileLabel(manifest.id, modelFile), model.modelBytes, () => file(model.modelUri, modelFile, 0, model.modelBytes, 'model'), 0),
    model.externalDataUri && manifest.externalData ? file(model.externalDataUri, manifest.externalData, 1, model.externalDataBytes, 'externalData') : undefined,
    keptOr(model.tokenizerUri, model.sha256?.tokenizer, tokenizerWhat, undefined, () => served.fetchBytes(model.tokenizerUri, { what: tokenizerWhat, code: 'model-invalid', signal })).then((bytes) => ({ bytes, ...(routes.parseTokenizer ? { json: parseTokenizerFile(model, bytes) } : {}) })),
  ]);
  return { modelBytes, ...(externalData ? { externalData } : {}), tokenizerBytes: tokenizer.bytes, ...('json' in tokenizer ? { tokenizerJson: tokenizer.json } : {}) };
}

/** How a page reads model files besides their resource URIs. */
interface FetchRoutes {
  readFromHost?: HostModelReader;
  hostReadFrom: number;
  /** The page's routes to the host's file server (none: every file goes the direct way). */
  served: FileRoutes;
  /** Whether the tokenizer file is parsed as soon as it arrives, while the model's file may still be on its way. */
  parseTokenizer: boolean;
  /** Where large files from the file server are read, off the page's thread (absent: on it). */
  downloads?: OffThreadReader;
  /** The copies of small model files pages kept (absent: every file is fetched). */
  kept?: KeptModelFiles;
}

/** Files fetched before an engine asks for them; the first load of the same files takes them. */
interface Prefetch {
  files: Promise<ModelFiles>;
  /** Set by the load that takes the files: byte progress from then on. */
  onProgress?: (loaded: number, total: number) => void;
  /** Stops the download of files no load will take. */
  cancel: AbortController;
}

/** Which files a descriptor names, at which sizes and stamp: a prefetch serves only a load of exactly these. */
function filesKey(model: ModelDescriptor): string {
  return JSON.stringify([model.modelUri, model.modelBytes, model.externalDataUri ?? null, model.externalDataBytes ?? null, model.tokenizerUri, model.filesStamp ?? null]);
}

/**
 * The model files of one webview page. Owned by the page rather than an engine, so that a download
 * started before the backend is ready (prefetch) serves the engine made later.
 */
export class ModelFetcher implements ModelFileSource {
  /** By filesKey. */
  private readonly prefetched = new Map<string, Prefetch>();

  private readonly routes: FetchRoutes;
  /** Aborted when the page goes away (dispose): every read stops. */
  private readonly closing = new AbortController();

  /**
   * readFromHost: how files of at least hostReadFrom bytes are read through the host (absent: every file
   * through its resource URI); served: the page's routes to the host's file server, tried first; downloads:
   * where files of at least WORKER_READ_FROM_BYTES are read from the file server (the fetcher disposes it);
   * parseTokenizer: parse the tokenizer file as it arrives (false for the panel, whose engine makes its tokenizer
   * from the tokenizer worker's parts and parses the file only should the worker fail: src/core/tokenizerPacked.ts);
   * kept: where small files are kept across windows (the page's, by default; keptModelFiles.ts).
   */
  constructor(readFromHost?: HostModelReader, hostReadFrom = HOST_READ_FROM_BYTES, served = new FileRoutes(), downloads?: OffThreadReader, parseTokenizer = true, kept: KeptModelFiles | undefined = pageKeptModelFiles()) {
    this.routes = { readFromHost, hostReadFrom, served, downloads, parseTokenizer, kept };
  }

  /**
   * Keeps the small files fetched so far for later pages and windows (keptModelFiles.ts), and from now on each one
   * as it is fetched; through `writer` (a worker's: OrtBackends.modelFileWriter) when given.
   */
  keepFetched(writer?: ModelFileWriter): Promise<void> {
    return this.routes.kept?.keepFetched(writer) ?? Promise.resolve();
  }

  /**
   * Stops the downloads under way, as stopped rather than failed (a read that fails would try the next route),
   * then the download worker: the page is going away.
   */
  dispose(): void {
    pageEarlyFetches().drop();
    this.routes.kept?.clear();
    this.closing.abort(new DOMException('The page is closing.', 'AbortError'));
    this.prefetched.clear();
    this.routes.downloads?.dispose();
  }

  /**
   * Starts fetching a model's files now, so that the download overlaps the backend's start-up (compiling
   * onnxruntime's wasm). A failed prefetch is forgotten; the load then fetches again and reports the error.
   */
  prefetch(model: ModelDescriptor): void {
    const key = filesKey(model);
    if (this.prefetched.has(key)) return;
    const cancel = new AbortController();
    // Stopped as well when the page closes (by hand: AbortSignal.any is missing from browsers of early 2024).
    this.closing.signal.addEventListener('abort', () => cancel.abort(this.closing.signal.reason), { once: true, signal: cancel.signal });
    const entry: Prefetch = { files: fetchModelFiles(model, (loaded, total) => entry.onProgress?.(loaded, total), this.routes, cancel.signal), cancel };
    entry.files.catch(() => this.prefetched.get(key) === entry && this.prefetched.delete(key));
    this.prefetched.set(key, entry);
  }

  /**
   * Stops the prefetches of every model's files but this one's (a page that guessed its first model before
   * the host's answer, and learnt another): nothing keeps their bytes.
   */
  keepOnly(model: ModelDescriptor | undefined): void {
    // The starter's guess at the first model's files (fetches, and reads in the download worker): kept for this
    // model's reads, stopped if the guess was wrong.
    const uris = model ? [model.modelUri, model.tokenizerUri, ...(model.externalDataUri ? [model.externalDataUri] : [])] : [];
    const urls = uris.flatMap((uri) => [uri, this.routes.served.servedUrl(uri) ?? uri]);
    pageEarlyFetches().drop(urls);
    this.routes.downloads?.dropEarly(urls);
    this.routes.kept?.dropBegun([model?.sha256?.model, model?.sha256?.tokenizer]);
    const kept = model && filesKey(model);
    for (const [key, entry] of this.prefetched) {
      if (key === kept) continue;
      this.prefetched.delete(key);
      entry.cancel.abort(new DOMException('The page loads another model first.', 'AbortError'));
    }
  }

  /** The prefetched files of a model (taken once), else a fresh fetch. */
  files(model: ModelDescriptor, onProgress: (loaded: number, total: number) => void): Promise<ModelFiles> {
    const key = filesKey(model);
    const ahead = this.prefetched.get(key);
    if (!ahead) return fetchModelFiles(model, onProgress, this.routes, this.closing.signal);
    this.prefetched.delete(key);
    ahead.onProgress = onProgress;
    return ahead.files.catch((err: unknown) => {
      if (this.closing.signal.aborted) throw err;
      return fetchModelFiles(model, onProgress, this.routes, this.closing.signal);
    });
  }
}
