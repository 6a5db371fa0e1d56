// Integration tests that run inside a real VS Code extension host: activation, the command, the panel
// and the Compare view, with the real webviews (and onnxruntime-web inside them) answering.

import * as assert from 'assert';
import { get } from 'http';
import { gunzipSync } from 'zlib';
import * as vscode from 'vscode';
import type { SelectionShown } from '../../src/core/protocol';
import type { AttentionLensApi } from '../../src/extension';
import { WebviewFileRoutes } from '../../src/fileRoutes';
import { buildWebviewHtml, webviewOptions } from '../../src/webviewHtml';
import { COMMAND, lensExtension } from './lens';

/** A Memento in memory, as the extension's globalState (the file server keeps its port there). */
class MemoryMemento implements vscode.Memento {
  private readonly values = new Map<string, unknown>();
  keys(): readonly string[] {
    return [...this.values.keys()];
  }
  get<T>(key: string, defaultValue?: T): T | undefined {
    return this.values.has(key) ? (this.values.get(key) as T) : defaultValue;
  }
  update(key: string, value: unknown): Thenable<void> {
    this.values.set(key, value);
    return Promise.resolve();
  }
}

function workspaceFile(name: string): vscode.Uri {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the test workspace must be open');
  return vscode.Uri.joinPath(folder.uri, name);
}

async function openWithSelection(name: string, find: string): Promise<vscode.TextEditor> {
  const document = await vscode.workspace.openTextDocument(workspaceFile(name));
  const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  const start = document.getText().indexOf(find);
  assert.ok(start >= 0, `${find} must occur in ${name}`);
  editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(start + find.length));
  return editor;
}

function panelTabs(): vscode.Tab[] {
  return vscode.window.tabGroups.all
    .flatMap((group) => group.tabs)
    .filter((tab) => tab.input instanceof vscode.TabInputWebview && tab.input.viewType.endsWith('attentionLens.panel'));
}

