// Why: once a page keeps onnxruntime's binary (binaryCache.ts), the first command of a later window waits for the
// model's files: over a network held to 50 Mbit/s and 20 ms they arrived 558 ms after the backend was ready
// (npm run bench:vscode -- --cold-profile used --cold-network 50,20). So a page keeps the small files of the models it
// loaded (those it reads with a plain fetch: the tokenizer, and model files under WORKER_READ_FROM_BYTES) in the
// browser's Cache Storage, each under the SHA-256 digest its manifest declares and the host's check verified
// (ModelDescriptor.sha256), and later pages read them from there (keptBytes.ts: only with that digest). Keyed by
// digest alone: the same file in two folders is kept once, and a file that changed is a new key. The copies kept
// first are deleted once the copies together pass KEPT_MODEL_FILES_BUDGET. The panel's starter begins the reads of its
// likely first model's files before the page's script exists, so one instance serves both, on the page's global
// object (the two are separate bundles).

import { WORKER_READ_FROM_BYTES } from '../src/core/ortFiles';
import { type KeptCache, type KeptCacheStorage, KeptBytes } from './keptBytes';

/** The Cache Storage cache the pages keep models' small files in. */
export const MODEL_FILES_CACHE = 'attention-lens-model-files';
/** How many bytes of model files the pages keep in all: past it, the oldest kept copies are deleted. */
export const KEPT_MODEL_FILES_BUDGET = 64 * 2 ** 20;
/** The header a kept copy carries its size in (the budget is counted without reading the copies). */
const SIZE_HEADER = 'X-Attention-Lens-Bytes';

/** The key a file is kept under: its digest (a cache's keys are http(s) URLs; this one is never fetched). */
export function keptModelFileKey(sha256: string): string {
  return `https://attention-lens.invalid/model-files/${sha256}`;
}

/** Whether a file of this size is kept: one the page reads with a plain fetch (larger ones stream to the download worker). */
export function keepsFileOf(bytes: number): boolean {
  return bytes < WORKER_READ_FROM_BYTES;
}

/**
 * The kept copies to delete, those kept first first, so that those left fit in `budget` bytes (entries in the order
 * they were kept; the newest is never deleted, even alone past the budget).
 */
export function overBudget(entries: ReadonlyArray<{ key: string; bytes: number }>, budget: number): string[] {
  let total = entries.reduce((sum, e) => sum + e.bytes, 0);
  const deleted: string[] = [];
  for (const entry of entries.slice(0, -1)) {
    if (total <= budget) break;
    deleted.push(entry.key);
    total -= entry.bytes;
  }
  return deleted;
}

/**
 * Where a page's copies are written: on its own thread by default; once it has a worker for it, there
 * (OrtBackends.modelFileWriter): the digest and the copy into a Response are tens of ms after the first paint.
 */
export type ModelFileWriter = (sha256: string, bytes: Uint8Array, what: string) => Promise<void>;

/** The small model files a page keeps across windows, in the browser's Cache Storage. */
export class KeptModelFiles {
  private readonly kept: KeptBytes;
  /** Reads begun ahead (the starter), by digest: the page's read of that digest takes one. */
  private readonly begun = new Map<string, Promise<Uint8Array | undefined>>();
  /** Copies of files fetched before keeping began, by digest: keepFetched() keeps them. */
  private readonly held = new Map<string, { bytes: Uint8Array; what: string }>();
  private keeping = false;
  private writer: ModelFileWriter = (sha256, bytes, what) => this.keepNow(sha256, bytes, what);

  constructor(storage?: KeptCacheStorage, warn?: (message: string) => void) {
    const unkept = (doing: string, reason: string) => `Model files are fetched in each window: ${doing} them in the browser's Cache Storage failed (${reason}).`;
    this.kept = new KeptBytes(MODEL_FILES_CACHE, unkept, storage, warn);
  }

  /** Whether the page can keep files (it has Cache Storage). */
  get enabled(): boolean {
    return this.kept.enabled;
  }

  /** Begins reading the kept copy of the file with this digest (`what` names it); the next read() of it takes this one. */
  begin(sha256: string, what: string): Promise<Uint8Array | undefined> {
    const reading = this.begun.get(sha256) ?? this.readNow(sha256, what);
    this.begun.set(sha256, reading);
    return reading;
  }

