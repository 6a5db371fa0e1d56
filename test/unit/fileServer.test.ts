// Unit tests of the host's loopback file server (src/fileServer.ts) and the webview's routes to it
// (webview/fileRoutes.ts), over real HTTP with Node's fetch as a webview's: it serves exactly the files under
// a share's roots (not another share's), with their length and its header, to any origin that has the share's
// path; it refuses other methods, unknown or ended shares, paths that climb out of a root (by "..", escapes or
// a symbolic link) and folders, and closes the files of clients that leave (its compressed copies:
// fileServerCopies.test.ts); a page trusts only answers with its header;
// a page reads through a route when one covers the URI, and when a served read fails it says why once and
// reads every file through its resource URI from then on, with the same bytes (models included).

import * as assert from 'assert';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { type Server, createServer } from 'http';
import { gzipSync } from 'zlib';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { ORT_BINARY, WORKER_READ_FROM_BYTES, WORKER_SCRIPTS, backendStartFiles, binaryFileOf, binaryPreloaded, firstModelDigests, firstModelFiles, firstModelLargeFiles, likelyBuild, startFileUrl } from '../../src/core/ortFiles';
import { type ModelDescriptor, SERVED_HEADER } from '../../src/core/protocol';
import { servedInflatedUrlOf, servedUrlOf } from '../../src/core/servedUrl';
import { FileServer, contentTypeOf, publishedName } from '../../src/fileServer';
import { raw } from './rawHttp';
import { FileRoutes } from '../../webview/fileRoutes';
import { isGzip } from '../../webview/inflate';
import { ModelFetcher } from '../../webview/modelFetcher';
import type { ModelManifest } from '../../src/core/manifest';

const BODY = Uint8Array.from({ length: 3_000_000 }, (_, i) => (i * 7919) % 251);

