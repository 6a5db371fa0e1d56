// Why: the model view shows what every head looks like; this view says what each one does, in numbers:
// every layer × head of the current self-mixing family with its role scores (headRoles.ts) on the standard
// probe (random blocks of tokens repeated, run through the model on request of this tab) and the same
// statistics on the selection, sortable by any column, filterable ("induction ≥ 0.4"), each head with a
// thumbnail of its attention on the selection; a click opens the head in the heatmap. The probe runs through
// the engine (probes.ts) after the tab opens; the selection's statistics are computed a few heads per task.

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-progress-bar/index.js';
import '@vscode-elements/elements/dist/vscode-textfield/index.js';
import { headReader } from '../../src/core/analysis';
import { LensError } from '../../src/core/errors';
import { parseHeadFilter } from '../../src/core/headFilter';
import type { HeadProbeResult } from '../../src/core/headProbe';
import { HEAD_PROBE, HEAD_SCORE_INFO, HEAD_SCORE_KEYS, type HeadScoreKey, type HeadScores, headRoleLabels, headScores, repeatedTokens } from '../../src/core/headRoles';
import { h, replace } from '../dom';
import type { ModelProbes } from '../probes';
import { theme, viridisCss } from './colors';
import type { Lens } from './lens';
import { canvasOf, fitCanvas, windowImage } from './matrices';
import type { MatrixSource } from './matrixSource';
import { poolMax } from './matrixOf';

const THUMB = 40;
const SLICE_MS = 12;

interface Column {
  id: string;
  label: string;
  scope: 'head' | 'probe' | 'sel';
  key?: HeadScoreKey;
}

const SHORT: Record<HeadScoreKey, string> = { induction: 'Induction', duplicate: 'Duplicate', previous: 'Prev. token', sink: 'First token', distance: 'Distance', entropy: 'Entropy' };
const COLUMNS: Column[] = [
  { id: 'head', label: 'Head', scope: 'head' },
  ...HEAD_SCORE_KEYS.map((key): Column => ({ id: key, label: SHORT[key], scope: 'probe', key })),
  ...HEAD_SCORE_KEYS.map((key): Column => ({ id: `sel.${key}`, label: SHORT[key], scope: 'sel', key })),
];

/** "0.62", "3.4 tokens", "2.10 bits", or "—" when there is nothing to score. */
function format(key: HeadScoreKey, v: number | undefined): string {
  if (v === undefined || Number.isNaN(v)) return '—';
  const unit = HEAD_SCORE_INFO[key].unit;
  return unit === 'tokens' ? v.toFixed(1) : v.toFixed(2);
}

interface Row {
  layer: number;
  head: number;
  element: HTMLTableRowElement;
  canvas: HTMLCanvasElement;
  cells: Map<string, HTMLTableCellElement>;
  roles: HTMLTableCellElement;
  drawn: boolean;
}

export class HeadsView {
  readonly element: HTMLElement;
  private readonly body: HTMLTableSectionElement;
  private readonly headerCells = new Map<string, HTMLElement>();
  private readonly filterError: HTMLElement;
  private readonly count: HTMLElement;
  private readonly probeStatus: HTMLElement;
  private rows: Row[] = [];
  private filter = parseHeadFilter('');
  private sort = { column: 'head', descending: false };
  /** Scores on the selection by family key, [layer][head] filled as computed. */
  private readonly selection = new Map<string, Array<Array<HeadScores | undefined>>>();
  private probe: HeadProbeResult | null = null;
  private probeAbort: AbortController | null = null;
  private probeStarted = false;
  private active = false;
  private timer = 0;
  private readonly cleanup: Array<() => void> = [];

  constructor(
    private readonly lens: Lens,
    private readonly source: MatrixSource,
    private readonly probes: ModelProbes | undefined,
    private readonly open: () => void,
  ) {
    const field = h('vscode-textfield', { 'data-testid': 'heads-filter', placeholder: 'Filter, e.g. induction ≥ 0.4 and layer ≤ 2', 'aria-label': 'Filter heads', title: 'Columns: layer, head, induction, duplicate, previous, sink, distance, entropy, and sel.<score> for the selection; joined by "and" or ","' }) as HTMLElement & { value: string };
    field.style.width = '26em';
    field.addEventListener('input', () => this.setFilter(field.value));
    this.filterError = h('div', { class: 'error', 'data-testid': 'heads-filter-error', role: 'alert', hidden: '' });
    this.count = h('span', { class: 'muted', 'data-testid': 'heads-count' });
    this.probeStatus = h('div', { class: 'muted view-note', 'data-testid': 'heads-probe', 'data-state': 'idle', 'aria-live': 'polite' });
    const table = h('table', { class: 'heads-table', 'data-testid': 'heads-table' });
    table.style.borderCollapse = 'collapse';
    table.style.fontVariantNumeric = 'tabular-nums';
    this.body = h('tbody', {});
    table.append(this.header(), this.body);
    const note = `Every head scored on the probe (${HEAD_PROBE.sequences} sequences, each a block of ${HEAD_PROBE.length} random ordinary tokens repeated twice) and on the selection. Shares are of a head's attention, averaged over tokens; hover a number for what it measures. Click a head to open it in the heatmap.`;
    this.element = h('div', { class: 'heads-view' }, h('div', { class: 'muted view-note' }, note), this.probeStatus, h('div', { class: 'view-toolbar' }, field, this.count), this.filterError, table);
    this.buildRows();
    this.cleanup.push(
      lens.on('matrix', () => this.markCurrent()),
      lens.on('family', () => this.buildRows()),
      lens.on('theme', () => this.redrawThumbs()),
    );
  }

