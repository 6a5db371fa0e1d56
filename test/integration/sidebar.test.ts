// Integration tests of the Compare architectures view inside a real VS Code: it resolves, follows the
// editor selection, runs every bundled causal language model in its webview (their bits per byte equal the same
// models run here in Node), reuses the panel's analysis of the same text, and honours its token limit.

import * as assert from 'assert';
import * as vscode from 'vscode';
import { bitsPerByte } from '../../src/core/compare';
import type { ComparisonDone } from '../../src/core/protocol';
import type { AttentionLensApi } from '../../src/extension';
import { COMMAND, activateLens } from './lens';
import { analyseInNode } from './nodeAnalysis';

// Every bundled causal language model, in menu order: all of them are compared by default.
const MODELS = ['transformer', 'lstm', 'gru', 'elman', 'linear', 'window', 'mamba'];
// The models whose retention (declared keep/write gates, or a decay) gives a half-life.
const RETAINING = ['lstm', 'gru', 'mamba'];

describe('Compare architectures view in a real VS Code', function () {
  this.timeout(180_000);
  let api: AttentionLensApi;
  let extensionPath: string;
  let document: vscode.TextDocument;
  let editor: vscode.TextEditor;

  before(async () => {
    ({ api, extensionPath } = await activateLens());
    const folder = vscode.workspace.workspaceFolders![0].uri;
    document = await vscode.workspace.openTextDocument(vscode.Uri.joinPath(folder, 'sample.py'));
    editor = await vscode.window.showTextDocument(document, vscode.ViewColumn.One);
    editor.selection = new vscode.Selection(0, 0, 0, 0); // so that every selection below is a change
    await vscode.commands.executeCommand('attentionLens.compare.focus');
  });

  after(async () => {
    await vscode.workspace.getConfiguration('attentionLens').update('compare.maxTokens', undefined, vscode.ConfigurationTarget.Global);
  });

  /** Selects [from, to] in the document and returns its range as offsets. */
  function select(from: string, to: string): { start: number; length: number; text: string } {
    const text = document.getText();
    const start = text.indexOf(from);
    const end = text.indexOf(to, start) + to.length;
    assert.ok(start >= 0 && end > start, `${from} … ${to} must occur in ${document.fileName}`);
    editor.selection = new vscode.Selection(document.positionAt(start), document.positionAt(end));
    return { start, length: end - start, text: text.slice(start, end) };
  }

  /** The next comparison of exactly this range (comparisons of earlier selections may still finish first). */
  async function comparisonOf(range: { start: number; length: number }, accept: (done: ComparisonDone) => boolean = () => true): Promise<ComparisonDone> {
    for (;;) {
      const done = await api.nextComparison();
      if (done.uri === document.uri.toString() && done.startOffset === range.start && done.length === range.length && accept(done)) return done;
    }
  }

  it('follows the selection and reports every causal language model, with the bits per byte Node computes', async () => {
    const range = select('def ', '\n\n');
    const done = await comparisonOf(range);
    assert.deepStrictEqual(done.models.map((m) => m.modelId), MODELS);
    assert.strictEqual(done.version, document.version);
    assert.strictEqual(done.truncated, false);
    for (const m of done.models) {
      const node = await analyseInNode(extensionPath, m.modelId, range.text, range.start);
      assert.strictEqual(done.tokenCount, node.tokens.length, `${m.modelId}: token count`);
      const predictedFrom = node.tokens[1].start - range.start;
      const expected = bitsPerByte(node.surprisal, node.text, predictedFrom);
      assert.ok(Math.abs(m.bitsPerByte - expected) < 1e-3, `${m.modelId}: ${m.bitsPerByte} bits/byte in the view, ${expected} in Node`);
      assert.ok(m.bitsPerByte > 0 && m.bitsPerByte < 8, `${m.modelId}: ${m.bitsPerByte}`);
      assert.strictEqual(m.halfLife !== null, RETAINING.includes(m.modelId), `${m.modelId}: half-life ${m.halfLife}`);
    }
    assert.ok(done.sentences.some((s) => /predicts this selection best: [\d.]+ bits per byte/.test(s)), done.sentences.join('\n'));
    assert.ok(done.sentences.some((s) => /Retention halves every [\d.]+ tokens in the (LSTM|GRU)/.test(s)), done.sentences.join('\n'));
    assert.ok(done.sentences.some((s) => /strongest long-range link/.test(s)), done.sentences.join('\n'));
  });

  it('reuses the panel’s analysis of the same text instead of running that model again', async () => {
    const range = select('class ', '\n\n');
    const first = comparisonOf(range);
    const analysed = api.nextPanelAnalysis();
    await vscode.commands.executeCommand(COMMAND, 'lstm');
    assert.strictEqual((await analysed).modelId, 'lstm');
    await first; // compared while the panel was still analysing, or after: either way it is done
    const other = select('import', '\n');
    await comparisonOf(other);
    const again = comparisonOf(range);
    select('class ', '\n\n');
    const done = await again;
    assert.deepStrictEqual(
      done.models.map((m) => [m.modelId, m.reused]),
      MODELS.map((id) => [id, id === 'lstm']),
    );
    // The panel's figures crossed two webview boundaries intact: the same bits per byte as Node, a half-life.
    const lstm = done.models.find((m) => m.modelId === 'lstm')!;
    const node = await analyseInNode(extensionPath, 'lstm', range.text, range.start);
    const expected = bitsPerByte(node.surprisal, node.text, node.tokens[1].start - range.start);
    assert.ok(Math.abs(lstm.bitsPerByte - expected) < 1e-3, `${lstm.bitsPerByte} reused, ${expected} in Node`);
    assert.ok(lstm.halfLife !== null && lstm.halfLife > 0, `half-life ${lstm.halfLife}`);
  });

  it('compares only the first compare.maxTokens tokens and says so', async () => {
    const range = select('def ', '\n\n');
    await comparisonOf(range);
    const truncated = comparisonOf(range, (d) => d.truncated);
    await vscode.workspace.getConfiguration('attentionLens').update('compare.maxTokens', 16, vscode.ConfigurationTarget.Global);
    const done = await truncated;
    assert.strictEqual(done.tokenCount, 16);
    assert.ok(done.models.every((m) => Number.isFinite(m.bitsPerByte)));
  });
});
