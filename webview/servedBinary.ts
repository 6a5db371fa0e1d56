// Why: onnxruntime's worker (ortWorker.ts) compiles the build's binary as it streams from the extension's file
// server, rather than from bytes the page read: Chromium keeps the code it compiled from a fetched, cacheable answer,
// and later pages take it from there (src/fileServer.ts, publish). The worker compiles it here, before onnxruntime
// starts, so that any failure (another server's answer, none in time, a body cut or stalled) is known while the page
// can still send the bytes instead (a build whose start failed cannot start again in that worker); then it hands
// onnxruntime's loader, which fetches and instantiates its binary itself, the compiled module.

import { checkedAnswer } from './fetchBytes';
import { SERVED_READ } from './fileRoutes';

/** How long the binary may take to arrive and compile once answered (2.3 MB as Brotli: 20 KB/s at least). */
export const SERVED_COMPILE_MS = 120_000;

/** Time limits of servedModule (tests shorten them). */
export interface ServedLimits {
  answerWithinMs?: number;
  compiledWithinMs?: number;
}

/**
 * onnxruntime's binary from the file server, compiled as it streams (its answer checked first, as every served read's
 * is, and its type: streaming compilation takes only application/wasm), or why there is none (naming the URL).
 */
export async function servedModule(url: string, { answerWithinMs = SERVED_READ.answerWithinMs, compiledWithinMs = SERVED_COMPILE_MS }: ServedLimits = {}): Promise<WebAssembly.Module | string> {
  const what = `onnxruntime's binary from ${url}`;
  const stop = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const answer = await checkedAnswer(url, { what, code: 'backend-unavailable', answerWithinMs, requireHeader: SERVED_READ.requireHeader, signal: stop.signal });
    const type = answer.headers.get('content-type');
    if (type !== 'application/wasm') {
      void answer.body.cancel().catch(() => undefined);
      return `Could not load ${what} (it was sent as ${type ?? 'no type'}, not application/wasm).`;
    }
    timer = setTimeout(() => stop.abort(), compiledWithinMs);
    try {
      return await WebAssembly.compileStreaming(answer);
    } catch (err) {
      const why = stop.signal.aborted ? `not all of it arrived and compiled within ${compiledWithinMs / 1000} s` : err instanceof Error ? err.message : String(err);
      return `Could not load ${what} (${why}).`;
    }
  } catch (err) {
    return err instanceof Error ? err.message : String(err); // checkedAnswer's, naming the file and why
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Lends onnxruntime's loader a compiled module: the loader fetches its binary from a URL and instantiates it with
 * WebAssembly.instantiateStreaming, and while during() runs, its first fetch of that URL is answered without a request,
 * and that answer is instantiated from the module, with the loader's imports. Anything else goes on as usual; once no
 * call is running, both functions are themselves again. One per worker (ortWorker.ts).
 */
export class LoaderModules {
  private readonly lent = new Map<string, WebAssembly.Module>();
  private readonly answers = new Map<Response, WebAssembly.Module>();
  private running = 0;
  private own: { fetch: typeof fetch; instantiate: typeof WebAssembly.instantiateStreaming } | undefined;

  async during<T>(url: string, module: WebAssembly.Module, start: () => Promise<T>): Promise<T> {
    this.lent.set(url, module);
    if (this.running++ === 0) this.install();
    try {
      return await start();
    } finally {
      this.lent.delete(url);
      if (--this.running === 0) this.uninstall();
    }
  }

  private install(): void {
    const own = (this.own = { fetch: globalThis.fetch, instantiate: WebAssembly.instantiateStreaming });
    globalThis.fetch = (input, init) => {
      const url = input instanceof Request ? input.url : String(input);
      const module = this.lent.get(url);
      if (!module) return own.fetch.call(globalThis, input, init);
      this.lent.delete(url); // its first fetch only
      const answer = new Response(null, { status: 200 });
      this.answers.set(answer, module);
      return Promise.resolve(answer);
    };
    WebAssembly.instantiateStreaming = async (source, imports) => {
      const answer = await source;
      const module = this.answers.get(answer);
      if (!module) return own.instantiate.call(WebAssembly, answer, imports);
      this.answers.delete(answer);
      return { module, instance: await WebAssembly.instantiate(module, imports) };
    };
  }

  private uninstall(): void {
    if (!this.own) return;
    globalThis.fetch = this.own.fetch;
    WebAssembly.instantiateStreaming = this.own.instantiate;
    this.own = undefined;
    this.answers.clear();
  }
}
