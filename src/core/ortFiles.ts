// Why: the files a page starts onnxruntime with are named once, for the page (webview/backend.ts fetches
// them) and for the host, whose HTML for the panel preloads them (webviewHtml.ts): they download while the
// page's own script is still loading, and the page's fetches of the same URLs take the preloaded answers.

import type { BackendPreference, FileRoute } from './protocol';
import { servedInflatedUrlOf, servedUrlOf } from './servedUrl';

/** The wasm binary each onnxruntime build runs, gzipped (esbuild.mjs writes them to out/ort/). */
export const ORT_BINARY = { webgpu: 'ort-wasm-simd-threaded.asyncify.wasm.gz', wasm: 'ort-wasm-simd-threaded.wasm.gz' } as const;

/** The workers' scripts, relative to onnxruntime's folder out/ort/ (they are built beside the pages', out/webview/). */
export const WORKER_SCRIPTS = { onnxruntime: '../webview/ortWorker.js', tokenizer: '../webview/tokenizerWorker.js', logits: '../webview/logitsWorker.js' } as const;

/**
 * The download worker's script, relative to onnxruntime's folder as the others: started only for a large model
 * file (webview/downloadClient.ts), so not among the files a page fetches first.
 */
export const DOWNLOAD_WORKER_SCRIPT = '../webview/downloadWorker.js';

/**
 * What a page fetches first to start a backend: the workers' scripts, the probe model, and the binary of
 * the build the preference names. With "auto" the page chooses the build by the WebGPU adapter it finds: the
 * binary named is that of the build "auto" chose last on this machine (autoChoseLast), if any.
 */
export function backendStartFiles(ortBaseUri: string, probeModelUri: string, preference: BackendPreference, autoChoseLast?: keyof typeof ORT_BINARY): string[] {
  const files = [...Object.values(WORKER_SCRIPTS).map((script) => new URL(script, ortBaseUri).href), probeModelUri];
  const build = preference === 'auto' ? autoChoseLast : preference;
  if (build) files.push(`${ortBaseUri}${ORT_BINARY[build]}`);
  return files;
}

/**
 * The URL a page fetches one of those files at (and its HTML preloads): its served URL when routes cover it,
 * onnxruntime's gzipped binary under its plain name (the server sends it gzip-encoded: servedInflatedUrlOf);
 * else the URI itself.
 */
export function startFileUrl(routes: readonly FileRoute[], uri: string): string {
  return (uri.endsWith('.gz') ? servedInflatedUrlOf(routes, uri) : servedUrlOf(routes, uri)) ?? uri;
}
