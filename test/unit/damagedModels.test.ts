// Why: a model folder is checked on the host before it is offered (src/modelFiles.ts), and each way a folder
// can be damaged must give its own clear error, not a cryptic one later in the webview. The cases are data
// (test/fixtures/damaged-models.json, like netron's list of broken models): each builds a damaged copy of a
// bundled or toy model in a temp dir and runs the store's checks with the store's own access to a local disk
// (nodeFolderAccess: node:fs, each file read at once, external data hashed as a stream). Installs copy a linked
// file's contents (a Hugging Face hub snapshot links to ../../blobs), never the link, and only of a regular file.

import * as assert from 'assert';
import { createHash } from 'crypto';
import { promises as fs, readFileSync } from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Root } from 'protobufjs/light';
import { type VerifiedFolders, TurnQueue, checkModelFolder, copyRegularFile, nodeFolderAccess, readRange, readWholeFile } from '../../src/modelFiles';
import { toHalf } from '../../src/core/half';

const root = path.join(__dirname, '../..');

type Json = Record<string, unknown>;
type Damage =
  | { truncate: { file: string; to: number } }
  | { write: { file: string; text: string } }
  | { weights: { initializer: string; fill: number | 'NaN'; count?: number } }
  | { manifest: { set?: Json; delete?: string[] } }
  | { tokenizer: { set?: Json; delete?: string[] } }
  | { copy: { file: string; from: string } }
  | { mkdir: { file: string } }
  | { symlink: { file: string; to: string } };
interface DamageCase {
  name: string;
  model: string;
  damage: Damage[];
  errors: string[];
}

const cases = (JSON.parse(readFileSync(path.join(root, 'test/fixtures/damaged-models.json'), 'utf8')) as { cases: DamageCase[] }).cases;
const sourceFolder = (model: string) => path.join(root, model.includes('/') ? model : `media/models/${model}`);
const ALL_MODELS = ['transformer', 'lstm', 'gru', 'test/fixtures/models/toy-encoder', 'test/fixtures/models/toy-encoder-decoder', 'test/fixtures/models/toy-recurrent'];

/** Steps of a path like outputs[name=logits].axes[2].size: keys, indices and name selectors. */
function steps(p: string): Array<string | number | { name: string }> {
  return [...p.matchAll(/([^.[\]]+)|\[(\d+)\]|\[name=([^\]]+)\]/g)].map((m) => (m[1] !== undefined ? m[1] : m[2] !== undefined ? Number(m[2]) : { name: m[3] }));
}

function edit(json: Json, change: { set?: Json; delete?: string[] }): void {
  const walk = (p: string): [Record<string | number, unknown>, string | number] => {
    const s = steps(p);
    let node = json as Record<string | number, unknown>;
    const key = (k: (typeof s)[number]) => (typeof k === 'object' ? (node as unknown as Json[]).findIndex((e) => e.name === k.name) : k);
    for (const k of s.slice(0, -1)) node = node[key(k)] as Record<string | number, unknown>;
    return [node, key(s[s.length - 1])];
  };
  for (const [p, value] of Object.entries(change.set ?? {})) {
    const [node, key] = walk(p);
    node[key] = value;
  }
  for (const p of change.delete ?? []) {
    const [node, key] = walk(p);
    if (Array.isArray(node)) node.splice(key as number, 1);
    else delete node[key];
  }
}

/** Where an initializer's raw data lies in an .onnx file (protobufjs keeps bytes fields as views of the input). */
/** Where an initialiser's raw data lies in an ONNX file, and its element type (ONNX's: 1 float32, 10 float16). */
function initializerBytes(file: Buffer, name: string): { offset: number; length: number; dataType: number } {
  const schema = {
    nested: {
      M: { fields: { graph: { type: 'G', id: 7 } } },
      G: { fields: { initializer: { rule: 'repeated', type: 'T', id: 5 } } },
      T: { fields: { dataType: { type: 'int32', id: 2 }, name: { type: 'string', id: 8 }, rawData: { type: 'bytes', id: 9 } } },
    },
  };
  const model = Root.fromJSON(schema).lookupType('M').decode(file) as unknown as { graph: { initializer: Array<{ dataType: number; name: string; rawData: Uint8Array }> } };
  const tensor = model.graph.initializer.find((t) => t.name === name);
  assert.ok(tensor?.rawData.length, `no initializer "${name}" with raw data`);
  assert.strictEqual(tensor.rawData.buffer, file.buffer, 'raw data must be a view of the file');
  return { offset: tensor.rawData.byteOffset - file.byteOffset, length: tensor.rawData.length, dataType: tensor.dataType };
}