  private header(): HTMLTableSectionElement {
    const group = (text: string, span: number, title = '') => {
      const th = h('th', { colspan: String(span), scope: 'colgroup', title }, text);
      th.style.textAlign = 'center';
      return th;
    };
    const top = h('tr', {}, group('', 3), group('Probe: random tokens, repeated', 6, 'Scores on the probe, averaged over its sequences'), group('On the selection', 6, 'The same statistics on the analysed text; induction and duplicate over tokens that occurred before'));
    const labels = h('tr', {}, h('th', { scope: 'col' }, ''));
    for (const c of COLUMNS) {
      const info = c.key ? HEAD_SCORE_INFO[c.key] : undefined;
      const title = info ? `${info.label}: ${info.meaning}${c.scope === 'sel' ? ' (on the selection)' : ''}. Click to sort.` : 'Layer and head. Click to sort.';
      const button = h('button', { class: 'thumb', 'data-testid': 'heads-sort', 'data-column': c.id, title }, c.label);
      button.addEventListener('click', () => this.sortBy(c.id));
      const th = h('th', { scope: 'col', 'aria-sort': 'none' }, button);
      this.headerCells.set(c.id, th);
      labels.append(th);
      if (c.id === 'head') labels.append(h('th', { scope: 'col', title: 'Roles its probe scores suggest (score ≥ 0.4)' }, 'Looks like'));
    }
    for (const th of labels.children) Object.assign((th as HTMLElement).style, { position: 'sticky', top: '0', background: 'var(--vscode-editor-background)' });
    return h('thead', {}, top, labels);
  }

  /** One row per layer and head of the lens's current family. */
  private buildRows(): void {
    clearTimeout(this.timer);
    const m = this.lens.attention;
    this.rows = [];
    for (let layer = 0; layer < (m?.layers ?? 0); layer++) {
      for (let head = 0; head < m!.heads; head++) {
        const canvas = h('canvas', { class: 'thumb-canvas', 'aria-hidden': 'true', width: '1', height: '1' });
        Object.assign(canvas.style, { width: `${THUMB}px`, height: `${THUMB}px` }); // its size before it is drawn
        const thumb = h('button', { class: 'thumb', 'data-testid': 'heads-thumb', 'aria-label': `Open layer ${layer + 1}, head ${head + 1} in the heatmap` }, canvas);
        thumb.addEventListener('click', () => {
          this.lens.setMatrix(layer, head);
          this.open();
        });
        const cells = new Map<string, HTMLTableCellElement>();
        const roles = h('td', { 'data-column': 'roles' });
        const element = h('tr', { 'data-testid': 'heads-row', 'data-layer': String(layer), 'data-head': String(head) }, h('td', {}, thumb));
        for (const c of COLUMNS) {
          const td = h('td', { 'data-column': c.id }, c.id === 'head' ? `Layer ${layer + 1} · head ${head + 1}` : '…');
          td.style.padding = '2px 6px';
          td.style.textAlign = c.id === 'head' ? 'left' : 'right';
          cells.set(c.id, td);
          element.append(td);
          if (c.id === 'head') element.append(roles);
        }
        this.rows.push({ layer, head, element, canvas, cells, roles, drawn: false });
      }
    }
    this.fillScores();
    this.arrange();
    this.markCurrent();
    if (this.active) this.work();
  }

  private get familyKey(): string {
    return this.lens.family?.key ?? '';
  }

