// Why: a zip is written by whoever publishes it, so "Download model…" with a .zip address must install the
// model folder it holds and refuse everything else: entry names that leave the folder, symbolic links,
// headers that understate sizes (zip bombs), more entries or bytes than a model needs, damaged archives
// and wrong checksums, leaving no model folder and no temporary folder; files the archived manifest gives no
// sha256 for are installed only when the caller agrees, unless the user's checksum of the archive covers them.
// A zip of a Hugging Face export (config.json, no manifest.json) is handed to the caller's onExport, unpacked,
// with an id from its folder or file name, after the same question about unchecked files; the test's onExport
// derives the manifest (attention exposed) as the command does and installs it, or fails, leaving nothing.
// A malformed %-escape in the address is only a name. The zips are built here byte by
// byte (a zip library would refuse to write the hostile ones) and served by a local HTTP server on
// 127.0.0.1, started and stopped here, that can cut a response and honours Range for the resume.

import * as assert from 'assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { LensError } from '../../src/core/errors';
import { MAX_ARCHIVE_ENTRIES } from '../../src/modelArchive';
import { deriveExport } from '../../src/modelContents';
import { type DownloadOptions, downloadModel } from '../../src/modelDownload';
import { checkModelFolder, nodeFolderAccess } from '../../src/modelFiles';

const fixture = path.join(__dirname, '../fixtures/models/toy-recurrent');
const MANIFEST = readFileSync(path.join(fixture, 'manifest.json'));
const MODEL = readFileSync(path.join(fixture, 'model.onnx'));
const TOKENIZER = readFileSync(path.join(fixture, 'tokenizer.json'));
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const hfFixture = path.join(__dirname, '../fixtures/hf/gpt2-plain');
const HF_FILES = ['config.json', 'model.onnx', 'tokenizer.json'];
/** The plain GPT-2-shaped export (no attention outputs, no manifest), under `prefix`. */
const exportEntries = (prefix = ''): ZipEntry[] => HF_FILES.map((name) => ({ name: `${prefix}${name}`, data: readFileSync(path.join(hfFixture, name)) }));

/** One zip entry: `mode` is the Unix mode (type and permissions); `size` overrides the declared size. */
interface ZipEntry { name: string; data?: Buffer; store?: boolean; mode?: number; size?: number }

