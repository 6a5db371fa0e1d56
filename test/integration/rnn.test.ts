// Integration test of the recurrent models in a real VS Code: the LSTM and GRU analyses of a real file
// run in the webview, their token ranges tile the selection, and their gates (sigmoid gates in [0, 1],
// candidates in [-1, 1]) are the exported ones.

import * as assert from 'assert';
import * as vscode from 'vscode';
import type { AttentionLensApi } from '../../src/extension';
import { COMMAND, activateLens } from './lens';

/** onnxruntime's float32 tanh/sigmoid may overshoot their bounds by about one unit in the last place. */
const EPS = 1e-6;

describe('Recurrent models in a real VS Code', function () {
  let api: AttentionLensApi;

  before(async () => {
    ({ api } = await activateLens());
  });

  for (const model of [{ id: 'lstm', gates: 4 }, { id: 'gru', gates: 3 }]) {
    it(`analyses sample.js with the ${model.id}: gates in range, ranges tile the selection`, async () => {
      const folder = vscode.workspace.workspaceFolders![0].uri;
      const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'sample.js'));
      const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
      editor.selection = new vscode.Selection(new vscode.Position(0, 0), document.positionAt(document.getText().length));
      const done = api.nextPanelAnalysis();
      await vscode.commands.executeCommand(COMMAND, model.id);
      const summary = await done;
      assert.strictEqual(summary.modelId, model.id);
      const snapshot = await api.panelSnapshot(true);
      assert.ok(snapshot?.gates, 'the snapshot must carry the gates');
      let offset = 0;
      for (const token of snapshot.tokens) {
        assert.strictEqual(token.start, offset);
        offset = token.end;
      }
      assert.strictEqual(offset, document.getText().length);
      const [L, T, G, H] = snapshot.gates.dims;
      assert.deepStrictEqual([L, T, G], [2, snapshot.tokens.length, model.gates]);
      const { order, data } = snapshot.gates;
      for (let l = 0; l < L; l++) {
        for (let t = 0; t < T; t++) {
          for (let g = 0; g < G; g++) {
            const [lo, hi] = order[g] === 'g' || order[g] === 'n' ? [-1, 1] : [0, 1];
            for (let u = 0; u < H; u++) {
              const v = data[((l * T + t) * G + g) * H + u];
              assert.ok(v >= lo - EPS && v <= hi + EPS, `${model.id} gate ${order[g]} = ${v} at layer ${l}, token ${t}, unit ${u}`);
            }
          }
        }
      }
    });
  }
});
