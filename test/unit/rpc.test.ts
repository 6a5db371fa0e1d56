// Unit tests for the typed protocol endpoint (src/core/rpc.ts): ids, results, errors as {code, message}
// (no stack trace, no absolute path), timeouts, cancellation and rejection on dispose, over a pair of
// linked in-process transports; the params check that runs before any handler; and the one-line,
// bounded form in which webview text reaches the log (src/core/errors.ts).

import * as assert from 'assert';
import { LensError, forLog, redactPaths } from '../../src/core/errors';
import { Endpoint, Envelope, RequestSpec, Transport } from '../../src/core/rpc';

interface AReq {
  add: RequestSpec<{ a: number; b: number }, number>;
  slow: RequestSpec<{ ms: number }, string>;
  fail: RequestSpec<{ message: string }, never>;
  nobody: RequestSpec<null, null>;
}
interface ANote {
  ping: { n: number };
}
type Side = Endpoint<AReq, ANote, AReq, ANote>;

/** Two transports wired to each other; delivery is asynchronous, like postMessage. */
function linkedTransports(log: Envelope[] = []): [Transport, Transport] {
  const handlers: Array<Array<(m: unknown) => void>> = [[], []];
  const make = (self: number): Transport => ({
    post: (message) => {
      log.push(message);
      const copy = JSON.parse(JSON.stringify(message));
      setTimeout(() => handlers[1 - self].forEach((h) => h(copy)), 0);
    },
    listen: (handler) => {
      handlers[self].push(handler);
      return { dispose: () => handlers[self].splice(handlers[self].indexOf(handler), 1) };
    },
  });
  return [make(0), make(1)];
}

function pair(timeoutMs = 1000, log?: Envelope[]) {
  const errors: string[] = [];
  const [ta, tb] = linkedTransports(log);
  const a: Side = new Endpoint(ta, { peer: 'b', timeoutMs, onError: (e) => errors.push(`${e.code}: ${e.message}`) });
  const b: Side = new Endpoint(tb, { peer: 'a', timeoutMs, onError: (e) => errors.push(`${e.code}: ${e.message}`) });
  return { a, b, errors };
}

