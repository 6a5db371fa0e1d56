// Unit tests of the file server's compressed copies (src/fileServer.ts), over real HTTP: a file stored gzipped
// (onnxruntime's binaries) is also served under its plain name, and a file with copies beside it (the pages'
// scripts) is sent as one of them, Brotli's before gzip's as the client weighs them, only under the roots a share
// names for copies (the extension's build output), never in a user's model folder; Accept-Encoding is read as
// RFC 9110 says.

import * as assert from 'assert';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'zlib';
import { FileServer, preferredCodings } from '../../src/fileServer';
import { raw } from './rawHttp';

const BODY = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 7919) % 251);

describe('FileServer: compressed copies', () => {
  let dir: string;
  let server: FileServer;
  let port: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lens-copies-'));
    mkdirSync(path.join(dir, 'root'));
    mkdirSync(path.join(dir, 'models'));
    server = new FileServer();
    port = await server.start();
  });

  after(() => {
    server.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a gzipped file under its plain name too, gzip-encoded, to a client that takes gzip (which inflates it)', async () => {
    const gz = gzipSync(BODY);
    writeFileSync(path.join(dir, 'root/bin.wasm.gz'), gz);
    // A script with its gzipped copy beside it (esbuild.mjs writes them).
    writeFileSync(path.join(dir, 'root/both.js'), 'plain');
    writeFileSync(path.join(dir, 'root/both.js.gz'), gzipSync('plain'));
    const share = server.share([path.join(dir, 'root')], [path.join(dir, 'root')]);
    try {
      const takes = { 'accept-encoding': 'gzip, deflate, br, zstd' }; // what Chromium's fetch sends
      const encoded = await raw(port, `${share.prefix}0/bin.wasm`, 'GET', takes);
      assert.strictEqual(encoded.status, 200);
      assert.strictEqual(encoded.headers['content-encoding'], 'gzip');
      assert.strictEqual(encoded.headers['content-length'], String(gz.length));
      assert.strictEqual(encoded.headers.vary, 'Accept-Encoding');
      assert.strictEqual(encoded.headers['cache-control'], 'no-store, no-transform');
      assert.ok(encoded.body.equals(gz), 'the stored bytes, as they are');
      const head = await raw(port, `${share.prefix}0/bin.wasm`, 'HEAD', takes);
      assert.deepStrictEqual([head.status, head.headers['content-encoding'], head.body.length], [200, 'gzip', 0]);
      // Node's fetch, like a browser's, inflates it on the way.
      const fetched = await fetch(`http://127.0.0.1:${port}${share.prefix}0/bin.wasm`);
      assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(Buffer.from(BODY)));
      // Not to a client that does not take gzip; the gzipped file itself as stored.
      assert.strictEqual((await raw(port, `${share.prefix}0/bin.wasm`)).status, 404);
      assert.strictEqual((await raw(port, `${share.prefix}0/bin.wasm`, 'GET', { 'accept-encoding': 'br, gzip;q=0' })).status, 404);
      const stored = await raw(port, `${share.prefix}0/bin.wasm.gz`, 'GET', takes);
      assert.deepStrictEqual([stored.status, stored.headers['content-encoding']], [200, undefined]);
      assert.ok(stored.body.equals(gz));
      // A plain file with a gzipped copy: the copy, gzip-encoded, with the plain name's type; as it is to a client that
      // does not take gzip.
      const copy = await raw(port, `${share.prefix}0/both.js`, 'GET', takes);
      assert.deepStrictEqual([copy.headers['content-encoding'], copy.headers['content-type'], gunzipSync(copy.body).toString()], ['gzip', 'text/javascript; charset=utf-8', 'plain']);
      assert.strictEqual(await (await fetch(`http://127.0.0.1:${port}${share.prefix}0/both.js`)).text(), 'plain', 'inflated on the way');
      const plain = await raw(port, `${share.prefix}0/both.js`);
      assert.deepStrictEqual([plain.headers['content-encoding'], plain.body.toString()], [undefined, 'plain']);
      // The gzipped file a plain name stands for is looked up as any file: nothing outside the root, by ".." or a link.
      writeFileSync(path.join(dir, 'secret.txt.gz'), gzipSync('not shared'));
      symlinkSync(path.join(dir, 'secret.txt.gz'), path.join(dir, 'root/escape.gz'));
      assert.strictEqual((await raw(port, `${share.prefix}0/../secret.txt`, 'GET', takes)).status, 404);
      assert.strictEqual((await raw(port, `${share.prefix}0/%2E%2E/secret.txt`, 'GET', takes)).status, 404);
      assert.strictEqual((await raw(port, `${share.prefix}0/escape`, 'GET', takes)).status, 404);
    } finally {
      share.dispose();
    }
  });

  it('sends the Brotli copy before the gzipped one to a client that takes Brotli, and the gzipped one to a client that does not', async () => {
    const gz = gzipSync(BODY);
    const br = brotliCompressSync(BODY);
    writeFileSync(path.join(dir, 'root/bin.wasm.gz'), gz);
    writeFileSync(path.join(dir, 'root/bin.wasm.br'), br);
    writeFileSync(path.join(dir, 'root/page.js'), 'plain');
    writeFileSync(path.join(dir, 'root/page.js.br'), brotliCompressSync('plain'));
    const share = server.share([path.join(dir, 'root')], [path.join(dir, 'root')]);
    try {
      const get = (name: string, acceptEncoding?: string) => raw(port, `${share.prefix}0/${name}`, 'GET', acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding });
      const chromium = await get('bin.wasm', 'gzip, deflate, br, zstd');
      assert.deepStrictEqual([chromium.status, chromium.headers['content-encoding'], chromium.headers['content-length'], chromium.headers.vary], [200, 'br', String(br.length), 'Accept-Encoding']);
      assert.ok(chromium.body.equals(br), 'the stored Brotli bytes, as they are');
      assert.ok(brotliDecompressSync(chromium.body).equals(Buffer.from(BODY)));
      const head = await raw(port, `${share.prefix}0/bin.wasm`, 'HEAD', { 'accept-encoding': 'br' });
      assert.deepStrictEqual([head.status, head.headers['content-encoding'], head.headers['content-length'], head.body.length], [200, 'br', String(br.length), 0]);
      // Node's fetch, like a browser's, decodes it on the way.
      const fetched = await fetch(`http://127.0.0.1:${port}${share.prefix}0/bin.wasm`, { headers: { 'accept-encoding': 'br' } });
      assert.ok(Buffer.from(await fetched.arrayBuffer()).equals(Buffer.from(BODY)));
      for (const gzipOnly of ['gzip, deflate', 'br;q=0, gzip', 'gzip, *;q=0']) {
        const answer = await get('bin.wasm', gzipOnly);
        assert.deepStrictEqual([answer.status, answer.headers['content-encoding']], [200, 'gzip'], gzipOnly);
        assert.ok(answer.body.equals(gz), gzipOnly);
      }
      assert.strictEqual((await get('bin.wasm')).status, 404, 'no coding taken: the plain name is no file');
      assert.strictEqual((await get('bin.wasm', 'br;q=0, gzip;q=0')).status, 404);
      // A script with only a Brotli copy: the copy to a client that takes Brotli, the script itself to one that does not.
      const copy = await get('page.js', 'gzip, deflate, br, zstd');
      assert.deepStrictEqual([copy.headers['content-encoding'], copy.headers['content-type'], brotliDecompressSync(copy.body).toString()], ['br', 'text/javascript; charset=utf-8', 'plain']);
      const plain = await get('page.js', 'gzip');
      assert.deepStrictEqual([plain.headers['content-encoding'], plain.body.toString()], [undefined, 'plain']);
      // The stored copies by their own names, as stored.
      for (const [name, bytes] of [['bin.wasm.br', br], ['bin.wasm.gz', gz]] as const) {
        const stored = await get(name, 'gzip, deflate, br, zstd');
        assert.deepStrictEqual([stored.status, stored.headers['content-encoding']], [200, undefined], name);
        assert.ok(stored.body.equals(bytes), name);
      }
    } finally {
      share.dispose();
    }
  });

  it("sends a model folder's files as they are, whatever copies lie beside them (the host checked the file)", async () => {
    writeFileSync(path.join(dir, 'models/model.onnx'), 'the checked model');
    writeFileSync(path.join(dir, 'models/model.onnx.br'), brotliCompressSync('a stale model'));
    writeFileSync(path.join(dir, 'models/model.onnx.gz'), gzipSync('a stale model'));
    writeFileSync(path.join(dir, 'models/only.bin.gz'), gzipSync('no plain file'));
    const share = server.share([path.join(dir, 'root'), path.join(dir, 'models')], [path.join(dir, 'root')]);
    try {
      const model = await raw(port, `${share.prefix}1/model.onnx`, 'GET', { 'accept-encoding': 'gzip, deflate, br, zstd' });
      assert.deepStrictEqual([model.status, model.headers['content-encoding'], model.headers.vary, model.body.toString()], [200, undefined, 'Accept-Encoding', 'the checked model']);
      assert.strictEqual((await raw(port, `${share.prefix}1/only.bin`, 'GET', { 'accept-encoding': 'gzip' })).status, 404, 'no plain name stands for a copy there');
    } finally {
      share.dispose();
    }
  });

  it('takes the coding the client weighs highest, Brotli on a tie; "*" stands for the codings not named (RFC 9110)', () => {
    const cases: Array<[string | string[] | undefined, string[]]> = [
      ['gzip, deflate, br, zstd', ['br', 'gzip']], // what Chromium sends over HTTPS and to the loopback address
      ['gzip, deflate', ['gzip']], // what it sends otherwise
      ['br;q=1.0, GZIP;q=0.5', ['br', 'gzip']],
      ['gzip;q=1, br;q=0.1', ['gzip', 'br']],
      ['BR;q=0.5', ['br']],
      ['*', ['br', 'gzip']],
      ['deflate, *;q=0.1', ['br', 'gzip']],
      ['gzip, *;q=0.1', ['gzip', 'br']],
      [['br', 'gzip'], ['br', 'gzip']],
      ['*;q=0, gzip', ['gzip']],
      ['br;q=0, *', ['gzip']],
      ['gzip;q=0, *', ['br']],
      [undefined, []],
      ['', []],
      ['identity', []],
      ['gzip;q=0.000, br;q=0', []],
      ['x-gzip2, brotli', []],
      ['*;q=0', []],
    ];
    for (const [header, expected] of cases) assert.deepStrictEqual(preferredCodings(header), expected, String(header));
  });
});
