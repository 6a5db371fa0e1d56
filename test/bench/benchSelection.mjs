// Why: the VS Code benchmarks analyse selections of a given token count cut from the same real code; this is
// where that code is named and cut.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Real code, long enough for 2,048 tokens. */
export const SOURCES = ['webview/views/heatmap.ts', 'webview/views/headView.ts'];

/** The sources' text, one after the other. */
export function benchSource(repoRoot) {
  return SOURCES.map((f) => readFileSync(join(repoRoot, f), 'utf8')).join('\n');
}

/** The longest prefix of whole lines of the sources with at most limit tokens, and its token count. */
export function prefixOfTokens(tokenizer, text, limit) {
  const lines = text.split(/(?<=\n)/);
  let lo = 1;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tokenizer.tokenize(lines.slice(0, mid).join('')).length <= limit) lo = mid;
    else hi = mid - 1;
  }
  const prefix = lines.slice(0, lo).join('');
  return { text: prefix, tokens: tokenizer.tokenize(prefix).length };
}


/**
 * The shortest prefix of the sources that the tokenizer cuts into exactly `count` tokens (cut after a token, which
 * may be inside a line), and its token count; the whole-line prefix when no cut gives exactly that many.
 */
export function prefixOfExactly(tokenizer, text, count) {
  const spans = tokenizer.tokenize(text);
  for (let k = count; k > 0 && k <= spans.length; k--) {
    const prefix = text.slice(0, spans[k - 1].end);
    const tokens = tokenizer.tokenize(prefix).length;
    if (tokens === count) return { text: prefix, tokens };
    if (tokens < count) break;
  }
  return prefixOfTokens(tokenizer, text, count);
}