describe('FileServer (the host serves webview files over loopback HTTP)', () => {
  let dir: string;
  let server: FileServer;
  let port: number;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lens-files-'));
    mkdirSync(path.join(dir, 'root/models/a b'), { recursive: true });
    mkdirSync(path.join(dir, 'other'));
    writeFileSync(path.join(dir, 'root/models/a b/model.onnx'), BODY);
    writeFileSync(path.join(dir, 'secret.txt'), 'not shared');
    writeFileSync(path.join(dir, 'other/x.bin'), 'other root');
    symlinkSync(path.join(dir, 'secret.txt'), path.join(dir, 'root/link.txt'));
    server = new FileServer();
    port = await server.start();
  });

  after(() => {
    server.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves a file under a share root with its length, to any origin, and HEAD with no body', async () => {
    const share = server.share([path.join(dir, 'root')]);
    try {
      const url = `http://127.0.0.1:${port}${share.prefix}0/models/a%20b/model.onnx`;
      const response = await fetch(url, { headers: { origin: 'vscode-webview://abc' } });
      assert.strictEqual(response.status, 200);
      assert.strictEqual(response.headers.get('content-length'), String(BODY.length));
      assert.strictEqual(response.headers.get('access-control-allow-origin'), '*');
      assert.strictEqual(response.headers.get('cache-control'), 'no-store, no-transform', 'a proxy may not compress it on the way');
      assert.strictEqual(response.headers.get(SERVED_HEADER), '1', 'the page tells the server\'s answers by this header');
      assert.strictEqual(response.headers.get('access-control-expose-headers'), `${SERVED_HEADER}, Content-Encoding`);
      assert.ok(Buffer.from(await response.arrayBuffer()).equals(Buffer.from(BODY)));
      assert.strictEqual(response.headers.get('content-type'), 'application/octet-stream', 'read as bytes');
      const head = await raw(port, `${share.prefix}0/models/a%20b/model.onnx`, 'HEAD');
      assert.strictEqual(head.status, 200);
      assert.strictEqual(head.headers['content-length'], String(BODY.length));
      assert.strictEqual(head.body.length, 0);
    } finally {
      share.dispose();
    }
  });

  it("serves a page's script and stylesheet with their types (nosniff: a browser runs or applies them only so)", async () => {
    writeFileSync(path.join(dir, 'root/page.js'), 'document.title = "x";');
    writeFileSync(path.join(dir, 'root/page.css'), 'body {}');
    const share = server.share([path.join(dir, 'root')]);
    try {
      for (const [file, type] of [['page.js', 'text/javascript; charset=utf-8'], ['page.css', 'text/css; charset=utf-8']]) {
        const response = await fetch(`http://127.0.0.1:${port}${share.prefix}0/${file}`);
        assert.strictEqual(response.headers.get('content-type'), type, file);
        assert.strictEqual(response.headers.get('x-content-type-options'), 'nosniff');
        await response.arrayBuffer();
      }
      assert.strictEqual(contentTypeOf('/t/0/a.MJS'), 'text/javascript; charset=utf-8');
      assert.strictEqual(contentTypeOf('/t/0/model.js.onnx'), 'application/octet-stream');
      assert.strictEqual(contentTypeOf('/t/0/ort-wasm-simd-threaded.wasm'), 'application/wasm', 'exactly what streaming compilation takes');
    } finally {
      share.dispose();
    }
  });

  it('refuses other methods, unknown shares and roots, climbing out of a root, links out of it, and folders', async () => {
    const share = server.share([path.join(dir, 'root')]);
    try {
      const p = share.prefix;
      const refused: Array<[string, string, number]> = [
        ['POST', `${p}0/models/a%20b/model.onnx`, 405],
        ['PUT', `${p}0/models/a%20b/model.onnx`, 405],
        ['GET', `/${'A'.repeat(32)}/0/models/a%20b/model.onnx`, 404],
        ['GET', `${p}1/models/a%20b/model.onnx`, 404],
        ['GET', `${p}0/../secret.txt`, 404],
        ['GET', `${p}0/%2E%2E/secret.txt`, 404],
        ['GET', `${p}0/models/..%2F..%2Fsecret.txt`, 404],
        ['GET', `${p}0/models%2F..%2F..%2Fsecret.txt`, 404],
        ['GET', `${p}0/..%5Csecret.txt`, 404],
        ['GET', `${p}0/%2Fetc%2Fpasswd`, 404],
        ['GET', `${p}0/./models/a%20b/model.onnx`, 404],
        ['GET', `${p}0/models//a%20b/model.onnx`, 404],
        ['GET', `${p}0/models/a%20b/model.onnx%00`, 404],
        ['GET', `${p}0/link.txt`, 404],
        ['GET', `${p}0/models`, 404],
        ['GET', `${p}0/models/%E0%A4%A`, 404],
        ['GET', `${p}0/missing.onnx`, 404],
        ['GET', '/', 404],
      ];
      for (const [method, urlPath, status] of refused) {
        const answer = await raw(port, urlPath, method);
        assert.strictEqual(answer.status, status, `${method} ${urlPath}`);
        assert.ok(!answer.body.toString().includes('not shared'), `${method} ${urlPath} leaks nothing`);
      }
    } finally {
      share.dispose();
    }
  });

  it('serves each share its own roots only, and a share no more once disposed', async () => {
    const [first, second] = [server.share([path.join(dir, 'root')]), server.share([path.join(dir, 'other')])];
    const file = `${second.prefix}0/x.bin`;
    assert.strictEqual((await raw(port, `${first.prefix}0/x.bin`)).status, 404, 'not in the first share');
    const served = await raw(port, file);
    assert.strictEqual(served.status, 200);
    assert.strictEqual(served.body.toString(), 'other root');
    assert.strictEqual((await raw(port, `${second.prefix}0/models/a%20b/model.onnx`)).status, 404, 'the first share\'s file, not in the second');
    second.dispose();
    assert.strictEqual((await raw(port, file)).status, 404);
    first.dispose();
  });

  it('closes the file of a request whose client left before the answer, and keeps serving', async function () {
    if (process.platform !== 'linux') this.skip(); // open files counted in /proc
    const share = server.share([path.join(dir, 'root')]);
    try {
      const openFiles = () => readdirSync('/proc/self/fd').length;
      const before = openFiles();
      for (let i = 0; i < 20; i++) {
        const abort = new AbortController();
        const pending = fetch(`http://127.0.0.1:${port}${share.prefix}0/models/a%20b/model.onnx`, { signal: abort.signal }).then((r) => r.body?.cancel());
        abort.abort();
        await pending.catch(() => undefined);
      }
      const served = await raw(port, `${share.prefix}0/models/a%20b/model.onnx`);
      assert.strictEqual(served.body.length, BODY.length, 'the server still answers');
      for (let i = 0; i < 50 && openFiles() > before + 2; i++) await new Promise((resolve) => setImmediate(resolve));
      assert.ok(openFiles() <= before + 2, `open files: ${before} before, ${openFiles()} after 20 aborted requests`);
    } finally {
      share.dispose();
    }
  });

  it('publishes a folder at a fixed path, cacheable for ever, with its compressed copies; nothing outside it, nothing once ended', async () => {
    const folder = path.join(dir, 'published');
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'b.wasm.gz'), gzipSync(BODY));
    const published = server.publish('onnxruntime-0123456789abcdef', folder);
    try {
      const url = `http://127.0.0.1:${port}/onnxruntime-0123456789abcdef/0/b.wasm`;
      const answer = await fetch(url, { headers: { 'accept-encoding': 'gzip' } });
      assert.strictEqual(answer.status, 200);
      assert.strictEqual(answer.headers.get('content-encoding'), 'gzip');
      assert.strictEqual(answer.headers.get('content-type'), 'application/wasm');
      assert.strictEqual(answer.headers.get('cache-control'), 'public, max-age=31536000, immutable, no-transform');
      assert.ok(Buffer.from(await answer.arrayBuffer()).equals(Buffer.from(BODY)), 'the file, decoded');
      assert.strictEqual((await raw(port, '/onnxruntime-0123456789abcdef/0/../root/models/a%20b/model.onnx')).status, 404, 'nothing outside the folder');
      const missing = await raw(port, '/onnxruntime-0123456789abcdef/0/none.wasm');
      assert.strictEqual(missing.status, 404);
      assert.strictEqual(missing.headers['cache-control'], 'no-store, no-transform', 'an answer without the file is not kept');
      assert.throws(() => server.publish('a/b', folder), /letters, digits/);
    } finally {
      published.dispose();
    }
    assert.strictEqual((await raw(port, '/onnxruntime-0123456789abcdef/0/b.wasm.gz')).status, 404, 'nothing once it is no longer published');
  });

  it("names a published folder by its files' digests, in any order, and not without them", () => {
    const name = publishedName('onnxruntime', { 'a.wasm': 'aa', 'b.wasm': 'bb' });
    assert.match(name ?? '', /^onnxruntime-[0-9a-f]{16}$/);
    assert.strictEqual(publishedName('onnxruntime', { 'b.wasm': 'bb', 'a.wasm': 'aa' }), name, 'the same files in another order');
    assert.notStrictEqual(publishedName('onnxruntime', { 'a.wasm': 'aa', 'b.wasm': 'bc' }), name, 'another build');
    assert.notStrictEqual(publishedName('onnxruntime', { 'a.wasm': 'bb', 'b.wasm': 'aa' }), name, 'the digests of other files');
    assert.strictEqual(publishedName('onnxruntime', {}), undefined);
    assert.strictEqual(publishedName('onnxruntime', undefined), undefined);
    const server = new FileServer();
    try {
      assert.doesNotThrow(() => server.publish(name!, dir).dispose(), 'a name publish takes');
    } finally {
      server.dispose();
    }
  });

  it('listens at the first port it is asked for that is free and where nothing answers, else at another', async () => {
    const free = async () => {
      const probe = new FileServer();
      const port = await probe.start();
      probe.dispose();
      return port;
    };
    const [firstFree, secondFree] = [await free(), await free()];
    // Another program listening on every address at a port (a server on the loopback address could take its
    // connections on some systems): that port is passed over.
    const program = createServer((_, res) => res.end('theirs'));
    await new Promise<void>((resolve) => program.listen(0, '0.0.0.0', resolve));
    const theirs = (program.address() as AddressInfo).port;
    const ours = new FileServer();
    const beside = new FileServer();
    try {
      assert.strictEqual(await ours.start([theirs, firstFree, secondFree]), firstFree, 'the first free one, after the taken one');
      const other = await beside.start([firstFree]);
      assert.ok(other !== firstFree && other !== theirs, `a port taken by another file server: any other (${other})`);
      assert.strictEqual((await raw(other, '/none/0/x')).status, 404, 'and it answers there');
      assert.strictEqual((await raw(theirs, '/')).body.toString(), 'theirs', "the other program's port is still its own");
    } finally {
      ours.dispose();
      beside.dispose();
      program.close();
    }
  });

  it('stops listening when disposed, also while it starts; start() then rejects', async () => {
    const early = new FileServer();
    const starting = early.start();
    early.dispose();
    await assert.rejects(starting, /closed/);
    const own = new FileServer();
    const ownPort = await own.start();
    assert.strictEqual(await own.start(), ownPort, 'one server, however often it is started');
    own.dispose();
    await assert.rejects(raw(ownPort, '/'));
    await assert.rejects(own.start(), /closed/);
  });
});

