// Why: decides when the webviews read their files from the loopback file server (fileServer.ts) instead of
// through VS Code's resource loading, and tells each webview how: a route maps the webview URI of one of its
// resource roots to that root's URL on the server, as VS Code's port forwarding exposes it to the browser
// (vscode.env.asExternalUri). Used in browser and remote windows, where resource loading crosses VS Code's
// connection; a desktop window reads local files directly and gets no routes. The webview tries a route
// first and falls back to the resource URI when it fails (webview/fileRoutes.ts). onnxruntime's binaries, and the
// pages' own scripts, have routes of their own, to fixed paths the browser may cache, on the port this server had
// last time when it is free: later pages, in this window and the next, then take those files (and the binary's
// compiled code) from the browser's caches.

import * as vscode from 'vscode';
import type { FileRoute } from './core/protocol';
import { Disposable } from './dispose';
import { FOLDER_DIGESTS, type FileShare, FileServer, parseFolderDigests, publishedName } from './fileServer';
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

/**
 * globalState key of the ports the servers listened on last, the latest first: a window's server takes the first one
 * that is free (with two windows open, each has its own, and both stay known).
 */
export const FILE_SERVER_PORTS_KEY = 'attentionLens.fileServerPorts';
/** How many ports are remembered. */
const PORTS_KEPT = 4;

/** Owns the file server of this window (started with the extension when this window's webviews want it). */
export class WebviewFileRoutes extends Disposable {
  private readonly server = this.register(new FileServer());
  private base: Promise<string> | undefined;
  /** Each published folder's fixed path on the server (publishFolder), by folder of the build; undefined where it cannot be. */
  private readonly published = new Map<string, Promise<string | undefined>>();

  /**
   * builtFolder: the extension's build output (out/), whose files the server may send as their compressed copies;
   * memory: where the server's port is kept for the next window (the extension's globalState).
   */
  constructor(
    private readonly log: Log,
    private readonly builtFolder: vscode.Uri,
    private readonly memory: vscode.Memento,
  ) {
    super();
    // Started with the extension (it activates on a command that opens a webview): the port and its forwarding
    // are ready by the time the first page's HTML is written.
    if (this.wanted()) {
      void this.baseUrl().catch(() => undefined);
      for (const published of PUBLISHED) void this.publishFolder(published); // their lists read by then too
    }
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
    // The published folders first, in PUBLISHED's order: the first route that covers a URI is taken (src/core/servedUrl.ts).
    const covered = PUBLISHED.filter(({ folder }) => roots.some((root) => isUnder(vscode.Uri.joinPath(this.builtFolder, folder), root)));
    const names = await Promise.all(covered.map((published) => this.publishFolder(published)));
    if (this.disposed) return undefined;
    routes.unshift(...covered.flatMap(({ folder }, i) => (names[i] ? [{ from: `${webview.asWebviewUri(vscode.Uri.joinPath(this.builtFolder, folder)).toString()}/`, to: `${base}${names[i]}/0/` }] : [])));
    return { files: { source: base, routes }, share };
  }

  /**
   * Publishes a folder of the build once (FileServer.publish), under a name made of its files' digests, which the
   * build lists in it (esbuild.mjs, digests.json): later pages, in this window and the next, take those files from
   * the browser's cache (and onnxruntime's binary its compiled code too). The name, or undefined without the list (the pages'
   * folder in watch mode, whose files change under the server) or where it cannot be read.
   */
  private publishFolder({ folder, prefix }: (typeof PUBLISHED)[number]): Promise<string | undefined> {
    let name = this.published.get(folder);
    if (!name) {
      const uri = vscode.Uri.joinPath(this.builtFolder, folder);
      name = readFolderDigests(vscode.Uri.joinPath(uri, FOLDER_DIGESTS)).then(
        (digests) => {
          const published = publishedName(prefix, digests);
          if (published && !this.disposed) this.register(this.server.publish(published, uri.fsPath));
          return published;
        },
        (err: unknown) => {
          this.log.warn(`The files of ${uri.fsPath} are read through each page's share: ${err instanceof Error ? err.message : String(err)}.`);
          return undefined;
        },
      );
      this.published.set(folder, name);
    }
    return name;
  }

  /** The server's root URL as the browser reaches it (started once). */
  private baseUrl(): Promise<string> {
    return (this.base ??= this.externalBase());
  }

  /** Starts the server and forwards its port: its root URL as the browser reaches it, ending in "/". */
  private async externalBase(): Promise<string> {
    // A port of last time, when one is free: the published binaries' URLs, and what the browser cached for them, stay the same.
    const kept = this.memory.get<unknown>(FILE_SERVER_PORTS_KEY);
    const last = (Array.isArray(kept) ? kept : []).filter((p): p is number => Number.isInteger(p) && p >= 1024 && p <= 65535).slice(0, PORTS_KEPT);
    const port = await this.server.start(last);
    const ports = [port, ...last.filter((p) => p !== port)].slice(0, PORTS_KEPT);
    if (ports.join() !== last.join()) void Promise.resolve(this.memory.update(FILE_SERVER_PORTS_KEY, ports)).catch(() => undefined);
    const external = await vscode.env.asExternalUri(vscode.Uri.parse(`http://127.0.0.1:${port}/`));
    const base = external.toString(true);
    const url = new URL(base);
    // It goes into the pages' Content-Security-Policy as a source with its path: nothing that could end it.
    if (url.search || url.hash || /[\s;,'"]/.test(base)) throw new Error(`the file server's forwarded address ${url.origin}… cannot be a Content-Security-Policy source`);
    this.log.info(`Webviews read files from the file server on port ${port}, reached at ${base}.`);
    return base.endsWith('/') ? base : `${base}/`;
  }
}

/**
 * The folders of the build that are published (out/ort: onnxruntime's binaries; out/webview: the pages' scripts,
 * stylesheet and workers' scripts), in their routes' order, with their names' prefixes. They ship with the extension,
 * so anyone may read them; every other file needs a share's token.
 */
const PUBLISHED = [
  { folder: 'ort', prefix: 'onnxruntime' },
  { folder: 'webview', prefix: 'webview' },
] as const;

/** The build's list of a folder's files and digests (parseFolderDigests): undefined when there is none. */
async function readFolderDigests(file: vscode.Uri): Promise<Record<string, string> | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = await vscode.workspace.fs.readFile(file);
  } catch {
    return undefined;
  }
  return parseFolderDigests(new TextDecoder().decode(bytes), file.fsPath);
}

/** True when uri lies under folder (or is it), both file URIs. */
function isUnder(uri: vscode.Uri, folder: vscode.Uri): boolean {
  const base = folder.path.endsWith('/') ? folder.path : `${folder.path}/`;
  return uri.scheme === folder.scheme && uri.authority === folder.authority && (uri.path === folder.path || uri.path.startsWith(base));
}
