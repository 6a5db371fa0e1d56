// A typed request/notification endpoint over any postMessage-like transport. Both the extension host
// (webview.postMessage) and the webview (acquireVsCodeApi().postMessage) wrap their side in one of these:
// every request carries an id, has a timeout, can be cancelled, and is rejected with {code, message}.
// Why the `check` option: the side that cannot trust its peer (the host) checks every incoming request's
// and notification's params before any handler runs, and answers {code, message} without a stack trace
// or a path of its machine (wireError).

import { ErrorPayload, LensError, fromErrorPayload, isErrorPayload, toErrorPayload, wireError } from './errors';

/** A request method's parameter and result types. */
export interface RequestSpec<P = unknown, R = unknown> {
  params: P;
  result: R;
}
export type RequestMapOf<T> = { [K in keyof T]: RequestSpec };

/** The wire messages. */
export type Envelope =
  | { kind: 'request'; id: number; method: string; params: unknown }
  | { kind: 'response'; id: number; result?: unknown; error?: ErrorPayload }
  | { kind: 'notification'; method: string; params: unknown }
  | { kind: 'cancel'; id: number };

/** The minimal channel an endpoint needs: post a message, subscribe to incoming ones. */
export interface Transport {
  post(message: Envelope): void;
  listen(handler: (message: unknown) => void): { dispose(): void };
}

export interface EndpointOptions {
  /** Name used in error messages (e.g. "webview", "host"). */
  peer: string;
  /** Default request timeout in milliseconds. */
  timeoutMs?: number;
  /** Called with malformed or rejected messages and failures of notification handlers; never silent. */
  onError?: (error: ErrorPayload) => void;
  /**
   * Checks the params of an incoming request or notification before its handlers run: returns the params
   * to hand them (a checked copy), or why they were rejected (answered and reported as "bad-request").
   */
  check?: (kind: 'request' | 'notification', method: string, params: unknown) => { ok: true; params: unknown } | { ok: false; message: string };
}

export interface RequestOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

interface Pending {
  resolve(value: unknown): void;
  reject(reason: LensError): void;
  cleanup(): void;
}

type RequestHandler = (params: unknown, signal: AbortSignal) => unknown;
type NotificationHandler = (params: unknown) => void;

export const DEFAULT_TIMEOUT_MS = 30_000;
/** Longest method name an envelope may carry (the protocol's are far shorter). */
const MAX_METHOD_LENGTH = 100;

const isId = (id: unknown) => Number.isSafeInteger(id);
const isMethod = (method: unknown) => typeof method === 'string' && method.length > 0 && method.length <= MAX_METHOD_LENGTH;

export function isEnvelope(value: unknown): value is Envelope {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const m = value as Record<string, unknown>;
  switch (m.kind) {
    case 'request':
      return isId(m.id) && isMethod(m.method);
    case 'response':
      return isId(m.id) && (m.error === undefined || isErrorPayload(m.error));
    case 'notification':
      return isMethod(m.method);
    case 'cancel':
      return isId(m.id);
    default:
      return false;
  }
}

/**
 * One side of a conversation. `Out*` are what this side sends, `In*` what it answers.
 */
export class Endpoint<
  OutRequests extends RequestMapOf<OutRequests>,
  OutNotifications,
  InRequests extends RequestMapOf<InRequests>,
  InNotifications,
> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly requestHandlers = new Map<string, RequestHandler>();
  private readonly notificationHandlers = new Map<string, NotificationHandler[]>();
  private readonly incoming = new Map<number, AbortController>();
  private readonly subscription: { dispose(): void };
  private disposed = false;

  constructor(
    private readonly transport: Transport,
    private readonly options: EndpointOptions,
  ) {
    this.subscription = transport.listen((message) => this.receive(message));
  }

  /** Sends a request and resolves with its typed result, or rejects with a LensError. */
  request<K extends keyof OutRequests & string>(
    method: K,
    params: OutRequests[K]['params'],
    options: RequestOptions = {},
  ): Promise<OutRequests[K]['result']> {
    if (this.disposed) {
      return Promise.reject(new LensError('disposed', `Cannot send "${method}": the ${this.options.peer} connection is closed.`));
    }
    if (options.signal?.aborted) {
      return Promise.reject(new LensError('cancelled', `"${method}" was cancelled before it was sent.`));
    }
    const id = this.nextId++;
    const timeoutMs = options.timeoutMs ?? this.options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<OutRequests[K]['result']>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.settle(id)?.reject(
          new LensError('timeout', `The ${this.options.peer} did not answer "${method}" within ${timeoutMs} ms.`),
        );
        this.transport.post({ kind: 'cancel', id });
      }, timeoutMs);
      const onAbort = () => {
        this.settle(id)?.reject(new LensError('cancelled', `"${method}" was cancelled.`));
        this.transport.post({ kind: 'cancel', id });
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: resolve as (value: unknown) => void,
        reject,
        cleanup: () => {
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
        },
      });
      this.transport.post({ kind: 'request', id, method, params });
    });
  }

  /** Sends a one-way message. */
  notify<K extends keyof OutNotifications & string>(method: K, params: OutNotifications[K]): void {
    if (!this.disposed) {
      this.transport.post({ kind: 'notification', method, params });
    }
  }

  /** Answers requests of one method; the handler's signal aborts when the peer cancels. */
  onRequest<K extends keyof InRequests & string>(
    method: K,
    handler: (params: InRequests[K]['params'], signal: AbortSignal) => InRequests[K]['result'] | Promise<InRequests[K]['result']>,
  ): { dispose(): void } {
    if (this.requestHandlers.has(method)) {
      throw new Error(`A handler for "${method}" is already registered.`);
    }
    this.requestHandlers.set(method, handler as RequestHandler);
    return { dispose: () => this.requestHandlers.delete(method) };
  }

  /** Subscribes to notifications of one method. */
  onNotification<K extends keyof InNotifications & string>(
    method: K,
    handler: (params: InNotifications[K]) => void,
  ): { dispose(): void } {
    const list = this.notificationHandlers.get(method) ?? [];
    list.push(handler as NotificationHandler);
    this.notificationHandlers.set(method, list);
    return {
      dispose: () => {
        const current = this.notificationHandlers.get(method);
        current?.splice(current.indexOf(handler as NotificationHandler) >>> 0, 1);
      },
    };
  }

  /** Number of requests still waiting for an answer. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Rejects every pending request with code "disposed" and stops listening. */
  dispose(): void {
    if (this.disposed) {
      return;
    }
    this.disposed = true;
    this.subscription.dispose();
    for (const id of [...this.pending.keys()]) {
      this.settle(id)?.reject(new LensError('disposed', `The ${this.options.peer} closed before answering.`));
    }
    for (const controller of this.incoming.values()) {
      controller.abort();
    }
    this.incoming.clear();
  }

  private settle(id: number): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry) {
      this.pending.delete(id);
      entry.cleanup();
    }
    return entry;
  }

  private reportError(error: ErrorPayload): void {
    if (this.options.onError) {
      this.options.onError(error);
    } else {
      console.error(`[${this.options.peer}] ${error.code}: ${error.message}`);
    }
  }

  private receive(message: unknown): void {
    if (this.disposed) {
      return;
    }
    if (!isEnvelope(message)) {
      this.reportError({ code: 'bad-message', message: `Ignored a malformed message from the ${this.options.peer}: ${safeJson(message)}` });
      return;
    }
    switch (message.kind) {
      case 'response': {
        const entry = this.settle(message.id);
        if (!entry) {
          return; // Answer to a request that already timed out or was cancelled.
        }
        if (message.error) {
          entry.reject(fromErrorPayload(message.error));
        } else {
          entry.resolve(message.result);
        }
        return;
      }
      case 'cancel':
        this.incoming.get(message.id)?.abort();
        return;
      case 'notification': {
        const handlers = this.notificationHandlers.get(message.method);
        if (!handlers?.length) {
          this.reportError({ code: 'unknown-method', message: `No handler for notification ${JSON.stringify(message.method)} from the ${this.options.peer}.` });
          return;
        }
        const checked = this.checkParams('notification', message.method, message.params);
        if (!checked.ok) {
          this.reportError(checked.error);
          return;
        }
        for (const handler of [...handlers]) {
          try {
            handler(checked.params);
          } catch (err) {
            this.reportError(toErrorPayload(err));
          }
        }
        return;
      }
      case 'request':
        void this.answer(message.id, message.method, message.params);
        return;
    }
  }

  private async answer(id: number, method: string, params: unknown): Promise<void> {
    const handler = this.requestHandlers.get(method);
    if (!handler) {
      this.transport.post({
        kind: 'response',
        id,
        error: { code: 'unknown-method', message: `No handler for request ${JSON.stringify(method)} from the ${this.options.peer}.` },
      });
      return;
    }
    const checked = this.checkParams('request', method, params);
    if (!checked.ok) {
      this.reportError(checked.error);
      this.transport.post({ kind: 'response', id, error: checked.error });
      return;
    }
    const controller = new AbortController();
    this.incoming.set(id, controller);
    try {
      const result = await handler(checked.params, controller.signal);
      if (!this.disposed) {
        this.transport.post({ kind: 'response', id, result });
      }
    } catch (err) {
      const error = wireError(err);
      if (error.code === 'bad-request') this.reportError(error); // a handler's own check rejected it: logged like the schema's
      if (!this.disposed) {
        this.transport.post({ kind: 'response', id, error });
      }
    } finally {
      this.incoming.delete(id);
    }
  }

  /** The params to hand the handlers, or the "bad-request" error; a failing check never escapes. */
  private checkParams(kind: 'request' | 'notification', method: string, params: unknown): { ok: true; params: unknown } | { ok: false; error: ErrorPayload } {
    const check = this.options.check;
    if (!check) return { ok: true, params };
    try {
      const result = check(kind, method, params);
      return result.ok ? result : { ok: false, error: { code: 'bad-request', message: result.message } };
    } catch (err) {
      return { ok: false, error: { code: 'bad-request', message: `${JSON.stringify(method)}: params could not be checked (${wireError(err).message})` } };
    }
  }
}

function safeJson(value: unknown): string {
  try {
    const text = JSON.stringify(value);
    return text === undefined ? String(value) : text.length > 200 ? `${text.slice(0, 200)}…` : text;
  } catch {
    return String(value);
  }
}