  /** The kept copy of the file with this digest, if one is kept with it (a read begun ahead is taken); else undefined. */
  read(sha256: string, what: string): Promise<Uint8Array | undefined> {
    const begun = this.begun.get(sha256);
    this.begun.delete(sha256);
    return begun ?? this.readNow(sha256, what);
  }

  /** Forgets the reads begun ahead but those of these digests (the page loads another model first, or closes). */
  dropBegun(except: ReadonlyArray<string | undefined> = []): void {
    for (const sha256 of this.begun.keys()) if (!except.includes(sha256)) this.begun.delete(sha256);
  }

  /** Forgets everything held and begun (the page is going away). */
  clear(): void {
    this.begun.clear();
    this.held.clear();
  }

  /**
   * A file fetched whose manifest declares this digest: held as a copy (the bytes may move to a worker) until
   * keepFetched(), kept at once after it. Files of WORKER_READ_FROM_BYTES or more are not kept.
   */
  fetched(sha256: string, bytes: Uint8Array, what: string): void {
    if (!this.kept.enabled || !keepsFileOf(bytes.length)) return;
    if (this.keeping) {
      void this.writer(sha256, bytes.slice(), what);
      return;
    }
    // Held no further than the budget: a page whose first analysis never paints (it failed) keeps the latest files.
    this.held.delete(sha256);
    this.held.set(sha256, { bytes: bytes.slice(), what });
    let heldBytes = [...this.held.values()].reduce((sum, h) => sum + h.bytes.length, 0);
    for (const [digest, { bytes: copy }] of this.held) {
      if (heldBytes <= KEPT_MODEL_FILES_BUDGET || digest === sha256) break;
      this.held.delete(digest);
      heldBytes -= copy.length;
    }
  }

  /**
   * Keeps the files fetched so far, and from now on each one as it is fetched, through `writer` when given (each
   * copy then moves to it). The panel calls it once it has shown its first result, so that writing them does not
   * slow a cold start; the other pages once their backend is ready.
   */
  async keepFetched(writer?: ModelFileWriter): Promise<void> {
    if (writer) this.writer = writer;
    this.keeping = true;
    const held = [...this.held];
    this.held.clear();
    for (const [sha256, { bytes, what }] of held) await this.writer(sha256, bytes, what);
  }

  private readNow(sha256: string, what: string): Promise<Uint8Array | undefined> {
    return this.kept.read(keptModelFileKey(sha256), sha256, (found, length) => `The kept copy of ${what} did not have its manifest's SHA-256 (found ${found}, ${length} bytes; expected ${sha256}): deleted, and the file fetched.`);
  }

  /** Keeps `bytes` as the file with this digest now, on this thread (a page's, or the worker a writer hands them to). Never throws. */
  async keepNow(sha256: string, bytes: Uint8Array, what: string): Promise<void> {
    const mismatch = (found: string) => `${what} as fetched does not have its manifest's SHA-256 (found ${found}, expected ${sha256}): not kept for later windows.`;
    const trim = async (cache: KeptCache) => {
      const requests = await cache.keys(); // in the order they were kept
      const sizeOf = (response: Response | undefined) => Number(response?.headers.get(SIZE_HEADER) ?? Number.NaN);
      const entries = await Promise.all(requests.map(async (request) => ({ key: request.url, bytes: sizeOf(await cache.match(request)) })));
      // An entry without its size was not written here (another page of this origin): it goes.
      const foreign = entries.filter((e) => !(e.bytes >= 0)).map((e) => e.key);
      const ours = entries.filter((e) => e.bytes >= 0);
      await Promise.all([...foreign, ...overBudget(ours, KEPT_MODEL_FILES_BUDGET)].map((key) => cache.delete(key)));
    };
    await this.kept.write(keptModelFileKey(sha256), sha256, bytes, { 'Content-Type': 'application/octet-stream', [SIZE_HEADER]: String(bytes.length) }, mismatch, trim);
  }
}

const KEY = Symbol.for('attentionLens.keptModelFiles');
type Holder = { [KEY]?: KeptModelFiles };

/** The page's kept model files, on its global object: the starter and the page's script are separate bundles. */
export function pageKeptModelFiles(): KeptModelFiles {
  const holder = globalThis as unknown as Holder;
  return (holder[KEY] ??= new KeptModelFiles());
}
