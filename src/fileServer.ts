// Why: in a browser or remote window, a webview's resource URIs are read over VS Code's own connection, at a
// few MiB/s (a 343 MiB model took about 20 s, onnxruntime's 3.5 MiB binary 1.5–2.4 s). This server hands
// the webviews the same files over plain HTTP, reached through VS Code's port forwarding (vscode.env.asExternalUri),
// several times faster. It serves exactly what the webview could already read: the files under each share's
// roots (its localResourceRoots; a compressed copy also under its plain name, encoded), each share behind its own
// unguessable path, on the loopback interface only, for GET and HEAD; and the folders that ship with the extension (onnxruntime's binaries, the pages' scripts), which anyone may
// read, at a fixed path that the browser may cache (publish). Plain Node: fileRoutes.ts decides when to use it and wires it to the webviews.

import { createHash, randomBytes } from 'crypto';
import { promises as fs } from 'fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'http';
import { type Socket, connect } from 'net';
import * as path from 'path';
import { pipeline } from 'stream';
import { SERVED_HEADER } from './core/protocol';

/** The files one webview may read: folders, by absolute path on the extension host's machine. */
export interface FileShare {
  /** The URL path every file of this share starts with: `/<token>/`; root i's files are under `/<token>/<i>/`. */
  readonly prefix: string;
  /** Stops serving this share's files. */
  dispose(): void;
}

/** What one share serves: its roots, those whose files may be sent as their compressed copies, and whether a browser may cache them. */
interface Share {
  readonly roots: readonly string[];
  readonly copies: ReadonlySet<number>;
  readonly cacheable: boolean;
}

/** A loopback HTTP server for the files of its shares; start() once, then share(). */
export class FileServer {
  private readonly shares = new Map<string, Share>();
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private listening: Promise<number> | undefined;
  private closed = false;
  private listened = false;

  /**
   * Listens on 127.0.0.1: at the first of preferredPorts that is free and where nothing answers (on some systems a
   * server may listen on the loopback address at a port another program listens on for every address, and would take
   * that program's connections), else at any free port; resolves with the port (the same promise on later calls).
   */
  start(preferredPorts: readonly number[] = []): Promise<number> {
    if (this.closed) return Promise.reject(new Error('The file server was closed.'));
    this.listening ??= this.listen(preferredPorts);
    return this.listening;
  }

