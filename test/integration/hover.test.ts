// Integration tests of token influence in the editor (real VS Code): after an analysis, hovers over
// tokens list the top influencers the core computes in Node for the same analysis; decorations follow
// the cursor; editing or closing the document drops the cached analysis so nothing stale is shown. Past
// 512 tokens, where the summary holds last-layer attention as a stand-in, a hover over a late token shows
// its rollout links, asked of the panel on demand, equal to the ones the core computes in Node.

import * as assert from 'assert';
import * as vscode from 'vscode';
import { mainMixing, mixingMatrices, rolloutOf } from '../../src/core/roleData';
import { type InfluenceSummary, linksAt, topInfluences } from '../../src/core/influence';
import { RolloutRows } from '../../src/core/rolloutRow';
import type { AttentionLensApi } from '../../src/extension';
import { COMMAND, activateLens } from './lens';
import { analyseInNode } from './nodeAnalysis';

function hoverText(hovers: vscode.Hover[]): string {
  return hovers
    .flatMap((h) => h.contents)
    .map((c) => (typeof c === 'string' ? c : 'value' in c ? c.value : ''))
    .join('\n');
}

describe('Token influence in the editor', function () {
  let api: AttentionLensApi;
  let extensionPath: string;
  let editor: vscode.TextEditor;
  let summary: InfluenceSummary;

  before(async () => {
    ({ api, extensionPath } = await activateLens());
    const folder = vscode.workspace.workspaceFolders![0].uri;
    const document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'sample.py'));
    editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    const text = document.getText();
    const start = text.indexOf('class Stack');
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(text.length));
    const next = api.nextInfluence();
    await vscode.commands.executeCommand(COMMAND, 'transformer');
    summary = await next;
  });

  it('stores a summary equal to the core computed in Node (rollout, top 5)', async () => {
    assert.strictEqual(summary.uri, editor.document.uri.toString());
    assert.strictEqual(summary.metric, 'rollout');
    assert.ok(api.influenceEntries(summary.uri) >= 1, 'the summary must be stored for the document');
    const document = editor.document;
    const a = await analyseInNode(extensionPath, 'transformer', document.getText(editor.selection), document.offsetAt(editor.selection.start));
    const { from } = topInfluences(rolloutOf(a)!, a.tokens.length, 5);
    assert.strictEqual(summary.tokens.length, a.tokens.length);
    summary.tokens.forEach((t, i) => {
      assert.deepStrictEqual([t.start, t.end], [a.tokens[i].start, a.tokens[i].end]);
      const got = t.from.slice(0, 5);
      got.forEach((link, j) => assert.ok(Math.abs(link.weight - from[i][j].weight) < 1e-4, `token ${i} link ${j}: ${link.weight} vs ${from[i][j].weight}`));
      // Same tokens unless two weights tie within the tolerance.
      const gotIds = got.map((l) => l.index).join(',');
      const expectedIds = from[i].map((l) => l.index).join(',');
      if (gotIds !== expectedIds) assert.ok(from[i].some((l, j) => j > 0 && Math.abs(l.weight - from[i][j - 1].weight) < 1e-4), `token ${i}: ${gotIds} vs ${expectedIds}`);
    });
  });

  it('shows the top influencers in a hover over a token', async () => {
    const document = editor.document;
    const index = summary.tokens.findIndex((t) => t.text === '·self' && t.from.length >= 3);
    assert.ok(index > 0, 'the analysed text has a "self" token with influencers');
    const token = summary.tokens[index];
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, document.positionAt(token.start + 1));
    const text = hoverText(hovers);
    assert.match(text, /Attention Lens/);
    assert.match(text, /attention rollout/);
    for (const link of token.from.slice(0, 5)) assert.ok(text.includes(link.weight.toFixed(3)), `hover lacks weight ${link.weight.toFixed(3)}:\n${text}`);
    assert.match(text, /command:attentionLens\.revealRange/);
  });

  it('stays silent outside the analysed range', async () => {
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', editor.document.uri, new vscode.Position(0, 2));
    assert.doesNotMatch(hoverText(hovers), /Attention Lens/);
  });

  it('tints the influencers of the token under the cursor and clears outside the range', async () => {
    const document = editor.document;
    const token = summary.tokens.find((t) => t.from.length > 0)!;
    let update = api.nextDecorationUpdate();
    editor.selection = new vscode.Selection(document.positionAt(token.start), document.positionAt(token.start));
    assert.ok((await update) > 0);
    update = api.nextDecorationUpdate();
    editor.selection = new vscode.Selection(new vscode.Position(0, 0), new vscode.Position(0, 0));
    assert.strictEqual(await update, 0);
  });

  it('drops the analysis when the document is edited, so hovers and decorations go', async () => {
    const document = editor.document;
    const token = summary.tokens[summary.tokens.length - 2];
    let update = api.nextDecorationUpdate();
    editor.selection = new vscode.Selection(document.positionAt(token.start), document.positionAt(token.start));
    assert.ok((await update) > 0);
    update = api.nextDecorationUpdate();
    await editor.edit((b) => b.insert(new vscode.Position(0, 0), '# edited\n'));
    assert.strictEqual(await update, 0, 'decorations must clear on edit');
    assert.strictEqual(api.influenceEntries(summary.uri), 0);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, document.positionAt(token.start + 10));
    assert.doesNotMatch(hoverText(hovers), /Attention Lens/);
    await vscode.commands.executeCommand('undo');
  });

  it('shows rollout, computed on demand, in a hover over a late token of a selection past 512 tokens', async () => {
    const source = editor.document.getText().repeat(8);
    const document = await vscode.workspace.openTextDocument({ language: 'python', content: source });
    const long = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    long.selection = new vscode.Selection(new vscode.Position(0, 0), document.positionAt(source.length));
    const next = api.nextInfluence();
    await vscode.commands.executeCommand(COMMAND, 'transformer');
    const stored = await next;
    assert.ok(stored.tokens.length > 512, `${stored.tokens.length} tokens`);
    assert.strictEqual(stored.metric, 'attention', 'the posted lists are the stand-in');
    assert.match(stored.metricLabel, /standing in for rollout/);
    assert.strictEqual(stored.onDemand?.metric, 'rollout');
    const a = await analyseInNode(extensionPath, 'transformer', source, 0);
    const family = mainMixing(a)!;
    const rows = new RolloutRows(mixingMatrices(a, family), { mask: family.mask, normalised: family.normalised });
    const index = stored.tokens.length - 3;
    const token = stored.tokens[index];
    const expected = linksAt(rows.row(index), rows.column(index), index, 5, family.mask, a.tokens.map((t) => t.special || t.start === t.end));
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', document.uri, document.positionAt(token.start));
    const text = hoverText(hovers);
    assert.match(text, /attention rollout over all layers\\?, computed for this token/); // Markdown escapes the comma
    assert.doesNotMatch(text, /standing in|not available/);
    for (const link of expected.from) assert.ok(text.includes(link.weight.toFixed(3)), `hover lacks rollout weight ${link.weight.toFixed(3)}:\n${text}`);
    // The decorations tint the same rollout links.
    const update = api.nextDecorationUpdate();
    long.selection = new vscode.Selection(document.positionAt(token.start), document.positionAt(token.start));
    assert.ok((await update) > 0);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
  });

  it('frees the cached analysis when its document closes', async () => {
    const document = await vscode.workspace.openTextDocument({ language: 'typescript', content: 'const answer = 42;\nexport function twice(x: number) {\n  return x * 2;\n}\n' });
    const scratch = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    scratch.selection = new vscode.Selection(new vscode.Position(0, 0), document.positionAt(document.getText().length));
    const next = api.nextInfluence();
    await vscode.commands.executeCommand(COMMAND, 'transformer');
    const stored = await next;
    const uri = document.uri.toString();
    assert.strictEqual(stored.uri, uri);
    assert.strictEqual(api.influenceEntries(uri), 1);
    const closed = new Promise<void>((resolve) => {
      const sub = vscode.workspace.onDidCloseTextDocument((d) => d.uri.toString() === uri && (sub.dispose(), resolve()));
    });
    await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await closed;
    assert.strictEqual(api.influenceEntries(uri), 0);
  });
});