async function rejection(promise: Promise<unknown>): Promise<LensError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof LensError, `expected a LensError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the promise to reject');
}

describe('rpc Endpoint', () => {
  it('answers requests with typed results and gives every request its own id', async () => {
    const log: Envelope[] = [];
    const { a, b } = pair(1000, log);
    b.onRequest('add', ({ a: x, b: y }) => x + y);
    const results = await Promise.all([a.request('add', { a: 1, b: 2 }), a.request('add', { a: 10, b: 20 }), a.request('add', { a: -1, b: 1 })]);
    assert.deepStrictEqual(results, [3, 30, 0]);
    const ids = log.filter((m) => m.kind === 'request').map((m) => (m as { id: number }).id);
    assert.strictEqual(new Set(ids).size, 3);
    assert.strictEqual(a.pendingCount, 0);
  });

  it('rejects with the handler error as {code, message}', async () => {
    const { a, b } = pair();
    b.onRequest('fail', ({ message }) => {
      throw new LensError('model-invalid', message);
    });
    const err = await rejection(a.request('fail', { message: 'bad manifest' }));
    assert.strictEqual(err.code, 'model-invalid');
    assert.strictEqual(err.message, 'bad manifest');
  });

  it('turns a plain Error into code "internal" and keeps its message', async () => {
    const { a, b } = pair();
    b.onRequest('fail', async ({ message }) => {
      throw new TypeError(message);
    });
    const err = await rejection(a.request('fail', { message: 'x is undefined' }));
    assert.strictEqual(err.code, 'internal');
    assert.strictEqual(err.message, 'x is undefined');
  });

  it('rejects requests nobody handles with "unknown-method"', async () => {
    const { a } = pair();
    const err = await rejection(a.request('nobody', null));
    assert.strictEqual(err.code, 'unknown-method');
    assert.match(err.message, /nobody/);
  });

  it('times out, tells the peer to cancel, and ignores the late answer', async () => {
    const { a, b } = pair(30);
    let peerSignal: AbortSignal | undefined;
    let release!: () => void;
    b.onRequest('slow', (_params, signal) => {
      peerSignal = signal;
      return new Promise<string>((resolve) => (release = () => resolve('late')));
    });
    const err = await rejection(a.request('slow', { ms: 0 }));
    assert.strictEqual(err.code, 'timeout');
    assert.match(err.message, /within 30 ms/);
    await new Promise((r) => setTimeout(r, 10));
    assert.strictEqual(peerSignal?.aborted, true);
    release();
    await new Promise((r) => setTimeout(r, 10));
    assert.strictEqual(a.pendingCount, 0);
  });

  it('honours a per-request timeout over the default', async () => {
    const { a, b } = pair(10_000);
    b.onRequest('slow', () => new Promise<string>(() => undefined));
    const err = await rejection(a.request('slow', { ms: 0 }, { timeoutMs: 20 }));
    assert.strictEqual(err.code, 'timeout');
  });

  it('cancels through an AbortSignal and aborts the handler on the other side', async () => {
    const { a, b } = pair();
    const aborted = new Promise<void>((resolve) => {
      b.onRequest('slow', (_p, signal) => {
        signal.addEventListener('abort', () => resolve());
        return new Promise<string>(() => undefined);
      });
    });
    const controller = new AbortController();
    const pending = a.request('slow', { ms: 0 }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 5);
    assert.strictEqual((await rejection(pending)).code, 'cancelled');
    await aborted;
    const err = await rejection(a.request('slow', { ms: 0 }, { signal: controller.signal }));
    assert.strictEqual(err.code, 'cancelled');
  });

  it('rejects pending requests with "disposed" and refuses new ones after dispose', async () => {
    const { a, b } = pair();
    b.onRequest('slow', () => new Promise<string>(() => undefined));
    const first = a.request('slow', { ms: 0 });
    const second = a.request('slow', { ms: 0 });
    a.dispose();
    assert.strictEqual((await rejection(first)).code, 'disposed');
    assert.strictEqual((await rejection(second)).code, 'disposed');
    assert.strictEqual((await rejection(a.request('add', { a: 1, b: 1 }))).code, 'disposed');
    assert.strictEqual(a.pendingCount, 0);
  });

  it('delivers notifications to every subscriber until they unsubscribe', async () => {
    const { a, b } = pair();
    const seen: number[] = [];
    const first = b.onNotification('ping', ({ n }) => seen.push(n));
    b.onNotification('ping', ({ n }) => seen.push(n * 100));
    a.notify('ping', { n: 1 });
    await new Promise((r) => setTimeout(r, 5));
    first.dispose();
    a.notify('ping', { n: 2 });
    await new Promise((r) => setTimeout(r, 5));
    assert.deepStrictEqual(seen, [1, 100, 200]);
  });

  it('reports malformed messages and notifications without handlers instead of dropping them silently', async () => {
    const errors: string[] = [];
    let deliver!: (m: unknown) => void;
    const transport: Transport = { post: () => undefined, listen: (h) => ((deliver = h), { dispose: () => undefined }) };
    new Endpoint<AReq, ANote, AReq, ANote>(transport, { peer: 'peer', onError: (e) => errors.push(e.code) });
    deliver({ kind: 'request', id: 'x' });
    deliver('hello');
    deliver({ kind: 'notification', method: 'ping', params: { n: 1 } });
    assert.deepStrictEqual(errors, ['bad-message', 'bad-message', 'unknown-method']);
  });

  it('refuses a second handler for the same request', () => {
    const { b } = pair();
    b.onRequest('add', () => 0);
    assert.throws(() => b.onRequest('add', () => 1), /already registered/);
  });

  it('answers errors as {code, message} only: no stack trace, no absolute path', async () => {
    const log: Envelope[] = [];
    const { a, b } = pair(1000, log);
    b.onRequest('fail', ({ message }) => {
      throw new Error(message);
    });
    const err = await rejection(a.request('fail', { message: "ENOENT: no such file or directory, open '/home/someone/project/model.onnx'" }));
    assert.strictEqual(err.message, "ENOENT: no such file or directory, open '…/model.onnx'");
    const answer = log.find((m) => m.kind === 'response');
    assert.ok(answer?.kind === 'response' && answer.error);
    assert.deepStrictEqual(Object.keys(answer.error).sort(), ['code', 'message']);
  });

  it('checks params before any handler runs and answers a rejection with "bad-request"', async () => {
    const errors: string[] = [];
    const [ta, tb] = linkedTransports();
    const a: Side = new Endpoint(ta, { peer: 'b' });
    const b: Side = new Endpoint(tb, {
      peer: 'a',
      onError: (e) => errors.push(`${e.code}: ${e.message}`),
      check: (_kind, method, params) => {
        if (method === 'fail') throw new TypeError('checker bug');
        const p = params as { a?: unknown; n?: unknown };
        return typeof p?.a === 'number' || typeof p?.n === 'number' ? { ok: true, params: { ...p, checked: true } } : { ok: false, message: `"${method}": params.a must be a number` };
      },
    });
    let calls = 0;
    let seen: unknown;
    b.onRequest('add', (p) => ((calls++, (seen = p)), 0));
    b.onNotification('ping', () => calls++);
    const err = await rejection(a.request('add', { a: 'x', b: 1 } as never));
    assert.strictEqual(err.code, 'bad-request');
    assert.match(err.message, /"add": params\.a/);
    a.notify('ping', { n: 'x' } as never);
    await new Promise((r) => setTimeout(r, 5));
    assert.strictEqual(calls, 0);
    assert.deepStrictEqual(errors, ['bad-request: "add": params.a must be a number', 'bad-request: "ping": params.a must be a number']);
    assert.strictEqual(await a.request('add', { a: 1, b: 2 }), 0);
    assert.deepStrictEqual(seen, { a: 1, b: 2, checked: true }, 'the handler gets the checked copy');
    b.onRequest('fail', () => 1 as never);
    const boom = await rejection(a.request('fail', { message: 'x' }));
    assert.strictEqual(boom.code, 'bad-request');
  });

  it('ignores envelopes with fractional ids or oversized method names', () => {
    const errors: string[] = [];
    let deliver!: (m: unknown) => void;
    const transport: Transport = { post: () => undefined, listen: (h) => ((deliver = h), { dispose: () => undefined }) };
    new Endpoint<AReq, ANote, AReq, ANote>(transport, { peer: 'peer', onError: (e) => errors.push(e.code) });
    deliver({ kind: 'request', id: 1.5, method: 'add', params: {} });
    deliver({ kind: 'notification', method: 'p'.repeat(101), params: {} });
    deliver({ kind: 'cancel', id: NaN });
    assert.deepStrictEqual(errors, ['bad-message', 'bad-message', 'bad-message']);
  });
});

describe('sanitising text for logs and answers', () => {
  it('logs webview text as one line of at most 2,000 characters', () => {
    const forged = `failed\n[error] forged line\r\u2028${'x'.repeat(5_000_000)}`;
    const line = forLog(forged);
    assert.ok(!/[\n\r\u2028]/.test(line));
    assert.match(line, /^failed\\n\[error\] forged line\\r\\u2028x+… \(\d+ more characters\)$/);
    assert.ok(line.length < 2100);
    assert.strictEqual(forLog('short'), 'short');
    assert.ok(!forLog(`${'x'.repeat(1999)}\u{1F600}`).includes('\ud83d…'), 'never half a character');
  });

  it('replaces absolute paths and file URIs by their last segment, and leaves other text alone', () => {
    assert.strictEqual(redactPaths("open '/home/u/a/model.onnx'"), "open '…/model.onnx'");
    assert.strictEqual(redactPaths('at f (/usr/lib/x.js:10:5)'), 'at f (…/x.js:10:5)');
    assert.strictEqual(redactPaths('file:///home/u/My%20Docs/a.json is bad'), '…/a.json is bad');
    assert.strictEqual(redactPaths('C:\\Users\\bob\\x.png failed'), '…/x.png failed');
    assert.strictEqual(redactPaths('see ~/.ssh/id_rsa'), 'see …/id_rsa');
    const plain = '3.2 bits/byte, 1/2 of https://example.com/a/b, vscode-webview://abc/index.html, ./a/b';
    assert.strictEqual(redactPaths(plain), plain);
  });
});