/** `count` values (all if undefined) of an initialiser's element type, each `fill`, as raw little-endian bytes. */
function filledValues(dataType: number, length: number, fill: number, count?: number): Uint8Array {
  if (dataType === 1) return new Uint8Array(new Float32Array(Math.min(count ?? length / 4, length / 4)).fill(fill).buffer);
  assert.strictEqual(dataType, 10, `damaging weights of element type ${dataType} (only float32 and float16 are written)`);
  const bits = new Uint32Array(new Float32Array([fill]).buffer)[0];
  return new Uint8Array(new Uint16Array(Math.min(count ?? length / 2, length / 2)).fill(toHalf(fill, bits)).buffer);
}

async function applyDamage(folder: string, damage: Damage): Promise<void> {
  const at = (file: string) => path.join(folder, file);
  const editJson = async (file: string, change: { set?: Json; delete?: string[] }) => {
    const json = JSON.parse(await fs.readFile(at(file), 'utf8')) as Json;
    edit(json, change);
    await fs.writeFile(at(file), JSON.stringify(json, null, 2));
  };
  if ('truncate' in damage) await fs.truncate(at(damage.truncate.file), damage.truncate.to);
  else if ('write' in damage) await fs.writeFile(at(damage.write.file), damage.write.text);
  else if ('manifest' in damage) await editJson('manifest.json', damage.manifest);
  else if ('tokenizer' in damage) await editJson('tokenizer.json', damage.tokenizer);
  else if ('copy' in damage) {
    await fs.mkdir(path.dirname(at(damage.copy.file)), { recursive: true });
    await fs.copyFile(path.join(root, damage.copy.from), at(damage.copy.file));
  } else if ('mkdir' in damage) await fs.mkdir(at(damage.mkdir.file));
  else if ('symlink' in damage) {
    await fs.rm(at(damage.symlink.file), { force: true, recursive: true });
    await fs.symlink(damage.symlink.to, at(damage.symlink.file));
  } else if ('weights' in damage) {
    const file = await fs.readFile(at('model.onnx'));
    const { offset, length, dataType } = initializerBytes(file, damage.weights.initializer);
    file.set(filledValues(dataType, length, damage.weights.fill === 'NaN' ? NaN : damage.weights.fill, damage.weights.count), offset);
    await fs.writeFile(at('model.onnx'), file);
  } else throw new Error(`unknown damage ${JSON.stringify(damage)}`);
}

/** A fresh copy of a model folder at <temp>/models/<id>. */
async function copyModel(temp: string, model: string): Promise<{ folder: string; id: string }> {
  const id = path.basename(model);
  const folder = path.join(temp, 'models', id);
  await fs.mkdir(folder, { recursive: true });
  for (const file of await fs.readdir(sourceFolder(model))) await fs.copyFile(path.join(sourceFolder(model), file), path.join(folder, file));
  return { folder, id };
}

function assertErrors(actual: string[], expected: string[]): void {
  const matches = (a: string, e: string) => (e.endsWith('…') ? a.startsWith(e.slice(0, -1)) : a === e);
  const ok = actual.length === expected.length && actual.every((a, i) => matches(a, expected[i]));
  assert.ok(ok, `errors differ:\n${JSON.stringify(actual, null, 2)}\nexpected:\n${JSON.stringify(expected, null, 2)}`);
}

const memory = (): VerifiedFolders & { entries: Map<string, string> } => {
  const entries = new Map<string, string>();
  return { entries, get: (f) => entries.get(f), set: (f, fp) => void entries.set(f, fp) };
};