  private async listen(preferredPorts: readonly number[]): Promise<number> {
    const server = createServer((req, res) => {
      this.answer(req, res).catch(() => res.destroy()); // never an unhandled rejection in the extension host
    });
    this.server = server;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    const listenAt = (port: number) =>
      new Promise<boolean>((resolve, reject) => {
        const failed = (err: Error) => (port ? resolve(false) : reject(err)); // a preferred port that is taken: the next
        server.once('error', failed);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', failed);
          resolve(true);
        });
      });
    let listening = false;
    for (const port of preferredPorts) {
      if (this.closed) break;
      if (!(await answers(port)) && (listening = await listenAt(port))) break;
    }
    if (!listening && !this.closed) await listenAt(0);
    // Listening: an accept that fails (too many open files) is not thrown in the extension host; the webviews'
    // reads fail and fall back.
    server.on('error', () => undefined);
    this.listened = server.listening;
    if (this.closed) {
      if (server.listening) server.close(); // disposed while it started
      throw new Error('The file server was closed.');
    }
    const address = server.address();
    if (address && typeof address === 'object') return address.port;
    throw new Error('The file server has no port.');
  }

  /**
   * Serves the files under roots behind a fresh token until the share is disposed. A file under one of the roots
   * named in copiesIn (the extension's build output, whose copies the build writes) is sent as its Brotli or gzipped
   * copy beside it when the client takes that; elsewhere (a user's model folder) a file is sent as it is, whatever
   * lies beside it: the host checked that file, not a copy.
   */
  share(roots: readonly string[], copiesIn: readonly string[] = []): FileShare {
    const token = randomBytes(24).toString('base64url');
    const resolved = roots.map((r) => path.resolve(r));
    const copies = new Set(copiesIn.map((folder) => resolved.indexOf(path.resolve(folder))).filter((i) => i >= 0));
    this.shares.set(token, { roots: resolved, copies, cacheable: false });
    return { prefix: `/${token}/`, dispose: () => void this.shares.delete(token) };
  }

  /**
   * Serves the files under root (and their compressed copies) at a fixed path, `/<name>/0/`, for any page to read
   * and for the browser to keep: for files that anyone may read and that never change under that name (onnxruntime's
   * binaries, which ship with the extension, under a name made of their digest). A browser compiles a WebAssembly
   * module it streamed from a cacheable answer once, and later pages, in this window and the next ones that reach
   * the server at the same address, take the compiled code from its cache (webview/ortWorker.ts).
   */
  publish(name: string, root: string): FileShare {
    if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new Error(`A published folder's name is letters, digits, "-" and "_", not "${name}".`);
    this.shares.set(name, { roots: [path.resolve(root)], copies: new Set([0]), cacheable: true });
    return { prefix: `/${name}/`, dispose: () => void this.shares.delete(name) };
  }

  /** Stops listening and ends open connections (a download in flight fails, and the webview falls back). */
  dispose(): void {
    this.closed = true;
    this.shares.clear();
    if (this.listened) this.server?.close(); // else the listen callback closes it as soon as it listens
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private async answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // The webview's origin differs from this server's (desktop webviews, forwarded ports): the token in the
    // path (for a published folder, its fixed name: files anyone may read) is what grants access, so any origin may
    // read what it names.
    res.setHeader('Access-Control-Allow-Origin', '*');
    // The page trusts a body only with this header (a proxy's login or error page, or another service on a
    // reused port, may answer 200 too); cross-origin, a page sees only the headers listed as exposed.
    res.setHeader(SERVED_HEADER, '1');
    // Content-Encoding too: an encoded answer's Content-Length is the encoded size, which the page must not
    // take for the size of what it reads (webview/fetchBytes.ts).
    res.setHeader('Access-Control-Expose-Headers', `${SERVED_HEADER}, Content-Encoding`);
    // The page's resource timing may then give the sizes as sent and as decoded (the tests check which copy came).
    res.setHeader('Timing-Allow-Origin', '*');
    // no-transform: a forwarding proxy must not compress on the fly (code-server's compresses with Brotli by
    // default, which made a 343 MiB model take 8.9 s instead of about 4 and arrive without its length).
    res.setHeader('Cache-Control', 'no-store, no-transform');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.method !== 'GET' && req.method !== 'HEAD') return end(res, 405, 'Only GET and HEAD are served.');
    const url = req.url ?? '';
    let file = await this.open(url);
    // What is sent depends on Accept-Encoding wherever a copy may stand in (a browser keeps a published file's answer per encoding).
    res.setHeader('Vary', 'Accept-Encoding');
    let encoding: Coding | undefined;
    // A file stored compressed (onnxruntime's binaries) is also served under its plain name, encoded, to a client
    // that takes the encoding: the browser decodes it as it arrives, in its network process, instead of the page's
    // worker inflating it once it is all there (70–220 ms in the cold commands traced here). The bytes are the same the webview can read.
    // A file with a copy beside it (the pages' scripts: esbuild.mjs writes the copies with every build but a
    // watching one, which writes none) is sent as that copy: fewer bytes on a path shared with the binary.
    // The coding the client weighs highest first, Brotli's on a tie: onnxruntime's binary is 2.3 MB as Brotli against
    // 3.7 MB gzipped.
    for (const coding of this.copiesServed(url) ? preferredCodings(req.headers['accept-encoding']) : []) {
      const copy = await this.open(`${url}${SUFFIX[coding]}`);
      if (!copy) continue;
      await file?.handle.close();
      file = copy;
      encoding = coding;
      break;
    }
    if (!file) return end(res, 404, 'Not found.');
    if (res.destroyed) return void (await file.handle.close()); // the client left while the file was looked up
    // A published file may be kept (publish): for a year, and never asked for again while kept.
    if (this.shareOf(url)?.cacheable) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable, no-transform');
    // The length and the bytes come from the one open file: a file changed meanwhile is cut at the length sent.
    res.writeHead(200, { 'Content-Type': contentTypeOf(url), 'Content-Length': file.size, ...(encoding ? { 'Content-Encoding': encoding } : {}) });
    if (req.method === 'HEAD' || file.size === 0) {
      res.end();
      return void (await file.handle.close());
    }
    const stream = file.handle.createReadStream({ start: 0, end: file.size - 1, highWaterMark: 1 << 20 });
    // A read error or a client that leaves ends both sides and closes the file: a cut response, never a short 200.
    pipeline(stream, res, () => undefined);
  }

  /** Whether a URL path lies under a root of its share whose files may be sent as their copies. */
  private copiesServed(url: string): boolean {
    const match = URL_PATH.exec(url);
    return !!match && !!this.shares.get(match[1])?.copies.has(Number(match[2]));
  }

  /** The share a URL path names. */
  private shareOf(url: string): Share | undefined {
    const match = URL_PATH.exec(url);
    return match ? this.shares.get(match[1]) : undefined;
  }

  /** The regular file a URL path names inside its share's root (symbolic links resolved), opened, or undefined. */
  private async open(url: string): Promise<{ handle: fs.FileHandle; size: number } | undefined> {
    const match = URL_PATH.exec(url);
    const root = match ? this.shares.get(match[1])?.roots[Number(match[2])] : undefined;
    if (!root) return undefined;
    let segments: string[];
    try {
      segments = match![3].split('/').map(decodeURIComponent);
    } catch {
      return undefined; // malformed escapes
    }
    // Checked before the file system is asked anything: no separator, drive or share name inside a segment,
    // no "." or "..", no NUL (on Windows, a UNC path alone would open a network connection).
    if (segments.some((s) => !s || s === '.' || s === '..' || FORBIDDEN.test(s))) return undefined;
    const named = path.join(root, ...segments);
    if (!inside(root, named)) return undefined;
    try {
      const [realRoot, realFile] = await Promise.all([fs.realpath(root), fs.realpath(named)]);
      if (!inside(realRoot, realFile)) return undefined;
      const handle = await fs.open(realFile, 'r');
      const stat = await handle.stat().catch(() => undefined);
      if (stat?.isFile()) return { handle, size: stat.size };
      await handle.close();
      return undefined;
    } catch {
      return undefined; // missing or unreadable
    }
  }
}

