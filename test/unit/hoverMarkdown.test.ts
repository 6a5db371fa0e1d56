// Unit tests for the influence hover's Markdown (src/core/hoverMarkdown.ts): text from a model or a
// webview stays inert (no links, images, HTML, headings, theme icons), a token with "|" such as "·||"
// keeps the table's columns, the only links run the reveal command with the host's arguments, and bad
// indices or weights are skipped instead of thrown on.

import * as assert from 'assert';
import { type HoverContext, influenceHoverMarkdown, markdownText } from '../../src/core/hoverMarkdown';
import type { InfluenceSummary } from '../../src/core/influence';

const COMMAND = 'attentionLens.revealRange';
const ctx: HoverContext = { uri: 'file:///project/sample.py', length: 1000, lineOf: (o) => Math.floor(o / 10) + 1, command: COMMAND };

function summaryOf(texts: string[], extra: Partial<InfluenceSummary> = {}): InfluenceSummary {
  return {
    uri: 'file:///project/sample.py',
    version: 1,
    modelId: 'transformer',
    modelName: 'Transformer',
    metric: 'rollout',
    metricLabel: 'attention rollout',
    tokens: texts.map((text, i) => ({
      start: i * 4,
      end: i * 4 + 3,
      text,
      from: Array.from({ length: i }, (_, k) => ({ index: k, weight: (k + 1) / 10 })),
      to: [],
    })),
    ...extra,
  };
}

/** Cells of a GFM table row, split as marked (VS Code's renderer) splits them: at pipes not escaped. */
function cells(row: string): string[] {
  const out: string[] = [];
  let cell = '';
  for (let i = 0; i < row.length; i++) {
    let backslashes = 0;
    for (let j = i - 1; j >= 0 && row[j] === '\\'; j--) backslashes++;
    if (row[i] === '|' && backslashes % 2 === 0) {
      out.push(cell);
      cell = '';
    } else cell += row[i];
  }
  out.push(cell);
  return out.slice(1, -1);
}

