// The one place that builds webview HTML and its Content-Security-Policy, for the panel and the sidebar:
// default-src 'none', a fresh crypto nonce per page, 'wasm-unsafe-eval' for onnxruntime-web,
// connect-src limited to the webview's own resource origin (plus the file server's root URL, fileRoutes.ts,
// in a browser or remote window, which then serves the page's script and stylesheet too), and resource roots limited to out/, media/ and
// the model folders the user added (attentionLens.modelFolders).

import { randomBytes } from 'crypto';
import * as vscode from 'vscode';
import { backendStartFiles } from './core/ortFiles';
import type { ViewKind } from './core/protocol';
import { servedUrlOf } from './core/servedUrl';
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

/** The page of a view; with files, its CSP also allows the file server and the page gets its routes at once. */
export function buildWebviewHtml(webview: vscode.Webview, extensionUri: vscode.Uri, view: ViewKind, title: string, files?: WebviewFiles): string {
  const nonce = randomBytes(16).toString('base64');
  const asset = (...parts: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'out', 'webview', ...parts));
  const csp = [
    `default-src 'none'`,
    `img-src ${webview.cspSource} data: blob:`,
    `font-src ${webview.cspSource}`,
    `style-src ${webview.cspSource}${files ? ` ${files.source}` : ''} 'nonce-${nonce}'`,
    `script-src 'nonce-${nonce}' ${webview.cspSource}${files ? ` ${files.source}` : ''} 'wasm-unsafe-eval'`,
    `connect-src ${webview.cspSource}${files ? ` ${files.source}` : ''}`,
    `worker-src ${webview.cspSource} blob:`,
  ].join('; ');
  // What the page needs to start onnxruntime before the host answers `ready` (webview/boot.ts).
  const { ortBaseUri, probeModelUri } = ortResources(webview, extensionUri);
  const backend = readSettings().backend;
  const boot = `data-ort-base="${escapeHtml(ortBaseUri)}" data-probe-model="${escapeHtml(probeModelUri)}" data-backend="${escapeHtml(backend)}" data-file-routes="${escapeHtml(JSON.stringify(files?.routes ?? []))}"`;
  // The panel starts its backend as soon as its script runs (webview/panel.ts): the files that takes are
  // fetched from the start, beside the script, at the URLs the page will ask for (their served URLs, when it
  // has routes). A preload "as fetch" is checked against connect-src, which allows both.
  const preloads = view === 'panel' ? backendStartFiles(ortBaseUri, probeModelUri, backend).map((uri) => (files && servedUrlOf(files.routes, uri)) || uri) : [];
  const preloadLinks = preloads.map((url) => `\n  <link rel="preload" as="fetch" crossorigin="anonymous" href="${escapeHtml(url)}">`).join('');
  const pageFiles = { script: asset(`${view}.js`).toString(), css: asset('main.css').toString() };
  const served = files && { script: servedUrlOf(files.routes, pageFiles.script), css: servedUrlOf(files.routes, pageFiles.css) };
  const page = served?.script && served.css ? { script: served.script, css: served.css } : undefined;
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>${escapeHtml(title)}</title>
  <link rel="stylesheet" nonce="${nonce}"${page ? ' crossorigin="anonymous"' : ''} href="${escapeHtml(page?.css ?? pageFiles.css)}">${preloadLinks}${page ? `\n  <link rel="modulepreload" nonce="${nonce}" href="${escapeHtml(page.script)}">` : ''}
</head>
<body data-view="${view}" ${boot}>
  <main id="app" aria-live="polite"><p class="muted">Loading Attention Lens…</p></main>
  ${page ? servedPageLoader(nonce, page, pageFiles) : `<script type="module" nonce="${nonce}" src="${escapeHtml(pageFiles.script)}"></script>`}
</body>
</html>`;
}

/**
 * Runs the page's script from the file server, which sends it several times faster than VS Code's resource loading
 * in a browser window (a cold panel's 0.52 MiB script took 0.3–1.2 s there, beside the workbench's own loads; its
 * 0.01 MiB stylesheet up to 0.9 s, and a page's scripts wait for its stylesheets). The head's modulepreload starts
 * the script's download with the page's other files. When a served file fails (the port is not forwarded, a proxy
 * answers with its own page, which is neither CSS nor JavaScript), its resource URI's copy is used instead.
 */
function servedPageLoader(nonce: string, served: { script: string; css: string }, resource: { script: string; css: string }): string {
  const run = `(function () {
    const nonce = ${JSON.stringify(nonce)};
    // A stylesheet that failed still has a sheet, an empty one; read through CORS, its rules can be counted.
    let styled = false;
    try {
      styled = document.querySelector('link[rel=stylesheet]').sheet.cssRules.length > 0;
    } catch {}
    if (!styled) {
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.nonce = nonce;
      link.href = ${scriptString(resource.css)};
      document.head.append(link);
    }
    (function run(src, fallback) {
      const script = document.createElement('script');
      script.type = 'module';
      script.nonce = nonce;
      script.src = src;
      if (fallback) script.addEventListener('error', () => run(fallback), { once: true });
      document.body.append(script);
    })(${scriptString(served.script)}, ${scriptString(resource.script)});
  })();`;
  return `<script nonce="${nonce}">${run}</script>`;
}

/** A string literal safe inside an inline script: JSON, with "<" escaped so that no "</script>" can end it. */
function scriptString(text: string): string {
  return JSON.stringify(text).replace(/</g, '\\u003c');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
