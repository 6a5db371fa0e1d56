// The one place that builds webview HTML and its Content-Security-Policy, for the panel and the sidebar:
// default-src 'none', a fresh crypto nonce per page, 'wasm-unsafe-eval' for onnxruntime-web,
// connect-src limited to the webview's own resource origin (plus the file server's root URL, fileRoutes.ts,
// in a browser or remote window, where the page's script and stylesheet come from that server too, by nonce:
// core/pageResources.ts), and resource roots limited to out/, media/ and the model folders the user added
// (attentionLens.modelFolders).

import { randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import * as vscode from 'vscode';
import { DOWNLOAD_WORKER_ELEMENT, backendStartFiles, binaryPreloaded, firstModelDigests, firstModelFiles, firstModelLargeFiles, likelyBuild, startFileUrl } from './core/ortFiles';
import { inlineScript } from './core/inlineScript';
import { pageResourceTags } from './core/pageResources';
import type { ModelDescriptor, ViewKind } from './core/protocol';
import type { WebviewFiles } from './fileRoutes';
import { ortResources } from './resources';
import { readSettings } from './settings';

/** Folders the webviews may load from: the build output, static media (bundled models) and added model folders. */
export function localResourceRoots(extensionUri: vscode.Uri, modelFolders: readonly vscode.Uri[] = []): vscode.Uri[] {
  return [vscode.Uri.joinPath(extensionUri, 'out'), vscode.Uri.joinPath(extensionUri, 'media'), ...modelFolders];
}

export function webviewOptions(extensionUri: vscode.Uri, modelFolders: readonly vscode.Uri[] = []): vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: localResourceRoots(extensionUri, modelFolders) };
}

/** The scripts a panel's HTML may carry inline; each undefined when it cannot be read. */
export interface PanelScripts {
  /** The panel's starter (out/webview/panelStart.js); without it the page's script starts the backend itself. */
  starter?: string;
  /** The download worker's script, inlined for a likely first model with large files: the starter starts that worker at once. */
  downloadWorker?: string;
}

/** Reads the panel's inline scripts (PanelScripts). Read for each panel: they are 30 and 18 KB. */
export async function readPanelScripts(extensionUri: vscode.Uri): Promise<PanelScripts> {
  const read = (name: string) => fs.readFile(vscode.Uri.joinPath(extensionUri, 'out', 'webview', name).fsPath, 'utf8').catch(() => undefined);
  const [starter, downloadWorker] = await Promise.all([read('panelStart.js'), read('downloadWorker.js')]);
  return { ...(starter !== undefined ? { starter } : {}), ...(downloadWorker !== undefined ? { downloadWorker } : {}) };
}

/** What only the panel's HTML carries. */
export interface PanelStart {
  /** The build the "auto" backend setting chose last (the panel's HTML names it: the page reads its binary at once). */
  autoChoseLast?: 'webgpu' | 'wasm';
  /** The binaries the last panel said it holds kept copies of (webview/binaryCache.ts): not preloaded. */
  keptBinaries?: readonly string[];
  /** The panel's inline scripts (readPanelScripts): the starter runs as soon as the HTML is parsed. */
  scripts?: PanelScripts;
  /** The model its first command will most likely load (ModelStore.likelyFirst): the starter fetches its small files early. */
  firstModel?: ModelDescriptor;
}

/**
 * The page of a view; with files, its CSP also allows the file server and the page gets its routes at once;
 * panel: what the panel's page starts with (the panel view only).
 */
