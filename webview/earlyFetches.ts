// Why: the panel's starter (panelStart.ts) knows from the HTML which model the first command will most likely
// load, long before the page's script does (which asks the host). It starts fetching that model's files
// once onnxruntime's binary has arrived: not beside it, as preloads in the HTML would, since both come from the
// same slow server and the binary is what the backend waits for (in two cold commands here its 13.6 MiB took
// 276 ms alone and 867 ms beside the model's 5 MiB). The page's reads of those URLs (fetchBytes.ts) take the
// answers. The two are separate bundles, so the page's global object holds them.

/** A fetch begun early: its answer, and how to stop it (a read that is stopped, or times out, stops it). */
export interface EarlyFetch {
  readonly response: Promise<Response>;
  abort(reason?: unknown): void;
}

/** The early fetches of one page: started by its starter, taken by its reads, dropped once no read will take them. */
export class EarlyFetches {
  private readonly started = new Map<string, EarlyFetch>();
  /** The URLs a read has asked for, taken or not: none is started for them later (the read fetched for itself). */
  private readonly asked = new Set<string>();
  private closed = false;

  /**
   * Starts fetching each URL (as fetchBytes would: a plain GET), unless one is under way for it, a read has asked for
   * it already, or the early fetches were dropped.
   */
  start(urls: readonly string[]): void {
    if (this.closed) return;
    for (const url of urls) {
      if (this.started.has(url) || this.asked.has(url)) continue;
      const controller = new AbortController();
      const response = fetch(url, { signal: controller.signal });
      response.catch(() => undefined); // the read that takes it reports a failure; one no read took is dropped
      this.started.set(url, { response, abort: (reason) => controller.abort(reason) });
    }
  }

  /** The early fetch of a URL, taken once: undefined when none was started (or it was taken or dropped). */
  take(url: string): EarlyFetch | undefined {
    this.asked.add(url);
    const early = this.started.get(url);
    this.started.delete(url);
    return early;
  }

  /**
   * Starts none from now on, and stops and forgets the fetches no read took but those of `except` (the page knows
   * its first model, whose files it may not have asked for yet; or it is going away: none kept).
   */
  drop(except: readonly string[] = []): void {
    this.closed = true;
    for (const [url, early] of this.started) {
      if (except.includes(url)) continue;
      early.abort(new DOMException('No read took this early fetch.', 'AbortError'));
      this.started.delete(url);
    }
  }
}

const KEY = Symbol.for('attentionLens.earlyFetches');
type Holder = { [KEY]?: EarlyFetches };

/** The page's early fetches, on its global object: the starter and the page's script are separate bundles. */
export function pageEarlyFetches(): EarlyFetches {
  const holder = globalThis as unknown as Holder;
  return (holder[KEY] ??= new EarlyFetches());
}
