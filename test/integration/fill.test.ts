// "Fill in the selection" inside a real VS Code: the command on an expression of a workspace file opens the
// Fill panel, whose webview runs the infilling model on the code around the hidden span; its snapshot maps
// every source token to the document, the original tokens join to the selection, the model writes a
// filling, and hovering a context token then says which filled tokens looked at it.

import * as assert from 'assert';
import * as vscode from 'vscode';
import type { AttentionLensApi } from '../../src/extension';
import { FILL_COMMAND, activateLens } from './lens';

describe('Fill in the selection in a real VS Code', function () {
  this.timeout(240_000);
  let api: AttentionLensApi;

  before(async () => {
    ({ api } = await activateLens());
  });

  it('fills an expression of sample.ts with the t5 model, and hovers show which filled tokens looked at the context', async () => {
    const folder = vscode.workspace.workspaceFolders![0].uri;
    const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'sample.ts'));
    const editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const text = document.getText();
    const expression = 'match.index + match[0].length';
    const start = text.indexOf(expression);
    assert.ok(start >= 0, `sample.ts must hold ${expression}`);
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(start + expression.length));

    const done = api.nextFill();
    const attention = api.nextInfillAttention();
    await vscode.commands.executeCommand(FILL_COMMAND, 't5');
    const summary = await done;
    assert.strictEqual(summary.modelId, 't5');
    assert.strictEqual(summary.uri, document.uri.toString());
    assert.strictEqual(summary.version, document.version);
    assert.strictEqual(summary.original.text, expression);
    assert.ok(summary.filling.tokenCount > 0, 'the model must write at least one token');

    const snapshot = await api.infillSnapshot(true);
    assert.ok(snapshot, 'the Fill panel must hold the fill');
    assert.strictEqual(snapshot.uri, document.uri.toString());
    assert.strictEqual(snapshot.source.length, summary.sourceTokenCount);
    // Source tokens: in document order, the context's tokens cover their text (byte-level: no gaps), the
    // hole and added tokens stand for no text, and none lies inside the hidden span.
    let at = snapshot.source.find((t) => !t.special)!.start;
    for (const token of snapshot.source) {
      if (token.special) {
        assert.strictEqual(token.start, token.end, `special token ${token.text} stands for no text`);
        continue;
      }
      assert.strictEqual(token.start, at === start ? start + expression.length : at, `gap or overlap at ${at}`);
      assert.ok(token.end <= start || token.start >= start + expression.length, `a context token inside the span: ${token.text}`);
      at = token.end;
    }
    const hole = snapshot.source.find((t) => t.special && t.start === start);
    assert.ok(hole, 'the hole stands where the span starts');
    assert.strictEqual(snapshot.original.tokens.length, summary.original.tokens.length);
    assert.ok(snapshot.filling.tokens.length > 0 && snapshot.filling.text.length > 0, 'a filling');
    assert.ok(snapshot.cross && snapshot.cross.dims.length === 4, 'the filling\'s cross-attention');
    assert.strictEqual(snapshot.cross.dims[3], snapshot.source.length);
    assert.ok(snapshot.views.length > 0, 'views on screen');

    // The original tokens' document texts join to the selection (the snapshot carries their display texts).
    const sourceText = snapshot.source.filter((t) => !t.special).map((t) => document.getText(new vscode.Range(document.positionAt(t.start), document.positionAt(t.end))));
    assert.ok(sourceText.join('').includes(text.slice(start - 20, start)), 'the context before the span is the document\'s');
    assert.strictEqual(
      summary.original.tokens.map((t) => t.text).join('').replace(/·/g, ' '),
      expression,
      'the original tokens join to the selection',
    );

    // A hover over a context token before the span names the filled tokens that looked at it.
    const weights = await attention;
    const context = weights.context.find((c) => c.end <= start && c.end > c.start && c.lookedAtBy.length > 0);
    assert.ok(context, 'some context token was looked at');
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, document.positionAt(context.start));
    const shown = hovers.flatMap((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value))).join('\n');
    assert.match(shown, /Filled tokens that looked here \(/);
    assert.ok(shown.includes(context.lookedAtBy[0].weight.toFixed(2)), shown);
  });

  it('refuses an empty selection, saying what to do', async () => {
    const editor = vscode.window.activeTextEditor!;
    editor.selection = new vscode.Selection(editor.selection.start, editor.selection.start);
    assert.strictEqual(await api.fillSelection('t5'), undefined);
  });
});
