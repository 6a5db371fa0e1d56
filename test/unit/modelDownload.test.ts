// Why: a download fails in ways a unit test of the happy path never sees: a 404, a cut connection, a server
// that stalls, bytes that are not the manifest's, a full disk, a cancel, a manifest that names files outside
// its directory. A local HTTP server on 127.0.0.1 (started and stopped here, every request logged) serves the
// toy-recurrent fixture model and misbehaves on request; after every failure the destination must hold no
// model folder and no temporary folder, only the resumable partial file where a resume is promised. Two
// downloads of one URL or id at once (in one window: the caller's map; in two: the partial file's lock) must
// not share a partial file, and files without a declared sha256 are installed only when the caller agrees.

import * as assert from 'assert';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { LensError } from '../../src/core/errors';
import { type DownloadOptions, type FileWriter, downloadModel } from '../../src/modelDownload';

const fixture = path.join(__dirname, '../fixtures/models/toy-recurrent');
const MODEL = readFileSync(path.join(fixture, 'model.onnx'));
const TOKENIZER = readFileSync(path.join(fixture, 'tokenizer.json'));
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
/** The fixture's manifest, with the model file's checksum and size declared, and changes. */
const manifestWith = (change: (m: Record<string, unknown>) => void = () => undefined): Buffer => {
  const manifest = JSON.parse(readFileSync(path.join(fixture, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  manifest.onnx = { file: 'model.onnx', sha256: sha256(MODEL), bytes: MODEL.length };
  change(manifest);
  return Buffer.from(JSON.stringify(manifest, null, 2));
};

/** How the server answers one path: a status, a cut or a stall after some bytes, a corrupted body, Range ignored. */
interface Rule {
  status?: number;
  cutAfter?: number;
  stallAfter?: number;
  /** Called once the bytes before a stall are sent. */
  stalled?: () => void;
  corrupt?: boolean;
  ignoreRange?: boolean;
  redirect?: string;
}

interface Server {
  base: string;
  files: Map<string, Buffer>;
  rules: Map<string, Rule>;
  requests: Array<{ path: string; range?: string }>;
  close(): Promise<void>;
}

const MAX_REQUESTS = 200;

async function startServer(): Promise<Server> {
  const files = new Map<string, Buffer>();
  const rules = new Map<string, Rule>();
  const requests: Server['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push({ path: url, range: req.headers.range });
    const rule = rules.get(url) ?? {};
    if (rule.redirect) {
      res.writeHead(302, { Location: rule.redirect }).end();
      return;
    }
    const file = files.get(url);
    if (requests.length > MAX_REQUESTS || rule.status !== undefined || !file) {
      res.writeHead(requests.length > MAX_REQUESTS ? 429 : (rule.status ?? 404)).end('no');
      return;
    }
    const body = rule.corrupt ? Buffer.from(file).fill(0x55, 1000, 1010) : file;
    const etag = `"${sha256(file).slice(0, 16)}"`;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const start = range && !rule.ignoreRange && (ifRange === undefined || ifRange === etag) ? Number(range[1]) : 0;
    if (start >= body.length && start > 0) {
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      return;
    }
    const headers = { 'Content-Length': body.length - start, ETag: etag, 'Accept-Ranges': 'bytes' };
    if (start > 0) res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
    else res.writeHead(200, headers);
    const rest = body.subarray(start);
    // The cut comes once the client has read what was sent (a cut at once drops what its stream buffered).
    if (rule.cutAfter !== undefined) res.write(rest.subarray(0, rule.cutAfter), () => setTimeout(() => res.destroy(), 100));
    else if (rule.stallAfter !== undefined) res.write(rest.subarray(0, rule.stallAfter), () => rule.stalled?.());
    else res.end(rest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}`,
    files,
    rules,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** What destinationRoot holds: its entries and those of .partial. */
async function contents(root: string): Promise<{ entries: string[]; partial: string[] }> {
  const entries = (await fs.readdir(root).catch(() => [])).sort();
  const partial = entries.includes('.partial') ? await fs.readdir(path.join(root, '.partial')) : [];
  return { entries, partial };
}

/** No model folder and no temporary folder; the partial file only where a resume is promised. */
async function assertNothingInstalled(root: string, partial: boolean, keep: string[] = []): Promise<void> {
  const { entries, partial: parts } = await contents(root);
  assert.deepStrictEqual(entries, [...keep, ...(partial ? ['.partial'] : [])].sort(), `left in the destination: ${entries.join(', ')}`);
  if (partial) assert.strictEqual(parts.filter((p) => !p.endsWith('.json')).length, 1, `partial files: ${parts.join(', ')}`);
}

async function rejects(promise: Promise<unknown>, code: string, pattern: RegExp): Promise<LensError> {
  const err = await promise.then(
    () => assert.fail('the download should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof LensError, `expected a LensError, got ${String(err)}`);
  assert.strictEqual(err.code, code, err.message);
  assert.match(err.message, pattern);
  return err;
}

describe('downloading a model', function () {
  this.timeout(30_000);
  let server: Server;
  let root: string;
  const manifestUrl = () => `${server.base}/m/toy-recurrent/manifest.json`;
  const serveModel = (manifest: Buffer = manifestWith()) => {
    server.files.set('/m/toy-recurrent/manifest.json', manifest);
    server.files.set('/m/toy-recurrent/model.onnx', MODEL);
    server.files.set('/m/toy-recurrent/tokenizer.json', TOKENIZER);
  };
  const download = (options: DownloadOptions = {}, url = manifestUrl()) => downloadModel(url, root, { stallTimeoutMs: 5_000, ...options });
  const modelRequests = () => server.requests.filter((r) => r.path.endsWith('/model.onnx'));
  const partialSize = async () => {
    const { partial } = await contents(root);
    const data = partial.find((p) => !p.endsWith('.json'));
    return data === undefined ? 0 : (await fs.stat(path.join(root, '.partial', data))).size;
  };
  const assertInstalled = async (folder: string) => {
    assert.strictEqual(folder, path.join(root, 'toy-recurrent'));
    assert.ok(MODEL.equals(await fs.readFile(path.join(folder, 'model.onnx'))), 'model.onnx differs from the served file');
    assert.ok(TOKENIZER.equals(await fs.readFile(path.join(folder, 'tokenizer.json'))), 'tokenizer.json differs from the served file');
    assert.deepStrictEqual((await contents(root)).entries, ['toy-recurrent'], 'only the model folder is left');
  };

  beforeEach(async () => {
    server = await startServer();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'lens-download-'));
    serveModel();
  });
  afterEach(async () => {
    await server.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('downloads, verifies and installs a model from its manifest URL', async () => {
    const progress: Array<[number, number | undefined, string]> = [];
    const result = await download({ onProgress: (received, total, file) => progress.push([received, total, file]) });
    assert.strictEqual(result.id, 'toy-recurrent');
    await assertInstalled(result.folder);
    assert.deepStrictEqual(progress.filter(([r, t]) => r === t).map(([, , file]) => file), ['model.onnx', 'tokenizer.json']);
    assert.deepStrictEqual(server.requests.map((r) => path.basename(r.path)), ['manifest.json', 'model.onnx', 'tokenizer.json']);
  });

  it('follows a redirect of a file, and resolves the next names beside the manifest URL', async () => {
    server.files.set('/cdn/blob-1', MODEL);
    server.rules.set('/m/toy-recurrent/model.onnx', { redirect: '/cdn/blob-1' });
    await assertInstalled((await download()).folder);
    assert.deepStrictEqual(server.requests.map((r) => r.path.replace(/^\/m\/toy-recurrent\//, '')), ['manifest.json', 'model.onnx', '/cdn/blob-1', 'tokenizer.json']);
  });

  it('downloads the external-data file the manifest names, checked against its sha256', async () => {
    const weights = Buffer.alloc(20_000, 7);
    server.files.set('/m/toy-recurrent/model.onnx.data', weights);
    serveModel(manifestWith((m) => {
      m.externalData = 'model.onnx.data';
      (m.onnx as Record<string, unknown>).externalData = { file: 'model.onnx.data', sha256: sha256(weights), bytes: weights.length };
    }));
    const result = await download();
    assert.ok(weights.equals(await fs.readFile(path.join(result.folder, 'model.onnx.data'))));
    server.files.set('/m/toy-recurrent/model.onnx.data', Buffer.alloc(20_000, 8));
    await fs.rm(result.folder, { recursive: true });
    await rejects(download(), 'download-failed', /model\.onnx\.data: sha256 expected/);
    await assertNothingInstalled(root, false);
  });

  it('a 404 for the manifest says so and leaves nothing', async () => {
    server.rules.set('/m/toy-recurrent/manifest.json', { status: 404 });
    await rejects(download(), 'download-failed', /answered 404 \(Not Found\) for http:\/\/127\.0\.0\.1:\d+\/m\/toy-recurrent\/manifest\.json: check the URL/);
    await assertNothingInstalled(root, false);
  });

  it('a 404 for a file the manifest names leaves nothing', async () => {
    server.files.delete('/m/toy-recurrent/tokenizer.json');
    await rejects(download(), 'download-failed', /answered 404 .*tokenizer\.json: check the URL/);
    await assertNothingInstalled(root, false);
  });

  it('a cut connection keeps the partial file, and the next attempt resumes it with Range (206)', async () => {
    server.rules.set('/m/toy-recurrent/model.onnx', { cutAfter: 60_000 });
    await rejects(download(), 'download-failed', /connection to 127\.0\.0\.1:\d+ was cut after 60\.0 kB of 154\.8 kB of model\.onnx .*run Download model again to resume/);
    await assertNothingInstalled(root, true);
    assert.strictEqual(await partialSize(), 60_000);
    server.rules.clear();
    const result = await download();
    assert.strictEqual(modelRequests()[1].range, 'bytes=60000-');
    await assertInstalled(result.folder);
  });

  it('a server that ignores Range (200) makes the resume start over, and the result still verifies', async () => {
    server.rules.set('/m/toy-recurrent/model.onnx', { cutAfter: 50_000 });
    await rejects(download(), 'download-failed', /cut after 50\.0 kB/);
    server.rules.set('/m/toy-recurrent/model.onnx', { ignoreRange: true });
    const result = await download();
    assert.strictEqual(modelRequests()[1].range, 'bytes=50000-');
    await assertInstalled(result.folder);
  });

  it("a partial file longer than the server's file (416) is dropped and the file fetched again", async () => {
    serveModel(manifestWith((m) => delete (m.onnx as Record<string, unknown>).bytes));
    server.rules.set('/m/toy-recurrent/model.onnx', { cutAfter: 10_000 });
    await rejects(download(), 'download-failed', /cut after 10\.0 kB/);
    const { partial } = await contents(root);
    await fs.appendFile(path.join(root, '.partial', partial.find((p) => !p.endsWith('.json'))!), Buffer.alloc(MODEL.length));
    server.rules.clear();
    const result = await download();
    assert.deepStrictEqual(modelRequests().slice(1).map((r) => r.range), [`bytes=${MODEL.length + 10_000}-`, undefined]);
    await assertInstalled(result.folder);
  });

  it('a stalled server times out, keeping the partial file for a resume', async () => {
    server.rules.set('/m/toy-recurrent/model.onnx', { stallAfter: 30_000 });
    const started = Date.now();
    await rejects(download({ stallTimeoutMs: 300 }), 'download-failed', /sent nothing for 0\.3 s while sending model\.onnx \(30\.0 kB of 154\.8 kB received\); check the connection and run Download model again to resume/);
    assert.ok(Date.now() - started < 5_000, 'the stall must end the download within its timeout');
    await assertNothingInstalled(root, true);
    server.rules.clear();
    await assertInstalled((await download()).folder);
  });

  it('a file whose sha256 differs from the manifest is refused and not kept', async () => {
    server.rules.set('/m/toy-recurrent/model.onnx', { corrupt: true });
    await rejects(download(), 'download-failed', new RegExp(`model\\.onnx: sha256 expected ${sha256(MODEL)} \\(the manifest's\\), found [0-9a-f]{64}: the server sent a damaged or different file`));
    await assertNothingInstalled(root, false);
  });

  it('a checksum the user gives for the manifest is checked', async () => {
    await rejects(download({ expectedSha256: '0'.repeat(64) }), 'download-failed', /manifest\.json: sha256 expected 0{64} \(the checksum you gave\)/);
    await assertNothingInstalled(root, false);
    const result = await download({ expectedSha256: sha256(manifestWith()).toUpperCase() });
    await assertInstalled(result.folder);
  });

  it('an abort cancels the download, keeps the partial file, and a later attempt resumes', async () => {
    const controller = new AbortController();
    server.rules.set('/m/toy-recurrent/model.onnx', { stallAfter: 40_000, stalled: () => setTimeout(() => controller.abort(), 50) });
    await rejects(download({ signal: controller.signal }), 'cancelled', /download of model\.onnx was cancelled after 40\.0 kB of 154\.8 kB; run Download model again to resume/);
    await assertNothingInstalled(root, true);
    server.rules.clear();
    await rejects(download({ signal: controller.signal }), 'cancelled', /cancelled before it started/);
    const result = await download();
    assert.strictEqual(modelRequests().at(-1)?.range, 'bytes=40000-');
    await assertInstalled(result.folder);
  });

  for (const [what, change, pattern] of [
    ['model "../x.onnx"', (m: Record<string, unknown>) => void (m.model = '../x.onnx'), /is not a valid manifest:\nmodel: expected a relative path inside the model folder, got "\.\.\/x\.onnx"/],
    ['tokenizer.file "../x"', (m: Record<string, unknown>) => void ((m.tokenizer as Record<string, unknown>).file = '../x'), /tokenizer\.file: expected a relative path inside the model folder/],
    ['external data "../x"', (m: Record<string, unknown>) => void ((m.onnx as Record<string, unknown>).externalData = '../x'), /onnx\.externalData: expected a file name inside the model's directory, found "\.\.\/x" \(a path that leaves the directory\)/],
    ['a model on another host', (m: Record<string, unknown>) => void (m.model = 'http://example.invalid/x.onnx'), /model: expected a file name inside the model's directory, found "http:\/\/example\.invalid\/x\.onnx"/],
  ] as const) {
    it(`a manifest naming ${what} is refused before any file is fetched`, async () => {
      serveModel(manifestWith(change));
      await rejects(download(), 'model-invalid', pattern);
      assert.deepStrictEqual(server.requests.map((r) => path.basename(r.path)), ['manifest.json']);
      await assertNothingInstalled(root, false);
    });
  }

  it('an id that is already installed is not overwritten', async () => {
    await fs.mkdir(path.join(root, 'toy-recurrent'));
    await fs.writeFile(path.join(root, 'toy-recurrent', 'mine.txt'), 'keep me');
    await rejects(download(), 'download-failed', /a model with id "toy-recurrent" is already installed .*remove it first/);
    assert.strictEqual(await fs.readFile(path.join(root, 'toy-recurrent', 'mine.txt'), 'utf8'), 'keep me');
    assert.deepStrictEqual(modelRequests(), [], 'nothing is fetched for an installed id');
    await assertNothingInstalled(root, false, ['toy-recurrent']);
  });

  it('a full disk (ENOSPC while writing) says so and leaves nothing', async () => {
    let written = 0;
    const openFile = async (file: string, flags: 'w' | 'a'): Promise<FileWriter> => {
      const handle = await fs.open(file, flags);
      return {
        write: async (data) => {
          if (written + data.length > 70_000) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
          written += data.length;
          return handle.write(data);
        },
        close: () => handle.close(),
      };
    };
    await rejects(download({ openFile }), 'download-failed', /the disk is full: writing model\.onnx after \d+(\.\d)? kB failed; free some space and run Download model again/);
    await assertNothingInstalled(root, false);
  });

  it('a model over maxBytes is refused before its body is read', async () => {
    await rejects(download({ maxBytes: 100_000 }), 'download-failed', /model\.onnx \(154\.8 kB\) would take the model over the limit of 100\.0 kB; nothing was installed/);
    await assertNothingInstalled(root, false);
  });

  it('an archive URL other than .zip (modelArchive.test.ts) is refused without a request', async () => {
    await rejects(download({}, `${server.base}/m/toy-recurrent.tar.gz`), 'download-failed', /is an archive in a format that is not downloaded \(only \.zip is\): give the address of the model's manifest\.json .* or of a \.zip of its folder, or unpack it and use Add model from folder…/);
    assert.deepStrictEqual(server.requests, []);
    await assertNothingInstalled(root, false);
  });

  it('a manifest the folder check rejects is not installed', async () => {
    serveModel(manifestWith((m) => void ((m.outputs as Array<Record<string, unknown>>)[0].name = 'not_in_the_graph')));
    await rejects(download(), 'model-invalid', /did not pass its checks, so it was not installed:\nhttp:\/\/127\.0\.0\.1:\d+\/m\/toy-recurrent\/model\.onnx: .*not_in_the_graph/);
    await assertNothingInstalled(root, false);
  });

  it('removes temporary folders left a day ago by a closed window and partial files left a week, not recent ones, nor one a live lock names', async () => {
    const old = path.join(root, '.download-old');
    const recent = path.join(root, '.download-recent');
    const slow = path.join(root, '.download-slow'); // a slow download in another window writes its partial, not its folder
    for (const folder of [old, recent, slow]) await fs.mkdir(folder);
    const dayAgo = new Date(Date.now() - 25 * 3600_000);
    await fs.utimes(old, dayAgo, dayAgo);
    await fs.utimes(slow, dayAgo, dayAgo);
    await fs.mkdir(path.join(root, '.partial'));
    const weekAgo = new Date(Date.now() - 8 * 24 * 3600_000);
    for (const [name, time] of [['old', weekAgo], ['recent', new Date()]] as const) {
      await fs.writeFile(path.join(root, '.partial', name), 'bytes');
      await fs.utimes(path.join(root, '.partial', name), time, time);
    }
    await fs.writeFile(path.join(root, '.partial', 'recent.lock'), JSON.stringify({ token: 't', temp: '.download-slow', url: 'http://example.invalid/x', pid: 1 }));
    await download();
    assert.deepStrictEqual(await contents(root), { entries: ['.download-recent', '.download-slow', '.partial', 'toy-recurrent'], partial: ['recent', 'recent.lock'] });
  });

  it('files the manifest gives no sha256 for: refused without a callback, cancelled on "no", installed on "yes"', async () => {
    serveModel(manifestWith((m) => {
      delete m.onnx;
      delete (m.tokenizer as Record<string, unknown>).sha256;
    }));
    await rejects(download(), 'model-invalid', /manifest\.json: expected a sha256 for every file the manifest names, found none for model\.onnx, tokenizer\.json \(fields onnx\.sha256, tokenizer\.sha256\), so they cannot be verified; nothing was installed/);
    const asked: string[][] = [];
    const ask = (answer: boolean) => async (files: string[]) => {
      asked.push(files);
      return answer;
    };
    await rejects(download({ onUnverified: ask(false) }), 'cancelled', /manifest\.json declares no sha256 for model\.onnx, tokenizer\.json; nothing was installed/);
    assert.deepStrictEqual(modelRequests(), [], 'nothing is fetched before the answer');
    await assertNothingInstalled(root, false);
    await assertInstalled((await download({ onUnverified: ask(true) })).folder);
    assert.deepStrictEqual(asked, [['model.onnx', 'tokenizer.json'], ['model.onnx', 'tokenizer.json']]);
  });

  it('a manifest with every checksum is installed without asking', async () => {
    await assertInstalled((await download({ onUnverified: () => assert.fail('nothing should be asked') })).folder);
  });

  /** Starts a download that stalls in model.onnx after 30 kB, holding its partial file; abort() ends it. */
  const stalledDownload = async (options: DownloadOptions = {}, url = manifestUrl()) => {
    const controller = new AbortController();
    const stalled = new Promise<void>((resolve) => server.rules.set(new URL(url).pathname.replace(/manifest\.json$/, 'model.onnx'), { stallAfter: 30_000, stalled: resolve }));
    const done = download({ signal: controller.signal, ...options }, url).then(() => assert.fail('the stalled download should not finish'), (e: unknown) => e as LensError);
    await stalled;
    const abort = () => {
      controller.abort();
      return done;
    };
    return { abort };
  };

  it('a second download of the same URL in one window is refused while the first runs', async () => {
    const inProgress = new Map<string, string>();
    const first = await stalledDownload({ inProgress });
    await rejects(download({ inProgress }), 'download-failed', new RegExp(`${manifestUrl().replace(/[.]/g, '\\.')} is already being downloaded in this window; wait for that download to finish or cancel it$`));
    assert.strictEqual((await first.abort()).code, 'cancelled');
    assert.strictEqual(inProgress.size, 0, 'every claim is released');
    server.rules.clear();
    await assertInstalled((await download({ inProgress })).folder);
  });

  it('a second download of the same model id from another URL in one window is refused', async () => {
    const inProgress = new Map<string, string>();
    for (const name of ['manifest.json', 'model.onnx', 'tokenizer.json']) server.files.set(`/mirror/${name}`, server.files.get(`/m/toy-recurrent/${name}`)!);
    const first = await stalledDownload({ inProgress });
    await rejects(download({ inProgress }, `${server.base}/mirror/manifest.json`), 'download-failed', /a model with id "toy-recurrent" is already being downloaded from http:\/\/127\.0\.0\.1:\d+\/m\/toy-recurrent\/manifest\.json in this window; wait for it to finish/);
    assert.deepStrictEqual(server.requests.filter((r) => r.path.startsWith('/mirror/')).map((r) => r.path), ['/mirror/manifest.json'], 'refused before its files are fetched');
    await first.abort();
  });

  it("another window's download of the same file (its partial file locked) is not joined, and its partial is kept", async () => {
    const first = await stalledDownload(); // no shared map: as from another window
    await rejects(download(), 'download-failed', /model\.onnx is being downloaded by another window \(its partial file is locked: .*\.lock\); wait for that download to finish, then run Download model again/);
    assert.strictEqual(await partialSize(), 30_000, "the other window's partial file is left alone");
    await first.abort();
    server.rules.clear();
    const result = await download();
    assert.strictEqual(modelRequests().at(-1)?.range, 'bytes=30000-', 'the lock is released: the next attempt resumes');
    await assertInstalled(result.folder);
  });

  it('a lock left by a closed window (unchanged for twice the stall timeout, its partial too) is taken over; a fresh one is not', async () => {
    const lock = path.join(root, '.partial', `${sha256(Buffer.from(`${server.base}/m/toy-recurrent/model.onnx`))}.lock`);
    await fs.mkdir(path.dirname(lock), { recursive: true });
    await fs.writeFile(lock, JSON.stringify({ token: 'other', temp: '.download-gone', url: 'x', pid: 1 }));
    await rejects(download({ stallTimeoutMs: 1_000 }), 'download-failed', /is being downloaded by another window/);
    const old = new Date(Date.now() - 3_000);
    await fs.utimes(lock, old, old);
    await assertInstalled((await download({ stallTimeoutMs: 1_000 })).folder);
  });

  it('a model installed meanwhile under the same id (by another window) is not overwritten', async () => {
    const target = path.join(root, 'toy-recurrent');
    const onProgress = (received: number, total: number | undefined, file: string) => {
      if (file === 'tokenizer.json' && received === total) mkdirSync(target); // after the first check, before the rename
    };
    await rejects(download({ onProgress }), 'download-failed', /a model with id "toy-recurrent" was installed meanwhile \(.*toy-recurrent\), by another window or install; nothing was overwritten/);
    await assertNothingInstalled(root, false, ['toy-recurrent']);
    assert.deepStrictEqual(await fs.readdir(target), []);
  });
});
