// Why: a binary that onnxruntime's worker streams from the file server is compiled as it arrives, and the worker
// tells only when the compiled binary's session exists: 0.5–0.9 s after its last byte in five cold windows here. The
// model's files wait for the binary's bytes, not for its compilation (earlyFetches.ts says why they wait at all).
// The page's HTML preloads that binary, and the preload's end shows in the page's resource timing: this watches
// for it.

/** Settles once the page's resource timing holds an entry for the URL (its answer has ended), or the watch stops. */
export interface ResourceArrival {
  readonly arrived: Promise<void>;
  stop(): void;
}

/**
 * Watches the page's resource timing for a fetch of `url` that has ended (a preload's or a fetch's, from the
 * network or the browser's cache; a failed one too: the model's files then need not wait). Where the page has no
 * PerformanceObserver for resources, `arrived` settles only when stopped.
 */
export function watchArrival(url: string, scope: { PerformanceObserver?: typeof PerformanceObserver } = globalThis): ResourceArrival {
  const wanted = new URL(url).href;
  let settle: () => void = () => undefined;
  const arrived = new Promise<void>((resolve) => (settle = resolve));
  const Observer = scope.PerformanceObserver;
  if (!Observer?.supportedEntryTypes?.includes('resource')) return { arrived, stop: () => settle() };
  const observer = new Observer((list) => {
    if (list.getEntriesByName(wanted).length === 0) return;
    observer.disconnect();
    settle();
  });
  observer.observe({ type: 'resource', buffered: true }); // an entry made before the watch began counts
  return {
    arrived,
    stop: () => {
      observer.disconnect();
      settle();
    },
  };
}