export function buildWebviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, view: ViewKind, title: string, files?: WebviewFiles, panel: PanelStart = {}): string {
  const { autoChoseLast, keptBinaries, scripts = {}, firstModel } = panel;
  const nonce = randomBytes(16).toString('base64');
  const asset = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'out', 'webview', ...parts));
  const csp = [
    `default-src 'none'`,
    `img-src ${webview.cspSource} data: blob:`,
    `font-src ${webview.cspSource}`,
    `style-src ${webview.cspSource} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}' ${webview.cspSource} 'wasm-unsafe-eval'`,
    `connect-src ${webview.cspSource}${files ? ` ${files.source}` : ''}`,
    `worker-src ${webview.cspSource} blob:`,
  ].join('; ');
  // What the page needs to start onnxruntime before the host answers `ready` (webview/boot.ts).
  const { ortBaseUri, probeModelUri } = ortResources(webview, extensionUri);
  const backend = readSettings().backend;
  // The build whose binary the page reads at once, before it looks for an adapter: the preload below when the HTML
  // has one (the page then takes it, without looking for a kept copy first), else the copy it kept, else fetched.
  const build = likelyBuild(backend, autoChoseLast);
  // A page with routes streams the binary from the file server, where the browser keeps it, and compiled (webview/backend.ts): its kept copy is not read.
  const routes = files?.routes ?? [];
  const kept = routes.length ? [] : keptBinaries;
  const preloadsBinary = view === 'panel' && binaryPreloaded(build, kept);
  const likely = build ? ` data-likely-build="${build}" data-likely-preloaded="${preloadsBinary}"` : '';
  const boot = `data-ort-base="${escapeHtml(ortBaseUri)}" data-probe-model="${escapeHtml(probeModelUri)}" data-backend="${escapeHtml(backend)}"${likely} data-file-routes="${escapeHtml(JSON.stringify(files?.routes ?? []))}"`;
  // The panel starts its backend as soon as its starter runs (webview/panelStart.ts): the files that takes are
  // fetched from the start, at the URLs the page will ask for: their served URLs when it has routes (onnxruntime's
  // gzipped binary under its plain name, which the server sends Brotli- or gzip-encoded). A preload "as fetch" is
  // checked against connect-src, which allows both. With routes, the binary's preload fills the browser's cache, from
  // which onnxruntime's worker streams it (webview/servedBinary.ts: one download, in a window's first page); without,
  // the binary is not preloaded when the page keeps a copy of it (webview/binaryCache.ts), which its starter reads instead.
  const preloads = view === 'panel' ? backendStartFiles(ortBaseUri, probeModelUri, build, kept).map((uri) => startFileUrl(routes, uri)) : [];
  // The files of the model the first command will most likely load: the starter fetches them once the binary has
  // arrived (webview/earlyFetches.ts says why not beside it), at the URLs the page reads them.
  // Its large files, read in the download worker, the starter begins reading at once (firstModelLargeFiles says why).
  const large = view === 'panel' && firstModel ? firstModelLargeFiles(routes, firstModel) : [];
  const firstFiles = view === 'panel' && firstModel ? ` data-first-model-files="${escapeHtml(JSON.stringify(firstModelFiles(routes, firstModel)))}" data-first-model-sha256="${escapeHtml(JSON.stringify(firstModelDigests(routes, firstModel)))}"${large.length ? ` data-first-model-large="${escapeHtml(JSON.stringify(large))}"` : ''}` : '';
  // The page's first requests go in the order it needs them: the stylesheet, onnxruntime's worker's script (the
  // starter starts that worker from it, which waits while the page's script runs; backendStartFiles names it first),
  // the page's script, then the rest of backendStartFiles. A browser opens six connections to the server and the
  // seventh request waits: that was the page's script, at the end of the body (its answer came 0.3 s after its
  // request in a cold command, bench:profile); now it is the logits worker's script, needed last. Over 15 + 15
  // alternating cold commands the backend was ready 252 ms sooner after the starter (bench:vscode --cold-ab).
  const [ortWorkerLink = '', ...laterLinks] = preloads.map((url) => `\n  <link rel="preload" as="fetch" crossorigin="anonymous" href="${escapeHtml(url)}">`);
  // Async: it runs once parsed, before the stylesheet and the page's script (a module) have arrived.
  const inlined = view === 'panel' && scripts.starter !== undefined ? inlineScript(scripts.starter, asset('panelStart.js.map').toString()) : undefined;
  const starterScript = inlined ? `\n  <script type="module" async nonce="${nonce}">${inlined}</script>` : '';
  // With large files to read, the download worker's script too, as text the starter starts that worker from (never
  // run as the page's: not JavaScript by its type), before the starter in the document: fetched, it waited behind the
  // page's first six requests (a browser's connections to one host) and came 0.7–1.5 s after the starter ran.
  const workerText = inlined && large.length && scripts.downloadWorker !== undefined ? inlineScript(scripts.downloadWorker, asset('downloadWorker.js.map').toString()) : undefined;
  const workerScript = workerText ? `\n  <script type="text/plain" id="${DOWNLOAD_WORKER_ELEMENT}">${workerText}</script>` : '';
  // The page's own stylesheet and script from the file server too, when routes cover them (src/core/pageResources.ts).
  const tags = pageResourceTags(routes, nonce, asset('main.css').toString(), asset(`${view}.js`).toString(), escapeHtml);
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>${escapeHtml(title)}</title>${tags.fallback ? `\n  ${tags.fallback}` : ''}
  ${tags.stylesheet}${ortWorkerLink}
  ${tags.script}${laterLinks.join('')}
</head>
<body data-view="${view}" ${boot}${firstFiles}>${workerScript}${starterScript}
  <main id="app" aria-live="polite"><p class="muted">Loading Attention Lens…</p></main>
</body>
</html>`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
