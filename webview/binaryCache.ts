// Why: onnxruntime's wasm binary (14.2 MB; 2.3 MB as Brotli) is what a new window's first command waits for
// before anything else can start, and a webview can keep nothing between windows but browser storage: its files
// come through VS Code each time (in a remote or browser window, over the network). So a page keeps the binary it
// fetched in the browser's Cache Storage, under the digest the build computed (esbuild.mjs), and a later page, in
// this window or the next, reads it from there (keptBytes.ts: only with that digest).

import { type KeptCache, KeptBytes } from './keptBytes';

/** The Cache Storage cache the pages keep onnxruntime's binaries in. */
export const BINARY_CACHE = 'attention-lens-onnxruntime';

/** The key a binary is kept under: its file name and digest (a cache's keys are http(s) URLs; this one is never fetched). */
export function binaryCacheKey(file: string, sha256: string): string {
  return `https://attention-lens.invalid/onnxruntime/${encodeURIComponent(file)}?sha256=${sha256}`;
}

/** What the build says a binary's digest is: undefined for a file it did not name (or a build without digests). */
export function expectedDigest(file: string): string | undefined {
  return typeof ORT_BINARY_SHA256 === 'object' ? ORT_BINARY_SHA256[file] : undefined;
}

/** The binaries a page keeps across windows, in the browser's Cache Storage. */
export class BinaryCache {
  private readonly kept = new KeptBytes(BINARY_CACHE, (doing, reason) => `onnxruntime's binary is fetched in each window: ${doing} it in the browser's Cache Storage failed (${reason}).`);

  /** Whether the binary `file` can be kept: the page has Cache Storage and the build named its digest. */
  enabled(file: string): boolean {
    return this.kept.enabled && !!expectedDigest(file);
  }

  /** The kept binary `file` (raw, not gzipped), if one is kept with the build's digest; undefined otherwise. */
  async read(file: string): Promise<Uint8Array | undefined> {
    const sha256 = expectedDigest(file);
    if (!sha256) return undefined;
    return this.kept.read(binaryCacheKey(file, sha256), sha256, (found, length) => `The kept copy of onnxruntime's binary ${file} was not the build's (SHA-256 ${found}, ${length} bytes; expected ${sha256}): deleted, and the binary fetched.`);
  }

  /**
   * Keeps `raw` (the binary as onnxruntime's worker compiled it: inflated) as the binary `file`, if it has the build's
   * digest, and deletes the copies of that file kept for other builds. Never throws: a page that cannot keep it
   * fetches it again.
   */
  async write(file: string, raw: Uint8Array): Promise<boolean> {
    const sha256 = expectedDigest(file);
    if (!this.kept.enabled || !sha256) return false;
    const key = binaryCacheKey(file, sha256);
    const otherBuilds = async (cache: KeptCache) => {
      const stale = (await cache.keys()).filter((request) => request.url !== key && request.url.startsWith(binaryCacheKey(file, '')));
      await Promise.all(stale.map((request) => cache.delete(request)));
    };
    const mismatch = (found: string) => `onnxruntime's binary ${file} as fetched is not the build's (SHA-256 ${found}, expected ${sha256}): not kept for later windows.`;
    return this.kept.write(key, sha256, raw, { 'Content-Type': 'application/wasm' }, mismatch, otherBuilds);
  }
}
