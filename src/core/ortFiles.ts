// Why: the files a page starts with are named once, for the page (webview/backend.ts fetches onnxruntime's,
// webview/modelFetcher.ts the model's) and for the host, whose HTML for the panel names them (webviewHtml.ts:
// onnxruntime's are preloaded, its binary unless the page keeps a copy; the model's fetched by the page's starter):
// they download while the page's own script is still loading, and the page's fetches of the same URLs take those
// answers (the binary, where the page has routes, onnxruntime's worker takes from the browser's cache:
// webview/servedBinary.ts).

import type { BackendPreference, FileRoute, ModelDescriptor } from './protocol';
import { servedInflatedUrlOf, servedUrlOf } from './servedUrl';

/** The wasm binary each onnxruntime build runs, gzipped (esbuild.mjs writes them to out/ort/). */
export const ORT_BINARY = { webgpu: 'ort-wasm-simd-threaded.asyncify.wasm.gz', wasm: 'ort-wasm-simd-threaded.wasm.gz' } as const;

/** The binaries' own names (a page keeps them inflated, under these: webview/binaryCache.ts). */
export const ORT_BINARY_FILES = ['ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.wasm'] as const;
export type OrtBinaryFile = (typeof ORT_BINARY_FILES)[number];

/** A build's binary's own name. */
export function binaryFileOf(build: keyof typeof ORT_BINARY): OrtBinaryFile {
  return ORT_BINARY[build].replace(/\.gz$/, '') as OrtBinaryFile;
}

/** The workers' scripts, relative to onnxruntime's folder out/ort/ (they are built beside the pages', out/webview/). */
export const WORKER_SCRIPTS = { onnxruntime: '../webview/ortWorker.js', tokenizer: '../webview/tokenizerWorker.js', logits: '../webview/logitsWorker.js' } as const;

/**
 * The download worker's script, relative to onnxruntime's folder as the others: started only for a large model
 * file (webview/downloadClient.ts), so not among the files a page fetches first.
 */
export const DOWNLOAD_WORKER_SCRIPT = '../webview/downloadWorker.js';
/** The id of the element of a panel's HTML that holds the download worker's script as text, when it does (src/webviewHtml.ts). */
export const DOWNLOAD_WORKER_ELEMENT = 'download-worker-script';

/**
 * What a page's HTML preloads to start a backend: the workers' scripts, the probe model and the binary of the build
 * it will likely run (likelyBuild), unless the page keeps a copy of that binary from an earlier page (kept: the
 * binaries the page said it holds, webview/binaryCache.ts), which it reads instead: fetching it would be for nothing.
 * In the order the page needs them: onnxruntime's worker, its binary and the probe model start the backend; the
 * tokenizer's worker waits for the model's files, the logits worker for the first run. A browser opens six
 * connections to the server, so the first requests go first and the last waits for one of them.
 */
export function backendStartFiles(ortBaseUri: string, probeModelUri: string, build?: keyof typeof ORT_BINARY, kept: readonly string[] = []): string[] {
  const script = (name: keyof typeof WORKER_SCRIPTS) => new URL(WORKER_SCRIPTS[name], ortBaseUri).href;
  const binary = binaryPreloaded(build, kept) ? [`${ortBaseUri}${ORT_BINARY[build!]}`] : [];
  return [script('onnxruntime'), ...binary, probeModelUri, script('tokenizer'), script('logits')];
}

/** Whether backendStartFiles names the likely build's binary: there is one, and the page keeps no copy of it. */
export function binaryPreloaded(build: keyof typeof ORT_BINARY | undefined, kept: readonly string[] = []): boolean {
  return !!build && !kept.includes(binaryFileOf(build));
}

/**
 * The build whose binary a page starts reading at once: the one the preference names, or with "auto" (the page
 * chooses by the WebGPU adapter it finds) the build "auto" chose last on this machine (autoChoseLast), if any.
 */
export function likelyBuild(preference: BackendPreference, autoChoseLast?: keyof typeof ORT_BINARY): keyof typeof ORT_BINARY | undefined {
  return preference === 'auto' ? autoChoseLast : preference;
}

/**
 * Model files at least this large are read from the file server in the page's download worker
 * (webview/modelFetcher.ts), whose fetches cannot take an answer the page's starter began; and such an answer is
 * held until the page takes it, so no larger file is fetched early.
 */
export const WORKER_READ_FROM_BYTES = 32 * 2 ** 20;

