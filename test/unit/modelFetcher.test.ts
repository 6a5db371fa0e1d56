// Unit tests of the page's ModelFetcher (webview/modelFetcher.ts) over real HTTP, with Node's fetch as a
// webview's: a download begun early (prefetch: the panel's guess of its first model, before the host's `ready`)
// serves only a load of exactly the same files at the same sizes; keepOnly stops the downloads of other models
// (the server sees the client leave), and a stopped download is neither an error of the file server's route
// nor a reason to read through the resource URIs.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import type { ModelManifest } from '../../src/core/manifest';
import { type ModelDescriptor, SERVED_HEADER } from '../../src/core/protocol';
import { FileRoutes } from '../../webview/fileRoutes';
import { ModelFetcher } from '../../webview/modelFetcher';

const FIXTURE = path.join(__dirname, '../fixtures/models/toy-encoder');
const FILES: Record<string, Buffer> = { 'model.onnx': readFileSync(path.join(FIXTURE, 'model.onnx')), 'tokenizer.json': readFileSync(path.join(FIXTURE, 'tokenizer.json')) };
const manifest = JSON.parse(readFileSync(path.join(FIXTURE, 'manifest.json'), 'utf8')) as ModelManifest;

/**
 * A server of the fixture's files that logs each request; under /slow/ it sends half a body and then waits.
 * `holding` resolves once it holds two such answers; `left` once a client left one of them.
 */
async function serve(): Promise<{ base: string; reads: string[]; reached(n: number): Promise<void>; holding: Promise<void>; left: Promise<string>; close(): Promise<void> }> {
  const reads: string[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  const reached = (n: number) => new Promise<void>((resolve) => (reads.length >= n ? resolve() : waiters.push({ n, resolve })));
  let tellLeft!: (url: string) => void;
  const left = new Promise<string>((resolve) => (tellLeft = resolve));
  let tellHolding!: () => void;
  const holding = new Promise<void>((resolve) => (tellHolding = resolve));
  const held: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '';
    reads.push(url);
    waiters.filter((w) => reads.length >= w.n).forEach((w) => w.resolve());
    const body = FILES[path.basename(url)];
    if (!body) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': body.length, [SERVED_HEADER]: '1' });
    if (!url.startsWith('/slow/')) {
      res.end(body);
      return;
    }
    res.write(body.subarray(0, body.length >> 1));
    if (held.push(res) === 2) tellHolding();
    req.socket.on('close', () => tellLeft(url));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    reads,
    reached,
    holding,
    left,
    close: () => {
      held.forEach((res) => res.destroy());
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // the page's kept-alive sockets too
      return closed;
    },
  };
}

function modelAt(base: string, folder: string, id = manifest.id): ModelDescriptor {
  return { manifest: { ...manifest, id }, modelUri: `${base}/${folder}/model.onnx`, tokenizerUri: `${base}/${folder}/tokenizer.json`, modelBytes: FILES['model.onnx'].length };
}

describe('ModelFetcher (a page downloads a model before it loads it)', () => {
  it('gives a prefetch to the load of exactly its files, and fetches again for the same URIs at other sizes or stamps', async () => {
    const server = await serve();
    try {
      const fetcher = new ModelFetcher();
      const model = modelAt(server.base, 'm');
      fetcher.prefetch(model);
      fetcher.prefetch(model); // the same files: one download
      const taken = await fetcher.files(model, () => undefined);
      assert.deepStrictEqual(server.reads.sort(), ['/m/model.onnx', '/m/tokenizer.json']);
      assert.ok(Buffer.from(taken.modelBytes).equals(FILES['model.onnx']));
      // The host described the same URIs with another size (the file changed since the guess): not the guess's bytes.
      fetcher.prefetch(model);
      const changed = { ...model, modelBytes: model.modelBytes + 1 };
      await fetcher.files(changed, () => undefined);
      await server.reached(6); // the prefetch's two requests, and the load's own
      assert.strictEqual(server.reads.length, 6, 'the stale prefetch was not taken: the load fetched both files again');
      // The same sizes, but files changed since (another stamp: sizes and modification times when checked).
      fetcher.keepOnly(undefined);
      fetcher.prefetch({ ...model, filesStamp: '10:1:20:1' });
      await fetcher.files({ ...model, filesStamp: '10:2:20:1' }, () => undefined);
      await server.reached(10);
      assert.strictEqual(server.reads.length, 10, 'a prefetch of files with another stamp was not taken either');
      fetcher.keepOnly(undefined);
    } finally {
      await server.close();
    }
  });

  it("stops other models' downloads on keepOnly, without failing the file server's route or reading elsewhere", async () => {
    const server = await serve();
    const resources = await serve();
    try {
      const warnings: string[] = [];
      const routes = new FileRoutes([{ from: `${resources.base}/res/`, to: `${server.base}/slow/` }], (m) => warnings.push(m));
      const fetcher = new ModelFetcher(undefined, undefined, routes);
      const guessed = modelAt(resources.base, 'res', 'guessed');
      const chosen = modelAt(resources.base, 'other', 'chosen');
      fetcher.prefetch(guessed);
      await server.holding; // both files' answers began and stopped halfway: the downloads are under way
      fetcher.keepOnly(chosen);
      // The reads reject as the page stops them, before its socket is closed and the server hears of it.
      assert.match(await server.left, /^\/slow\/(model\.onnx|tokenizer\.json)$/, 'the server saw the page leave');
      assert.deepStrictEqual(warnings, [], 'a stopped download is not a failure of the route');
      assert.strictEqual(routes.failed, undefined);
      assert.deepStrictEqual(resources.reads, [], 'nothing was read through the resource URIs instead');
      // The chosen model loads as usual (its URIs have no route: through the resource URIs).
      const files = await fetcher.files(chosen, () => undefined);
      assert.ok(Buffer.from(files.modelBytes).equals(FILES['model.onnx']));
      assert.deepStrictEqual(resources.reads.sort(), ['/other/model.onnx', '/other/tokenizer.json']);
    } finally {
      await server.close();
      await resources.close();
    }
  });
});
