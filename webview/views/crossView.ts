// Why: cross-attention (a cross_mixing role) is W from the positions of one sequence to another's: in an
// encoder–decoder, each target token's weights over the source tokens. This tab draws it as a rectangular
// heatmap, target rows × source columns with both sequences' tokens as labels, at the toolbar's layer and
// head. A family whose head count differs from the toolbar's gets its own head picker (so every one of its
// heads is reachable and none is clamped unseen). Hovering says both tokens and the weight, clicking
// reveals the source token's text in the editor; "rows sum to 1" only for a family declared normalised.

import { meanOverHeads, maxOverHeads } from '../../src/core/analysis';
import type { Analysis } from '../../src/core/analyze';
import type { MixingFamily } from '../../src/core/modelStructure';
import { mixingMatrices, sequenceTokens } from '../../src/core/roleData';
import { h, select } from '../dom';
import { colourLegend, fitText, niceStep } from './axes';
import { VIRIDIS_LUT, theme } from './colors';
import { crossExport, familyValueCount } from './exporter';
import { canvasOf, fitCanvas } from './matrices';
import { matrixOf } from './matrixOf';
import { type HeadChoice, headWithin } from './lens';
import type { ViewContext, ViewInstance } from './registry';

const LEFT = 100;
const TOP = 84;
const PAD = 8;
const MAX_CELL = 32;

/** The cross-mixing families of an analysis, in manifest order. */
export function crossFamilies(analysis: Analysis): MixingFamily[] {
  return analysis.structure.mixing.filter((f) => f.role === 'cross_mixing' || (f.role === 'mixing' && f.query !== f.keys));
}

/** Viridis pixels of a rows × cols matrix max-pooled by `f` (a thin line survives zooming out). */
function pooledImage(data: Float32Array, rows: number, cols: number, f: number, max: number): ImageData {
  const w = Math.ceil(cols / f);
  const hgt = Math.ceil(rows / f);
  const image = new ImageData(w, hgt);
  const px = new Uint32Array(image.data.buffer);
  const inv = max > 0 ? 255 / max : 0;
  for (let y = 0; y < hgt; y++) {
    for (let x = 0; x < w; x++) {
      let best = 0;
      for (let r = y * f; r < Math.min(rows, (y + 1) * f); r++) for (let c = x * f; c < Math.min(cols, (x + 1) * f); c++) best = Math.max(best, data[r * cols + c]);
      px[y * w + x] = VIRIDIS_LUT[Math.max(0, Math.min(255, Math.round(best * inv)))];
    }
  }
  return image;
}

