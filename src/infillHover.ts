// The editor hover over the code around a filled span: which filled tokens looked at the hovered context
// token (see InfillStore). It only reads the store; the Markdown comes from core/infillHover.ts, which makes
// every text from the webview inert. No command links, HTML or theme icons.

import * as vscode from 'vscode';
import { infillHoverMarkdown } from './core/infillHover';
import type { InfillStore } from './infillStore';

export class InfillHoverProvider implements vscode.HoverProvider {
  constructor(private readonly store: InfillStore) {}

  provideHover(document: vscode.TextDocument, position: vscode.Position): vscode.Hover | undefined {
    const hit = this.store.find(document.uri.toString(), document.version, document.offsetAt(position));
    if (!hit) return undefined;
    const markdown = infillHoverMarkdown(hit.attention, hit.index);
    if (markdown === undefined) return undefined;
    const md = new vscode.MarkdownString(markdown, false);
    md.supportHtml = false;
    md.isTrusted = false;
    const token = hit.attention.context[hit.index];
    return new vscode.Hover(md, new vscode.Range(document.positionAt(token.start), document.positionAt(token.end)));
  }
}
