// Influence decorations: while the cursor rests on an analysed token, the tokens that influence it are
// tinted in proportion to their weight (four theme colours contributed in package.json, with overview
// ruler marks), and cleared when the cursor leaves the analysed range or the analysis goes stale. Links to
// tokens that do not exist, or ranges past the document's end, are skipped, never thrown on (the webview's
// summaries are checked at the door too); the metric's label is escaped like the hover's. For a summary
// that offers rollout on demand, the tints wait for the token's rollout links from the panel (the store
// asks, or falls back to the stand-in lists after its timeout); an answer for a cursor that has moved on
// is dropped.

import * as vscode from 'vscode';
import { markdownText } from './core/hoverMarkdown';
import { type InfluenceSummary, tokenAt } from './core/influence';
import { Disposable } from './dispose';
import type { InfluenceStore } from './influenceStore';
import { documentLength } from './selection';
import { readHoverSettings } from './settings';

export const TOGGLE_DECORATIONS_COMMAND = 'attentionLens.toggleInfluenceDecorations';
const LEVELS = [1, 2, 3, 4] as const; // 4 = strongest

export class InfluenceDecorations extends Disposable {
  private readonly types = LEVELS.map((level) =>
    this.register(
      vscode.window.createTextEditorDecorationType({
        backgroundColor: new vscode.ThemeColor(`attentionLens.influence${level}`),
        overviewRulerColor: new vscode.ThemeColor(`attentionLens.influence${level}`),
        overviewRulerLane: vscode.OverviewRulerLane.Center,
        borderRadius: '2px',
      }),
    ),
  );
  private readonly sourceType = this.register(
    vscode.window.createTextEditorDecorationType({ border: '1px solid', borderColor: new vscode.ThemeColor('attentionLens.influenceSource'), borderRadius: '2px' }),
  );
  private enabled = readHoverSettings().decorations;
  /** Editors currently decorated, for tests and clearing. */
  private readonly decorated = new Set<vscode.TextEditor>();
  /** Counts updates per editor, so an on-demand answer only paints if no later update came. */
  private readonly updates = new WeakMap<vscode.TextEditor, number>();
  private readonly changed = this.register(new vscode.EventEmitter<{ editor: vscode.TextEditor; count: number }>());
  /** Fires after decorations were set (count > 0) or cleared (count 0) in an editor. */
  readonly onDidUpdate = this.changed.event;

  constructor(private readonly store: InfluenceStore) {
    super();
    this.register(vscode.window.onDidChangeTextEditorSelection((e) => this.update(e.textEditor)));
    this.register(vscode.window.onDidChangeActiveTextEditor((e) => e && this.update(e)));
    this.register(
      store.onDidChange((uri) => {
        for (const editor of vscode.window.visibleTextEditors) if (editor.document.uri.toString() === uri) this.update(editor);
      }),
    );
    this.register(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('attentionLens.decorations.enabled')) this.setEnabled(readHoverSettings().decorations);
      }),
    );
    this.register(vscode.commands.registerCommand(TOGGLE_DECORATIONS_COMMAND, () => this.setEnabled(!this.enabled)));
  }

  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
    void vscode.window.setStatusBarMessage(`Attention Lens: influence decorations ${enabled ? 'on' : 'off'}`, 2500);
    for (const editor of vscode.window.visibleTextEditors) this.update(editor);
  }

  /** Decorates the influencers of the token under the cursor, or clears. */
  update(editor: vscode.TextEditor): void {
    const seq = (this.updates.get(editor) ?? 0) + 1;
    this.updates.set(editor, seq);
    const document = editor.document;
    const offset = document.offsetAt(editor.selection.active);
    const summary = this.enabled ? this.store.find(document.uri.toString(), document.version, offset) : undefined;
    const index = summary ? tokenAt(summary.tokens, offset) : -1;
    if (!summary || index < 0) {
      if (this.decorated.delete(editor)) {
        this.types.forEach((t) => editor.setDecorations(t, []));
        editor.setDecorations(this.sourceType, []);
        this.changed.fire({ editor, count: 0 });
      }
      return;
    }
    if (!summary.onDemand) {
      this.paint(editor, summary, index);
      return;
    }
    void this.store.summaryAt(summary, offset).then((shown) => {
      if (!this.disposed && this.updates.get(editor) === seq) this.paint(editor, shown, index);
    });
  }

  /** Tints the influencers of token `index` of a summary. */
  private paint(editor: vscode.TextEditor, summary: InfluenceSummary, index: number): void {
    const document = editor.document;
    const length = documentLength(document);
    const rangeOf = (t: { start: number; end: number }) => {
      const start = Math.min(Math.max(0, t.start), length);
      return new vscode.Range(document.positionAt(start), document.positionAt(Math.min(Math.max(start, t.end), length)));
    };
    const links = summary.tokens[index].from
      .slice(0, readHoverSettings().topK)
      .filter((l) => summary.tokens[l.index] !== undefined && Number.isFinite(l.weight) && l.weight !== 0); // a signed W tints by |W|
    const max = links.reduce((m, l) => Math.max(m, Math.abs(l.weight)), 0);
    const byLevel: vscode.DecorationOptions[][] = LEVELS.map(() => []);
    const label = markdownText(summary.metricLabel);
    for (const link of links) {
      const level = Math.max(0, Math.min(3, Math.floor((Math.abs(link.weight) / max) * 4 - 1e-9)));
      byLevel[level].push({
        range: rangeOf(summary.tokens[link.index]),
        hoverMessage: `Influence on the token under the cursor: ${link.weight.toFixed(3)} (${label})`,
      });
    }
    this.types.forEach((type, i) => editor.setDecorations(type, byLevel[i]));
    editor.setDecorations(this.sourceType, [rangeOf(summary.tokens[index])]);
    this.decorated.add(editor);
    this.changed.fire({ editor, count: links.length });
  }
}