/**
 * The name a folder is published under (FileServer.publish): prefix, "-" and 16 hex digits made of its files'
 * digests (by file name, in any order), so that what a browser kept under it is never another build's files.
 * Undefined without digests.
 */
export function publishedName(prefix: string, digests: Readonly<Record<string, string>> | undefined): string | undefined {
  const entries = Object.entries(digests ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (!entries.length) return undefined;
  return `${prefix}-${createHash('sha256').update(JSON.stringify(entries)).digest('hex').slice(0, 16)}`;
}

/** The list of a published folder's files and their SHA-256 digests that the build writes into it (esbuild.mjs). */
export const FOLDER_DIGESTS = 'digests.json';

/**
 * The build's list of a folder's files and digests, read from its text (publishedName takes it); an error naming the
 * file, the entry, what was expected and what was found when it is not an object of file names and SHA-256 digests.
 */
export function parseFolderDigests(text: string, file: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not JSON (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${file}: expected an object of file names and SHA-256 digests, found ${parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : typeof parsed}`);
  }
  for (const [name, digest] of Object.entries(parsed)) {
    if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) throw new Error(`${file}: "${name}" should be a SHA-256 digest (64 hex digits), found ${JSON.stringify(digest)}`);
  }
  return parsed as Record<string, string>;
}

/** Whether something accepts connections on the loopback address at port (a refusal or an error: nothing does). */
function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (answered: boolean) => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(1000, () => done(true)); // no refusal: something holds the port
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** A served path: /<share token>/<root index>/<path under that root>. */
const URL_PATH = /^\/([A-Za-z0-9_-]+)\/(\d+)\/([^?#]+)$/;

/** A content coding the server has copies for. */
export type Coding = 'br' | 'gzip';

/** The name a file's copy in each coding has beside it. */
const SUFFIX: Readonly<Record<Coding, string>> = { br: '.br', gzip: '.gz' };

/**
 * The codings of the server's copies that an Accept-Encoding header takes, the one it weighs highest first (Brotli's
 * first on a tie): a coding is taken when named with a weight above 0, or, when it is not named, when "*" has one
 * (RFC 9110: "*" stands for the codings the header does not name).
 */
export function preferredCodings(header: string | string[] | undefined): Coding[] {
  const weights = new Map<string, number>();
  for (const entry of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',')) {
    const [name, ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    const q = params.find((param) => param.startsWith('q='));
    if (name) weights.set(name, q === undefined ? 1 : Number(q.slice(2)));
  }
  const weight = (coding: Coding) => weights.get(coding) ?? weights.get('*') ?? 0;
  return (['br', 'gzip'] as const).filter((coding) => weight(coding) > 0).sort((a, b) => weight(b) - weight(a));
}

/**
 * The Content-Type of a served file, by its name: a panel's page loads its script and stylesheet from here too
 * (webviewHtml.ts), which a browser runs or applies only with their own types (the answers are nosniff), and
 * onnxruntime's binaries stream into a WebAssembly compilation, which takes only its own; the other files are read as bytes.
 */
export function contentTypeOf(urlPath: string): string {
  if (/\.m?js$/i.test(urlPath)) return 'text/javascript; charset=utf-8';
  if (/\.wasm$/i.test(urlPath)) return 'application/wasm'; // what streaming compilation takes (exactly)
  if (/\.css$/i.test(urlPath)) return 'text/css; charset=utf-8';
  return 'application/octet-stream';
}

/** Characters a path segment may not hold: NUL, and on Windows its separator and drive or stream colon. */
const FORBIDDEN = process.platform === 'win32' ? /[\\/:\0]/ : /\0/;

/** True when file lies strictly inside folder (both absolute). */
function inside(folder: string, file: string): boolean {
  const relative = path.relative(folder, file);
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

function end(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text);
}