describe('Attention Lens in a real VS Code', function () {
  let api: AttentionLensApi;

  before(async () => {
    const extension = lensExtension();
    const contributed = extension.packageJSON.contributes.commands.map((c: { command: string }) => c.command);
    assert.ok(contributed.includes(COMMAND));
    // Activated once the window has started, so that the first command does not wait for it; never during startup.
    assert.ok(!extension.packageJSON.activationEvents.includes('*'), 'must not activate on startup');
    assert.ok(extension.packageJSON.activationEvents.includes('onStartupFinished'), 'activates after startup');
    api = await extension.activate();
  });

  it('registers the command once activated', async () => {
    const commands = await vscode.commands.getCommands(true);
    assert.ok(commands.includes(COMMAND));
  });

  it('opens the panel beside the editor with the selection and a working backend', async () => {
    const editor = await openWithSelection('sample.ts', 'export function');
    const shown = await vscode.commands.executeCommand<SelectionShown>(COMMAND);
    assert.ok(shown, 'the command must resolve with what the panel shows');
    assert.strictEqual(shown.length, 'export function'.length);
    assert.strictEqual(shown.version, editor.document.version);
    assert.strictEqual(panelTabs().length, 1);
    const backend = await api.panelBackend();
    assert.ok(backend.backend === 'webgpu' || backend.backend === 'wasm', `unexpected backend ${backend.backend}`);
    assert.match(backend.ortVersion, /^\d+\.\d+\.\d+/);
    if (backend.backend === 'wasm') {
      assert.ok(backend.fallbackReason, 'the wasm fallback must say why WebGPU was not used');
    } else {
      assert.ok(backend.adapter, 'WebGPU must name its adapter');
    }
  });

  it('reuses the panel when run again on another selection', async () => {
    await openWithSelection('sample.py', 'def ');
    const shown = await vscode.commands.executeCommand<SelectionShown>(COMMAND);
    assert.strictEqual(shown?.length, 4);
    assert.strictEqual(panelTabs().length, 1);
  });

  it('counts a selection with emoji and CRLF in UTF-16 units, as VS Code does', async () => {
    const editor = await openWithSelection('unicode.txt', 'naïve 😀');
    const shown = await vscode.commands.executeCommand<SelectionShown>(COMMAND);
    assert.strictEqual(shown?.length, editor.document.getText(editor.selection).length);
    assert.strictEqual(shown?.length, 8);
  });

  it('does nothing but explain when there is no selection or only whitespace', async () => {
    const editor = await openWithSelection('sample.ts', 'export function');
    editor.selection = new vscode.Selection(editor.selection.start, editor.selection.start);
    assert.strictEqual(await vscode.commands.executeCommand(COMMAND), undefined);
    const text = editor.document.getText();
    const blank = text.indexOf('\n\n');
    assert.ok(blank >= 0);
    editor.selection = new vscode.Selection(editor.document.positionAt(blank), editor.document.positionAt(blank + 2));
    assert.strictEqual(await vscode.commands.executeCommand(COMMAND), undefined);
  });

  it('resolves the Compare view with the active selection', async () => {
    const editor = await openWithSelection('sample.ts', 'interface');
    await vscode.commands.executeCommand('attentionLens.compare.focus');
    const state = await api.sidebarReady();
    assert.strictEqual(state.view, 'sidebar');
    assert.strictEqual(state.selection?.text, 'interface');
    assert.strictEqual(state.selection?.startOffset, editor.document.offsetAt(editor.selection.start));
    assert.deepStrictEqual(state.invalidModels, [], 'every bundled model must be valid');
  });

  it('serves a webview its files from the file server in a browser window, and nothing else', async () => {
    // This VS Code runs in a browser (uiKind Web): a webview gets routes, one per resource root, the
    // extension's out/ first, after onnxruntime's folder, published at a fixed path; what a route serves is the file
    // itself, to anyone who has its path.
    assert.strictEqual(vscode.env.uiKind, vscode.UIKind.Web);
    const extensionUri = lensExtension().extensionUri;
    const log = vscode.window.createOutputChannel('Attention Lens file routes test', { log: true });
    const memory = new MemoryMemento();
    const fileRoutes = new WebviewFileRoutes(log, vscode.Uri.joinPath(extensionUri, 'out'), memory);
    const panel = vscode.window.createWebviewPanel('attentionLensTest.files', 'Files', vscode.ViewColumn.One, webviewOptions(extensionUri));
    const pending = fileRoutes.open(panel.webview);
    let again: WebviewFileRoutes | undefined;
    try {
      const files = await pending.ready;
      assert.ok(files, 'routes in a browser window');
      assert.deepStrictEqual(files.routes.map((r) => r.from), ['out/ort', 'out/webview', 'out', 'media'].map((f) => `${panel.webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, f)).toString()}/`));
      assert.ok(files.routes.every((r) => r.to.startsWith(files.source)), 'the CSP source covers every route');
      // A panel's HTML with routes preloads its likely build's binary from the published folder, even where the page
      // keeps a copy (it streams the binary, and the browser keeps it); without routes, a kept binary is not preloaded.
      const kept = ['ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.wasm'];
      const servedHtml = buildWebviewHtml(panel.webview, extensionUri, 'panel', 'Files', files, { keptBinaries: kept, autoChoseLast: 'wasm' });
      const build = /data-likely-build="(\w+)"/.exec(servedHtml)?.[1];
      const binary = build === 'webgpu' ? kept[0] : kept[1];
      assert.ok(servedHtml.includes(`<link rel="preload" as="fetch" crossorigin="anonymous" href="${files.routes[0].to}${binary}">`), `the published binary is preloaded (${build})`);
      assert.match(servedHtml, /data-likely-preloaded="true"/);
      // The page's first requests in the order it needs them (src/webviewHtml.ts): a browser opens six connections to
      // the server, and the seventh request waits; the logits worker's script, needed last, is that one.
      const head = servedHtml.slice(0, servedHtml.indexOf('</head>'));
      const requested = [...head.matchAll(/<(?:link|script)\b[^>]*?\s(?:href|src)="([^"]+)"/g)].map((m) => m[1].split('/').pop());
      assert.deepStrictEqual(requested, ['main.css', 'ortWorker.js', 'panel.js', binary, 'probe.onnx', 'tokenizerWorker.js', 'logitsWorker.js']);
      const localHtml = buildWebviewHtml(panel.webview, extensionUri, 'panel', 'Files', undefined, { keptBinaries: kept, autoChoseLast: 'wasm' });
      assert.doesNotMatch(localHtml, /rel="preload"[^>]*\.wasm(\.gz)?"/, 'a kept binary is not preloaded without routes');
      assert.match(localHtml, /data-likely-preloaded="false"/);
      // code-server's workbench forwards the port as /proxy/<port>/, a route of code-server's own server, which
      // this bare VS Code server lacks (the webviews here fall back to resource loading): ask the port itself.
      const direct = (to: string) => {
        const port = /\/proxy\/(\d+)\//.exec(to)?.[1];
        return port ? to.replace(/^.*\/proxy\/\d+\//, `http://127.0.0.1:${port}/`) : to;
      };
      const [ort, pages, out] = files.routes.map((r) => direct(r.to));
      const file = 'ort/ort-wasm-simd-threaded.wasm.gz';
      const served = await fetch(`${out}${file}`);
      assert.strictEqual(served.status, 200, `${out}${file}`);
      assert.match(served.headers.get('cache-control') ?? '', /no-store/, "a share's files are not kept");
      const onDisk = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(extensionUri, 'out', file));
      assert.ok(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(onDisk)), 'the same bytes as the file');
      // Under its plain name, encoded: fetch decodes it on the way, as the webview's does. Brotli's copy to a client
      // that takes Brotli (a browser), the gzipped file to one that takes only gzip. From onnxruntime's published
      // folder as from the share, but kept by the browser, for ever, and with the type streaming compilation takes.
      for (const [at, published] of [[`${out}${file}`, false], [`${ort}${file.replace(/^ort\//, '')}`, true]] as const) {
        for (const [acceptEncoding, coding] of [['gzip, deflate, br, zstd', 'br'], ['gzip, deflate', 'gzip']]) {
          const decoded = await fetch(at.replace(/\.gz$/, ''), { headers: { 'accept-encoding': acceptEncoding } });
          assert.strictEqual(decoded.headers.get('content-encoding'), coding);
          assert.strictEqual(decoded.headers.get('content-type'), 'application/wasm');
          assert.strictEqual(decoded.headers.get('cache-control'), published ? 'public, max-age=31536000, immutable, no-transform' : 'no-store, no-transform');
          assert.ok(Buffer.from(await decoded.arrayBuffer()).equals(gunzipSync(onDisk)), `the file, decoded from ${coding}`);
        }
      }
      assert.match(ort, /\/onnxruntime-[0-9a-f]{16}\/0\/$/, "onnxruntime's folder is published under its files' digests");
      // The pages' folder too, under its files' digests (the build lists them: esbuild.mjs): a page's script comes
      // kept for ever, encoded, typed as JavaScript, the file's bytes; a share's copy of it is not kept.
      assert.match(pages, /\/webview-[0-9a-f]{16}\/0\/$/, "the pages' folder is published under its files' digests");
      const script = await fetch(`${pages}panel.js`, { headers: { 'accept-encoding': 'gzip, deflate, br, zstd' } });
      assert.strictEqual(script.status, 200, `${pages}panel.js`);
      assert.strictEqual(script.headers.get('cache-control'), 'public, max-age=31536000, immutable, no-transform');
      assert.strictEqual(script.headers.get('content-encoding'), 'br');
      assert.match(script.headers.get('content-type') ?? '', /^(text|application)\/javascript/);
      const scriptOnDisk = await vscode.workspace.fs.readFile(vscode.Uri.joinPath(extensionUri, 'out', 'webview', 'panel.js'));
      assert.ok(Buffer.from(await script.arrayBuffer()).equals(Buffer.from(scriptOnDisk)), "the page's script, decoded");
      assert.match((await fetch(`${out}webview/panel.js`)).headers.get('cache-control') ?? '', /no-store/, "a share's script is not kept");
      // Sent as written ("fetch" would resolve the dots first): out/webview/panel.js is there, one folder up.
      const climbed = new URL(ort);
      const status = await new Promise<number | undefined>((resolve, reject) => get({ host: climbed.hostname, port: climbed.port, path: `${climbed.pathname}../webview/panel.js` }, (res) => (res.resume(), resolve(res.statusCode))).on('error', reject));
      assert.strictEqual(status, 404, 'nothing outside the published folder');
      const token = /\/([\w-]{32})\/0\/$/.exec(out)?.[1];
      assert.ok(token, `the route ends in /<token>/0/: ${out}`);
      assert.strictEqual((await fetch(`${out.replace(token, 'A'.repeat(32))}${file}`)).status, 404, 'another path serves nothing');
      assert.strictEqual((await fetch(`${out}ort`)).status, 404, 'a folder is not served');
      pending.dispose();
      assert.strictEqual((await fetch(`${out}${file}`)).status, 404, 'nothing once the webview\'s share ended');
      // The next window's server listens on the same port when it is free: the published URLs stay the same.
      const [port] = memory.get<number[]>('attentionLens.fileServerPorts') ?? [];
      assert.ok(port && ort.includes(`:${port}/`), `the port is kept: ${port}, ${ort}`);
      fileRoutes.dispose();
      again = new WebviewFileRoutes(log, vscode.Uri.joinPath(extensionUri, 'out'), memory);
      const next = again.open(panel.webview);
      const nextFiles = await next.ready;
      next.dispose();
      assert.strictEqual(nextFiles?.routes[0].to, files.routes[0].to, "the next server publishes onnxruntime's folder at the same URL");
      assert.strictEqual(nextFiles?.routes[1].to, files.routes[1].to, "and the pages' folder");
    } finally {
      pending.dispose();
      panel.dispose();
      fileRoutes.dispose();
      again?.dispose();
      log.dispose();
    }
  });

  it('releases the panel when it is closed', async () => {
    const tabs = panelTabs();
    assert.strictEqual(tabs.length, 1);
    await vscode.window.tabGroups.close(tabs);
    assert.strictEqual(panelTabs().length, 0);
    await assert.rejects(api.panelBackend(), /No Attention Lens panel/);
  });

  // After a reload VS Code restores the panel (its serializer) while the first command may already run: one webview.
  const restorable = () => vscode.window.createWebviewPanel('attentionLens.panel', 'Attention Lens', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true });

  it('shows a command run while the panel is being restored in the restored panel: no second webview', async () => {
    await openWithSelection('sample.ts', 'export function');
    const restored = restorable();
    let closed = false;
    restored.onDidDispose(() => (closed = true));
    const restoring = api.restorePanel(restored, undefined);
    const shown = await vscode.commands.executeCommand<SelectionShown>(COMMAND);
    await restoring;
    assert.ok(shown, 'the command must resolve with what the panel shows');
    assert.strictEqual(closed, false, 'the restored panel shows the selection');
    assert.strictEqual(panelTabs().length, 1);
    await api.panelBackend();
    await vscode.window.tabGroups.close(panelTabs());
  });

  it("names the model a restored panel analyses its saved selection with in its HTML, for its starter to fetch early", async () => {
    await openWithSelection('sample.ts', 'export function');
    const restored = restorable();
    // What the page saved (untrusted): its selection, analysed again once restored, and the model it used.
    const uri = vscode.window.activeTextEditor!.document.uri.toString();
    await api.restorePanel(restored, { selection: { uri }, modelId: 'gru' });
    await api.panelBackend(); // the page ran: its HTML was set
    const named = /data-first-model-files="([^"]*)"/.exec(restored.webview.html)?.[1] ?? '';
    assert.match(named, /\/gru\/tokenizer\.json/, `the saved model's files are named: ${named.slice(0, 300)}`);
    await vscode.window.tabGroups.close(panelTabs());
    // A panel without a saved selection loads no model soon: none is named.
    const idle = restorable();
    await api.restorePanel(idle, { selection: null, modelId: 'gru' });
    await api.panelBackend();
    assert.doesNotMatch(idle.webview.html, /data-first-model-files/);
    await vscode.window.tabGroups.close(panelTabs());
  });

  it('closes a panel restored while a command opens one: one webview', async () => {
    await openWithSelection('sample.ts', 'export function');
    const restored = restorable();
    let closed = false;
    restored.onDidDispose(() => (closed = true));
    const command = vscode.commands.executeCommand<SelectionShown>(COMMAND); // opening its panel
    await api.restorePanel(restored, undefined);
    const shown = await command;
    assert.ok(shown, 'the command must resolve with what the panel shows');
    assert.strictEqual(closed, true, 'the restored panel gave way to the one the command opened');
    assert.strictEqual(panelTabs().length, 1);
    await api.panelBackend();
    await vscode.window.tabGroups.close(panelTabs());
  });
});