describe('FileRoutes (a page reads through the file server first)', () => {
  let dir: string;
  let files: FileServer;
  let resources: Server;
  let resourceBase = '';
  let filesBase = '';
  const resourceReads: string[] = [];

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'lens-routes-'));
    const fixture = path.join(__dirname, '../fixtures/models/toy-encoder');
    for (const name of ['model.onnx', 'tokenizer.json']) writeFileSync(path.join(dir, name), readFileSync(path.join(fixture, name)));
    files = new FileServer();
    filesBase = `http://127.0.0.1:${await files.start()}`;
    // Stands for VS Code's resource loading: serves the same folder, and counts what it was asked for.
    resources = createServer((req, res) => {
      resourceReads.push(req.url ?? '');
      try {
        const body = readFileSync(path.join(dir, path.basename(req.url ?? '')));
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      } catch {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => resources.listen(0, '127.0.0.1', resolve));
    resourceBase = `http://127.0.0.1:${(resources.address() as AddressInfo).port}`;
  });

  after(async () => {
    files.dispose();
    await new Promise<void>((resolve) => resources.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('maps a URI under a route, escaped host or not, and leaves others alone', () => {
    const routes = new FileRoutes([{ from: 'https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/out/', to: 'http://127.0.0.1:9/proxy/1/t/0/' }]);
    assert.strictEqual(routes.servedUrl('https://vscode-remote+127-002e0.vscode-resource.vscode-cdn.net/ext/out/ort/a.wasm.gz'), 'http://127.0.0.1:9/proxy/1/t/0/ort/a.wasm.gz');
    assert.strictEqual(routes.servedUrl('https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/out/webview/ortWorker.js'), 'http://127.0.0.1:9/proxy/1/t/0/webview/ortWorker.js');
    assert.strictEqual(routes.servedUrl('https://vscode-remote+127-002e0.vscode-resource.vscode-cdn.net/ext/media/probe.onnx'), undefined);
    assert.strictEqual(new FileRoutes().servedUrl('https://x/ext/out/a'), undefined);
  });

  it('names the files a backend starts with at the URLs the page fetches (the host preloads them in the HTML), and the build whose binary the page reads at once', () => {
    const routes = [{ from: 'https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/out/', to: 'http://127.0.0.1:9/proxy/1/t/0/' }, { from: 'https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/media/', to: 'http://127.0.0.1:9/proxy/1/t/1/' }];
    const ortBase = 'https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/out/ort/';
    const probe = 'https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/media/probe.onnx';
    const page = new FileRoutes(routes);
    // What the host writes: each file through the routes (startFileUrl, as webviewHtml.ts does), for a preference,
    // what "auto" chose last, and the binaries the page keeps copies of.
    const preloaded = (preference: 'auto' | 'wasm' | 'webgpu', autoLast?: 'webgpu' | 'wasm', kept: string[] = []) => backendStartFiles(ortBase, probe, likelyBuild(preference, autoLast), kept).map((uri) => startFileUrl(routes, uri));
    // What the page fetches: OrtBackends resolves the workers' scripts against the base, then maps each URL.
    const script = (name: keyof typeof WORKER_SCRIPTS) => page.servedUrl(new URL(WORKER_SCRIPTS[name], ortBase).href);
    const fetched = (binary?: string) => [
      script('onnxruntime'),
      ...(binary ? [page.servedInflatedUrl(`${ortBase}${binary}`)] : []), // onnxruntime's worker streams it from there (webview/servedBinary.ts)
      page.servedUrl(probe),
      script('tokenizer'),
      script('logits'),
    ];
    assert.deepStrictEqual(preloaded('wasm'), fetched(ORT_BINARY.wasm));
    assert.deepStrictEqual(preloaded('webgpu'), fetched(ORT_BINARY.webgpu));
    assert.deepStrictEqual(preloaded('auto'), fetched(), 'with "auto" the page picks the build: no binary is preloaded');
    // Unless "auto" chose before: then the binary of the build it chose last (which the page reads at once).
    assert.deepStrictEqual(preloaded('auto', 'wasm'), fetched(ORT_BINARY.wasm));
    assert.deepStrictEqual(preloaded('auto', 'webgpu'), fetched(ORT_BINARY.webgpu));
    assert.deepStrictEqual(preloaded('wasm', 'webgpu'), preloaded('wasm'), 'a set build wins over what "auto" chose');
    // A binary the page keeps a copy of (webview/binaryCache.ts) is read from there: not preloaded; another build's copy changes nothing.
    assert.deepStrictEqual(preloaded('wasm', undefined, ['ort-wasm-simd-threaded.wasm']), fetched());
    assert.deepStrictEqual(preloaded('auto', 'webgpu', ['ort-wasm-simd-threaded.asyncify.wasm']), fetched());
    assert.deepStrictEqual(preloaded('wasm', undefined, ['ort-wasm-simd-threaded.asyncify.wasm']), fetched(ORT_BINARY.wasm));
    // In the order the page needs them (ortFiles.ts): the backend's start first.
    assert.deepStrictEqual(preloaded('wasm'), ['http://127.0.0.1:9/proxy/1/t/0/webview/ortWorker.js', 'http://127.0.0.1:9/proxy/1/t/0/ort/ort-wasm-simd-threaded.wasm', 'http://127.0.0.1:9/proxy/1/t/1/probe.onnx', 'http://127.0.0.1:9/proxy/1/t/0/webview/tokenizerWorker.js', 'http://127.0.0.1:9/proxy/1/t/0/webview/logitsWorker.js']);
    assert.deepStrictEqual(backendStartFiles(ortBase, probe, 'wasm').map((uri) => startFileUrl([], uri)), backendStartFiles(ortBase, probe, 'wasm'), 'without routes: the URIs, the binary gzipped');
    assert.deepStrictEqual([likelyBuild('auto'), likelyBuild('auto', 'wasm'), likelyBuild('webgpu', 'wasm')], [undefined, 'wasm', 'webgpu']);
    // What the HTML tells the page (data-likely-preloaded): whether the binary is among the preloads.
    for (const [build, kept] of [['wasm', []], ['wasm', ['ort-wasm-simd-threaded.wasm']], ['webgpu', ['ort-wasm-simd-threaded.wasm']], [undefined, []]] as const) {
      assert.strictEqual(binaryPreloaded(build, kept), backendStartFiles(ortBase, probe, build, kept).some((uri) => uri.endsWith('.wasm.gz')), `${build} with ${kept.join() || 'nothing'} kept`);
    }
    assert.deepStrictEqual([binaryFileOf('wasm'), binaryFileOf('webgpu')], ['ort-wasm-simd-threaded.wasm', 'ort-wasm-simd-threaded.asyncify.wasm']);
    assert.strictEqual(servedUrlOf(routes, 'https://elsewhere/ext/out/a.js'), undefined);
  });

  it("names the likely first model's files the page reads with a plain fetch, at the URLs it fetches (the panel's starter fetches them early)", () => {
    const routes = [{ from: 'https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/media/', to: 'http://127.0.0.1:9/proxy/1/t/1/' }];
    const base = 'https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/media/models/m/';
    const model = (modelBytes: number, externalDataBytes?: number) =>
      ({ manifest: {} as ModelDescriptor['manifest'], modelUri: `${base}model.onnx`, tokenizerUri: `${base}tokenizer.json`, modelBytes, ...(externalDataBytes === undefined ? {} : { externalDataUri: `${base}model.onnx.data`, externalDataBytes }) }) satisfies ModelDescriptor;
    const page = new FileRoutes(routes);
    const small = model(5 * 2 ** 20, 2 ** 20);
    assert.deepStrictEqual(firstModelFiles(routes, small), [small.tokenizerUri, small.modelUri, small.externalDataUri!].map((uri) => page.servedUrl(uri)));
    assert.deepStrictEqual(firstModelFiles(routes, small), ['http://127.0.0.1:9/proxy/1/t/1/models/m/tokenizer.json', 'http://127.0.0.1:9/proxy/1/t/1/models/m/model.onnx', 'http://127.0.0.1:9/proxy/1/t/1/models/m/model.onnx.data']);
    // A file the download worker reads (its fetch cannot take the page's preload) is left out; so is one of unknown size.
    assert.deepStrictEqual(firstModelFiles(routes, model(WORKER_READ_FROM_BYTES, 2 ** 20)), [page.servedUrl(small.tokenizerUri), page.servedUrl(small.externalDataUri!)]);
    assert.deepStrictEqual(firstModelFiles(routes, model(WORKER_READ_FROM_BYTES - 1, WORKER_READ_FROM_BYTES)), [page.servedUrl(small.tokenizerUri), page.servedUrl(small.modelUri)]);
    assert.deepStrictEqual(firstModelFiles(routes, { ...model(1), externalDataUri: `${base}model.onnx.data` }), [page.servedUrl(small.tokenizerUri), page.servedUrl(small.modelUri)]);
    assert.deepStrictEqual(firstModelFiles([], small), [small.tokenizerUri, small.modelUri, small.externalDataUri], 'without routes: the resource URIs');
    // Their digests, where the host verified them, by the URL the starter reads each at (it reads a kept copy first).
    const sha = (c: string) => c.repeat(64);
    assert.deepStrictEqual(firstModelDigests(routes, { ...small, sha256: { model: sha('a'), tokenizer: sha('b') } }), { [page.servedUrl(small.tokenizerUri)!]: sha('b'), [page.servedUrl(small.modelUri)!]: sha('a') });
    assert.deepStrictEqual(firstModelDigests(routes, { ...model(WORKER_READ_FROM_BYTES), sha256: { model: sha('a'), tokenizer: sha('b') } }), { [page.servedUrl(small.tokenizerUri)!]: sha('b') }, 'not for a file the starter does not read');
    assert.deepStrictEqual(firstModelDigests(routes, { ...small, sha256: { tokenizer: sha('b') } }), { [page.servedUrl(small.tokenizerUri)!]: sha('b') });
    assert.deepStrictEqual(firstModelDigests([], small), {}, 'none declared');
  });

  it("names the likely first model's files the download worker reads, with their sizes and names (the panel's starter begins reading them)", () => {
    const routes = [{ from: 'https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/media/', to: 'http://127.0.0.1:9/proxy/1/t/1/' }];
    const base = 'https://vscode-remote%2B127-002e0.vscode-resource.vscode-cdn.net/ext/media/models/m/';
    const model = (modelBytes: number, externalDataBytes?: number, manifest: Partial<ModelDescriptor['manifest']> = {}) =>
      ({ manifest: { id: 'gpt2-big', ...manifest } as ModelDescriptor['manifest'], modelUri: `${base}${manifest.model ?? 'model.onnx'}`, tokenizerUri: `${base}tokenizer.json`, modelBytes, ...(externalDataBytes === undefined ? {} : { externalDataUri: `${base}weights.bin`, externalDataBytes }) }) satisfies ModelDescriptor;
    const page = new FileRoutes(routes);
    const big = WORKER_READ_FROM_BYTES;
    assert.deepStrictEqual(firstModelLargeFiles(routes, model(big)), [{ url: 'http://127.0.0.1:9/proxy/1/t/1/models/m/model.onnx', bytes: big, what: 'gpt2-big/model.onnx' }]);
    // Exactly the files firstModelFiles leaves out for their size, at the URLs the page reads them.
    assert.deepStrictEqual(firstModelLargeFiles(routes, model(big - 1)), [], 'a smaller one is fetched on the page');
    const split = model(2 ** 20, big + 1, { model: 'onnx/decoder.onnx', externalData: 'weights.bin' });
    assert.deepStrictEqual(firstModelLargeFiles(routes, split), [{ url: page.servedUrl(split.externalDataUri!)!, bytes: big + 1, what: 'gpt2-big/weights.bin' }]);
    const both = model(big * 2, big * 3, { model: 'onnx/decoder.onnx', externalData: 'weights.bin' });
    assert.deepStrictEqual(firstModelLargeFiles(routes, both).map((f) => [f.url, f.bytes, f.what]), [[page.servedUrl(both.modelUri), big * 2, 'gpt2-big/onnx/decoder.onnx'], [page.servedUrl(both.externalDataUri!), big * 3, 'gpt2-big/weights.bin']]);
    // The worker reads only from the file server: none without routes, or outside them.
    assert.deepStrictEqual(firstModelLargeFiles([], model(big)), []);
    assert.deepStrictEqual(firstModelLargeFiles(routes, { ...model(big), modelUri: 'https://elsewhere/model.onnx' }), []);
    // An external-data file the manifest does not name is not read as one.
    assert.deepStrictEqual(firstModelLargeFiles(routes, model(1, big)), []);
    for (const b of [big, big - 1]) assert.strictEqual(firstModelLargeFiles(routes, model(b)).length + firstModelFiles(routes, model(b)).length, 2, 'each file in one list or the other');
  });

  it('reads model files through the server, then through the resource URIs once a served read failed', async () => {
    const share = files.share([dir]);
    const manifest = JSON.parse(readFileSync(path.join(__dirname, '../fixtures/models/toy-encoder/manifest.json'), 'utf8')) as ModelManifest;
    const model = { manifest, modelUri: `${resourceBase}/res/model.onnx`, tokenizerUri: `${resourceBase}/res/tokenizer.json`, modelBytes: readFileSync(path.join(dir, 'model.onnx')).length };
    const warnings: string[] = [];
    const routes = new FileRoutes([{ from: `${resourceBase}/res/`, to: `${filesBase}${share.prefix}0/` }], (m) => warnings.push(m));
    const served = await new ModelFetcher(undefined, undefined, routes).files(model, () => undefined);
    assert.deepStrictEqual(resourceReads, [], 'nothing went through the resource URIs');
    assert.ok(Buffer.from(served.modelBytes).equals(readFileSync(path.join(dir, 'model.onnx'))));
    assert.ok(Buffer.from(served.tokenizerBytes).equals(readFileSync(path.join(dir, 'tokenizer.json'))));
    assert.deepStrictEqual(served.tokenizerJson, JSON.parse(readFileSync(path.join(dir, 'tokenizer.json'), 'utf8')), 'parsed as it arrived');
    // The panel's fetcher leaves the tokenizer file unparsed: its engine makes the tokenizer from the worker's parts.
    const unparsed = await new ModelFetcher(undefined, undefined, routes, undefined, false).files(model, () => undefined);
    assert.ok(Buffer.from(unparsed.tokenizerBytes).equals(readFileSync(path.join(dir, 'tokenizer.json'))));
    assert.strictEqual(unparsed.tokenizerJson, undefined);
    share.dispose(); // the server now answers 404 for this page
    const fallen = await new ModelFetcher(undefined, undefined, routes).files(model, () => undefined);
    assert.deepStrictEqual(fallen.modelBytes, served.modelBytes);
    assert.deepStrictEqual(resourceReads.sort(), ['/res/model.onnx', '/res/tokenizer.json']);
    assert.strictEqual(warnings.length, 1, 'it says why once');
    assert.match(warnings[0], /file server failed \(Could not load toy-encoder\/(model\.onnx|tokenizer\.json) \(404 Not Found\)\)/);
    assert.ok(routes.failed);
    assert.strictEqual(routes.servedUrl(model.modelUri), undefined, 'later reads go to the resource URIs at once');
  });

  it('reads a gzipped file inflated through the server (under its plain name), and as stored once a served read failed', async () => {
    const body = readFileSync(path.join(dir, 'model.onnx'));
    writeFileSync(path.join(dir, 'bin.wasm.gz'), gzipSync(body));
    const share = files.share([dir], [dir]);
    const before = resourceReads.length;
    try {
      const route = [{ from: `${resourceBase}/res/`, to: `${filesBase}${share.prefix}0/` }];
      assert.strictEqual(servedInflatedUrlOf(route, `${resourceBase}/res/bin.wasm.gz`), `${filesBase}${share.prefix}0/bin.wasm`);
      assert.strictEqual(servedInflatedUrlOf(route, `${resourceBase}/res/model.onnx`), `${filesBase}${share.prefix}0/model.onnx`, 'a file not gzipped: its served URL');
      assert.strictEqual(servedInflatedUrlOf(route, 'https://elsewhere/bin.wasm.gz'), undefined);
      const served = await new FileRoutes(route).fetchGzipped(`${resourceBase}/res/bin.wasm.gz`, { what: 'the binary', code: 'backend-unavailable' });
      assert.ok(Buffer.from(served).equals(body), 'inflated on the way');
      assert.strictEqual(resourceReads.length, before, 'nothing went through the resource URI');
      const warnings: string[] = [];
      const failed = new FileRoutes([{ from: `${resourceBase}/res/`, to: `${resourceBase}/impostor/` }], (m) => warnings.push(m));
      const stored = await failed.fetchGzipped(`${resourceBase}/res/bin.wasm.gz`, { what: 'the binary', code: 'backend-unavailable' });
      assert.ok(isGzip(stored) && Buffer.from(stored).equals(gzipSync(body)), 'gzipped, as stored: the worker inflates it');
      assert.ok(!isGzip(served));
      assert.strictEqual(warnings.length, 1);
    } finally {
      share.dispose();
    }
  });

  it('does not trust a 200 without the server header (a proxy page, another service on the port)', async () => {
    const warnings: string[] = [];
    const routes = new FileRoutes([{ from: `${resourceBase}/res/`, to: `${resourceBase}/impostor/` }], (m) => warnings.push(m));
    const bytes = await routes.fetchBytes(`${resourceBase}/res/tokenizer.json`, { what: 'the tokenizer', code: 'model-invalid' });
    assert.ok(Buffer.from(bytes).equals(readFileSync(path.join(dir, 'tokenizer.json'))), 'read through the resource URI');
    assert.match(warnings[0], /Could not load the tokenizer \(the answer has no X-Attention-Lens-File header\)/);
  });

  it('falls back when the server cannot be reached at all', async () => {
    const gone = new FileServer();
    const base = `http://127.0.0.1:${await gone.start()}`;
    gone.dispose();
    const warnings: string[] = [];
    const routes = new FileRoutes([{ from: `${resourceBase}/res/`, to: `${base}/x/0/` }], (m) => warnings.push(m));
    const bytes = await routes.fetchBytes(`${resourceBase}/res/tokenizer.json`, { what: 'the tokenizer', code: 'model-invalid' });
    assert.ok(Buffer.from(bytes).equals(readFileSync(path.join(dir, 'tokenizer.json'))));
    assert.match(warnings[0], /Could not load the tokenizer \(/);
  });
});
