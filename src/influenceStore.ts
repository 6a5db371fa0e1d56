// Influence summaries per document, in bounded memory (least recently used first out), keyed by
// document URI, version, range and model. An entry is dropped as soon as its document changes or closes,
// so a stale analysis is never shown by the hover or the decorations. A summary is kept only when it fits
// the document it names (current version, every token inside it): it came from a webview.

import * as vscode from 'vscode';
import type { InfluenceSummary } from './core/influence';
import { Disposable } from './dispose';

/** Most summaries kept at once (each is a few kilobytes per hundred tokens). */
export const MAX_ENTRIES = 32;

export class InfluenceStore extends Disposable {
  /** Insertion order = recency order (Map iteration order); the first key is the least recently used. */
  private readonly entries = new Map<string, InfluenceSummary>();
  private readonly changed = this.register(new vscode.EventEmitter<string>());
  /** Fires with a document URI whenever its entries are added or dropped. */
  readonly onDidChange = this.changed.event;

  constructor(private readonly capacity = MAX_ENTRIES) {
    super();
    this.register(vscode.workspace.onDidChangeTextDocument((e) => e.contentChanges.length && this.drop(e.document.uri.toString())));
    this.register(vscode.workspace.onDidCloseTextDocument((d) => this.drop(d.uri.toString())));
  }

  static key(s: Pick<InfluenceSummary, 'uri' | 'version' | 'modelId' | 'tokens'>): string {
    const start = s.tokens[0]?.start ?? 0;
    const end = s.tokens[s.tokens.length - 1]?.end ?? 0;
    return `${s.uri}|${s.version}|${start}-${end}|${s.modelId}`;
  }

  /** Stores a summary if it is for the document's current version and its tokens lie inside the document. */
  add(summary: InfluenceSummary, currentVersion: number | undefined, documentLength = Infinity): boolean {
    if (currentVersion !== summary.version || summary.tokens.length === 0) return false;
    if (!(summary.tokens[summary.tokens.length - 1].end <= documentLength)) return false;
    const key = InfluenceStore.key(summary);
    this.entries.delete(key);
    this.entries.set(key, summary);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
    this.changed.fire(summary.uri);
    return true;
  }

  /** The newest summary covering an offset of this document version (marked as recently used). */
  find(uri: string, version: number, offset: number): InfluenceSummary | undefined {
    const matches = [...this.entries.entries()].filter(
      ([, s]) => s.uri === uri && s.version === version && s.tokens[0].start <= offset && offset < s.tokens[s.tokens.length - 1].end,
    );
    const hit = matches[matches.length - 1];
    if (!hit) return undefined;
    this.entries.delete(hit[0]);
    this.entries.set(hit[0], hit[1]);
    return hit[1];
  }

  /** Entries kept for a document (any version). */
  countFor(uri: string): number {
    return [...this.entries.values()].filter((s) => s.uri === uri).length;
  }

  private drop(uri: string): void {
    let dropped = false;
    for (const [key, s] of this.entries) {
      if (s.uri === uri) {
        this.entries.delete(key);
        dropped = true;
      }
    }
    if (dropped) this.changed.fire(uri);
  }
}
