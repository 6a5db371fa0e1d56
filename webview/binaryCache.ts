// Why: onnxruntime's wasm binary (14.2 MB; 2.3 MB as Brotli) is what a new window's first command waits for
// before anything else can start, and a webview can keep nothing between windows but browser storage: its files
// come through VS Code each time (in a remote or browser window, over the network). So a page keeps the binary it
// fetched in the browser's Cache Storage, under the digest the build computed (esbuild.mjs), and a later page, in
// this window or the next, reads it from there. A kept copy is taken only if its bytes have that digest: a
// damaged copy, or one another page of this origin wrote, is deleted and the binary fetched as before. Where the
// page has no Cache Storage (not a secure context) or storage fails, it fetches as before and says why once in
// its console.

import { inflate, isGzip } from './inflate';

/** The Cache Storage cache the pages keep onnxruntime's binaries in. */
export const BINARY_CACHE = 'attention-lens-onnxruntime';

/** The key a binary is kept under: its file name and digest (a cache's keys are http(s) URLs; this one is never fetched). */
export function binaryCacheKey(file: string, sha256: string): string {
  return `https://attention-lens.invalid/onnxruntime/${encodeURIComponent(file)}?sha256=${sha256}`;
}

/** Hex SHA-256 of bytes (WebCrypto: off the calling thread). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** What the build says a binary's digest is: undefined for a file it did not name (or a build without digests). */
export function expectedDigest(file: string): string | undefined {
  return typeof ORT_BINARY_SHA256 === 'object' ? ORT_BINARY_SHA256[file] : undefined;
}

/** The binaries a page keeps across windows, in the browser's Cache Storage. */
export class BinaryCache {
  private warned = false;

  constructor(
    private readonly storage: CacheStorage | undefined = typeof caches === 'object' && isSecureContext ? caches : undefined,
    private readonly warn: (message: string) => void = (message) => console.warn(message),
  ) {}

  /** Whether the binary `file` can be kept: the page has Cache Storage and the build named its digest. */
  enabled(file: string): boolean {
    return !!this.storage && !!expectedDigest(file);
  }

  /** The kept binary `file` (raw, not gzipped), if one is kept with the build's digest; undefined otherwise. */
  async read(file: string): Promise<Uint8Array | undefined> {
    const sha256 = expectedDigest(file);
    if (!this.storage || !sha256) return undefined;
    const key = binaryCacheKey(file, sha256);
    try {
      const cache = await this.storage.open(BINARY_CACHE);
      const kept = await cache.match(key);
      if (!kept) return undefined;
      const bytes = new Uint8Array(await kept.arrayBuffer());
      const found = await sha256Hex(bytes);
      if (found === sha256) return bytes;
      await cache.delete(key);
      this.warn(`The kept copy of onnxruntime's binary ${file} was not the build's (SHA-256 ${found}, ${bytes.length} bytes; expected ${sha256}): deleted, and the binary fetched.`);
    } catch (err) {
      this.failed('reading', err);
    }
    return undefined;
  }

  /**
   * Keeps `bytes` as the binary `file` (gzipped ones are inflated first), if they have the build's digest, and
   * deletes the copies of that file kept for other builds. Never throws: a page that cannot keep it fetches it again.
   */
  async write(file: string, bytes: Uint8Array): Promise<boolean> {
    const sha256 = expectedDigest(file);
    if (!this.storage || !sha256) return false;
    try {
      const raw = isGzip(bytes) ? await inflate(bytes, `onnxruntime's binary ${file}`) : bytes;
      const found = await sha256Hex(raw);
      if (found !== sha256) {
        this.warn(`onnxruntime's binary ${file} as fetched is not the build's (SHA-256 ${found}, expected ${sha256}): not kept for later windows.`);
        return false;
      }
      const cache = await this.storage.open(BINARY_CACHE);
      const key = binaryCacheKey(file, sha256);
      await cache.put(key, new Response(raw as Uint8Array<ArrayBuffer>, { headers: { 'Content-Type': 'application/wasm' } }));
      const stale = (await cache.keys()).filter((request) => request.url !== key && request.url.startsWith(binaryCacheKey(file, '')));
      await Promise.all(stale.map((request) => cache.delete(request)));
      return true;
    } catch (err) {
      this.failed('keeping', err);
      return false;
    }
  }

  private failed(doing: string, err: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.warn(`onnxruntime's binary is fetched in each window: ${doing} it in the browser's Cache Storage failed (${err instanceof Error ? err.message : String(err)}).`);
  }
}