/** A zip archive with these entries, written as an archiver would (or as an attacker would, by the fields). */
function makeZip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const { name, data = Buffer.alloc(0), store = false, mode = name.endsWith('/') ? 0o040755 : 0o100644, size } of entries) {
    const body = store ? data : deflateRawSync(data);
    const nameBytes = Buffer.from(name, 'utf8');
    const fields = (header: Buffer, at: number) => {
      header.writeUInt16LE(20, at); // version needed
      header.writeUInt16LE(0x800, at + 2); // UTF-8 names
      header.writeUInt16LE(store ? 0 : 8, at + 4);
      header.writeUInt32LE(0, at + 6); // time, date
      header.writeUInt32LE(crc32(data), at + 10);
      header.writeUInt32LE(body.length, at + 14);
      header.writeUInt32LE(size ?? data.length, at + 18);
      header.writeUInt16LE(nameBytes.length, at + 22);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    fields(local, 4);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix
    fields(central, 6);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, body);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

/** The toy-recurrent model's files, under `prefix` ('' for the archive's root). */
const modelEntries = (prefix = '', manifest = MANIFEST, store = false): ZipEntry[] => [
  { name: `${prefix}manifest.json`, data: manifest, store },
  { name: `${prefix}model.onnx`, data: MODEL, store },
  { name: `${prefix}tokenizer.json`, data: TOKENIZER, store },
];

interface Server { base: string; files: Map<string, Buffer>; cutAfter: Map<string, number>; requests: Array<{ path: string; range?: string }>; close(): Promise<void> }

/** Serves `files` with an ETag and Range; a path in `cutAfter` is cut after that many bytes of its body. */
async function startServer(): Promise<Server> {
  const files = new Map<string, Buffer>();
  const cutAfter = new Map<string, number>();
  const requests: Server['requests'] = [];
  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    requests.push({ path: url, range: req.headers.range });
    const file = files.get(url);
    if (!file || requests.length > 100) return void res.writeHead(404).end('no');
    const etag = `"${sha256(file).slice(0, 16)}"`;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const start = range && req.headers['if-range'] === etag ? Number(range[1]) : 0;
    const headers = { 'Content-Length': file.length - start, ETag: etag, 'Accept-Ranges': 'bytes' };
    if (start > 0) res.writeHead(206, { ...headers, 'Content-Range': `bytes ${start}-${file.length - 1}/${file.length}` });
    else res.writeHead(200, headers);
    const rest = file.subarray(start);
    const cut = cutAfter.get(url);
    // The cut comes once the client has read what was sent (a cut at once drops what its stream buffered).
    if (cut !== undefined) res.write(rest.subarray(0, cut), () => setTimeout(() => res.destroy(), 100));
    else res.end(rest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    files,
    cutAfter,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('downloading a model as a .zip archive', function () {
  this.timeout(30_000);
  let server: Server;
  let root: string;
  const ZIP_PATH = '/dl/toy-recurrent.zip';
  const serve = (zip: Buffer, at = ZIP_PATH) => server.files.set(at, zip);
  // The fixture's manifest declares no sha256 for model.onnx: accepted here, as the command does once the user agrees.
  const download = (options: DownloadOptions = {}, at = ZIP_PATH) => downloadModel(`${server.base}${at}`, root, { stallTimeoutMs: 5_000, onUnverified: async () => true, ...options });
  const entries = async () => (await fs.readdir(root)).sort();

  /** The download fails with this code and message and leaves no model, temporary or partial folder. */
  const refused = async (code: string, pattern: RegExp, options: DownloadOptions = {}, keepPartial = false): Promise<void> => {
    const err = await download(options).then(
      () => assert.fail('the download should have failed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof LensError, `expected a LensError, got ${String(err)}`);
    assert.strictEqual(err.code, code, err.message);
    assert.match(err.message, pattern);
    assert.deepStrictEqual(await entries(), keepPartial ? ['.partial'] : [], 'left in the destination');
  };
  const assertInstalled = async (folder: string) => {
    assert.strictEqual(folder, path.join(root, 'toy-recurrent'));
    assert.deepStrictEqual((await fs.readdir(folder)).sort(), ['manifest.json', 'model.onnx', 'tokenizer.json']);
    assert.ok(MODEL.equals(await fs.readFile(path.join(folder, 'model.onnx'))), 'model.onnx differs from the zipped file');
    assert.ok(TOKENIZER.equals(await fs.readFile(path.join(folder, 'tokenizer.json'))), 'tokenizer.json differs from the zipped file');
    assert.deepStrictEqual(await entries(), ['toy-recurrent'], 'only the model folder is left');
  };

  beforeEach(async () => {
    server = await startServer();
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'lens-archive-'));
  });
  afterEach(async () => {
    await server.close();
    await fs.rm(root, { recursive: true, force: true });
  });

  it('installs a zip whose root is the model folder, reporting the download and the unpacking', async () => {
    serve(makeZip(modelEntries()));
    const files = new Set<string>();
    const result = await download({ onProgress: (_received, _total, file) => files.add(file) });
    assert.strictEqual(result.id, 'toy-recurrent');
    await assertInstalled(result.folder);
    assert.ok(files.has('toy-recurrent.zip') && files.has('unpacking model.onnx'), [...files].join(', '));
  });

  it("installs a zip holding the model in a single top-level folder, skipping macOS's __MACOSX folder", async () => {
    serve(makeZip([{ name: 'toy-recurrent-v1/' }, ...modelEntries('toy-recurrent-v1/'), { name: '__MACOSX/._model.onnx', data: Buffer.from('fork') }]));
    await assertInstalled((await download()).folder);
  });

  it('installs a zip served from an address without ".zip", recognised by its first bytes', async () => {
    serve(makeZip(modelEntries()), '/dl/get?id=7');
    await assertInstalled((await download({}, '/dl/get?id=7')).folder);
  });

  it('checks the sha256 the user gives against the archive', async () => {
    const zip = makeZip(modelEntries());
    serve(zip);
    await refused('download-failed', new RegExp(`toy-recurrent\\.zip: sha256 expected 0{64} \\(the checksum you gave\\), found ${sha256(zip)}: .*check the URL and the checksum`), { expectedSha256: '0'.repeat(64) });
    await assertInstalled((await download({ expectedSha256: sha256(zip) })).folder);
  });

  it('files the archived manifest gives no sha256 for are refused without a callback, naming them and the field', async () => {
    serve(makeZip(modelEntries()));
    await refused('model-invalid', /toy-recurrent\.zip\/manifest\.json: expected a sha256 for every file the manifest names, found none for model\.onnx \(field onnx\.sha256\), so they cannot be verified; nothing was installed/, { onUnverified: undefined });
    const asked: string[][] = [];
    const decline = async (files: string[]) => {
      asked.push(files);
      return false;
    };
    await refused('cancelled', /manifest\.json declares no sha256 for model\.onnx; nothing was installed/, { onUnverified: decline });
    assert.deepStrictEqual(asked, [['model.onnx']]);
  });

  it("the user's sha256 of the archive covers the files in it: nothing is asked", async () => {
    const zip = makeZip(modelEntries());
    serve(zip);
    const result = await download({ expectedSha256: sha256(zip), onUnverified: () => assert.fail('nothing should be asked') });
    await assertInstalled(result.folder);
  });

  it('an address with a malformed %-escape is downloaded, its name shown as it is', async () => {
    serve(makeZip(modelEntries()), '/dl/bad%zz.zip');
    const files = new Set<string>();
    const result = await download({ onProgress: (_received, _total, file) => files.add(file) }, '/dl/bad%zz.zip');
    await assertInstalled(result.folder);
    assert.ok(files.has('bad%zz.zip'), [...files].join(', '));
  });

  it('a cut archive download keeps its partial file, and the next attempt resumes it with Range', async () => {
    const zip = makeZip(modelEntries('', MANIFEST, true));
    serve(zip);
    server.cutAfter.set(ZIP_PATH, 100_000);
    await refused('download-failed', /connection to 127\.0\.0\.1:\d+ was cut after 100\.0 kB of \d+\.\d kB of toy-recurrent\.zip .*run Download model again to resume/, {}, true);
    server.cutAfter.clear();
    await assertInstalled((await download()).folder);
    assert.deepStrictEqual(server.requests.map((r) => r.range), [undefined, 'bytes=100000-']);
  });

  for (const [what, name, pattern] of [
    ['"../" that leaves the folder', '../../../lens-archive-evil', /entry "\.\.\/\.\.\/\.\.\/lens-archive-evil" has a "\.\." part, which leads out of the folder/],
    ['an absolute path', '/tmp/lens-archive-evil', /entry "\/tmp\/lens-archive-evil" has an absolute path/],
    ['a backslash', '..\\evil', /entry "\.\.\\\\evil" has a backslash, a folder separator on Windows/],
    ['a drive letter', 'C:/evil', /entry "C:\/evil" has a drive letter/],
  ] as const) {
    it(`an entry with ${what} is refused before anything is written`, async () => {
      serve(makeZip([...modelEntries(), { name, data: Buffer.from('evil') }]));
      await refused('model-invalid', new RegExp(`${pattern.source}, so it could be written outside the model folder; the archive was refused and nothing was installed`));
      for (const outside of [path.join(path.dirname(root), 'lens-archive-evil'), '/tmp/lens-archive-evil']) {
        assert.strictEqual(await fs.stat(outside).catch(() => 'absent'), 'absent', `${outside} was written`);
      }
    });
  }

  it('a symbolic-link entry is refused', async () => {
    serve(makeZip([{ name: 'link', data: Buffer.from('/etc'), mode: 0o120777 }, ...modelEntries()]));
    await refused('model-invalid', /entry "link" is a symbolic link, which could make later entries write outside the model folder/);
  });

  it('an entry that inflates to more than its header declares (a zip bomb) is refused', async () => {
    serve(makeZip([...modelEntries(), { name: 'bomb.bin', data: Buffer.alloc(2_000_000), size: 1000 }]));
    await refused('model-invalid', /entry "bomb\.bin" holds more than the 1\.0 kB its header declares \(a zip bomb, or a damaged archive\)/);
  });

  it('an archive that unpacks to more than maxBytes is refused', async () => {
    serve(makeZip([...modelEntries(), { name: 'zeros.bin', data: Buffer.alloc(2_000_000) }]));
    await refused('model-invalid', /would take 2\.3 MB or more once unpacked, over the limit of 1\.0 MB; nothing was installed/, { maxBytes: 1_000_000 });
  });

  it(`an archive of more than ${MAX_ARCHIVE_ENTRIES} entries is refused`, async () => {
    serve(makeZip([...modelEntries(), ...Array.from({ length: MAX_ARCHIVE_ENTRIES }, (_, i) => ({ name: `extra/${i}.txt`, data: Buffer.from('x') }))]));
    await refused('model-invalid', new RegExp(`holds ${MAX_ARCHIVE_ENTRIES + 3} entries, more than the ${MAX_ARCHIVE_ENTRIES} a model folder needs`));
  });

  it('two entries whose names differ only in letter case are refused', async () => {
    serve(makeZip([...modelEntries(), { name: 'Model.onnx', data: Buffer.from('other') }]));
    await refused('model-invalid', /entry "Model\.onnx" collides with another entry of the same name/);
  });

  for (const [what, damage, pattern] of [
    ['bytes that are not a zip', () => Buffer.from('PK\u0003\u0004 and then nothing of a zip'), /the archive is damaged or not a zip \(End of central directory record signature not found/],
    ['a cut archive', (zip: Buffer) => zip.subarray(0, zip.length - 100), /the archive is damaged or not a zip/],
    ['a damaged stored entry (CRC-32)', (zip: Buffer) => Buffer.from(zip).fill(0x55, 5000, 5010), /the archive is damaged or not a zip \(model\.onnx: its CRC-32 does not match its bytes\)/],
    // Byte 43 (after the 30-byte header and "manifest.json") starts the deflate stream: 0xff is no block type.
    ['a damaged deflated entry', (zip: Buffer) => Buffer.from(zip).fill(0xff, 43, 44), /the archive is damaged or not a zip \(manifest\.json: invalid block type\)/],
  ] as const) {
    it(`${what} is refused, saying it is damaged`, async () => {
      serve(damage(makeZip(modelEntries('', MANIFEST, what.includes('stored')))));
      await refused('model-invalid', pattern);
    });
  }

  it('an archive with neither a manifest.json nor a config.json says what a model folder holds', async () => {
    serve(makeZip([{ name: 'a/model.onnx', data: MODEL }, { name: 'b/tokenizer.json', data: TOKENIZER }]));
    await refused('model-invalid', /expected a model folder at the archive's root or as its single top-level folder: manifest\.json with the model and its tokenizer, or a Hugging Face export \(config\.json, an \.onnx file, tokenizer\.json\); found a, b; nothing was installed/);
  });

  it("a file that differs from the sha256 its archived manifest declares is refused", async () => {
    const manifest = JSON.parse(MANIFEST.toString()) as Record<string, unknown>;
    manifest.onnx = { file: 'model.onnx', sha256: '1'.repeat(64), bytes: MODEL.length };
    serve(makeZip(modelEntries('toy-recurrent/', Buffer.from(JSON.stringify(manifest)))));
    await refused('model-invalid', /toy-recurrent\.zip\/toy-recurrent\/model\.onnx: sha256 expected 1{64} \(the manifest's\), found [0-9a-f]{64}: the archive does not hold the model its manifest\.json describes/);
  });

  it('a model the folder check rejects is not installed', async () => {
    const manifest = JSON.parse(MANIFEST.toString()) as { outputs: Array<{ name: string }> };
    manifest.outputs[0].name = 'not_in_the_graph';
    serve(makeZip(modelEntries('', Buffer.from(JSON.stringify(manifest)))));
    await refused('model-invalid', /the model downloaded from http:\/\/127\.0\.0\.1:\d+\/dl\/toy-recurrent\.zip did not pass its checks, so it was not installed:\n.*not_in_the_graph/);
  });

  it('an id that is already installed is not overwritten', async () => {
    serve(makeZip(modelEntries()));
    await fs.mkdir(path.join(root, 'toy-recurrent'));
    const err = await download().then(() => undefined, (e: unknown) => e as LensError);
    assert.match(err?.message ?? '', /a model with id "toy-recurrent" is already installed/);
    assert.deepStrictEqual(await entries(), ['toy-recurrent']);
    assert.deepStrictEqual(await fs.readdir(path.join(root, 'toy-recurrent')), []);
  });
  describe('a zip of a Hugging Face export (no manifest.json)', () => {
    /** What onExport was given, and the files its folder held then. */
    let handed: Array<{ id: string; shown: string; files: string[] }>;
    /** Installs the unpacked export as the command does: manifest derived (attention exposed), checked, renamed. */
    const installAsFolder: NonNullable<DownloadOptions['onExport']> = async ({ folder, id, shown }) => {
      const files = (await fs.readdir(folder)).sort();
      handed.push({ id, shown, files });
      const read = (name: string) => fs.readFile(path.join(folder, name));
      const parse = async (name: string) => JSON.parse(await fs.readFile(path.join(folder, name), 'utf8')) as unknown;
      const { derived, modelBytes } = await deriveExport({ shown, id, files, read, parse });
      const staging = path.join(root, `.install-${id}`);
      await fs.mkdir(staging);
      for (const name of files) await fs.rename(path.join(folder, name), path.join(staging, name));
      if (modelBytes) await fs.writeFile(path.join(staging, 'model.onnx'), modelBytes);
      await fs.writeFile(path.join(staging, 'manifest.json'), JSON.stringify(derived.manifest));
      const check = await checkModelFolder(nodeFolderAccess(staging), id, shown);
      assert.ok(!('errors' in check), JSON.stringify(check));
      await fs.rename(staging, path.join(root, id));
      return { folder: path.join(root, id), id };
    };
    const exportOptions = (more: DownloadOptions = {}): DownloadOptions => ({ onExport: installAsFolder, ...more });
    beforeEach(() => {
      handed = [];
    });

    it('in a single top-level folder: handed over unpacked with the folder name as id, after asking about its unchecked files', async () => {
      serve(makeZip([{ name: 'GPT2 Plain/' }, ...exportEntries('GPT2 Plain/')]), '/dl/export.zip');
      const asked: Array<[string[], string]> = [];
      const result = await download(exportOptions({ onUnverified: async (files, source) => (asked.push([files, source]), true) }), '/dl/export.zip');
      assert.deepStrictEqual(result, { folder: path.join(root, 'gpt2-plain'), id: 'gpt2-plain' });
      assert.deepStrictEqual(asked, [[HF_FILES, 'export']]);
      assert.deepStrictEqual(handed, [{ id: 'gpt2-plain', shown: `${server.base}/dl/export.zip/GPT2%20Plain`, files: HF_FILES }]);
      const manifest = JSON.parse(await fs.readFile(path.join(result.folder, 'manifest.json'), 'utf8')) as { outputs: Array<{ name: string; role: string }> };
      assert.deepStrictEqual(manifest.outputs.filter((o) => o.role === 'mixing').map((o) => o.name), ['attentions.0', 'attentions.1'], 'attention exposed by graph surgery');
      assert.deepStrictEqual(await entries(), ['gpt2-plain'], 'no temporary or partial folder is left');
    });

    it("at the archive's root: the id comes from the URL's file name, made a valid id", async () => {
      serve(makeZip(exportEntries()), '/dl/My%20GPT-2%20Export.zip');
      const result = await download(exportOptions(), '/dl/My%20GPT-2%20Export.zip');
      assert.strictEqual(result.id, 'my-gpt-2-export');
      assert.strictEqual(handed[0].shown, `${server.base}/dl/My%20GPT-2%20Export.zip`);
      assert.deepStrictEqual(await entries(), ['my-gpt-2-export']);
    });

    it("the user's sha256 of the archive is checked, and covers its files: nothing is asked", async () => {
      const zip = makeZip(exportEntries('gpt2-plain/'));
      serve(zip);
      await refused('download-failed', /sha256 expected 0{64} \(the checksum you gave\)/, exportOptions({ expectedSha256: '0'.repeat(64) }));
      assert.deepStrictEqual(handed, []);
      const result = await download(exportOptions({ expectedSha256: sha256(zip), onUnverified: () => assert.fail('nothing should be asked') }));
      assert.strictEqual(result.id, 'gpt2-plain');
    });

    it('without a checksum: refused when nobody can be asked, cancelled on "no", never handed over', async () => {
      serve(makeZip(exportEntries('gpt2-plain/')));
      await refused('model-invalid', /toy-recurrent\.zip\/gpt2-plain: expected a sha256 of the archive .*, found none, so config\.json, model\.onnx, tokenizer\.json cannot be verified; nothing was installed/, exportOptions({ onUnverified: undefined }));
      await refused('cancelled', /no sha256 was given for the archive holding config\.json, model\.onnx, tokenizer\.json; nothing was installed/, exportOptions({ onUnverified: async () => false }));
      assert.deepStrictEqual(handed, []);
    });

    it('refused when the caller cannot install exports (no onExport), saying so', async () => {
      serve(makeZip(exportEntries()));
      await refused('model-invalid', /toy-recurrent\.zip: expected a model folder with a manifest\.json, found a Hugging Face export \(config\.json and no manifest\.json\), which only the Download model command installs/);
    });

    it("an export the caller's planning refuses (no tokenizer.json) leaves nothing behind", async () => {
      serve(makeZip(exportEntries().filter((e) => !e.name.endsWith('tokenizer.json'))));
      const planOnly: DownloadOptions['onExport'] = async ({ folder, id, shown }) => {
        const files = (await fs.readdir(folder)).sort();
        await deriveExport({ shown, id, files, read: (name) => fs.readFile(path.join(folder, name)), parse: async () => ({}) });
        return assert.fail('deriveExport should have refused it');
      };
      await refused('model-invalid', /toy-recurrent\.zip\/tokenizer\.json: missing \(a Hugging Face export needs its tokenizer\.json beside config\.json\)/, { onExport: planOnly });
    });
  });
});
