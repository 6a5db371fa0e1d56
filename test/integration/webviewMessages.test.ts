// Integration tests, in a real VS Code, of what a webview may ask of the host: messages forged as if the
// panel's (or the Compare view's) webview had posted them go through the host's real checks and handlers
// (AttentionLensApi.simulateWebviewMessage). A reveal of another URI, offsets outside the analysed document,
// a save named "../x", an influence summary with indices outside its tokens and a selection the Compare
// view was never sent are all rejected with "bad-request", and nothing is opened or stored. A new panel's
// guess of its first model is the descriptor `ready` gives it.
// (Named to run after sidebar.test.ts, which opens the Compare view.)

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import * as vscode from 'vscode';
import type { AttentionLensApi } from '../../src/extension';
import { packInfluence } from '../../src/core/influence';
import type { InitialState } from '../../src/core/protocol';
import { COMMAND, activateLens } from './lens';

function workspaceFile(name: string): vscode.Uri {
  return vscode.Uri.joinPath(vscode.workspace.workspaceFolders![0].uri, name);
}

const isOpen = (uri: string) => vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri);

describe('Messages from a webview are checked by the host', function () {
  this.timeout(120_000);
  let api: AttentionLensApi;
  let extensionPath: string;
  let document: vscode.TextDocument;
  let uri: string;

  before(async () => {
    ({ api, extensionPath } = await activateLens());
    document = await vscode.workspace.openTextDocument(workspaceFile('sample.py'));
    uri = document.uri.toString();
    const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const text = document.getText();
    const start = text.indexOf('class Stack');
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(start + 200));
    const analysed = api.nextPanelAnalysis();
    await vscode.commands.executeCommand(COMMAND, 'transformer');
    assert.strictEqual((await analysed).uri, uri);
  });

  it('rejects a forged revealRange for any other URI and opens nothing', async () => {
    const others = ['file:///etc/passwd', workspaceFile('unicode.txt').toString(), 'command:workbench.action.terminal.new', 'https://example.com/x.py', `${uri}#x`];
    for (const other of others) {
      const wasOpen = isOpen(other); // an earlier suite may have opened unicode.txt: still not the analysed one
      const answer = await api.simulateWebviewMessage('panel', 'request', 'revealRange', { uri: other, start: 0, end: 1 });
      assert.strictEqual(answer.error?.code, 'bad-request', `${other}: ${JSON.stringify(answer)}`);
      assert.match(answer.error.message, /"revealRange": params\.uri/);
      assert.strictEqual(isOpen(other), wasOpen, `${other} must not have been opened`);
    }
    assert.ok(!isOpen('file:///etc/passwd'));
  });

  it('rejects offsets outside the analysed document and reveals a valid range', async () => {
    const length = document.getText().length;
    for (const [start, end] of [[0, length + 1], [5, 2], [-1, 3], [0.5, 2]]) {
      const answer = await api.simulateWebviewMessage('panel', 'request', 'revealRange', { uri, start, end });
      assert.strictEqual(answer.error?.code, 'bad-request', `[${start}, ${end}]: ${JSON.stringify(answer)}`);
    }
    const answer = await api.simulateWebviewMessage('panel', 'request', 'revealRange', { uri, start: 0, end: 5 });
    assert.deepStrictEqual(answer, { result: undefined });
    const editor = vscode.window.activeTextEditor;
    assert.strictEqual(editor?.document.uri.toString(), uri);
    assert.deepStrictEqual([document.offsetAt(editor.selection.start), document.offsetAt(editor.selection.end)], [0, 5]);
  });

  it('rejects saveFile with "../x" or a path before any save dialog', async () => {
    for (const suggestedName of ['../x.json', '..', 'a/b.json', '/tmp/x.json', '.x.json']) {
      // A shown dialog would wait for a person: an answer at all proves none was shown.
      const answer = await api.simulateWebviewMessage('panel', 'request', 'saveFile', { suggestedName, filters: { JSON: ['json'] }, data: '{}', encoding: 'utf8' });
      assert.strictEqual(answer.error?.code, 'bad-request', `${suggestedName}: ${JSON.stringify(answer)}`);
      assert.match(answer.error.message, /"saveFile": params\.suggestedName/);
    }
  });

  it('drops influence summaries with bad indices or for another document', async () => {
    const before = api.influenceEntries(uri);
    const token = (start: number, from: Array<{ index: number; weight: number }>) => ({ start, end: start + 1, text: 'x', from, to: [] });
    const summary = { uri, version: document.version, modelId: 'transformer', modelName: 'Transformer', metric: 'rollout' as const, metricLabel: 'attention rollout' };
    const bad = await api.simulateWebviewMessage('panel', 'notification', 'influence', packInfluence({ ...summary, tokens: [token(0, []), token(1, [{ index: 9, weight: 1 }])] }));
    assert.strictEqual(bad.error?.code, 'bad-request');
    assert.match(bad.error.message, /params\.from\.index\[1\] \(token 1, link 0\)/);
    const other = workspaceFile('sample.js').toString(); // analysed by an earlier suite: it may hold real entries
    const beforeOther = api.influenceEntries(other);
    const elsewhere = await api.simulateWebviewMessage('panel', 'notification', 'influence', packInfluence({ ...summary, uri: other, tokens: [token(0, [])] }));
    assert.strictEqual(elsewhere.error?.code, 'bad-request');
    assert.strictEqual(api.influenceEntries(uri), before);
    assert.strictEqual(api.influenceEntries(other), beforeOther);
  });

  it('shows hostile model and token text in the hover as inert text, its table intact', async () => {
    const at = document.getText().indexOf('class Stack');
    const tokens = [
      { start: at, end: at + 5, text: '![x](https://example.com/x.png)', from: [], to: [] },
      { start: at + 5, end: at + 6, text: '·||', from: [], to: [] },
      { start: at + 6, end: at + 11, text: 'Stack', from: [{ index: 0, weight: 0.5 }, { index: 1, weight: 0.25 }], to: [] },
    ];
    const forged = packInfluence({ uri, version: document.version, modelId: 'transformer', modelName: '[run](command:workbench.action.terminal.new)', metric: 'rollout', metricLabel: '<img src=x> # heading', tokens });
    const next = api.nextInfluence();
    assert.deepStrictEqual(await api.simulateWebviewMessage('panel', 'notification', 'influence', forged), {});
    await next;
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, document.positionAt(at + 7));
    const markdown = hovers.flatMap((h) => h.contents).map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : '')).find((v) => v.includes('Attention Lens'));
    assert.ok(markdown, 'the hover shows the forged summary');
    const links = [...markdown.matchAll(/\]\(([^)]*)\)/g)].map((m) => m[1]);
    assert.strictEqual(links.length, 2);
    assert.ok(links.every((l) => l.startsWith('command:attentionLens.revealRange?')), links.join(' '));
    assert.ok(!/(^|[^\\])(!\[|<img)/.test(markdown) && !/(^|\n)\s*#/.test(markdown), markdown);
    const pipeRow = markdown.split('\n').find((l) => l.startsWith('| ·'));
    assert.ok(pipeRow, markdown);
    assert.strictEqual(pipeRow.split(/(?<!\\)\|/).length - 2, 3, `three cells: ${pipeRow}`);
  });

  it('answers modelBytes with the bytes of a described model, and nothing else', async () => {
    const file = readFileSync(path.join(extensionPath, 'media/models/transformer/model.onnx'));
    for (const view of ['panel', 'sidebar'] as const) {
      const answer = await api.simulateWebviewMessage(view, 'request', 'modelBytes', { modelId: 'transformer', file: 'model', start: 1000, length: 5000 });
      assert.ok(answer.result instanceof Uint8Array, `${view}: ${JSON.stringify(answer).slice(0, 200)}`);
      assert.deepStrictEqual(Buffer.from(answer.result), file.subarray(1000, 6000));
    }
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [{ modelId: 'no-such-model', file: 'model', start: 0, length: 10 }, /no model "no-such-model" is available to this view/],
      [{ modelId: 'transformer', file: 'externalData', start: 0, length: 10 }, /model "transformer" declares no external data/],
      [{ modelId: 'transformer', file: 'model', start: file.length - 5, length: 10 }, new RegExp(`transformer/model.onnx has ${file.length} bytes; bytes ${file.length - 5}\\.\\.${file.length + 4} were asked for`)],
      [{ modelId: 'transformer', file: 'tokenizer.json', start: 0, length: 10 }, /"modelBytes": params\.file/],
      [{ modelId: '../transformer', file: 'model', start: 0, length: 10 }, /"modelBytes": params\.modelId/],
    ];
    for (const [params, message] of refused) {
      const answer = await api.simulateWebviewMessage('panel', 'request', 'modelBytes', params);
      assert.ok(answer.error, JSON.stringify(params));
      assert.match(answer.error.message, message);
    }
  });

  it('rejects a Compare view selection it was never sent', async () => {
    await vscode.commands.executeCommand('attentionLens.compare.focus');
    await api.sidebarReady();
    const target = workspaceFile('unicode.txt').toString(); // open or not, the text is not what it holds
    const text = 'not what the file holds';
    const selection = { uri: target, fileName: 'unicode.txt', languageId: 'plaintext', version: 1, start: { line: 0, character: 0 }, end: { line: 0, character: text.length }, startOffset: 0, text, length: text.length, codePoints: text.length, lineCount: 1 };
    const answer = await api.simulateWebviewMessage('sidebar', 'request', 'openInPanel', { selection, modelId: 'transformer' });
    assert.strictEqual(answer.error?.code, 'bad-request', JSON.stringify(answer));
    assert.match(answer.error.message, /"openInPanel": params\.selection/);
  });

  it("names to a new panel the model its first command asks for, as `ready` describes it (the page's early download is taken)", async () => {
    const panels = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('attentionLens.panel'));
    await vscode.window.tabGroups.close(panels);
    const analysed = api.nextPanelAnalysis();
    await vscode.commands.executeCommand(COMMAND, 'lstm');
    assert.strictEqual((await analysed).modelId, 'lstm');
    const guess = await api.simulateWebviewMessage('panel', 'request', 'likelyFirstModel', {});
    const ready = await api.simulateWebviewMessage('panel', 'request', 'ready', { view: 'panel' });
    const described = (ready.result as InitialState).models.find((m) => m.manifest.id === 'lstm');
    assert.ok(described, JSON.stringify(ready).slice(0, 300));
    assert.deepStrictEqual(guess.result, described, 'the same URIs and sizes: ModelFetcher takes only an exact match');
    const forged = await api.simulateWebviewMessage('panel', 'request', 'likelyFirstModel', 'lstm');
    assert.strictEqual(forged.error?.code, 'bad-request', JSON.stringify(forged));
  });
  it("takes a panel's word on whether its page keeps onnxruntime's binary, from the panel's start, and checks it", async () => {
    const panels = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith('attentionLens.panel'));
    await vscode.window.tabGroups.close(panels);
    const analysed = api.nextPanelAnalysis();
    const command = vscode.commands.executeCommand(COMMAND, 'transformer');
    // A page says what it found in Cache Storage as soon as it has read it, before its backend is ready: the host
    // takes that from the panel's creation (webview/binaryCache.ts; src/panel.ts).
    await command;
    assert.deepStrictEqual(await api.simulateWebviewMessage('panel', 'notification', 'binaryKept', { file: 'ort-wasm-simd-threaded.wasm', kept: false }), {});
    assert.deepStrictEqual(await api.simulateWebviewMessage('panel', 'notification', 'binaryKept', { file: 'ort-wasm-simd-threaded.asyncify.wasm', kept: true }), {});
    const forged = [
      [{ file: '../../extension.js', kept: true }, /params\.file/],
      [{ file: 'ort-wasm-simd-threaded.wasm', kept: 'yes' }, /params\.kept/],
      [{ file: 'ort-wasm-simd-threaded.wasm' }, /params\.kept/],
    ] as const;
    for (const [params, message] of forged) {
      const answer = await api.simulateWebviewMessage('panel', 'notification', 'binaryKept', params);
      assert.strictEqual(answer.error?.code, 'bad-request', JSON.stringify(answer));
      assert.match(answer.error.message, message);
    }
    assert.strictEqual((await analysed).modelId, 'transformer');
  });
});
