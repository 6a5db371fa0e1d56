// Influence hovers: over a token of an analysed range, a Markdown hover names the token, the model and the
// metric, and lists the earlier tokens that influence it most and the later tokens it influences, with
// bars and links that reveal them. It only reads the InfluenceStore: no model ever runs here.

import * as vscode from 'vscode';
import { tokenAt, type InfluenceLink, type InfluenceSummary } from './core/influence';
import type { InfluenceStore } from './influenceStore';
import { REVEAL_COMMAND } from './reveal';
import { readHoverSettings } from './settings';

const BAR_WIDTH = 10;

function bar(weight: number, max: number): string {
  const filled = max > 0 ? Math.max(1, Math.round((weight / max) * BAR_WIDTH)) : 0;
  return '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
}

function code(text: string): string {
  const clean = text.replace(/`/g, 'ˋ');
  return `\`${clean.length ? clean : '∅'}\``;
}

function linkList(summary: InfluenceSummary, document: vscode.TextDocument, links: InfluenceLink[], limit: number): string[] {
  const shown = links.slice(0, limit);
  const max = shown.reduce((m, l) => Math.max(m, l.weight), 0);
  return shown.map((l) => {
    const t = summary.tokens[l.index];
    const line = document.positionAt(t.start).line + 1;
    const args = encodeURIComponent(JSON.stringify([summary.uri, t.start, t.end]));
    return `| ${code(t.text)} | \`${bar(l.weight, max)}\` ${l.weight.toFixed(3)} | [line ${line}](command:${REVEAL_COMMAND}?${args} "Reveal this token") |`;
  });
}

/** The hover for the token at an offset, from a summary. */
export function influenceHover(summary: InfluenceSummary, document: vscode.TextDocument, offset: number, topK: number): vscode.Hover | undefined {
  const index = tokenAt(summary.tokens, offset);
  if (index < 0) return undefined;
  const token = summary.tokens[index];
  const md = new vscode.MarkdownString(undefined, true);
  md.isTrusted = { enabledCommands: [REVEAL_COMMAND] };
  md.appendMarkdown(`**Attention Lens** · token ${code(token.text)} (#${index + 1} of ${summary.tokens.length})  \n`);
  md.appendMarkdown(`${summary.modelName} · metric: **${summary.metricLabel}**\n\n`);
  const from = linkList(summary, document, token.from, topK);
  md.appendMarkdown(from.length ? `Influenced most by\n\n| token | weight | |\n|---|---|---|\n${from.join('\n')}\n\n` : 'No earlier token in the analysed range influences it.\n\n');
  const to = linkList(summary, document, token.to, topK);
  md.appendMarkdown(to.length ? `Influences most\n\n| token | weight | |\n|---|---|---|\n${to.join('\n')}\n` : 'It influences no later token in the analysed range.\n');
  return new vscode.Hover(md, new vscode.Range(document.positionAt(token.start), document.positionAt(token.end)));
}

export class InfluenceHoverProvider implements vscode.HoverProvider {
  constructor(private readonly store: InfluenceStore) {}

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const offset = document.offsetAt(position);
    const settings = readHoverSettings();
    const summary = this.store.find(document.uri.toString(), document.version, offset);
    if (summary) return influenceHover(summary, document, offset, settings.topK);
    if (!settings.offerAnalysis) return undefined;
    const md = new vscode.MarkdownString('[Analyse with Attention Lens](command:attentionLens.visualizeSelection "Select text first, then run Visualize attention on selection")');
    md.isTrusted = { enabledCommands: ['attentionLens.visualizeSelection'] };
    return new vscode.Hover(md);
  }
}
