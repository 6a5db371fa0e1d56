// Why: the influence hover is trusted Markdown (it may run the reveal command), yet most of what it shows
// came from a model or a webview: the model's name, the metric's label, token text. Everything of that kind
// goes through markdownText, which makes it inert text (no links, images, HTML, headings, tables, theme
// icons; a "|" in a token such as "·||" no longer splits the hover's table), and the only links are the
// ones built here, to the one command, with arguments the host computed. A signed summary (W that may be
// negative) gets diverging bars centred on 0, on a scale symmetric around the largest |W| listed, and a line
// saying so. Pure, so it is tested in Node.

import { divergingTextBar, signedValue } from './colourScale';
import type { InfluenceLink, InfluenceSummary } from './influence';

/** Longest text from a model or webview that a hover shows (longer is cut with "…"). */
export const MAX_HOVER_TEXT = 120;
const BAR_WIDTH = 10;

/** Characters that would break a line or a table, or reorder what is displayed around them. */
const INVISIBLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Untrusted text as inert Markdown: every ASCII punctuation character backslash-escaped (CommonMark allows
 * it for each, and GFM tables read "\|" as a literal "|"), control and bidi characters replaced, length cut.
 */
export function markdownText(text: string, max = MAX_HOVER_TEXT): string {
  const chars = Array.from(text);
  const cut = chars.length > max ? `${chars.slice(0, max - 1).join('')}…` : text;
  const clean = cut.replace(INVISIBLE, '\uFFFD');
  return clean.replace(/[!-/:-@[-`{-~]/g, (c) => `\\${c}`);
}

/** A token's text for the hover: inert, and "∅" for a token with no visible text. */
export function tokenText(text: string): string {
  return text.length ? markdownText(text) : '∅';
}

function bar(weight: number, max: number): string {
  const filled = max > 0 ? Math.min(BAR_WIDTH, Math.max(1, Math.round((weight / max) * BAR_WIDTH))) : 0;
  return '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
}

/** What the hover needs from the host: the document it is shown in and how to name a line. */
export interface HoverContext {
  /** The hovered document's URI (the host's, not the summary's), for the command's arguments. */
  uri: string;
  /** The document's length, so no link points past its end. */
  length: number;
  /** 1-based line of an offset. */
  lineOf(offset: number): number;
  /** The one command links may run. */
  command: string;
}

function rows(summary: InfluenceSummary, links: readonly InfluenceLink[], limit: number, ctx: HoverContext): string[] {
  const shown = links
    .slice(0, Math.max(0, limit))
    .filter((l) => Number.isInteger(l.index) && summary.tokens[l.index] !== undefined && Number.isFinite(l.weight));
  const max = shown.reduce((m, l) => Math.max(m, summary.signed ? Math.abs(l.weight) : l.weight), 0);
  const weight = (w: number) => (summary.signed ? `\`${divergingTextBar(w, max)}\` ${signedValue(w)}` : `\`${bar(w, max)}\` ${w.toFixed(3)}`);
  return shown.map((l) => {
    const t = summary.tokens[l.index];
    const start = Math.min(Math.max(0, Math.trunc(t.start)), ctx.length);
    const end = Math.min(Math.max(start, Math.trunc(t.end)), ctx.length);
    const args = encodeURIComponent(JSON.stringify([ctx.uri, start, end]));
    return `| ${tokenText(t.text)} | ${weight(l.weight)} | [line ${ctx.lineOf(start)}](command:${ctx.command}?${args} "Reveal this token") |`;
  });
}

function table(title: string, lines: string[], none: string): string {
  return lines.length ? `${title}\n\n| token | weight | |\n|---|---|---|\n${lines.join('\n')}\n\n` : `${none}\n\n`;
}

/** The hover's Markdown for token `index` of a summary, or undefined when there is no such token. */
export function influenceHoverMarkdown(summary: InfluenceSummary, index: number, topK: number, ctx: HoverContext): string | undefined {
  const token = summary.tokens[index];
  if (!token) return undefined;
  const from = rows(summary, token.from ?? [], topK, ctx);
  const to = rows(summary, token.to ?? [], topK, ctx);
  const by = summary.signed ? ' (largest \\|W\\|)' : '';
  return (
    `**Attention Lens** · token ${tokenText(token.text)} (#${index + 1} of ${summary.tokens.length})  \n` +
    `${markdownText(summary.modelName)} · metric: **${markdownText(summary.metricLabel)}**\n\n` +
    (summary.signed ? `${signedNote(token)}\n\n` : '') +
    table(`Influenced most${by} by`, from, 'No earlier token in the analysed range influences it.') +
    table(`Influences most${by}`, to, 'It influences no later token in the analysed range.')
  );
}

/** The legend of a signed summary's bars, with the largest |W| each table is scaled to (pipes escaped for tables). */
function signedNote(token: InfluenceSummary['tokens'][number]): string {
  const peak = (links: readonly InfluenceLink[] | undefined) => (links ?? []).reduce((m, l) => (Number.isFinite(l.weight) ? Math.max(m, Math.abs(l.weight)) : m), 0);
  const scales = [peak(token.from), peak(token.to)].filter((p) => p > 0).map((p) => `±${p.toFixed(3)}`);
  return (
    `W is signed (it can be negative): each bar is centred on 0 (│), negative weights grow to the left and positive ones to the right, ` +
    `on a scale symmetric around the largest \\|W\\| in its table${scales.length ? ` (${scales.join(', ')})` : ''}.`
  );
}