describe('model folders are checked before they are offered', function () {
  this.timeout(60_000);
  let temp: string;
  beforeEach(async () => {
    temp = await fs.mkdtemp(path.join(os.tmpdir(), 'lens-models-'));
  });
  afterEach(async () => fs.rm(temp, { recursive: true, force: true }));

  for (const model of ALL_MODELS) {
    it(`accepts ${model}, and remembers it until a file changes`, async () => {
      const { folder, id } = await copyModel(temp, model);
      const verified = memory();
      const first = await checkModelFolder(nodeFolderAccess(folder), id, `models/${id}`, verified);
      assert.ok(!('errors' in first), JSON.stringify(first));
      assert.strictEqual(first.cached, false);
      // The digests it verified, those its manifest declares, go with it (the pages keep copies of small files under
      // them: ModelDescriptor.sha256).
      const digestOf = async (file: string) => createHash('sha256').update(await fs.readFile(path.join(folder, file))).digest('hex');
      const declares = { model: (first.manifest as { onnx?: { sha256?: string } }).onnx?.sha256 !== undefined, tokenizer: first.manifest.tokenizer.sha256 !== undefined };
      const expected = { ...(declares.model ? { model: await digestOf(first.manifest.model ?? 'model.onnx') } : {}), ...(declares.tokenizer ? { tokenizer: await digestOf(first.manifest.tokenizer.file) } : {}) };
      assert.deepStrictEqual(first.sha256 ?? {}, expected);
      const again = await checkModelFolder(nodeFolderAccess(folder), id, `models/${id}`, verified);
      assert.ok(!('errors' in again) && again.cached, 'the second check must come from the fingerprint');
      assert.deepStrictEqual(again.sha256, first.sha256, 'and so do they from the fingerprint');
      // A change of size or modification time forgets it: the file is read and checked again.
      await fs.appendFile(path.join(folder, 'model.onnx'), new Uint8Array(4));
      const changed = await checkModelFolder(nodeFolderAccess(folder), id, `models/${id}`, verified);
      if (!('errors' in changed)) assert.strictEqual(changed.cached, false, 'a changed file must be checked again');
    });
  }

  describe('damaged folders (test/fixtures/damaged-models.json) fail with their own errors', () => {
    for (const c of cases) {
      it(c.name, async function () {
        const { folder, id } = await copyModel(temp, c.model);
        for (const damage of c.damage) {
          try {
            await applyDamage(folder, damage);
          } catch (err) {
            if ('symlink' in damage && (err as NodeJS.ErrnoException).code === 'EPERM') this.skip(); // no symlinks for this user (Windows)
            throw err;
          }
        }
        const verified = memory();
        const result = await checkModelFolder(nodeFolderAccess(folder), id, `models/${id}`, verified);
        assertErrors('errors' in result ? result.errors : [], c.errors);
        assert.strictEqual(verified.entries.size, c.errors.length ? 0 : 1, 'only a folder that passed is remembered');
      });
    }
  });

  it('reads a file whole, or a range of it, in one piece: every byte, fewer at its end, none of an empty file', async () => {
    const file = path.join(temp, 'bytes.bin');
    // Larger than fs.readFile's 512 KiB pieces and not a multiple of them.
    const bytes = Uint8Array.from({ length: 3 * 2 ** 20 + 12_345 }, (_, i) => (i * 2654435761) >>> 24);
    await fs.writeFile(file, bytes);
    assert.ok(Buffer.from(await readWholeFile(file)).equals(bytes));
    assert.ok(Buffer.from(await readRange(file, 1_000_000, 2 ** 20)).equals(bytes.subarray(1_000_000, 1_000_000 + 2 ** 20)));
    const tail = await readRange(file, bytes.length - 10, 100);
    assert.deepStrictEqual([...tail], [...bytes.subarray(bytes.length - 10)], 'a range past the end gives the bytes there are');
    await fs.writeFile(file, new Uint8Array(0));
    assert.strictEqual((await readWholeFile(file)).length, 0);
    await assert.rejects(readWholeFile(path.join(temp, 'missing.bin')), /ENOENT/);
  });

  it('gives concurrent checks one step per turn of the event loop (TurnQueue), so that timers and I/O run between', async () => {
    const turns = new TurnQueue();
    let ticks = 0;
    let running = true;
    const tick = () => {
      ticks++;
      if (running) setTimeout(tick, 0);
    };
    tick();
    const seen: number[] = [];
    const work = () => {
      const end = performance.now() + 3; // longer than a timer's least delay (1 ms): one is due after each step
      while (performance.now() < end);
    };
    const check = async () => {
      for (let step = 0; step < 3; step++) {
        await turns.next();
        seen.push(ticks);
        work();
      }
    };
    await Promise.all(Array.from({ length: 5 }, check));
    running = false;
    assert.strictEqual(seen.length, 15);
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `a timer ran between steps ${i - 1} and ${i}: ${seen.join(' ')}`);
    // The same five checks with the folders' real steps, paused by one queue, give the same verdicts.
    const { folder, id } = await copyModel(temp, 'transformer');
    const paused = await Promise.all(Array.from({ length: 3 }, () => checkModelFolder({ ...nodeFolderAccess(folder), pause: () => turns.next() }, id, `models/${id}`)));
    assert.ok(paused.every((r) => !('errors' in r)), JSON.stringify(paused));
  });

  it('hashes external data streamed, with the same verdicts', async () => {
    const { folder, id } = await copyModel(temp, 'test/fixtures/models/toy-encoder');
    const data = path.join(root, 'test/fixtures/onnx/external-data');
    for (const file of ['model.onnx', 'model.onnx.data']) await fs.copyFile(path.join(data, file), path.join(folder, file));
    const manifest = JSON.parse(await fs.readFile(path.join(folder, 'manifest.json'), 'utf8')) as Json;
    const declare = async (sha256: string) => {
      await fs.writeFile(path.join(folder, 'manifest.json'), JSON.stringify({ ...manifest, externalData: 'model.onnx.data', onnx: { externalData: { file: 'model.onnx.data', sha256 } } }));
      return checkModelFolder(nodeFolderAccess(folder), id, `models/${id}`);
    };
    const right = await declare('877a6f754a68424ccdf220d5e533a01dfadcdd0a67de01f974b8b399e0bf91a7');
    assert.ok(!('errors' in right), JSON.stringify(right));
    const wrong = await declare('2'.repeat(64));
    assert.ok('errors' in wrong);
    assert.match(wrong.errors.join('\n'), /^models\/toy-encoder\/model\.onnx\.data: sha256: expected 2{64} \(manifest\.json, field onnx\.externalData\.sha256\), found 877a6f75/);
  });

  describe('an install copies the contents of linked files, never the link', () => {
    it('copies a Hugging Face hub snapshot file, a link to ../../blobs/<hash>, as a regular file', async function () {
      const blob = path.join(temp, 'hub/blobs/0a1b2c');
      await fs.mkdir(path.dirname(blob), { recursive: true });
      await fs.writeFile(blob, 'the weights');
      const snapshot = path.join(temp, 'hub/snapshots/rev1');
      await fs.mkdir(snapshot, { recursive: true });
      try {
        await fs.symlink('../../blobs/0a1b2c', path.join(snapshot, 'model.onnx'));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPERM') this.skip(); // no symlinks for this user (Windows)
        throw err;
      }
      const dest = path.join(temp, 'copy.onnx');
      await copyRegularFile(path.join(snapshot, 'model.onnx'), dest, 'hub/model.onnx', 'named by manifest.json, field model');
      assert.ok((await fs.lstat(dest)).isFile(), 'the copy must be a file, not a link');
      assert.strictEqual(await fs.readFile(dest, 'utf8'), 'the weights');
      await assert.rejects(copyRegularFile(path.join(snapshot, 'model.onnx'), dest, 'hub/model.onnx', 'x'), { code: 'EEXIST' }, 'never over a file already there');
    });

    for (const [what, target, found] of [
      ['a folder', '.', 'a link to a folder'],
      ['a device', '/dev/null', 'a link to a device, pipe or socket'],
      ['nothing', 'gone', 'a link to nothing'],
    ] as const) {
      it(`refuses a link to ${what}`, async function () {
        if (target === '/dev/null' && process.platform === 'win32') this.skip();
        try {
          await fs.symlink(target, path.join(temp, 'link'));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EPERM') this.skip();
          throw err;
        }
        await assert.rejects(copyRegularFile(path.join(temp, 'link'), path.join(temp, 'copy'), 'src/link', 'named by the derived manifest, field model'), {
          message: `src/link: expected a regular file (named by the derived manifest, field model), found ${found}`,
        });
        assert.strictEqual(await fs.stat(path.join(temp, 'copy')).catch(() => 'absent'), 'absent', 'nothing is written');
      });
    }
  });
});
