// Integration tests of bringing one's own model, in a real VS Code: "Add model from folder…" (scripted with
// a folder Uri and { confirm: false }) installs a model with a manifest and a Hugging Face export without
// one into global storage, never touching the source; the store and the Models view list them with origin
// and structure; a selection is analysed with one, it becomes the default, its card shows its files and
// checksums, and Remove deletes its folder. A Hugging Face hub snapshot (files that are links to ../../blobs)
// is installed as copies of the files. A damaged folder is refused with its errors and leaves nothing
// in storage; a workspace's .attention-lens/models appear (the test workspace is trusted). Downloads come from
// a local server on 127.0.0.1 started and closed by their test: a manifest URL, and a .zip of a plain Hugging
// Face export (no manifest), which is derived, gets its attention exposed and analyses a selection. Every
// model this suite adds is removed again, so the suites after it see the bundled models only.

import * as assert from 'assert';
import { createHash } from 'crypto';
import { copyFile, cp, lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'fs/promises';
import { existsSync } from 'fs';
import { type AddressInfo } from 'net';
import * as http from 'http';
import { tmpdir } from 'os';
import * as path from 'path';
import * as vscode from 'vscode';
import { crc32 } from 'zlib';
import type { AttentionLensApi } from '../../src/extension';
import type { ImportResult } from '../../src/modelImport';
import type { ModelSummary, ModelViewItem } from '../../src/modelsView';
import { activateLens } from './lens';

const sha256 = async (file: string) => createHash('sha256').update(await readFile(file)).digest('hex');

/** A zip (entries stored, not compressed) of a folder's files under `prefix`, as an archiver writes one. */
async function zipOf(folder: string, prefix: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  const names = (await readdir(folder)).sort();
  for (const name of names) {
    const data = await readFile(path.join(folder, name));
    const entry = Buffer.from(`${prefix}${name}`);
    const fields = (header: Buffer, at: number) => {
      header.writeUInt16LE(20, at); // version needed; flags, method (stored), time, date: 0
      header.writeUInt32LE(crc32(data), at + 10);
      header.writeUInt32LE(data.length, at + 14);
      header.writeUInt32LE(data.length, at + 18);
      header.writeUInt16LE(entry.length, at + 22);
    };
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    fields(local, 4);
    const record = Buffer.alloc(46);
    record.writeUInt32LE(0x02014b50, 0);
    record.writeUInt16LE(20, 4);
    fields(record, 6);
    record.writeUInt32LE(offset, 42);
    parts.push(local, entry, data);
    central.push(record, entry);
    offset += local.length + entry.length + data.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(names.length, 8);
  end.writeUInt16LE(names.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, directory, end]);
}

/** Name → sha256 of every file in a folder. */
async function contents(folder: string): Promise<Record<string, string>> {
  const names = (await readdir(folder)).sort();
  return Object.fromEntries(await Promise.all(names.map(async (name) => [name, await sha256(path.join(folder, name))] as const)));
}

describe('Models: add, list, analyse with, make default, remove (real VS Code)', function () {
  this.timeout(120_000);
  let api: AttentionLensApi;
  let fixtures: string;
  /** <global storage>/models on disk. */
  let installedRoot: string;
  let workspaceModels: vscode.Uri;
  let temp: string;
  const originalDefault = vscode.workspace.getConfiguration('attentionLens').inspect<string>('defaultModel')?.globalValue;

  const add = (folder: string, options: object = { confirm: false }) => vscode.commands.executeCommand<ImportResult>('attentionLens.addModelFromFolder', vscode.Uri.file(folder), options);
  const remove = (id: string) => vscode.commands.executeCommand<ImportResult>('attentionLens.removeModel', id, { confirm: false });
  const model = async (id: string): Promise<ModelSummary | undefined> => (await api.models()).find((m) => m.id === id);
  /** Selects the tokenize function of sample.ts and analyses it with a model from the Models view's action. */
  const analyseTokenizeWith = async (id: string) => {
    const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, 'sample.ts'));
    const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const text = document.getText();
    const start = text.indexOf('export function tokenize');
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(text.indexOf('return tokens;', start)));
    const done = api.nextPanelAnalysis();
    await vscode.commands.executeCommand('attentionLens.analyseWithModel', id);
    return { document, analysis: await done };
  };
  const viewItem = async (label: (item: ModelViewItem) => boolean) => (await api.modelsView()).find(label);
  /** Storage entries, temporary ones included, to show that a failed install left nothing. */
  const stored = async () => (existsSync(installedRoot) ? (await readdir(installedRoot)).sort() : []);

  /** Waits (on the store's change events, never a timer) until the store's models satisfy `done`. */
  async function until(done: (models: ModelSummary[]) => boolean): Promise<ModelSummary[]> {
    for (;;) {
      const change = api.nextModelsChange();
      const models = await api.models();
      if (done(models)) return models;
      await change;
    }
  }

  before(async () => {
    let extensionPath: string;
    ({ api, extensionPath } = await activateLens());
    fixtures = path.join(extensionPath, 'test', 'fixtures');
    const root = api.installedModelsFolder();
    assert.ok(root, 'VS Code must give the extension a global storage folder');
    installedRoot = vscode.Uri.parse(root).fsPath;
    workspaceModels = vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, '.attention-lens', 'models');
    temp = await mkdtemp(path.join(tmpdir(), 'lens-models-'));
  });

  after(async () => {
    for (const m of (await api.models()).filter((x) => x.origin === 'installed')) await remove(m.id);
    await vscode.workspace.getConfiguration('attentionLens').update('defaultModel', originalDefault, vscode.ConfigurationTarget.Global);
    await rm(vscode.Uri.joinPath(workspaceModels, '..').fsPath, { recursive: true, force: true });
    await rm(temp, { recursive: true, force: true });
  });

  it('lists the bundled models with their origin and what they expose, in the store and the view', async () => {
    const transformer = await model('transformer');
    assert.deepStrictEqual([transformer?.origin, transformer?.state, transformer?.structure], ['bundled', 'ready', 'attention 4×4 (causal)']);
    assert.match((await model('lstm'))!.structure, /^gates: .*keep.*, states: /);
    const item = await viewItem((i) => i.contextValue.startsWith('model.ready.bundled') && i.description.includes('attention 4×4 (causal)'));
    assert.ok(item, 'the view must show the Transformer with its structure');
    assert.match(item.description, /bundled · [\d.]+ [kM]B · attention/);
  });

  it('adds a model folder with a manifest (toy encoder) from a Uri, copying only its files and not changing them', async () => {
    const source = path.join(fixtures, 'models', 'toy-encoder');
    const before = await contents(source);
    const changed = api.nextModelsChange();
    const result = await add(source);
    assert.ok(result && 'installed' in result, `expected an install, got ${JSON.stringify(result)}`);
    assert.strictEqual(result.installed.id, 'toy-encoder');
    await changed;
    assert.deepStrictEqual(await contents(source), before, 'the source folder must be left as it was');
    const folder = path.join(installedRoot, 'toy-encoder');
    assert.deepStrictEqual(await contents(folder), before, 'the installed copy holds exactly the manifest and the files it names');
    const summary = await model('toy-encoder');
    assert.deepStrictEqual([summary?.origin, summary?.state, summary?.folder], ['installed', 'ready', folder]);
    assert.strictEqual(summary?.structure, 'attention 2×2 (bidirectional)');
    const item = await viewItem((i) => i.contextValue === 'model.ready.installed' && i.description.includes('installed'));
    assert.ok(item, 'the view must list the installed model with its origin');
  });

  it('adds a Hugging Face export without a manifest (gpt2-attn), deriving one from config.json and the graph', async () => {
    const source = path.join(fixtures, 'hf', 'gpt2-attn');
    const before = await contents(source);
    const result = await add(source);
    assert.ok(result && 'installed' in result, `expected an install, got ${JSON.stringify(result)}`);
    assert.strictEqual(result.installed.id, 'gpt2-attn');
    assert.deepStrictEqual(await contents(source), before, 'no manifest.json (or anything else) may be written to the source');
    const folder = path.join(installedRoot, 'gpt2-attn');
    assert.deepStrictEqual((await readdir(folder)).sort(), ['config.json', 'manifest.json', 'model.onnx', 'tokenizer.json']);
    const manifest = JSON.parse(await readFile(path.join(folder, 'manifest.json'), 'utf8'));
    assert.strictEqual(manifest.id, 'gpt2-attn');
    const summary = await until((models) => models.some((m) => m.id === 'gpt2-attn'));
    const gpt2 = summary.find((m) => m.id === 'gpt2-attn')!;
    assert.deepStrictEqual([gpt2.origin, gpt2.state], ['installed', 'ready']);
    assert.match(gpt2.structure, /attention 2×2 \(causal\)/);
  });

  it('adds a plain export without attention outputs (gpt2-plain): attention exposed in the installed copy, the source unchanged', async () => {
    const source = path.join(fixtures, 'hf', 'gpt2-plain');
    const before = await contents(source);
    const result = await add(source);
    assert.ok(result && 'installed' in result, `expected an install, got ${JSON.stringify(result)}`);
    assert.deepStrictEqual(await contents(source), before);
    const copy = await contents(path.join(installedRoot, 'gpt2-plain'));
    assert.notStrictEqual(copy['model.onnx'], before['model.onnx'], 'the installed model is a copy with attention outputs');
    const manifest = JSON.parse(await readFile(path.join(installedRoot, 'gpt2-plain', 'manifest.json'), 'utf8'));
    assert.deepStrictEqual(manifest.outputs.filter((o: { role: string }) => o.role === 'mixing').map((o: { name: string }) => o.name), ['attentions.0', 'attentions.1']);
    const models = await until((all) => all.some((m) => m.id === 'gpt2-plain'));
    assert.match(models.find((m) => m.id === 'gpt2-plain')!.structure, /attention 2×2 \(causal\)/);
    assert.deepStrictEqual(await remove('gpt2-plain'), { removed: 'gpt2-plain' });
  });

  it('adds a Hugging Face hub snapshot, whose files are links to ../../blobs, as copies of the files', async function () {
    const hub = path.join(temp, 'hub', 'models--gpt2-attn');
    const snapshot = path.join(hub, 'snapshots', 'gpt2-snapshot');
    await mkdir(path.join(hub, 'blobs'), { recursive: true });
    await mkdir(snapshot, { recursive: true });
    const source = path.join(fixtures, 'hf', 'gpt2-attn');
    for (const name of ['config.json', 'model.onnx', 'tokenizer.json']) {
      const blob = await sha256(path.join(source, name));
      await copyFile(path.join(source, name), path.join(hub, 'blobs', blob));
      try {
        await symlink(`../../blobs/${blob}`, path.join(snapshot, name));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EPERM') this.skip(); // no symlinks for this user (Windows)
        throw err;
      }
    }
    const result = await add(snapshot);
    assert.ok(result && 'installed' in result, `expected an install, got ${JSON.stringify(result)}`);
    assert.strictEqual(result.installed.id, 'gpt2-snapshot');
    const folder = path.join(installedRoot, 'gpt2-snapshot');
    for (const name of ['config.json', 'model.onnx', 'tokenizer.json']) {
      assert.ok((await lstat(path.join(folder, name))).isFile(), `${name} must be installed as a file, not a link`);
      assert.strictEqual(await sha256(path.join(folder, name)), await sha256(path.join(source, name)));
    }
    assert.deepStrictEqual(await remove('gpt2-snapshot'), { removed: 'gpt2-snapshot' });
  });

  it('refuses an id that is already taken, naming the model that has it, and writes nothing', async () => {
    const entries = await stored();
    const result = await add(path.join(fixtures, 'models', 'toy-encoder'));
    assert.ok(result && 'errors' in result, `expected errors, got ${JSON.stringify(result)}`);
    assert.match(result.errors[0], /id "toy-encoder" is already the id of the installed model in /);
    assert.deepStrictEqual(await stored(), entries);
  });

  it('analyses the selection with the added model, from the Models view action', async () => {
    const { document, analysis } = await analyseTokenizeWith('gpt2-attn');
    assert.strictEqual(analysis.modelId, 'gpt2-attn');
    assert.strictEqual(analysis.uri, document.uri.toString());
    assert.ok(analysis.tokenCount > 5, `expected tokens, got ${analysis.tokenCount}`);
    const snapshot = await api.panelSnapshot(true);
    assert.ok(snapshot?.attention, 'the panel must hold the derived model\'s attention');
    assert.deepStrictEqual(snapshot.attention.dims, [2, 2, analysis.tokenCount, analysis.tokenCount], 'layers × heads × T × T of the GPT-2-shaped export');
  });

  it('makes it the default model in the user settings, and the view marks it', async () => {
    const id = await vscode.commands.executeCommand<string>('attentionLens.setDefaultModel', 'gpt2-attn');
    assert.strictEqual(id, 'gpt2-attn');
    assert.strictEqual(vscode.workspace.getConfiguration('attentionLens').inspect<string>('defaultModel')?.globalValue, 'gpt2-attn');
    const item = await viewItem((i) => i.contextValue === 'model.ready.installed.default');
    assert.ok(item, 'the default model must be marked');
    assert.match(item.description, /^default · installed · /);
  });

  it('shows the card as a read-only JSON document with the manifest, the files and their checksums', async () => {
    const uri = await vscode.commands.executeCommand<vscode.Uri>('attentionLens.showModelCard', 'toy-encoder');
    assert.ok(uri);
    const document = await vscode.workspace.openTextDocument(uri);
    const card = JSON.parse(document.getText());
    assert.strictEqual(card.model.id, 'toy-encoder');
    assert.strictEqual(card.model.origin, 'installed');
    assert.strictEqual(card.manifest.id, 'toy-encoder');
    const source = path.join(fixtures, 'models', 'toy-encoder');
    const files = Object.fromEntries(card.files.map((f: { file: string; sha256: string }) => [f.file, f.sha256]));
    assert.deepStrictEqual(files, await contents(source));
    const tokenizer = card.files.find((f: { file: string }) => f.file === 'tokenizer.json');
    assert.strictEqual(tokenizer.matches, true, 'the tokenizer checksum the manifest declares must be compared');
    assert.strictEqual(document.uri.scheme, 'attention-lens-card', 'a virtual document (read-only), not an untitled one');
    assert.strictEqual(document.isUntitled, false);
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  it('refuses a folder whose manifest disagrees with its graph, with the errors, leaving nothing in storage', async () => {
    const broken = path.join(temp, 'broken-encoder');
    await cp(path.join(fixtures, 'models', 'toy-encoder'), broken, { recursive: true });
    const manifest = JSON.parse(await readFile(path.join(broken, 'manifest.json'), 'utf8'));
    manifest.id = 'broken-encoder';
    manifest.outputs[1].name = 'no_such_output';
    await writeFile(path.join(broken, 'manifest.json'), JSON.stringify(manifest));
    const entries = await stored();
    const result = await add(broken);
    assert.ok(result && 'errors' in result, `expected errors, got ${JSON.stringify(result)}`);
    assert.ok(
      result.errors.some((e) => e.startsWith(path.join(broken, 'model.onnx')) && e.includes('"no_such_output"') && e.includes('expected in the graph')),
      result.errors.join('\n'),
    );
    assert.deepStrictEqual(await stored(), entries, 'no copy and no temporary folder may be left');
    assert.strictEqual(await model('broken-encoder'), undefined);

    await writeFile(path.join(broken, 'manifest.json'), '{"schemaVersion": 2,');
    const unreadable = await add(broken);
    assert.ok(unreadable && 'errors' in unreadable);
    assert.match(unreadable.errors[0], /manifest\.json: expected .*JSON.*, found text that does not parse/);
    assert.deepStrictEqual(await stored(), entries);
  });

  it('lists the models of the trusted workspace\'s .attention-lens/models, invalid ones with their reasons', async () => {
    assert.strictEqual(vscode.workspace.isTrusted, true, 'the test workspace is trusted');
    await cp(path.join(fixtures, 'models', 'toy-recurrent'), path.join(workspaceModels.fsPath, 'toy-recurrent'), { recursive: true });
    await cp(path.join(fixtures, 'models', 'toy-recurrent'), path.join(workspaceModels.fsPath, 'wrong-name'), { recursive: true });
    const models = await until((all) => ['toy-recurrent', 'wrong-name'].every((id) => all.some((m) => m.id === id && m.origin === 'workspace')));
    const recurrent = models.find((m) => m.id === 'toy-recurrent')!;
    assert.strictEqual(recurrent.state, 'ready');
    assert.match(recurrent.structure, /gates: .*states: /);
    const wrong = models.find((m) => m.id === 'wrong-name')!;
    assert.strictEqual(wrong.state, 'invalid');
    assert.match(wrong.errors[0], /manifest\.json: id: "toy-recurrent" does not match its folder name "wrong-name"/);
    const item = await viewItem((i) => i.contextValue === 'model.invalid.workspace');
    assert.ok(item && item.children.some((c) => c.label.includes('does not match its folder name')), 'the view must list the reasons under the invalid model');

    const removed = await remove('toy-recurrent');
    assert.ok(removed && 'errors' in removed && /not an installed model/.test(removed.errors[0]), 'only installed models can be removed');
    assert.ok(existsSync(path.join(workspaceModels.fsPath, 'toy-recurrent')));
    await rm(workspaceModels.fsPath, { recursive: true, force: true });
    await until((all) => all.every((m) => m.origin !== 'workspace'));
  });

  it('downloads a model from a manifest URL into storage, and refuses a 404 with its message, leaving nothing', async () => {
    const source = path.join(fixtures, 'models', 'toy-encoder-decoder');
    const server = http.createServer((request, response) => {
      const name = new URL(request.url ?? '/', 'http://localhost').pathname.slice(1);
      if (!['manifest.json', 'model.onnx', 'tokenizer.json'].includes(name)) return void response.writeHead(404).end();
      readFile(path.join(source, name)).then(
        (data) => response.writeHead(200, { 'content-length': data.length }).end(data),
        () => response.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const entries = await stored();
      // The fixture's manifest declares no onnx.sha256: { confirm: false } installs it without the question.
      const missing = await vscode.commands.executeCommand<ImportResult>('attentionLens.downloadModel', `${base}/nothing/manifest.json`, { confirm: false });
      assert.ok(missing && 'errors' in missing, `expected errors, got ${JSON.stringify(missing)}`);
      assert.match(missing.errors[0], /404/);
      assert.deepStrictEqual(await stored(), entries, 'a failed download leaves nothing in storage');

      const result = await vscode.commands.executeCommand<ImportResult>('attentionLens.downloadModel', `${base}/manifest.json`, { confirm: false });
      assert.ok(result && 'installed' in result, `expected an install, got ${JSON.stringify(result)}`);
      assert.strictEqual(result.installed.id, 'toy-encoder-decoder');
      const downloaded = await model('toy-encoder-decoder');
      assert.deepStrictEqual([downloaded?.origin, downloaded?.state], ['installed', 'ready']);
      assert.match(downloaded!.structure, /cross-attention/);
      assert.deepStrictEqual(await contents(path.join(installedRoot, 'toy-encoder-decoder')), await contents(source));
      assert.deepStrictEqual(await remove('toy-encoder-decoder'), { removed: 'toy-encoder-decoder' });
    } finally {
      server.close();
    }
  });

  it('downloads a .zip of a Hugging Face export without a manifest (gpt2-plain): derived, attention exposed, analyses a selection', async () => {
    const zip = await zipOf(path.join(fixtures, 'hf', 'gpt2-plain'), 'gpt2-export/');
    const server = http.createServer((request, response) => {
      if (request.url !== '/exports/gpt2-export.zip') return void response.writeHead(404).end();
      response.writeHead(200, { 'content-length': zip.length, 'content-type': 'application/zip' }).end(zip);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/exports/gpt2-export.zip`;
    try {
      const entries = await stored();
      // No checksum and no manifest: { confirm: false } skips both the question about unchecked files and the confirmation.
      const result = await vscode.commands.executeCommand<ImportResult>('attentionLens.downloadModel', url, { confirm: false });
      assert.ok(result && 'installed' in result, `expected an install, got ${JSON.stringify(result)}`);
      assert.strictEqual(result.installed.id, 'gpt2-export', 'the id comes from the archive\'s folder');
      const folder = path.join(installedRoot, 'gpt2-export');
      assert.deepStrictEqual((await readdir(folder)).sort(), ['config.json', 'manifest.json', 'model.onnx', 'tokenizer.json']);
      const manifest = JSON.parse(await readFile(path.join(folder, 'manifest.json'), 'utf8'));
      assert.deepStrictEqual(manifest.outputs.filter((o: { role: string }) => o.role === 'mixing').map((o: { name: string }) => o.name), ['attentions.0', 'attentions.1']);
      assert.notStrictEqual(await sha256(path.join(folder, 'model.onnx')), await sha256(path.join(fixtures, 'hf', 'gpt2-plain', 'model.onnx')), 'the installed model has its attention exposed');
      const models = await until((all) => all.some((m) => m.id === 'gpt2-export'));
      const installed = models.find((m) => m.id === 'gpt2-export')!;
      assert.deepStrictEqual([installed.origin, installed.state], ['installed', 'ready']);
      assert.match(installed.structure, /attention 2×2 \(causal\)/);

      const { analysis } = await analyseTokenizeWith('gpt2-export');
      assert.strictEqual(analysis.modelId, 'gpt2-export');
      assert.ok(analysis.tokenCount > 5, `expected tokens, got ${analysis.tokenCount}`);
      const snapshot = await api.panelSnapshot(true);
      assert.deepStrictEqual(snapshot?.attention?.dims, [2, 2, analysis.tokenCount, analysis.tokenCount], 'layers × heads × T × T, from the exposed attention');

      assert.deepStrictEqual(await remove('gpt2-export'), { removed: 'gpt2-export' });
      assert.deepStrictEqual(await stored(), entries, 'no temporary or partial folder may be left');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('removes installed models (confirmation skipped by the option): their folders are gone, the list refreshed', async () => {
    for (const id of ['gpt2-attn', 'toy-encoder']) {
      const folder = (await model(id))!.folder;
      const changed = api.nextModelsChange();
      assert.deepStrictEqual(await remove(id), { removed: id });
      await changed;
      assert.strictEqual(existsSync(folder), false, `${folder} must be deleted`);
      assert.strictEqual(await model(id), undefined);
    }
    assert.deepStrictEqual(await stored(), [], 'no temporary folder may be left');
    const bundled = await remove('transformer');
    assert.ok(bundled && 'errors' in bundled, 'a bundled model cannot be removed');
    assert.ok((await model('transformer'))?.state === 'ready');
  });
});
