// Unit tests of how onnxruntime's worker takes its binary from the extension's file server (webview/servedBinary.ts),
// over real HTTP with Node's fetch as the worker's: the server's answer from a published folder is taken, whole and
// decoded; any other answer (a status, another server, another type, none in time) is refused before onnxruntime
// would start, with a reason that names the URL and what came; and onnxruntime's loader's first fetch of the URL
// gets that very answer, while every other fetch, its second of the URL, and every fetch afterwards go out as usual.

import * as assert from 'assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { type Server, createServer } from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { brotliCompressSync, gzipSync } from 'zlib';
import { SERVED_HEADER } from '../../src/core/protocol';
import { FileServer } from '../../src/fileServer';
import { servedBinary, whileFetchAnswers } from '../../webview/servedBinary';

/** A WebAssembly module's first bytes, then filler: what the server sends as the binary. */
const BINARY = Uint8Array.from({ length: 300_000 }, (_, i) => (i < 8 ? [0, 97, 115, 109, 1, 0, 0, 0][i] : (i * 31) % 256));

describe('servedBinary (onnxruntime\'s worker streams its binary from the file server)', () => {
  let dir: string;
  let files: FileServer;
  let binaryUrl = '';
  let other: Server;
  let otherBase = '';
  const asked: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lens-served-binary-'));
    mkdirSync(path.join(dir, 'ort'));
    writeFileSync(path.join(dir, 'ort/b.wasm.br'), brotliCompressSync(BINARY));
    writeFileSync(path.join(dir, 'ort/b.wasm.gz'), gzipSync(BINARY));
    files = new FileServer();
    const port = await files.start();
    files.publish('onnxruntime-0000000000000000', path.join(dir, 'ort'));
    binaryUrl = `http://127.0.0.1:${port}/onnxruntime-0000000000000000/0/b.wasm`;
    // Another server on a port the page was sent to: a proxy's page, another service; or one that never answers.
    other = createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/silent') return; // holds the request
      if (req.url === '/missing') return void res.writeHead(404).end();
      const headers: Record<string, string> = { 'content-type': req.url === '/octets' ? 'application/octet-stream' : 'application/wasm' };
      if (req.url !== '/unmarked') headers[SERVED_HEADER] = '1';
      res.writeHead(200, headers).end(Buffer.from(BINARY));
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    otherBase = `http://127.0.0.1:${(other.address() as AddressInfo).port}`;
  });

  after(() => {
    files.dispose();
    other.closeAllConnections();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("takes the server's answer from the published folder: the binary, decoded, of the type streaming compilation takes", async () => {
    const answer = await servedBinary(binaryUrl);
    assert.ok(answer instanceof Response, String(answer));
    assert.strictEqual(answer.headers.get('content-type'), 'application/wasm');
    assert.ok(Buffer.from(await answer.arrayBuffer()).equals(Buffer.from(BINARY)));
  });

  it('refuses any other answer, naming the URL and what came', async () => {
    const refused = async (urlPath: string) => {
      const answer = await servedBinary(`${otherBase}${urlPath}`, 300);
      assert.strictEqual(typeof answer, 'string', `${urlPath}: refused`);
      assert.ok((answer as string).startsWith(`onnxruntime's binary could not be streamed from ${otherBase}${urlPath}: `), answer as string);
      return answer as string;
    };
    assert.match(await refused('/missing'), /it answered 404$/);
    assert.match(await refused('/unmarked'), /another server answered$/);
    assert.match(await refused('/octets'), /it sent application\/octet-stream, not application\/wasm$/);
    assert.match(await refused('/silent'), /no answer within 0\.3 s$/);
    assert.match(await servedBinary('http://127.0.0.1:1/none.wasm', 2000) as string, /could not be streamed from http:\/\/127\.0\.0\.1:1\/none\.wasm: /);
  });

  it("gives the loader's first fetch of the URL that answer, and lets every other fetch go out", async () => {
    const answer = await servedBinary(binaryUrl);
    assert.ok(answer instanceof Response);
    const own = globalThis.fetch;
    asked.length = 0;
    const seen = await whileFetchAnswers(binaryUrl, answer, async () => {
      const first = await fetch(binaryUrl, { credentials: 'same-origin' });
      const elsewhere = await fetch(`${otherBase}/elsewhere`);
      const second = await fetch(new Request(binaryUrl));
      return { first, elsewhere: elsewhere.status, second };
    });
    assert.strictEqual(seen.first, answer, 'the checked answer itself, not a new request');
    assert.strictEqual(seen.elsewhere, 200);
    assert.notStrictEqual(seen.second, answer, 'a second fetch of the URL goes out');
    assert.ok(Buffer.from(await seen.second.arrayBuffer()).equals(Buffer.from(BINARY)));
    assert.deepStrictEqual(asked, ['/elsewhere']);
    assert.strictEqual(globalThis.fetch, own, 'fetch is itself again');
  });

  it('restores fetch when the start fails, and lets go of an answer nobody took', async () => {
    const answer = await servedBinary(binaryUrl);
    assert.ok(answer instanceof Response);
    const own = globalThis.fetch;
    await assert.rejects(whileFetchAnswers(binaryUrl, answer, () => Promise.reject(new Error('no start'))), /no start/);
    assert.strictEqual(globalThis.fetch, own);
    // Cancelled: its body can no longer be read.
    await new Promise((resolve) => setImmediate(resolve));
    await assert.rejects(answer.arrayBuffer());
  });
});
