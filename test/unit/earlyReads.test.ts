// Unit tests of webview/earlyReads.ts, whose reads are fetchBytes (webview/fetchBytes.ts) against a real HTTP server
// (Node's fetch, as a webview's): a read takes the read the starter began for its URL (the server answers once) with
// its progress so far, a read that is stopped stops it, its failure is the taker's, none begins for a URL a read
// already asked for, and dropped reads are stopped (but those of the files the page's first model reads).

import * as assert from 'assert';
import { EarlyFetches } from '../../webview/earlyFetches';
import { EarlyReads, type FileRead } from '../../webview/earlyReads';
import { fetchBytes } from '../../webview/fetchBytes';
import { BODY, type HeldServer, startHeldServer } from './heldServer';

describe("early reads (the panel's starter reads the likely first model's large files)", () => {
  let server: HeldServer;
  let base = '';
  let asked: HeldServer['asked'];
  let held: HeldServer['held'];
  let closed: HeldServer['closed'];

  before(async () => {
    server = await startHeldServer();
    ({ base, asked, held, closed } = server);
  });

  after(() => server.close());

  const until = async (done: () => boolean) => {
    while (!done()) await new Promise((resolve) => setImmediate(resolve));
  };
  /** A read of a URL as the download worker makes it (fetchBytes), recording the progress it reports. */
  const readOf = (url: string, what: string, progress: number[] = []): FileRead => (signal, onProgress) =>
    fetchBytes(url, { what, code: 'model-invalid', early: new EarlyFetches(), signal, onProgress: (loaded, total) => (progress.push(loaded), onProgress(loaded, total)) });

  it('gives a read the bytes of the read begun for its URL, with its progress so far and then as it comes: the server is asked once', async () => {
    const early = new EarlyReads();
    const url = `${base}/held/model.onnx`;
    const progress: number[] = [];
    early.begin(url, readOf(url, 'm/model.onnx', progress));
    await until(() => progress.length > 0); // the first 1,000 bytes arrived before the page asks
    const told: Array<[number, number]> = [];
    // Called only once take has returned: a caller may still be setting up what its callback reads (ModelFetcher.prefetch
    // does; a callback run during take threw there, and the page then stopped using the file server).
    let returned = false;
    const taken = early.take(url, (loaded, total) => {
      assert.ok(returned, 'no progress is reported during take');
      told.push([loaded, total]);
    });
    returned = true;
    assert.ok(taken, 'a read was begun for the URL');
    await Promise.resolve();
    assert.deepStrictEqual(told, [[1000, BODY.length]], 'the progress so far, once take has returned');
    held.get('/held/model.onnx')!.end(BODY.subarray(1000));
    const bytes = await taken;
    assert.ok(Buffer.from(bytes).equals(Buffer.from(BODY)), 'the bytes are the body');
    assert.deepStrictEqual(told[told.length - 1], [BODY.length, BODY.length], 'then the rest of it, to the end');
    assert.strictEqual(asked.get('/held/model.onnx'), 1, 'one request: the read took the early one');
    assert.strictEqual(early.take(url), undefined, 'taken once');
  });

  it("reports the early read's failure as the taking read's, naming the file", async () => {
    const early = new EarlyReads();
    const url = `${base}/missing/model.onnx`;
    early.begin(url, readOf(url, 'gpt2-big/model.onnx'));
    await until(() => asked.get('/missing/model.onnx') === 1);
    await assert.rejects(early.take(url)!, /^LensError: Could not load gpt2-big\/model\.onnx \(404 Not Found\)\.$/);
  });

  it('begins nothing for a URL a read already asked for (it read for itself), nor twice for one', async () => {
    const early = new EarlyReads();
    const first = `${base}/first.onnx`;
    const second = `${base}/second.onnx`;
    assert.strictEqual(early.take(first), undefined, 'none begun: the page reads for itself');
    early.begin(first, readOf(first, 'first'));
    early.begin(second, readOf(second, 'second'));
    early.begin(second, readOf(second, 'second'));
    await early.take(second);
    assert.strictEqual(asked.get('/first.onnx'), undefined, 'no early read of a URL a read asked for');
    assert.strictEqual(asked.get('/second.onnx'), 1);
  });

  it('stops the early read when the read that took it is stopped', async () => {
    const early = new EarlyReads();
    const url = `${base}/held/stopped`;
    early.begin(url, readOf(url, 'held'));
    await until(() => asked.get('/held/stopped') === 1);
    const stop = new AbortController();
    const read = early.take(url, undefined, stop.signal)!;
    stop.abort(new Error('the page loads another model'));
    await assert.rejects(read, /the page loads another model/);
    await closed.get('/held/stopped'); // the connection ends: the read was stopped, not left reading
  });

  it("keeps, when dropped, the reads of the files the page's first model reads; stops the others, and begins none afterwards", async () => {
    const early = new EarlyReads();
    const kept = `${base}/kept.onnx`;
    const other = `${base}/held/other`;
    early.begin(kept, readOf(kept, 'kept'));
    early.begin(other, readOf(other, 'other'));
    await until(() => asked.get('/held/other') === 1);
    early.drop([kept]);
    await closed.get('/held/other'); // the other model's file: stopped
    assert.strictEqual(early.take(other), undefined);
    const bytes = await early.take(kept)!;
    assert.strictEqual(bytes.length, BODY.length, 'the kept read, taken afterwards');
    const late = `${base}/late.onnx`;
    early.begin(late, readOf(late, 'late'));
    assert.strictEqual(early.take(late), undefined, 'none begun after the drop');
    assert.strictEqual(asked.get('/late.onnx'), undefined);
  });
});