export function crossView(c: ViewContext): ViewInstance {
  const analysis = c.analysis;
  const families = crossFamilies(analysis);
  let family = families[0];
  const label = (id: string) => analysis.sequences.find((s) => s.id === id)?.label ?? id;
  const canvas = h('canvas', {
    class: 'heatmap-canvas',
    'data-testid': 'cross-heatmap',
    tabindex: '0',
    role: 'img',
    'aria-roledescription': 'cross-attention heatmap',
  });
  const tooltip = h('div', { class: 'tooltip', 'data-testid': 'cross-tooltip', hidden: '' });
  const note = h('div', { class: 'muted view-note', 'data-testid': 'cross-note' });
  const legend = colourLegend('cross-legend');
  const intro = h('p', { class: 'muted view-note', 'data-testid': 'cross-intro' });
  const toolbar = h('div', { class: 'view-toolbar' });
  let chooser: HTMLElement | null = null;
  if (families.length > 1) {
    const pick = select('cross-family-picker', 'Which cross-attention', families.map((f) => [f.key, f.label]), family.key);
    pick.addEventListener('change', () => {
      family = families.find((f) => f.key === pick.value) ?? family;
      useFamily();
      draw();
    });
    chooser = h('label', { class: 'field' }, h('span', { class: 'muted' }, 'Attention'), pick);
  }
  // The view's own head (head index, 'mean' or 'max') when the family's head count differs from the
  // toolbar's; null: follow the toolbar.
  let ownHead: number | 'mean' | 'max' | null = null;
  const useFamily = () => {
    const heads = mixingMatrices(analysis, family).heads;
    const rows = family.normalised ? '; rows sum to 1' : '; the weights are not normalised, so rows need not sum to 1';
    intro.textContent = `Each row is a token of the sequence that reads (queries), each column a token of the sequence it reads from (keys)${rows}. Hover a cell for both tokens and the weight; click to reveal the key token in the editor.`;
    let headField: HTMLElement | null = null;
    ownHead = null;
    if (heads !== c.lens.heads) {
      const toolbarHead = c.lens.head;
      ownHead = typeof toolbarHead === 'number' ? (toolbarHead < heads ? toolbarHead : 'mean') : toolbarHead === 'max' ? 'max' : 'mean';
      const options: Array<[string, string]> = [...Array(heads).keys()].map((hd) => [String(hd), `Head ${hd + 1}`]);
      options.push(['mean', 'Mean over heads'], ['max', 'Max over heads']);
      const pick = select('cross-head-picker', `Head of the ${family.label} (it has ${heads}; the toolbar's attention has ${c.lens.heads})`, options, String(ownHead));
      pick.addEventListener('change', () => {
        ownHead = pick.value === 'mean' || pick.value === 'max' ? pick.value : Number(pick.value);
        draw();
      });
      headField = h('label', { class: 'field' }, h('span', { class: 'muted' }, `Head (of ${heads})`), pick);
    }
    toolbar.replaceChildren(...[chooser, headField].filter((x): x is HTMLElement => x !== null));
    toolbar.style.display = toolbar.childElementCount ? '' : 'none'; // the CSS's display: flex would override `hidden`
  };
  useFamily();
  const element = h(
    'div',
    { class: 'cross-view', 'data-testid': 'cross-view' },
    intro,
    toolbar,
    h('div', { class: 'view-toolbar' }, legend.element),
    note,
    h('div', { class: 'canvas-wrap' }, canvas, tooltip),
  );
  // The current matrix and its geometry (recomputed on every draw; a matrix is cached by key).
  let shown: { key: string; data: Float32Array; rows: number; cols: number; layer: number; head: number | 'mean' | 'max'; clamped: boolean; cell: number; max: number; image: HTMLCanvasElement; f: number } | null = null;
  let frame = 0;

  const current = () => {
    const m = mixingMatrices(analysis, family);
    const layer = c.lens.layer;
    if (layer >= m.layers) return null;
    const choice: HeadChoice = ownHead ?? c.lens.head;
    const { head, clamped } = headWithin(choice, m.heads);
    const key = `${family.key}|${layer}|${head}`;
    if (shown?.key === key) return { ...shown, clamped };
    const size = m.rows * m.cols;
    const data = typeof head === 'number' ? m.layer(layer).subarray(head * size, (head + 1) * size) : head === 'mean' ? meanOverHeads(m, layer) : maxOverHeads(m, layer);
    const stats = matrixOf(data, m.cols);
    return { key, data, rows: m.rows, cols: m.cols, layer, head, clamped, cell: 0, max: stats.colourMax, image: document.createElement('canvas'), f: 0 };
  };

  function draw(): void {
    frame = 0;
    const width = element.clientWidth;
    if (width === 0) return;
    const m = mixingMatrices(analysis, family);
    const next = current();
    const rowsLabel = label(family.query);
    const colsLabel = label(family.keys);
    if (!next) {
      shown = null;
      note.textContent = `${family.label} has ${m.layers} layer${m.layers === 1 ? '' : 's'}: pick a layer up to ${m.layers}.`;
      fitCanvas(canvas, 1, 1);
      return;
    }
    const { rows, cols } = next;
    const plotW = Math.max(120, width - LEFT - PAD);
    const plotH = Math.max(160, Math.floor(window.innerHeight * 0.7) - TOP);
    const cell = Math.min(MAX_CELL, plotW / cols, plotH / rows);
    const dpr = window.devicePixelRatio || 1;
    const f = Math.max(1, Math.floor(1 / (cell * dpr)));
    if (next.key !== shown?.key || next.f !== f) next.image = canvasOf(pooledImage(next.data, rows, cols, f, next.max));
    next.cell = cell;
    next.f = f;
    shown = next;
    const which = typeof next.head === 'number' ? `head ${next.head + 1}` : `${next.head} over heads`;
    const rolloutNote = ownHead === null && c.lens.head === 'rollout' ? ' (rollout is defined for self-attention only: showing the mean over heads)' : '';
    const clampNote = next.clamped ? ` (the toolbar's head ${Number(c.lens.head) + 1} is past its ${m.heads} heads: showing the last)` : '';
    note.textContent = `${family.label}, layer ${next.layer + 1}, ${which}${rolloutNote}${clampNote}: row = ${rowsLabel.toLowerCase()} token, column = ${colsLabel.toLowerCase()} token it attends to.`;
    legend.update({ data: next.data, size: cols, max: next.max, colourMax: next.max }, false);
    const t = theme();
    const w = LEFT + cols * cell + PAD;
    const hgt = TOP + rows * cell + PAD;
    const ctx = fitCanvas(canvas, w, hgt);
    ctx.fillStyle = t.background;
    ctx.fillRect(0, 0, w, hgt);
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(next.image, LEFT, TOP, cols * cell, rows * cell);
    const active = c.lens.active;
    ctx.strokeStyle = t.focus;
    ctx.lineWidth = 1.5;
    if (family.query === c.lens.sequence && active !== null && active < rows) ctx.strokeRect(LEFT, TOP + active * cell, cols * cell, Math.max(1, cell));
    ctx.fillStyle = t.muted;
    ctx.font = `11px ${t.fontFamily}`;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    ctx.fillText(`${rowsLabel} ↓`, 4, 4);
    ctx.fillText(`${colsLabel} →`, 4, 18);
    const rowTokens = sequenceTokens(analysis, family.query);
    const colTokens = sequenceTokens(analysis, family.keys);
    if (cell >= 11) {
      ctx.font = `${Math.min(12, Math.floor(cell - 2))}px ${t.monoFamily}`;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      for (let q = 0; q < rows; q++) {
        ctx.fillStyle = rowTokens[q]?.special ? t.muted : t.foreground;
        ctx.fillText(fitText(ctx, rowTokens[q]?.text ?? '', LEFT - 8), LEFT - 4, TOP + (q + 0.5) * cell);
      }
      ctx.textAlign = 'left';
      for (let k = 0; k < cols; k++) {
        ctx.save();
        ctx.translate(LEFT + (k + 0.5) * cell, TOP - 4);
        ctx.rotate(-Math.PI / 2);
        ctx.fillStyle = colTokens[k]?.special ? t.muted : t.foreground;
        ctx.fillText(fitText(ctx, colTokens[k]?.text ?? '', TOP - 10), 0, 0);
        ctx.restore();
      }
    } else {
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      const rs = niceStep(36 / cell);
      for (let q = 0; q < rows; q += rs) ctx.fillText(String(q), LEFT - 4, TOP + (q + 0.5) * cell);
      ctx.textAlign = 'center';
      for (let k = 0; k < cols; k += rs) ctx.fillText(String(k), LEFT + (k + 0.5) * cell, TOP - 10);
    }
    canvas.setAttribute('aria-label', `${family.label}: ${rows} ${rowsLabel.toLowerCase()} tokens down, ${cols} ${colsLabel.toLowerCase()} tokens across; ${note.textContent}`);
  }

  const schedule = () => {
    if (!frame) frame = requestAnimationFrame(draw);
  };
  const cellAt = (e: MouseEvent): { q: number; k: number } | null => {
    if (!shown) return null;
    const rect = canvas.getBoundingClientRect();
    const x = e.clientX - rect.left - LEFT;
    const y = e.clientY - rect.top - TOP;
    const q = Math.floor(y / shown.cell);
    const k = Math.floor(x / shown.cell);
    return x >= 0 && y >= 0 && q < shown.rows && k < shown.cols ? { q, k } : null;
  };
  canvas.addEventListener('mousemove', (e) => {
    const cell = cellAt(e);
    if (!cell || !shown) {
      tooltip.hidden = true;
      return;
    }
    const rowTokens = sequenceTokens(analysis, family.query);
    const colTokens = sequenceTokens(analysis, family.keys);
    const v = shown.data[cell.q * shown.cols + cell.k];
    tooltip.textContent = `${label(family.query)} #${cell.q} “${rowTokens[cell.q]?.text ?? ''}” → ${label(family.keys)} #${cell.k} “${colTokens[cell.k]?.text ?? ''}”: ${v.toFixed(4)}`;
    tooltip.hidden = false;
    const rect = canvas.getBoundingClientRect();
    tooltip.style.left = `${Math.max(0, Math.min(e.clientX - rect.left + 14, canvas.clientWidth - tooltip.offsetWidth - 4))}px`;
    tooltip.style.top = `${e.clientY - rect.top + 18}px`;
    if (family.query === c.lens.sequence) c.lens.setHover(cell.q);
  });
  canvas.addEventListener('mouseleave', () => {
    tooltip.hidden = true;
    if (family.query === c.lens.sequence) c.lens.setHover(null);
  });
  canvas.addEventListener('click', (e) => {
    const cell = cellAt(e);
    if (!cell) return;
    if (family.query === c.lens.sequence) c.lens.select(cell.q);
    const token = sequenceTokens(analysis, family.keys)[cell.k];
    if (token && !token.special) c.reveal(token.start, token.end);
  });
  const observer = new ResizeObserver(schedule);
  observer.observe(element);
  const cleanup = [c.lens.on('family', () => (useFamily(), schedule())), c.lens.on('matrix', schedule), c.lens.on('hover', schedule), c.lens.on('select', schedule), c.lens.on('theme', () => ((shown = null), schedule()))];
  return {
    element,
    activate: schedule,
    dispose: () => {
      cancelAnimationFrame(frame);
      observer.disconnect();
      cleanup.forEach((f) => f());
    },
    canvas: () => (draw(), canvas),
    pngName: () => `cross-attention-layer${c.lens.layer + 1}`,
    layers: () => mixingMatrices(analysis, family).layers,
    jsonValues: (scope) => {
      const m = mixingMatrices(analysis, family);
      return familyValueCount(m.layers, m.heads, m.rows, m.cols, scope);
    },
    exportJson: async (scope) => {
      const m = current();
      if (!m) throw new Error(`There is no ${family.label} at layer ${c.lens.layer + 1}.`);
      return crossExport(analysis, family, m.layer, m.head, m.data, scope);
    },
  };
}