  /** Writes rows' numbers, colours and titles from what is known so far. */
  private fillScores(rows: readonly Row[] = this.rows): void {
    const probe = this.probe?.families[this.familyKey];
    const selection = this.selection.get(this.familyKey);
    for (const row of rows) {
      const p = probe?.[row.layer]?.[row.head];
      const s = selection?.[row.layer]?.[row.head];
      for (const c of COLUMNS) {
        if (!c.key) continue;
        const scores = c.scope === 'probe' ? p : s;
        const v = scores?.[c.key];
        const td = row.cells.get(c.id)!;
        td.textContent = scores ? format(c.key, v) : c.scope === 'probe' && this.probeUnavailable ? '—' : '…';
        const info = HEAD_SCORE_INFO[c.key];
        td.title = scores ? `${info.label}${c.scope === 'sel' ? ' on the selection' : ''} ${format(c.key, v)} — ${info.meaning}` : '';
        const share = info.unit === 'share' && v !== undefined && !Number.isNaN(v);
        td.style.background = share ? viridisCss(Math.min(1, Math.max(0, v))) : '';
        td.style.color = share ? (v > 0.55 ? '#000' : '#fff') : '';
      }
      row.roles.textContent = p ? headRoleLabels(p).join(', ') : '';
    }
  }

  private get probeUnavailable(): boolean {
    return !this.probes;
  }

  /** A row's value for a column (and the filter's names): layer and head count from 1. */
  private value(row: Row, column: string): number {
    if (column === 'layer') return row.layer + 1;
    if (column === 'head') return row.head + 1;
    const sel = column.startsWith('sel.');
    const key = (sel ? column.slice(4) : column) as HeadScoreKey;
    const scores = sel ? this.selection.get(this.familyKey)?.[row.layer]?.[row.head] : this.probe?.families[this.familyKey]?.[row.layer]?.[row.head];
    return scores?.[key] ?? NaN;
  }

  private setFilter(text: string): void {
    const parsed = parseHeadFilter(text);
    this.filterError.hidden = parsed.ok;
    this.filterError.textContent = parsed.ok ? '' : parsed.error;
    this.filter = parsed.ok ? parsed : parseHeadFilter('');
    this.arrange();
  }

  private sortBy(column: string): void {
    this.sort = { column, descending: this.sort.column === column ? !this.sort.descending : column !== 'head' };
    this.arrange();
  }

  /** Orders and filters the rows: missing values last whatever the direction; ties by layer and head. */
  private arrange(): void {
    const { column, descending } = this.sort;
    const order = (r: Row) => r.layer * 1e6 + r.head;
    const key = (r: Row) => (column === 'head' ? order(r) : this.value(r, column));
    const sorted = [...this.rows].sort((a, b) => {
      const va = key(a);
      const vb = key(b);
      if (Number.isNaN(va) !== Number.isNaN(vb)) return Number.isNaN(va) ? 1 : -1;
      const d = Number.isNaN(va) || va === vb ? 0 : descending ? vb - va : va - vb;
      return d || order(a) - order(b);
    });
    const filter = this.filter.ok ? this.filter : undefined;
    const shown = sorted.filter((r) => !filter || filter.test(Object.fromEntries(['layer', 'head', ...COLUMNS.slice(1).map((c) => c.id)].map((c) => [c, this.value(r, c)]))));
    replace(this.body, ...shown.map((r) => r.element));
    this.count.textContent = `${shown.length} of ${this.rows.length} heads`;
    for (const [id, th] of this.headerCells) th.setAttribute('aria-sort', id === column ? (descending ? 'descending' : 'ascending') : 'none');
    if (this.active) this.work();
  }

  private markCurrent(): void {
    const { layer, head } = this.lens;
    for (const r of this.rows) {
      const current = r.layer === layer && r.head === head;
      r.element.setAttribute('aria-selected', String(current));
      r.element.style.outline = current ? `2px solid ${theme().focus}` : '';
    }
  }

  private redrawThumbs(): void {
    for (const r of this.rows) r.drawn = false;
    this.fillScores();
    if (this.active) this.work();
  }

  activate(): void {
    this.active = true;
    if (!this.probeStarted) this.runProbe();
    this.markCurrent();
    this.work();
  }

  deactivate(): void {
    this.active = false;
    clearTimeout(this.timer);
  }

