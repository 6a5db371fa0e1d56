// Why: decides when the webviews read their files from the loopback file server (fileServer.ts) instead of
// through VS Code's resource loading, and tells each webview how: a route maps the webview URI of one of its
// resource roots to that root's URL on the server, as VS Code's port forwarding exposes it to the browser
// (vscode.env.asExternalUri). Used in browser and remote windows, where resource loading crosses VS Code's
// connection; a desktop window reads local files directly and gets no routes. The webview tries a route
// first and falls back to the resource URI when it fails (webview/fileRoutes.ts).

import * as vscode from 'vscode';
import type { FileRoute } from './core/protocol';
import { Disposable } from './dispose';
import { type FileShare, FileServer } from './fileServer';
import type { Log } from './log';
import { readFileServerSetting } from './settings';

/** One webview's routes: the source its CSP must allow, and a route per resource root it was given. */
export interface WebviewFiles {
  /** The server's root URL as the browser reaches it, for connect-src (a path, not a whole origin: in
   * code-server that origin is the whole site). */
  readonly source: string;
  /** A route per file-scheme resource root of the webview (its options are set before it is opened here). */
  readonly routes: FileRoute[];
}

/** Routes being made for a webview: ready resolves with them (or undefined); dispose ends its share. */
export interface PendingFiles extends vscode.Disposable {
  readonly ready: Promise<WebviewFiles | undefined>;
}

/** How long a page waits for the server's port to be forwarded before it is written without routes. */
const OPEN_WITHIN_MS = 5000;

/** Owns the file server of this window (started with the extension when this window's webviews want it). */
export class WebviewFileRoutes extends Disposable {
  private readonly server = this.register(new FileServer());
  private base: Promise<string> | undefined;

  /** builtFolder: the extension's build output (out/), whose files the server may send as their compressed copies. */
  constructor(
    private readonly log: Log,
    private readonly builtFolder: vscode.Uri,
  ) {
    super();
    // Started with the extension (it activates on a command that opens a webview): the port and its forwarding
    // are ready by the time the first page's HTML is written.
    if (this.wanted()) void this.baseUrl().catch(() => undefined);
  }

  /**
   * Routes for a webview, once its options are set: undefined when not wanted, when the server cannot be
   * reached within OPEN_WITHIN_MS (the page is written without them, rather than late), or when the webview
   * closed meanwhile. Disposing the result ends the webview's share.
   */
  open(webview: vscode.Webview): PendingFiles {
    let share: FileShare | undefined;
    let disposed = false;
    const ready = this.routesFor(webview).then(
      (made) => {
        if (made && disposed) made.share.dispose();
        else share = made?.share;
        return disposed ? undefined : made?.files;
      },
      (err: unknown) => {
        this.log.warn(`A webview reads files through VS Code's resource loading: ${err instanceof Error ? err.message : String(err)}.`);
        return undefined;
      },
    );
    return { ready, dispose: () => ((disposed = true), share?.dispose()) };
  }

  /** True when the setting allows the server and this window's webviews read files across a connection. */
  private wanted(): boolean {
    if (readFileServerSetting() === 'off') return false;
    return vscode.env.uiKind === vscode.UIKind.Web || vscode.env.remoteName !== undefined;
  }

  private async routesFor(webview: vscode.Webview): Promise<{ files: WebviewFiles; share: FileShare } | undefined> {
    if (this.disposed || !this.wanted()) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the file server was not reachable within ${OPEN_WITHIN_MS} ms`)), OPEN_WITHIN_MS)));
    const base = await Promise.race([this.baseUrl(), late]).finally(() => clearTimeout(timer));
    if (this.disposed) return undefined;
    const roots = (webview.options.localResourceRoots ?? []).filter((r) => r.scheme === 'file');
    const share = this.server.share(roots.map((r) => r.fsPath), [this.builtFolder.fsPath]);
    const routes = roots.map((root, i) => ({ from: `${webview.asWebviewUri(root).toString()}/`, to: `${base}${share.prefix.slice(1)}${i}/` }));
    return { files: { source: base, routes }, share };
  }

  /** The server's root URL as the browser reaches it (started once). */
  private baseUrl(): Promise<string> {
    return (this.base ??= this.externalBase());
  }

  /** Starts the server and forwards its port: its root URL as the browser reaches it, ending in "/". */
  private async externalBase(): Promise<string> {
    const port = await this.server.start();
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(`http://127.0.0.1:${port}/`));
    const base = external.toString(true);
    const url = new URL(base);
    // It goes into the pages' Content-Security-Policy as a source with its path: nothing that could end it.
    if (url.search || url.hash || /[\s;,'"]/.test(base)) throw new Error(`the file server's forwarded address ${url.origin}… cannot be a Content-Security-Policy source`);
    this.log.info(`Webviews read files from the file server on port ${port}, reached at ${base}.`);
    return base.endsWith('/') ? base : `${base}/`;
  }
}
