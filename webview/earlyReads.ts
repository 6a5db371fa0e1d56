// Why: the panel's starter (panelStart.ts) knows from the HTML the large files of the model the first command
// will most likely load, and begins reading them in the download worker as soon as it runs; the page's script
// asks for them only once it has run and heard from the host (downloadClient.ts reads them). The page's read of
// such a URL takes the read under way, with its progress so far, rather than reading the file a second time.
// Unlike earlyFetches.ts (an answer whose body the page's read then reads), a read here is the whole file's bytes.

/** Reads a file: stopped by the signal, reporting bytes so far. */
export type FileRead = (signal: AbortSignal, onProgress: (loaded: number, total: number) => void) => Promise<Uint8Array>;

/** A read's progress: the latest, for the read that takes it, and that read's callback. */
interface Progress {
  latest?: [loaded: number, total: number];
  onProgress?: (loaded: number, total: number) => void;
}

interface EarlyRead {
  bytes: Promise<Uint8Array>;
  stop: AbortController;
  progress: Progress;
}

/** The early reads of one page: begun by its starter, taken by its reads, dropped once no read will take them. */
export class EarlyReads {
  private readonly begun = new Map<string, EarlyRead>();
  /** The URLs a read has asked for, taken or not: none is begun for them later (the read reads for itself). */
  private readonly asked = new Set<string>();
  private closed = false;

  /** Begins reading a URL, unless a read of it is under way, a read has asked for it, or the early reads were dropped. */
  begin(url: string, read: FileRead): void {
    if (this.closed || this.begun.has(url) || this.asked.has(url)) return;
    const stop = new AbortController();
    const progress: Progress = {};
    const bytes = read(stop.signal, (loaded, total) => {
      progress.latest = [loaded, total];
      progress.onProgress?.(loaded, total);
    });
    bytes.catch(() => undefined); // the read that takes it reports a failure; one no read took is dropped
    this.begun.set(url, { bytes, stop, progress });
  }

  /**
   * The early read of a URL, taken once (undefined when none was begun, or it was taken or dropped): its progress
   * so far is reported once take has returned (never during it: a caller may still be setting up what its callback
   * reads, as ModelFetcher.prefetch does), later progress as it comes, and the signal stops it.
   */
  take(url: string, onProgress?: (loaded: number, total: number) => void, signal?: AbortSignal): Promise<Uint8Array> | undefined {
    this.asked.add(url);
    const entry = this.begun.get(url);
    if (!entry) return undefined;
    this.begun.delete(url);
    const { progress } = entry;
    progress.onProgress = onProgress;
    queueMicrotask(() => progress.latest && onProgress?.(...progress.latest));
    if (signal?.aborted) entry.stop.abort(signal.reason);
    else signal?.addEventListener('abort', () => entry.stop.abort(signal.reason), { once: true });
    return entry.bytes;
  }

  /**
   * Begins none from now on, and stops and forgets the reads no read took but those of `except` (the page knows
   * its first model, whose files it may not have asked for yet; or it is going away: none kept).
   */
  drop(except: readonly string[] = []): void {
    this.closed = true;
    for (const [url, entry] of this.begun) {
      if (except.includes(url)) continue;
      entry.stop.abort(new DOMException('No read took this early read.', 'AbortError'));
      this.begun.delete(url);
    }
  }
}
