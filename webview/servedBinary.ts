// Why: onnxruntime's worker (ortWorker.ts) streams the build's binary from the extension's file server into the
// compilation itself, rather than taking bytes the page read: Chromium keeps the code it compiled from a fetched,
// cacheable answer, and later pages take it from there (src/fileServer.ts, publish). onnxruntime's loader fetches
// the binary itself; this module checks the server's answer before onnxruntime starts (a build whose start failed
// cannot start again in that worker) and hands the loader that answer.

import { SERVED_HEADER } from '../src/core/protocol';

/** How long the file server may take to answer a binary's request (its headers) before the page sends the bytes instead. */
export const SERVED_ANSWER_MS = 10_000;

/**
 * The file server's answer for onnxruntime's binary, checked (its status, the server's header, the type streaming
 * compilation takes), or why there is none (the URL, and what came).
 */
export async function servedBinary(url: string, answerWithinMs = SERVED_ANSWER_MS): Promise<Response | string> {
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(new Error(`no answer within ${answerWithinMs / 1000} s`)), answerWithinMs);
  try {
    const answer = await fetch(url, { credentials: 'same-origin', signal: stop.signal });
    const type = answer.headers.get('content-type');
    const why = !answer.ok ? `it answered ${answer.status}` : !answer.headers.get(SERVED_HEADER) ? 'another server answered' : type !== 'application/wasm' ? `it sent ${type ?? 'no type'}, not application/wasm` : undefined;
    if (!why) return answer;
    void answer.body?.cancel().catch(() => undefined);
    return `onnxruntime's binary could not be streamed from ${url}: ${why}`;
  } catch (err) {
    return `onnxruntime's binary could not be streamed from ${url}: ${err instanceof Error ? err.message : String(err)}`;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs start while this worker's first fetch of url answers with `answer`: onnxruntime's loader fetches its binary
 * itself and streams it into WebAssembly.instantiateStreaming, which keeps the compiled code for a cacheable answer
 * (Chromium caches a module compiled from a fetched, cacheable response, with the response). Any other fetch, and a
 * second one of url (the loader's fallback, should streaming fail), goes out as usual.
 */
export async function whileFetchAnswers<T>(url: string, answer: Response, start: () => Promise<T>): Promise<T> {
  const own = globalThis.fetch;
  let taken = false;
  globalThis.fetch = (input: Parameters<typeof fetch>[0], init?: RequestInit) => {
    const asked = input instanceof Request ? input.url : String(input);
    if (taken || asked !== url) return own.call(globalThis, input, init);
    taken = true;
    return Promise.resolve(answer);
  };
  try {
    return await start();
  } finally {
    globalThis.fetch = own;
    if (!taken) void answer.body?.cancel().catch(() => undefined); // the build had started: not needed
  }
}
