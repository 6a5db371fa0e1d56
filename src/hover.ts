// Influence hovers: over a token of an analysed range, a Markdown hover names the token, the model and the
// metric, and lists the earlier tokens that influence it most and the later tokens it influences, with
// bars and links that reveal them. It only reads the InfluenceStore: no model ever runs here. A summary
// that offers rollout on demand (an analysis too long for every token's) is shown once the store has the
// hovered token's rollout links from the panel, or after ON_DEMAND_TIMEOUT_MS with the stand-in lists,
// whose label says they are not rollout. The Markdown
// is built by core/hoverMarkdown.ts, which escapes everything a model or webview supplied; the hover
// enables one command (the reveal) and neither HTML nor theme icons.

import * as vscode from 'vscode';
import { influenceHoverMarkdown } from './core/hoverMarkdown';
import { tokenAt, type InfluenceSummary } from './core/influence';
import type { InfluenceStore } from './influenceStore';
import { REVEAL_COMMAND } from './reveal';
import { documentLength } from './selection';
import { readHoverSettings } from './settings';

/** The hover for the token at an offset, from a summary (undefined when no token covers it). */
export function influenceHover(summary: InfluenceSummary, document: vscode.TextDocument, offset: number, topK: number): vscode.Hover | undefined {
  const index = tokenAt(summary.tokens, offset);
  const token = summary.tokens[index];
  if (!token) return undefined;
  const length = documentLength(document);
  const markdown = influenceHoverMarkdown(summary, index, topK, {
    uri: document.uri.toString(),
    length,
    lineOf: (o) => document.positionAt(o).line + 1,
    command: REVEAL_COMMAND,
  });
  if (markdown === undefined) return undefined;
  const md = new vscode.MarkdownString(markdown, false);
  md.supportHtml = false;
  md.isTrusted = { enabledCommands: [REVEAL_COMMAND] };
  const start = Math.min(token.start, length);
  return new vscode.Hover(md, new vscode.Range(document.positionAt(start), document.positionAt(Math.min(Math.max(start, token.end), length))));
}

export class InfluenceHoverProvider implements vscode.HoverProvider {
  constructor(private readonly store: InfluenceStore) {}

  async provideHover(document: vscode.TextDocument, position: vscode.Position): Promise<vscode.Hover | undefined> {
    const offset = document.offsetAt(position);
    const settings = readHoverSettings();
    const version = document.version;
    const summary = this.store.find(document.uri.toString(), version, offset);
    if (summary) {
      const shown = await this.store.summaryAt(summary, offset);
      return document.version === version ? influenceHover(shown, document, offset, settings.topK) : undefined;
    }
    if (!settings.offerAnalysis) return undefined;
    const md = new vscode.MarkdownString('[Analyse with Attention Lens](command:attentionLens.visualizeSelection "Select text first, then run Visualize attention on selection")');
    md.isTrusted = { enabledCommands: ['attentionLens.visualizeSelection'] };
    return new vscode.Hover(md);
  }
}
