// Why: a webview can keep nothing between windows but browser storage, and its files come through VS Code each time
// (in a remote or browser window, over the network). So pages keep some of them in the browser's Cache Storage:
// onnxruntime's binary (binaryCache.ts) and the small files of the models they loaded (keptModelFiles.ts), each
// under the SHA-256 digest its bytes must have. A kept copy is taken only with that digest; one without it (a
// damaged copy, or bytes another page of this origin put there) is deleted, and the page fetches the file as before.
// Where the page has no Cache Storage (not a secure context) or storage fails, it fetches as before and says why once
// in its console.

/** Hex SHA-256 of bytes (WebCrypto: off the calling thread). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The parts of the browser's Cache Storage used here (declared here: the unit tests compile without the DOM's types). */
export interface KeptCacheStorage {
  open(name: string): Promise<KeptCache>;
}
export interface KeptCache {
  match(key: string | Request): Promise<Response | undefined>;
  put(key: string, response: Response): Promise<void>;
  delete(key: string | Request): Promise<boolean>;
  keys(): Promise<readonly Request[]>;
}

/** The page's Cache Storage: none outside a secure context (a window served over plain HTTP from another machine), or outside a browser. */
function pageCaches(): KeptCacheStorage | undefined {
  const page = globalThis as { caches?: KeptCacheStorage; isSecureContext?: boolean };
  return page.isSecureContext ? page.caches : undefined;
}

/** How long a read of a kept copy may take before the page fetches the file instead. */
const READ_WITHIN_MS = 2000;

/** One Cache Storage cache of byte arrays, each kept under a key (an http(s) URL never fetched) with its digest. */
export class KeptBytes {
  private warned = false;

  /** unkept: what the console says, once, when storage fails (`doing`: "reading" or "keeping"). */
  constructor(
    private readonly cacheName: string,
    private readonly unkept: (doing: string, reason: string) => string,
    private readonly storage: KeptCacheStorage | undefined = pageCaches(),
    readonly warn: (message: string) => void = (message) => console.warn(message),
  ) {}

  /** Whether the page has Cache Storage. */
  get enabled(): boolean {
    return !!this.storage;
  }

  /**
   * The bytes kept under `key` if they have the digest `sha256`; undefined when none are kept, when storage fails, or
   * when they do not have it (they are then deleted, and `mismatch` says so in the console).
   */
  async read(key: string, sha256: string, mismatch: (found: string, length: number) => string): Promise<Uint8Array | undefined> {
    if (!this.storage) return undefined;
    // A storage that does not answer (damaged, or under quota pressure) must not hold the page's load up: it fetches.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => {
        this.failed('reading', new Error(`no answer within ${READ_WITHIN_MS} ms`));
        resolve(undefined);
      }, READ_WITHIN_MS);
    });
    try {
      return await Promise.race([this.readNow(key, sha256, mismatch), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async readNow(key: string, sha256: string, mismatch: (found: string, length: number) => string): Promise<Uint8Array | undefined> {
    if (!this.storage) return undefined;
    try {
      const cache = await this.storage.open(this.cacheName);
      const kept = await cache.match(key);
      if (!kept) return undefined;
      const bytes = new Uint8Array(await kept.arrayBuffer());
      const found = await sha256Hex(bytes);
      if (found === sha256) return bytes;
      await cache.delete(key);
      this.warn(mismatch(found, bytes.length));
    } catch (err) {
      this.failed('reading', err);
    }
    return undefined;
  }

  /**
   * Keeps `bytes` under `key` if they have the digest `sha256` (else `mismatch` says so, and nothing is kept), then
   * lets `tidy` delete what should go with the new copy in. Never throws: whatever is not kept is fetched again.
   */
  async write(key: string, sha256: string, bytes: Uint8Array, headers: Record<string, string>, mismatch: (found: string) => string, tidy?: (cache: KeptCache) => Promise<void>): Promise<boolean> {
    if (!this.storage) return false;
    try {
      const found = await sha256Hex(bytes);
      if (found !== sha256) {
        this.warn(mismatch(found));
        return false;
      }
      const cache = await this.storage.open(this.cacheName);
      await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
      await tidy?.(cache);
      return true;
    } catch (err) {
      this.failed('keeping', err);
      return false;
    }
  }

  private failed(doing: string, err: unknown): void {
    if (this.warned) return;
    this.warned = true;
    this.warn(this.unkept(doing, err instanceof Error ? err.message : String(err)));
  }
}
