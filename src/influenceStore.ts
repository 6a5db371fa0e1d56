// Influence summaries per document, in bounded memory (least recently used first out), keyed by
// document URI, version, range and model. An entry is dropped as soon as its document changes or closes,
// so a stale analysis is never shown by the hover or the decorations. A summary is kept only when it fits
// the document it names (current version, every token inside it): it came from a webview.
// A summary that offers a metric on demand (InfluenceSummary.onDemand: rollout past the length where the
// panel computes it for every token) arrives with `ask`, attached by the panel host (src/panel.ts), which
// asks that panel for one token's links. The store asks once per token (hover and decorations share the
// answer, kept with the summary) and hands out the summary as it stands for that token: the token's
// exact links under the on-demand label, or the stand-in lists under their own label, saying why.

import * as vscode from 'vscode';
import { type InfluenceSummary, type TokenInfluence, tokenAt } from './core/influence';
import { Disposable } from './dispose';

/** Most summaries kept at once (each is a few kilobytes per hundred tokens). */
export const MAX_ENTRIES = 32;
/** How long a hover or a decoration waits for the panel's on-demand links before showing the stand-in lists. */
export const ON_DEMAND_TIMEOUT_MS = 2000;

/** Asks the panel that posted a summary for the token at a document offset; rejects when it cannot answer. */
export type InfluenceAsker = (offset: number, timeoutMs: number) => Promise<TokenInfluence | null>;

/** A summary as the host holds it: what the webview posted, and how to ask for its on-demand links. */
export interface HeldInfluenceSummary extends InfluenceSummary {
  ask?: InfluenceAsker;
}

export class InfluenceStore extends Disposable {
  /** Insertion order = recency order (Map iteration order); the first key is the least recently used. */
  private readonly entries = new Map<string, HeldInfluenceSummary>();
  /** On-demand answers per summary and token index (a pending question is shared). */
  private readonly answers = new WeakMap<InfluenceSummary, Map<number, Promise<TokenInfluence | null>>>();
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
  add(summary: HeldInfluenceSummary, currentVersion: number | undefined, documentLength = Infinity): boolean {
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
  find(uri: string, version: number, offset: number): HeldInfluenceSummary | undefined {
    const matches = [...this.entries.entries()].filter(
      ([, s]) => s.uri === uri && s.version === version && s.tokens[0].start <= offset && offset < s.tokens[s.tokens.length - 1].end,
    );
    const hit = matches[matches.length - 1];
    if (!hit) return undefined;
    this.entries.delete(hit[0]);
    this.entries.set(hit[0], hit[1]);
    return hit[1];
  }

  /**
   * The summary to show for the token at an offset: the summary itself unless it offers a metric on demand;
   * then, once the panel answers (within timeoutMs), a copy whose metric and label are the on-demand ones and
   * whose token holds its exact links; else the stand-in lists, their label saying the exact ones are missing.
   */
  async summaryAt(summary: HeldInfluenceSummary, offset: number, timeoutMs = ON_DEMAND_TIMEOUT_MS): Promise<InfluenceSummary> {
    const { ask, onDemand, ...posted } = summary;
    const index = tokenAt(summary.tokens, offset);
    if (!onDemand || index < 0) return posted;
    const missing = (why: string): InfluenceSummary => ({ ...posted, metricLabel: `${summary.metricLabel} — ${onDemand.metric} not available: ${why}` });
    if (!ask) return missing('no panel to ask');
    let asked = this.answers.get(summary);
    if (!asked) this.answers.set(summary, (asked = new Map()));
    let answer = asked.get(index);
    if (!answer) {
      answer = ask(summary.tokens[index].start, timeoutMs);
      asked.set(index, answer);
      answer.then((a) => a ?? asked.delete(index), () => asked.delete(index)); // ask again next time
    }
    let exact: TokenInfluence | null;
    try {
      exact = await answer;
    } catch {
      return missing('the panel did not answer (is it still open?)');
    }
    const token = summary.tokens[index];
    if (!exact || exact.start !== token.start || exact.end !== token.end) return missing('the panel shows another analysis');
    const tokens = summary.tokens.slice();
    tokens[index] = { ...token, from: exact.from, to: exact.to };
    const view: InfluenceSummary = { ...posted, metric: onDemand.metric, metricLabel: onDemand.metricLabel, tokens };
    delete view.signed; // on-demand links are never signed (see InfluenceSummary.onDemand)
    return view;
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