/**
 * Whether a model file of this size (undefined: not known) is read with a plain fetch on the page, so that a fetch
 * begun early can stand in for it: fetched once onnxruntime's binary has arrived (earlyFetches.ts says why).
 */
export function fetchedAfterBinary(bytes: number | undefined): boolean {
  return bytes !== undefined && bytes < WORKER_READ_FROM_BYTES;
}

/**
 * The files of the model a new panel will most likely load first (ModelStore.likelyFirst) that its starter fetches
 * early (webview/earlyFetches.ts), at the URLs the page reads them (served when routes cover them): the tokenizer
 * file, and the model file and its external data when each is known to be smaller than WORKER_READ_FROM_BYTES (the
 * page reads those with a plain fetch). Without this the page asked for the files only once its script had asked
 * the host which model comes first: in cold commands here they arrived 106–263 ms after the analysis's request,
 * which waited for them.
 */
export function firstModelFiles(routes: readonly FileRoute[], model: ModelDescriptor): string[] {
  const uris = [model.tokenizerUri, ...(fetchedAfterBinary(model.modelBytes) ? [model.modelUri] : []), ...(model.externalDataUri && fetchedAfterBinary(model.externalDataBytes) ? [model.externalDataUri] : [])];
  return uris.map((uri) => servedUrlOf(routes, uri) ?? uri);
}

/** A large file of the likely first model that the panel's starter begins reading in the download worker. */
export interface FirstModelLargeFile {
  /** Its served URL, as the page reads it. */
  url: string;
  /** Its size, as checked. */
  bytes: number;
  /** How messages name it: "<model id>/<file>", as the page's read of it does (webview/modelFetcher.ts). */
  what: string;
}

/**
 * The files of the likely first model that firstModelFiles leaves out, those the page reads in its download worker
 * (at least WORKER_READ_FROM_BYTES, through the file server): the starter begins reading them there at once, since
 * their download is what a first command with such a model waits for. Without this the page began it only once its
 * script had run and asked the host which model comes first: 1.1 and 1.8 s after the starter ran, in two cold
 * commands of the 343 MiB benchmark model here (bench:profile --model 768-past --cold). None without routes.
 */
export function firstModelLargeFiles(routes: readonly FileRoute[], model: ModelDescriptor): FirstModelLargeFile[] {
  const { manifest } = model;
  const files: Array<[string | undefined, number | undefined, string | undefined]> = [
    [model.modelUri, model.modelBytes, manifest.model ?? 'model.onnx'],
    [model.externalDataUri, model.externalDataBytes, manifest.externalData],
  ];
  return files.flatMap(([uri, bytes, file]) => {
    const url = uri && file && bytes !== undefined && bytes >= WORKER_READ_FROM_BYTES ? servedUrlOf(routes, uri) : undefined;
    return url ? [{ url, bytes: bytes!, what: modelFileLabel(manifest.id, file!) }] : [];
  });
}

/** How messages name a model's file: "<model id>/<file as the manifest names it>". */
export function modelFileLabel(modelId: string, file: string): string {
  return `${modelId}/${file}`;
}

/**
 * The digests of those files their manifest declares (ModelDescriptor.sha256), by the URL firstModelFiles names them at:
 * the starter reads the copies a page kept of them (webview/keptModelFiles.ts) and fetches only those it lacks.
 */
export function firstModelDigests(routes: readonly FileRoute[], model: ModelDescriptor): Record<string, string> {
  const digests: Record<string, string> = {};
  const named = new Set(firstModelFiles(routes, model));
  const add = (uri: string, sha256: string | undefined) => {
    const url = servedUrlOf(routes, uri) ?? uri;
    if (sha256 && named.has(url)) digests[url] = sha256;
  };
  add(model.tokenizerUri, model.sha256?.tokenizer);
  add(model.modelUri, model.sha256?.model);
  return digests;
}

/**
 * The URL a page fetches one of those files at (and its HTML preloads): its served URL when routes cover it,
 * onnxruntime's gzipped binary under its plain name (the server sends it, or its Brotli copy, encoded:
 * servedInflatedUrlOf); else the URI itself.
 */
export function startFileUrl(routes: readonly FileRoute[], uri: string): string {
  return (uri.endsWith('.gz') ? servedInflatedUrlOf(routes, uri) : servedUrlOf(routes, uri)) ?? uri;
}
