// Unit tests of webview/fetchBytes.ts against a real HTTP server (Node's fetch, as a webview's): a body with a
// Content-Length is written into one array of that size, a chunked one without a length and a gzip-encoded one
// (more bytes arrive than the compressed length declares, which is not taken for their size) are collected, progress
// counts every byte, and a
// missing file is an error that names it; a body without a length is written into the array of the size
// expected, and a server that does not answer in time, or stops sending, is given up on.

import * as assert from 'assert';
import { type Server, createServer } from 'http';
import type { AddressInfo } from 'net';
import { gzipSync } from 'zlib';
import { LensError } from '../../src/core/errors';
import { fetchBytes } from '../../webview/fetchBytes';

const BODY = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7919) % 251);

describe('fetchBytes (webview resource reads)', () => {
  let server: Server;
  let base = '';

  before(async () => {
    server = createServer((req, res) => {
      if (req.url === '/declared') {
        res.writeHead(200, { 'content-length': String(BODY.length) });
        // In several writes, so that the body arrives in several chunks.
        for (let i = 0; i < BODY.length; i += 65_536) res.write(BODY.subarray(i, i + 65_536));
        res.end();
      } else if (req.url === '/chunked') {
        res.writeHead(200, { 'transfer-encoding': 'chunked' });
        for (let i = 0; i < BODY.length; i += 50_000) res.write(BODY.subarray(i, i + 50_000));
        res.end();
      } else if (req.url === '/stall') {
        // Begins, then stops sending: the rest never comes.
        res.writeHead(200, { 'content-length': String(BODY.length) });
        res.write(BODY.subarray(0, 1000));
      } else if (req.url === '/silent') {
        // Never answers: the request stays open until the client gives up.
      } else if (req.url === '/gzip') {
        const zipped = gzipSync(BODY);
        res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(zipped.length) });
        res.end(zipped);
      } else {
        res.writeHead(404, 'Not Found');
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  for (const path of ['/declared', '/chunked', '/gzip']) {
    it(`returns every byte of a ${path.slice(1)} body, reporting progress up to its length`, async () => {
      const progress: number[] = [];
      const bytes = await fetchBytes(`${base}${path}`, { what: 'the test file', code: 'model-invalid', onProgress: (loaded) => progress.push(loaded) });
      assert.strictEqual(bytes.length, BODY.length);
      assert.ok(Buffer.from(bytes).equals(Buffer.from(BODY)), 'the bytes are the body');
      assert.strictEqual(bytes.byteOffset, 0);
      assert.strictEqual(bytes.buffer.byteLength, BODY.length, 'the array owns its whole buffer (so it can be transferred to a worker)');
      assert.strictEqual(progress.at(-1), BODY.length);
      assert.ok(progress.every((p, i) => i === 0 || p > progress[i - 1]), 'progress only grows');
    });
  }

  it('names the file it could not read, with the status', async () => {
    await assert.rejects(fetchBytes(`${base}/missing`, { what: 'transformer/model.onnx', code: 'model-invalid' }), (err: unknown) => {
      assert.ok(err instanceof LensError);
      assert.strictEqual(err.code, 'model-invalid');
      assert.match(err.message, /^Could not load transformer\/model\.onnx \(404 Not Found\)\.$/);
      return true;
    });
  });

  it('does not take a gzip-encoded body\'s length (its encoding\'s) for its size: the size expected instead', async () => {
    const totals: number[] = [];
    const bytes = await fetchBytes(`${base}/gzip`, { what: 'the test file', code: 'model-invalid', expectedBytes: BODY.length, onProgress: (_, total) => totals.push(total) });
    assert.ok(Buffer.from(bytes).equals(Buffer.from(BODY)));
    assert.strictEqual(bytes.buffer.byteLength, BODY.length);
    assert.ok(totals.length > 0 && totals.every((total) => total === BODY.length), `progress counts against the size expected: ${[...new Set(totals)].join(', ')}`);
  });

  it('writes a body without a length into the array of the size the caller expects (no join at the end)', async () => {
    const progress: Array<[number, number]> = [];
    const bytes = await fetchBytes(`${base}/chunked`, { what: 'the test file', code: 'model-invalid', expectedBytes: BODY.length, onProgress: (loaded, total) => progress.push([loaded, total]) });
    assert.ok(Buffer.from(bytes).equals(Buffer.from(BODY)));
    assert.strictEqual(bytes.buffer.byteLength, BODY.length);
    assert.ok(progress.every(([, total]) => total === BODY.length), 'progress counts against the size expected');
    // Fewer bytes than expected: the array is cut to what came; more: they are all kept.
    const short = await fetchBytes(`${base}/chunked`, { what: 'the test file', code: 'model-invalid', expectedBytes: BODY.length + 10 });
    assert.ok(Buffer.from(short).equals(Buffer.from(BODY)));
    const long = await fetchBytes(`${base}/chunked`, { what: 'the test file', code: 'model-invalid', expectedBytes: 1000 });
    assert.ok(Buffer.from(long).equals(Buffer.from(BODY)));
  });

  it('gives up on a server that does not answer in time, naming the file', async () => {
    await assert.rejects(fetchBytes(`${base}/silent`, { what: 'onnxruntime\'s binary', code: 'backend-unavailable', answerWithinMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof LensError);
      assert.strictEqual(err.code, 'backend-unavailable');
      assert.strictEqual(err.message, "Could not load onnxruntime's binary (no answer within 200 ms).");
      return true;
    });
  });

  it('gives up on a body that stops coming, naming the file', async () => {
    await assert.rejects(fetchBytes(`${base}/stall`, { what: 'transformer/model.onnx', code: 'model-invalid', stallMs: 200 }), (err: unknown) => {
      assert.ok(err instanceof LensError);
      assert.strictEqual(err.message, 'Could not load transformer/model.onnx (no bytes for 200 ms).');
      return true;
    });
  });
});
