// Unit tests of webview/earlyFetches.ts with fetchBytes (webview/fetchBytes.ts) against a real HTTP server (Node's
// fetch, as a webview's): a read takes the fetch the starter began for its URL (the server answers once), a read
// that is stopped stops it, no fetch starts for a URL a read already asked for, and dropped fetches are stopped
// (but those of the files the page's first model reads).

import * as assert from 'assert';
import { EarlyFetches } from '../../webview/earlyFetches';
import { fetchBytes } from '../../webview/fetchBytes';
import { BODY, type HeldServer, startHeldServer } from './heldServer';

describe('early fetches (the panel starter fetches the likely first model)', () => {
  let server: HeldServer;
  let base = '';
  let asked: HeldServer['asked'];
  let closed: HeldServer['closed'];

  before(async () => {
    server = await startHeldServer();
    ({ base, asked, closed } = server);
  });

  after(() => server.close());

  const until = async (path: string, count: number) => {
    while ((asked.get(path) ?? 0) < count) await new Promise((resolve) => setImmediate(resolve));
  };

  it('gives a read the answer of the fetch begun for its URL: the server is asked once', async () => {
    const early = new EarlyFetches();
    early.start([`${base}/model.onnx`, `${base}/tokenizer.json`]);
    await until('/model.onnx', 1);
    const bytes = await fetchBytes(`${base}/model.onnx`, { what: 'm/model.onnx', code: 'model-invalid', early });
    assert.ok(Buffer.from(bytes).equals(Buffer.from(BODY)), 'the bytes are the body');
    assert.strictEqual(asked.get('/model.onnx'), 1, 'one request: the read took the early one');
    assert.strictEqual(early.take(`${base}/model.onnx`), undefined, 'taken once');
    // The other file, read after the early fetch began, too.
    await fetchBytes(`${base}/tokenizer.json`, { what: 'm/tokenizer.json', code: 'model-invalid', early });
    assert.strictEqual(asked.get('/tokenizer.json'), 1);
  });

  it('starts nothing for a URL a read already asked for (it fetched for itself), nor twice for one', async () => {
    const early = new EarlyFetches();
    await fetchBytes(`${base}/first.onnx`, { what: 'first', code: 'model-invalid', early });
    early.start([`${base}/first.onnx`, `${base}/second.onnx`, `${base}/second.onnx`]);
    early.start([`${base}/second.onnx`]);
    await fetchBytes(`${base}/second.onnx`, { what: 'second', code: 'model-invalid', early });
    assert.strictEqual(asked.get('/first.onnx'), 1, 'the read fetched it; no early fetch followed');
    assert.strictEqual(asked.get('/second.onnx'), 1);
  });

  it('stops the early fetch when the read that took it is stopped', async () => {
    const early = new EarlyFetches();
    early.start([`${base}/held/stopped`]);
    await until('/held/stopped', 1);
    const stop = new AbortController();
    const read = fetchBytes(`${base}/held/stopped`, { what: 'held', code: 'model-invalid', early, signal: stop.signal });
    stop.abort(new Error('the page loads another model'));
    await assert.rejects(read, /the page loads another model/);
    await closed.get('/held/stopped'); // the connection ends: the fetch was stopped, not left reading
    assert.strictEqual(asked.get('/held/stopped'), 1);
  });

  it('gives up on an early fetch that does not finish in time, as on its own, naming the file', async () => {
    const early = new EarlyFetches();
    early.start([`${base}/held/stalled`]);
    await until('/held/stalled', 1);
    await assert.rejects(fetchBytes(`${base}/held/stalled`, { what: 'm/stalled.onnx', code: 'model-invalid', early, stallMs: 150 }), (err: Error) => /m\/stalled\.onnx/.test(err.message));
    await closed.get('/held/stalled');
  });

  it("keeps, when dropped, the fetches of the files the page's first model reads: a read takes them afterwards", async () => {
    const early = new EarlyFetches();
    early.start([`${base}/kept.onnx`, `${base}/held/other`]);
    await until('/held/other', 1);
    early.drop([`${base}/kept.onnx`]);
    await closed.get('/held/other'); // the other model's file: stopped
    await fetchBytes(`${base}/kept.onnx`, { what: 'kept', code: 'model-invalid', early });
    assert.strictEqual(asked.get('/kept.onnx'), 1, 'the read took the kept early fetch');
    early.start([`${base}/after-drop.onnx`]);
    assert.strictEqual(early.take(`${base}/after-drop.onnx`), undefined, 'none started after the drop');
  });

  it('stops the fetches no read took once dropped, and starts none afterwards', async () => {
    const early = new EarlyFetches();
    early.start([`${base}/held/dropped`]);
    await until('/held/dropped', 1);
    early.drop();
    await closed.get('/held/dropped');
    assert.strictEqual(early.take(`${base}/held/dropped`), undefined);
    early.start([`${base}/late.onnx`]);
    await fetchBytes(`${base}/late.onnx`, { what: 'late', code: 'model-invalid', early });
    assert.strictEqual(asked.get('/late.onnx'), 1, "the read's own fetch: no early one was started after the drop");
  });
});
