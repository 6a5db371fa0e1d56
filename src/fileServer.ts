// Why: in a browser or remote window, a webview's resource URIs are read over VS Code's own connection, at a
// few MiB/s (a 343 MiB model took 18–20 s, onnxruntime's 3.5 MiB binary about a second). This server hands
// the webviews the same files over plain HTTP, reached through VS Code's port forwarding (vscode.env.asExternalUri),
// several times faster. It serves exactly what the webview could already read: the files under each share's
// roots (its localResourceRoots), each share behind its own unguessable path, on the loopback interface only,
// for GET and HEAD. Plain Node: fileRoutes.ts decides when to use it and wires it to the webviews.

import { randomBytes } from 'crypto';
import { createReadStream, promises as fs } from 'fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'http';
import type { Socket } from 'net';
import * as path from 'path';

/** The files one webview may read: folders, by absolute path on the extension host's machine. */
export interface FileShare {
  /** The URL path every file of this share starts with: `/<token>/`; root i's files are under `/<token>/<i>/`. */
  readonly prefix: string;
  /** Replaces the folders (the webview's roots changed); indexes follow the new list. */
  update(roots: readonly string[]): void;
  /** Stops serving this share's files. */
  dispose(): void;
}

/** A loopback HTTP server for the files of its shares; start() once, then share(). */
export class FileServer {
  private readonly shares = new Map<string, readonly string[]>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private listening: Promise<number> | undefined;
  private closed = false;

  /** Listens on 127.0.0.1 at a free port; resolves with the port (the same promise on later calls). */
  start(): Promise<number> {
    if (this.closed) return Promise.reject(new Error('The file server was closed.'));
    this.listening ??= new Promise<number>((resolve, reject) => {
      const server = createServer((req, res) => void this.answer(req, res));
      this.server = server;
      server.on('connection', (socket) => {
        this.sockets.add(socket);
        socket.once('close', () => this.sockets.delete(socket));
      });
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        const address = server.address();
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('The file server has no port.'));
      });
    });
    return this.listening;
  }

  /** Serves the files under roots behind a fresh token until the share is disposed. */
  share(roots: readonly string[]): FileShare {
    const token = randomBytes(24).toString('base64url');
    this.shares.set(token, roots.map((r) => path.resolve(r)));
    return {
      prefix: `/${token}/`,
      update: (next) => {
        if (this.shares.has(token)) this.shares.set(token, next.map((r) => path.resolve(r)));
      },
      dispose: () => void this.shares.delete(token),
    };
  }

  /** Stops listening and ends open connections (a download in flight fails, and the webview falls back). */
  dispose(): void {
    this.closed = true;
    this.shares.clear();
    this.server?.close();
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The webview's origin differs from this server's (desktop webviews, forwarded ports): the token in the
    // path is what grants access, so any origin may read what it names.
    res.setHeader('Access-Control-Allow-Origin', '*');
    // no-transform: a forwarding proxy must not compress on the fly (code-server's compresses with Brotli by
    // default, which made a 343 MiB model take 8.9 s instead of about 4 and arrive without its length).
    res.setHeader('Cache-Control', 'no-store, no-transform');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method !== 'GET' && req.method !== 'HEAD') return end(res, 405, 'Only GET and HEAD are served.');
    const file = await this.fileOf(req.url ?? '');
    if (!file) return end(res, 404, 'Not found.');
    res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': file.size });
    if (req.method === 'HEAD') return void res.end();
    const stream = createReadStream(file.path, { highWaterMark: 1 << 20 });
    stream.once('error', () => res.destroy()); // the length was promised: a cut response, never a short 200
    res.once('close', () => stream.destroy());
    stream.pipe(res);
  }

  /** The regular file a URL path names inside its share's root (symbolic links resolved), or undefined. */
  private async fileOf(url: string): Promise<{ path: string; size: number } | undefined> {
    const match = /^\/([A-Za-z0-9_-]+)\/(\d+)\/([^?#]+)$/.exec(url);
    const roots = match ? this.shares.get(match[1]) : undefined;
    const root = roots?.[Number(match![2])];
    if (!root) return undefined;
    let relative: string;
    try {
      relative = match![3].split('/').map(decodeURIComponent).join(path.sep);
    } catch {
      return undefined; // malformed escapes
    }
    if (relative.includes('\0')) return undefined;
    try {
      const [realRoot, realFile] = await Promise.all([fs.realpath(root), fs.realpath(path.resolve(root, relative))]);
      const inside = path.relative(realRoot, realFile);
      if (!inside || inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) return undefined;
      const stat = await fs.stat(realFile);
      return stat.isFile() ? { path: realFile, size: stat.size } : undefined;
    } catch {
      return undefined; // missing or unreadable
    }
  }
}

function end(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
