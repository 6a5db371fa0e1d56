// Why: the Heads view lists every layer × head with a dozen scores, and the useful question is a filter
// ("induction ≥ 0.4", "previous > 0.5 and layer ≤ 2"). This parses such a filter into a test over a row of
// named numbers, with a message naming what it could not read. Pure, so it is unit-tested in Node.
//
// Grammar: clauses joined by "and", "&&", "," or ";"; each clause is <column> <comparison> <number>, the
// comparison one of ≥ >= > ≤ <= < = == ≠ !=. Columns: layer and head (numbered from 1, as shown), the probe's
// scores by name (induction, duplicate, previous, sink, distance, entropy) and the selection's with a "sel."
// prefix (sel.induction, …; "selection." and "text." also work). Short names: ind, dup, prev, first, bos,
// dist, ent. A missing value (NaN: nothing to score) fails every comparison.

import { HEAD_SCORE_KEYS } from './headRoles';

/** Every column a filter may name, in the order they are listed in messages. */
export const FILTER_COLUMNS: readonly string[] = ['layer', 'head', ...HEAD_SCORE_KEYS, ...HEAD_SCORE_KEYS.map((k) => `sel.${k}`)];

const ALIASES: Record<string, string> = {
  ind: 'induction',
  dup: 'duplicate',
  prev: 'previous',
  'prev-token': 'previous',
  'previous-token': 'previous',
  first: 'sink',
  'first-token': 'sink',
  bos: 'sink',
  dist: 'distance',
  ent: 'entropy',
};

const COMPARISONS: Record<string, (a: number, b: number) => boolean> = {
  '≥': (a, b) => a >= b,
  '>=': (a, b) => a >= b,
  '>': (a, b) => a > b,
  '≤': (a, b) => a <= b,
  '<=': (a, b) => a <= b,
  '<': (a, b) => a < b,
  '=': (a, b) => a === b,
  '==': (a, b) => a === b,
  '≠': (a, b) => a !== b,
  '!=': (a, b) => a !== b,
};

export interface FilterClause {
  column: string;
  comparison: string;
  value: number;
}

export type HeadFilter = { ok: true; clauses: FilterClause[]; test(row: Readonly<Record<string, number>>): boolean } | { ok: false; error: string };

/** The column a name in a filter means, or undefined. */
export function filterColumn(name: string): string | undefined {
  let n = name.trim().toLowerCase().replace(/\s*\.\s*/g, '.').replace(/\s+/g, ' ');
  let prefix = '';
  const scoped = /^(sel|selection|text)[. ](.+)$/.exec(n);
  if (scoped) {
    prefix = 'sel.';
    n = scoped[2].trim();
  }
  const column = prefix + (ALIASES[n] ?? n);
  return FILTER_COLUMNS.includes(column) && !(prefix && (n === 'layer' || n === 'head')) ? column : undefined;
}

/** Parses a filter; an empty one lets every row through. */
export function parseHeadFilter(text: string): HeadFilter {
  const parts = text
    .split(/\s+and\s+|&&|[,;]/i)
    .map((p) => p.trim())
    .filter(Boolean);
  const clauses: FilterClause[] = [];
  for (const part of parts) {
    const m = /^([^<>=≥≤≠!]+?)\s*(≥|>=|≤|<=|≠|!=|==|>|<|=)\s*(-?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?)$/i.exec(part);
    if (!m) return { ok: false, error: `Cannot read "${part}": expected <column> <comparison> <number>, e.g. "induction ≥ 0.4".` };
    const column = filterColumn(m[1]);
    if (!column) return { ok: false, error: `Unknown column "${m[1].trim()}" in "${part}": expected one of ${FILTER_COLUMNS.join(', ')}.` };
    clauses.push({ column, comparison: m[2], value: Number(m[3]) });
  }
  return {
    ok: true,
    clauses,
    test: (row) =>
      clauses.every((c) => {
        const v = row[c.column];
        return typeof v === 'number' && !Number.isNaN(v) && COMPARISONS[c.comparison](v, c.value);
      }),
  };
}