/** Undoes markdownText's backslash escapes (what a reader sees). */
const shown = (md: string) => md.replace(/\\([!-/:-@[-`{-~])/g, '$1');

const HOSTILE = [
  '·||',
  '|',
  '\\|',
  'a\\',
  '![x](https://evil.example/x.png)',
  '[click](command:workbench.action.terminal.new)',
  '<img src=https://evil.example/x.png>',
  '\n\n# Heading',
  '$(alert) icon',
  '`code`',
  '***bold***',
  'https://evil.example/page',
  'www.evil.example',
  'a@evil.example',
  '&amp;',
  '\u202egnp.exe',
  '> quote',
  '---',
];

describe('influence hover Markdown', () => {
  it('keeps three cells in every table row, whatever the token text (the "·||" bug)', () => {
    const s = summaryOf(['a', ...HOSTILE, 'z']);
    for (let index = 1; index < s.tokens.length; index++) {
      const md = influenceHoverMarkdown(s, index, 50, ctx)!;
      const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| token'));
      assert.strictEqual(rows.length, index, `token ${index}: one row per influencer`);
      for (const row of rows) assert.strictEqual(cells(row).length, 3, `row for ${JSON.stringify(s.tokens[index].text)}: ${row}`);
    }
  });

  it('shows model and webview text verbatim but inert: no links, images, HTML, headings or icons', () => {
    for (const text of HOSTILE) {
      const s = summaryOf(['a', text], { modelName: text, metricLabel: text });
      const md = influenceHoverMarkdown(s, 1, 5, ctx)!;
      const links = [...md.matchAll(/\]\(([^)]*)\)/g)].map((m) => m[1]);
      assert.ok(links.every((l) => l.startsWith(`command:${COMMAND}?`)), `${JSON.stringify(text)}: ${links.join(' ')}`);
      assert.ok(!/(^|[^\\])!\[/.test(md), `${JSON.stringify(text)}: no image`);
      assert.ok(!/(^|[^\\])</.test(md), `${JSON.stringify(text)}: no raw HTML`);
      assert.ok(!/(^|[^\\])\$\(/.test(md), `${JSON.stringify(text)}: no theme icon`);
      assert.ok(!/(^|\n)\s*#/.test(md), `${JSON.stringify(text)}: no heading`);
      assert.ok(!/https?:|www\.|[^\\]@/.test(md), `${JSON.stringify(text)}: no autolink`);
      assert.ok(!/[\u202e\n\r]/.test(markdownText(text)), 'no control or bidi characters');
    }
  });

  it('escapes so that a reader sees the original text', () => {
    for (const text of HOSTILE.filter((t) => !/[\n\u202e]/.test(t))) assert.strictEqual(shown(markdownText(text)), text);
    assert.strictEqual(shown(markdownText('x'.repeat(500))).length, 120, 'long text is cut');
  });

  it("links only to the reveal command, with the host's document and clamped offsets", () => {
    const s = summaryOf(['a', 'b', 'c'], { uri: 'command:workbench.action.terminal.new' });
    s.tokens[0].end = 5000; // past the document: clamped to its length
    const md = influenceHoverMarkdown(s, 2, 5, ctx)!;
    const args = [...md.matchAll(/\(command:attentionLens\.revealRange\?([^ )]+)/g)].map((m) => JSON.parse(decodeURIComponent(m[1])));
    assert.deepStrictEqual(args, [
      [ctx.uri, 0, 1000],
      [ctx.uri, 4, 7],
    ]);
  });

  it('draws a signed summary on diverging bars centred on 0, scaled to the largest |W| listed, and says so', () => {
    const s = summaryOf(['a', 'b', 'c'], { signed: true, metric: 'attention', metricLabel: 'mean hidden attention over heads, layer 4 (signed)' });
    s.tokens[2].from = [
      { index: 0, weight: -0.8 },
      { index: 1, weight: 0.4 },
    ];
    const md = influenceHoverMarkdown(s, 2, 5, ctx)!;
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| token'));
    assert.strictEqual(rows.length, 2);
    assert.ok(rows[0].includes('`█████│░░░░░` −0.800'), rows[0]);
    assert.ok(rows[1].includes('`░░░░░│███░░` +0.400'), rows[1]);
    for (const row of rows) assert.strictEqual(cells(row).length, 3, row);
    assert.match(shown(md), /W is signed \(it can be negative\): each bar is centred on 0 \(│\).*symmetric around the largest \|W\| in its table \(±0\.800\)/);
    assert.match(shown(md), /Influenced most \(largest \|W\|\) by/);
    // The escaped pipes of |W| never open a table outside the tables.
    const outside = md.split('\n').filter((l) => !l.startsWith('|'));
    for (const line of outside) assert.ok(!/(^|[^\\])\|/.test(line), line);
    // Unsigned summaries keep their one-sided bars.
    assert.match(influenceHoverMarkdown(summaryOf(['a', 'b']), 1, 5, ctx)!, /`██████████` 0\.100/);
  });

  it('skips links to tokens that do not exist and weights that are not numbers, and never throws', () => {
    const s = summaryOf(['a', 'b']);
    s.tokens[1].from = [
      { index: 7, weight: 0.5 },
      { index: -1, weight: 0.5 },
      { index: 0.5, weight: 0.5 },
      { index: 0, weight: NaN },
      { index: 0, weight: 0.25 },
    ];
    const md = influenceHoverMarkdown(s, 1, 10, ctx)!;
    assert.strictEqual(md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| token')).length, 1);
    assert.match(md, /0\.250/);
    assert.strictEqual(influenceHoverMarkdown(s, 5, 10, ctx), undefined);
    assert.strictEqual(influenceHoverMarkdown(s, -1, 10, ctx), undefined);
  });
});