  /** Runs the probe through the model once (again after a cancel, on request), showing its progress. */
  private runProbe(): void {
    this.probeStarted = true;
    const status = (state: string, ...children: Array<Node | string>) => {
      this.probeStatus.setAttribute('data-state', state);
      replace(this.probeStatus, ...children);
    };
    if (!this.probes) {
      status('unavailable', 'The probe needs the engine that ran this analysis; only the selection is scored here.');
      return;
    }
    const abort = (this.probeAbort = new AbortController());
    const cancel = h('vscode-button', { secondary: '', 'data-testid': 'heads-probe-cancel' }, 'Cancel');
    cancel.addEventListener('click', () => abort.abort());
    const bar = h('vscode-progress-bar', { 'aria-label': 'Head probe' }) as HTMLElement & { value?: number; max: number };
    bar.max = HEAD_PROBE.sequences;
    const text = h('span', {}, 'Running the probe through the model…');
    status('running', bar, text, ' ', cancel);
    const started = performance.now();
    this.probes
      .headProbe((done, total) => {
        bar.value = done;
        text.textContent = `Running the probe: ${done} of ${total} sequences…`;
      }, abort.signal)
      .then((result) => {
        this.probe = result;
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        status('done', `Probe: ${result.sequences} sequences of ${result.tokens} tokens (${result.prefix ? `the sequence's start token, then ` : ''}a block of ${result.block} random ordinary tokens twice), ${result.batchSize} per run; ${seconds} s.`);
        this.fillScores();
        this.arrange();
      })
      .catch((err: unknown) => {
        const again = h('vscode-button', { secondary: '', 'data-testid': 'heads-probe-run' }, 'Run the probe');
        again.addEventListener('click', () => this.runProbe());
        const cancelled = err instanceof LensError && (err.code === 'cancelled' || err.code === 'disposed');
        status(cancelled ? 'cancelled' : 'error', cancelled ? 'The probe was cancelled. ' : `The probe failed: ${err instanceof Error ? err.message : String(err)} `, again);
      })
      .finally(() => {
        if (this.probeAbort === abort) this.probeAbort = null;
      });
  }

  /**
   * Computes the selection's scores (shown rows first, then the others, which a filter may need) and draws
   * the thumbnails of the shown rows, in ~12 ms slices while the tab is visible.
   */
  private work(): void {
    clearTimeout(this.timer);
    const m = this.lens.attention;
    const family = this.lens.family;
    if (!m || !family) return;
    let scores = this.selection.get(family.key);
    if (!scores) this.selection.set(family.key, (scores = Array.from({ length: m.layers }, () => new Array<HeadScores | undefined>(m.heads))));
    const table = scores;
    const T = this.lens.T;
    const special = (t: number) => this.lens.tokens[t]?.special === true;
    const mask = { mask: family.mask, window: family.window, globalTokens: family.globalTokens, normalised: family.normalised };
    const byElement = new Map(this.rows.map((r) => [r.element as Element, r]));
    const shown = [...this.body.children].map((tr) => byElement.get(tr)!);
    const unscored = [...shown, ...this.rows.filter((r) => !shown.includes(r))].filter((r) => !table[r.layer][r.head]);
    const undrawn = shown.filter((r) => !r.drawn);
    let repeats: ReturnType<typeof repeatedTokens> | undefined;
    const headOf = headReader(m); // one head at a time: lower triangles decode each into one buffer, not a layer
    const step = () => {
      if (!this.active || this.lens.family !== family) return;
      const deadline = performance.now() + SLICE_MS;
      const scored: Row[] = [];
      while (performance.now() < deadline && (unscored.length || undrawn.length)) {
        const row = unscored.shift();
        if (row) {
          repeats ??= repeatedTokens(this.lens.tokens.map((t) => t.id), special);
          if (row.layer < m.layers) table[row.layer][row.head] = headScores(headOf(row.layer, row.head), T, repeats, mask, special);
          scored.push(row);
        }
        const draw = undrawn.shift();
        if (draw) this.drawThumb(draw);
      }
      this.fillScores(scored);
      if (unscored.length || undrawn.length) this.timer = window.setTimeout(step, 0);
      else if (scored.length) this.arrange();
    };
    this.timer = window.setTimeout(step, 0);
  }

  private drawThumb(row: Row): void {
    row.drawn = true;
    const m = this.source.get(row.head, row.layer);
    if (!m) return;
    const factor = Math.max(1, Math.ceil(this.lens.T / (THUMB * (window.devicePixelRatio || 1))));
    const causal = this.lens.causal;
    const pooled = factor > 1 ? poolMax(m, factor, causal) : m;
    const image = canvasOf(windowImage(pooled, 0, pooled.size, 0, pooled.size, { max: m.colourMax, sqrt: false, signed: m.signed }, causal && factor === 1));
    const ctx = fitCanvas(row.canvas, THUMB, THUMB);
    ctx.fillStyle = theme().background;
    ctx.fillRect(0, 0, THUMB, THUMB);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(image, 0, 0, THUMB, THUMB);
  }

  dispose(): void {
    this.active = false;
    clearTimeout(this.timer);
    this.probeAbort?.abort();
    this.cleanup.forEach((f) => f());
  }
}
