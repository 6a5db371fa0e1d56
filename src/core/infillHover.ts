// Why: after "Fill in the selection", hovering the code around the span says which tokens of the model's
// filling looked at the hovered context token, by the weights the Fill panel reports (cross-attention, or a
// recurrent model's alignment). The text comes from a webview (token texts, the label), so this builds the
// Markdown from inert pieces only: token texts in code spans (fenced by more backticks than they hold),
// everything else through hoverMarkdown.ts's markdownText. Pure, so it is tested in Node.

import { MAX_HOVER_TEXT, markdownText } from './hoverMarkdown';
import type { InfillAttention } from './protocol';

/** Characters that would break a line, or reorder what is displayed around them. */
const INVISIBLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/** Untrusted text as a Markdown code span: a fence longer than any backtick run in it, cut to MAX_HOVER_TEXT. */
export function codeSpan(text: string): string {
  const chars = Array.from(text);
  const cut = (chars.length > MAX_HOVER_TEXT ? `${chars.slice(0, MAX_HOVER_TEXT - 1).join('')}…` : text).replace(INVISIBLE, '\uFFFD');
  if (!cut.length) return '∅';
  const longest = (cut.match(/`+/g) ?? []).reduce((m, run) => Math.max(m, run.length), 0);
  const fence = '`'.repeat(longest + 1);
  const pad = cut.startsWith('`') || cut.endsWith('`') || (cut.startsWith(' ') && cut.endsWith(' ') && cut.trim().length > 0) ? ' ' : '';
  return `${fence}${pad}${cut}${pad}${fence}`;
}

/** Index of the context token whose range holds an offset (start ≤ offset < end), or -1. Context is in document order. */
export function infillContextAt(context: InfillAttention['context'], offset: number): number {
  let lo = 0;
  let hi = context.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = context[mid];
    if (offset < t.start) hi = mid - 1;
    else if (offset >= t.end) lo = mid + 1;
    else return mid;
  }
  return -1;
}

/**
 * The hover over context token `index`: "Filled tokens that looked here (label): `foo` 0.41, `(` 0.22",
 * largest weight first as the webview sent them; undefined when there is no such token.
 */
export function infillHoverMarkdown(attention: InfillAttention, index: number): string | undefined {
  const token = attention.context[index];
  if (!token) return undefined;
  const links = token.lookedAtBy.filter((l) => Number.isFinite(l.weight));
  const label = markdownText(attention.label);
  const header = `**Attention Lens** · Fill in the selection · ${markdownText(attention.modelId)}  \n`;
  if (!links.length) return `${header}No filled token looked here (${label}).`;
  return `${header}Filled tokens that looked here (${label}): ${links.map((l) => `${codeSpan(l.text)} ${l.weight.toFixed(2)}`).join(', ')}`;
}
