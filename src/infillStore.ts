// What the Fill panel reported of its last fill per document, for editor hovers over the context around the
// filled span: which filled tokens looked at each context token. Kept only for the document version it was
// made on, in bounded memory: an entry is dropped as soon as its document changes or closes, so a hover never
// shows weights for code that has changed. A report came from a webview, so it is kept only when it fits the
// document it names (current version, every range inside it).

import * as vscode from 'vscode';
import { infillContextAt } from './core/infillHover';
import type { InfillAttention } from './core/protocol';
import { Disposable } from './dispose';

/** Most documents whose last fill is kept. */
export const MAX_INFILL_ENTRIES = 16;

export class InfillStore extends Disposable {
  /** By document URI; insertion order = recency order, the first key the least recently used. */
  private readonly entries = new Map<string, InfillAttention>();
  private readonly changed = this.register(new vscode.EventEmitter<string>());
  /** Fires with a document URI whenever its entry is added or dropped. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly capacity = MAX_INFILL_ENTRIES) {
    super();
    this.register(vscode.workspace.onDidChangeTextDocument((e) => e.contentChanges.length && this.drop(e.document.uri.toString())));
    this.register(vscode.workspace.onDidCloseTextDocument((d) => this.drop(d.uri.toString())));
  }

  /** Keeps a report if it is for the document's current version and its ranges lie inside the document. */
  add(attention: InfillAttention, currentVersion: number | undefined, documentLength: number): boolean {
    if (currentVersion !== attention.version) return false;
    if (attention.context.some((t) => t.end > documentLength)) return false;
    this.entries.delete(attention.uri);
    this.entries.set(attention.uri, attention);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.changed.fire(attention.uri);
    return true;
  }

  /** The report for this document version and the index of the context token at an offset, if any. */
  find(uri: string, version: number, offset: number): { attention: InfillAttention; index: number } | undefined {
    const attention = this.entries.get(uri);
    if (!attention || attention.version !== version) return undefined;
    const index = infillContextAt(attention.context, offset);
    return index >= 0 ? { attention, index } : undefined;
  }

  /** Whether a report is kept for this document (any version). */
  has(uri: string): boolean {
    return this.entries.has(uri);
  }

  private drop(uri: string): void {
    if (this.entries.delete(uri)) this.changed.fire(uri);
  }
}
