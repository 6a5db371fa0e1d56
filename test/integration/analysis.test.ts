// Integration tests of the main path inside a real VS Code: the command on a real file's selection
// produces an analysis in the webview whose token ranges tile the selection and whose attention equals
// the same model run here in the extension host's Node with onnxruntime-web.

import * as assert from 'assert';
import * as vscode from 'vscode';
import type { AttentionLensApi } from '../../src/extension';
import { COMMAND, activateLens } from './lens';
import { analyseInNode } from './nodeAnalysis';

async function selectAll(name: string, from: string, to: string): Promise<vscode.TextEditor> {
  const folder = vscode.workspace.workspaceFolders![0].uri;
  const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, name));
  const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
  const text = document.getText();
  const start = text.indexOf(from);
  const end = text.indexOf(to, start) + to.length;
  assert.ok(start >= 0 && end > start);
  editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(end));
  return editor;
}

describe('Analysis of a selection in a real VS Code', function () {
  let api: AttentionLensApi;
  let extensionPath: string;

  before(async () => {
    ({ api, extensionPath } = await activateLens());
  });

  for (const file of [
    { name: 'sample.ts', from: 'export function tokenize', to: 'return tokens;\n}' },
    { name: 'unicode.txt', from: 'Plain', to: 'marks.' },
  ]) {
    it(`analyses ${file.name} with the Transformer: ranges tile the selection, attention equals Node`, async () => {
      const editor = await selectAll(file.name, file.from, file.to);
      const document = editor.document;
      const selectionStart = document.offsetAt(editor.selection.start);
      const selectionEnd = document.offsetAt(editor.selection.end);
      const done = api.nextPanelAnalysis();
      await vscode.commands.executeCommand(COMMAND, 'transformer');
      const summary = await done;
      assert.strictEqual(summary.modelId, 'transformer');
      assert.strictEqual(summary.uri, document.uri.toString());
      assert.strictEqual(summary.version, document.version);
      assert.strictEqual(summary.truncated, null);

      const snapshot = await api.panelSnapshot(true);
      assert.ok(snapshot && snapshot.attention, 'the panel must hold the analysis with attention');
      assert.strictEqual(snapshot.tokens.length, summary.tokenCount);
      let offset = selectionStart;
      for (const token of snapshot.tokens) {
        assert.strictEqual(token.start, offset, `gap or overlap at ${offset}`);
        offset = token.end;
      }
      assert.strictEqual(offset, selectionEnd, 'the tokens must end where the selection ends');

      // The same model, run here in Node with onnxruntime-web (wasm).
      const expected = await analyseInNode(extensionPath, 'transformer', document.getText(editor.selection), selectionStart);
      assert.deepStrictEqual(snapshot.tokens.map((t) => [t.id, t.start, t.end]), expected.tokens.map((t) => [t.id, t.start, t.end]));
      const attention = expected.outputs.attention;
      assert.deepStrictEqual(snapshot.attention.dims, attention.dims);
      let worst = 0;
      attention.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - snapshot.attention!.data[i]))));
      assert.ok(worst <= 1e-4, `webview attention differs from Node by ${worst}`);
    });
  }
});
