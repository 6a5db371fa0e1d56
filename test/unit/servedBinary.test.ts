// Unit tests of how onnxruntime's worker takes its binary from the extension's file server (webview/servedBinary.ts),
// over real HTTP with Node's fetch and WebAssembly as the worker's: the server's answer from a published folder is
// compiled whole as it streams; any other answer (a status, another server, another type, none in time, a body cut,
// stalled or not WebAssembly) is refused, with a reason that names the URL and what came, before onnxruntime would
// start; and onnxruntime's loader gets the compiled module for its first fetch of the URL without a request, while
// everything else, its second fetch of the URL included, goes on as usual, and both functions are themselves again
// once no creation runs, also when creations overlap or fail.

import * as assert from 'assert';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { type Server, createServer } from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { brotliCompressSync, gzipSync } from 'zlib';
import { SERVED_HEADER } from '../../src/core/protocol';
import { FileServer } from '../../src/fileServer';
import { LoaderModules, servedModule } from '../../webview/servedBinary';

/** A WebAssembly module of its header and one custom section ("pad") of `size` bytes. */
function paddedModule(size: number): Uint8Array {
  const name = Buffer.from('pad');
  const content = Buffer.concat([Buffer.from([name.length]), name, Buffer.alloc(size, 7)]);
  const leb: number[] = [];
  for (let n = content.length; ; ) {
    const byte = n & 0x7f;
    n >>>= 7;
    leb.push(n ? byte | 0x80 : byte);
    if (!n) break;
  }
  return Uint8Array.from(Buffer.concat([Buffer.from([0, 97, 115, 109, 1, 0, 0, 0, 0]), Buffer.from(leb), content]));
}

const BINARY = paddedModule(300_000);
const padOf = (module: WebAssembly.Module) => WebAssembly.Module.customSections(module, 'pad')[0]?.byteLength;

describe("servedModule and LoaderModules (onnxruntime's worker compiles its binary as it streams from the file server)", () => {
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
    // Another server on a port the page was sent to (a proxy's page, another service), or the server's answer cut,
    // stalled or not WebAssembly.
    other = createServer((req, res) => {
      asked.push(req.url ?? '');
      if (req.url === '/silent') return; // holds the request
      if (req.url === '/missing') return void res.writeHead(404).end();
      const headers: Record<string, string> = { 'content-type': req.url === '/octets' ? 'application/octet-stream' : 'application/wasm', 'content-length': String(BINARY.length) };
      if (req.url !== '/unmarked') headers[SERVED_HEADER] = '1';
      res.writeHead(200, headers);
      if (req.url === '/cut') return void res.write(Buffer.from(BINARY.subarray(0, 100_000)), () => res.destroy());
      if (req.url === '/stalled') return void res.write(Buffer.from(BINARY.subarray(0, 100_000)));
      res.end(req.url === '/garbage' ? Buffer.alloc(BINARY.length, 1) : Buffer.from(BINARY));
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

  it("compiles the server's answer from the published folder, all of it", async () => {
    const module = await servedModule(binaryUrl);
    assert.ok(module instanceof WebAssembly.Module, String(module));
    assert.strictEqual(padOf(module), 300_000);
  });

  it('refuses any other answer, naming the URL and what came', async () => {
    const refused = async (urlPath: string) => {
      const answer = await servedModule(`${otherBase}${urlPath}`, { answerWithinMs: 300, compiledWithinMs: 500 });
      assert.strictEqual(typeof answer, 'string', `${urlPath}: refused`);
      const prefix = `Could not load onnxruntime's binary from ${otherBase}${urlPath} (`;
      assert.ok((answer as string).startsWith(prefix) && (answer as string).endsWith(').'), answer as string);
      return (answer as string).slice(prefix.length, -2);
    };
    assert.strictEqual(await refused('/missing'), '404 Not Found');
    assert.strictEqual(await refused('/unmarked'), `the answer has no ${SERVED_HEADER} header`);
    assert.strictEqual(await refused('/octets'), 'it was sent as application/octet-stream, not application/wasm');
    assert.strictEqual(await refused('/silent'), 'no answer within 300 ms');
    assert.strictEqual(await refused('/stalled'), 'not all of it arrived and compiled within 0.5 s');
    assert.ok((await refused('/cut')).length > 0, 'a body cut off');
    assert.match(await refused('/garbage'), /magic|expected|WebAssembly|wasm/i, 'a body that is not WebAssembly');
    assert.match((await servedModule('http://127.0.0.1:1/none.wasm')) as string, /^Could not load onnxruntime's binary from http:\/\/127\.0\.0\.1:1\/none\.wasm \(.+\)\.$/);
  });

  it("lends the loader the module for its first fetch of the URL, without a request, and lets everything else go on", async () => {
    const module = await servedModule(binaryUrl);
    assert.ok(module instanceof WebAssembly.Module);
    const own = { fetch: globalThis.fetch, instantiate: WebAssembly.instantiateStreaming };
    const lender = new LoaderModules();
    const url = `${otherBase}/ort.wasm`;
    asked.length = 0;
    const seen = await lender.during(url, module, async () => {
      // As onnxruntime's loader: fetch(binary, { credentials }), then instantiateStreaming(that, imports).
      const lent = await WebAssembly.instantiateStreaming(fetch(url, { credentials: 'same-origin' }), {});
      const again = await WebAssembly.instantiateStreaming(fetch(new Request(url)), {});
      const elsewhere = await fetch(`${otherBase}/elsewhere`);
      return { lent, again, elsewhere: elsewhere.status };
    });
    assert.strictEqual(seen.lent.module, module, 'the lent module itself');
    assert.ok(seen.lent.instance instanceof WebAssembly.Instance);
    assert.notStrictEqual(seen.again.module, module, 'a second fetch of the URL goes out, and is compiled as usual');
    assert.strictEqual(padOf(seen.again.module), 300_000);
    assert.strictEqual(seen.elsewhere, 200);
    assert.deepStrictEqual(asked, ['/ort.wasm', '/elsewhere'], 'no request for the lent answer');
    assert.strictEqual(globalThis.fetch, own.fetch, 'fetch is itself again');
    assert.strictEqual(WebAssembly.instantiateStreaming, own.instantiate, 'instantiateStreaming is itself again');
  });

  it('is itself again only once no creation runs: overlapping, and failing', async () => {
    const module = await servedModule(binaryUrl);
    assert.ok(module instanceof WebAssembly.Module);
    const own = { fetch: globalThis.fetch, instantiate: WebAssembly.instantiateStreaming };
    const lender = new LoaderModules();
    let releaseFirst = () => undefined as void;
    const first = lender.during('https://a.invalid/a.wasm', module, () => new Promise<void>((resolve) => (releaseFirst = resolve)));
    const second = lender.during('https://b.invalid/b.wasm', module, () => Promise.reject(new Error('no start')));
    await assert.rejects(second, /no start/);
    assert.notStrictEqual(globalThis.fetch, own.fetch, 'the first creation still runs');
    const lent = await WebAssembly.instantiateStreaming(fetch('https://a.invalid/a.wasm'), {});
    assert.strictEqual(lent.module, module, "the first creation's module is still lent");
    releaseFirst();
    await first;
    assert.strictEqual(globalThis.fetch, own.fetch);
    assert.strictEqual(WebAssembly.instantiateStreaming, own.instantiate);
  });
});
