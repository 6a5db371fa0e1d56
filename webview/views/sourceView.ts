// Why: an encoder–decoder reads a second sequence (the source) with its own self-attention. This tab shows
// that attention as the Heatmap tab shows the primary sequence's: a second lens over the other sequence,
// following the toolbar's layer and head, with its own family chooser when that sequence has several.

import type { Analysis } from '../../src/core/analyze';
import { h, select } from '../dom';
import { attentionExport, attentionValueCount } from './exporter';
import { AttentionFeed, type HeatmapIds } from './feeds';
import { Heatmap } from './heatmap';
import { Lens, selfFamilies } from './lens';
import { MatrixSource } from './matrixSource';
import type { ViewContext, ViewInstance } from './registry';

/** Sequences other than the primary one that have self-mixing families of their own, in manifest order. */
export function otherSequences(analysis: Analysis): string[] {
  return analysis.sequences.map((s) => s.id).filter((id) => id !== analysis.structure.primary && selfFamilies(analysis, id).length > 0);
}

export function sourceView(c: ViewContext): ViewInstance {
  const analysis = c.analysis;
  const id = otherSequences(analysis)[0];
  const label = analysis.sequences.find((s) => s.id === id)?.label ?? id;
  const lens: Lens = new Lens(analysis, { reveal: (i) => c.reveal(lens.tokens[i].start, lens.tokens[i].end), persist: () => undefined }, id);
  const follow = () => {
    const head = c.lens.heads === 0 ? 'mean' : c.lens.head;
    lens.setMatrix(Math.min(c.lens.layer, lens.layers - 1), typeof head === 'number' ? Math.min(head, lens.heads - 1) : head);
  };
  follow();
  const source = new MatrixSource(lens);
  const feed = new AttentionFeed(lens, source);
  const ids: HeatmapIds = { canvas: 'source-heatmap', tooltip: 'source-heatmap-tooltip', note: 'source-heatmap-note', legend: 'source-heatmap-legend', roleDescription: `${label} attention heatmap` };
  const map = new Heatmap(lens, feed, ids);
  let chooser: HTMLElement | null = null;
  if (lens.families.length > 1) {
    const family = select('source-family-picker', `Which attention of the ${label} sequence`, lens.families.map((f) => [f.key, f.label]), lens.family!.key);
    family.addEventListener('change', () => lens.setFamily(family.value));
    chooser = h('label', { class: 'field' }, h('span', { class: 'muted' }, 'Attention'), family);
  }
  const intro = `Self-attention of the ${label.toLowerCase()} sequence (${lens.T} tokens), at the layer and head picked above${lens.causal ? '' : '; every token sees every other'}. Hover a cell for the weight, click to pin a token, double-click to fit.`;
  const element = h('div', { class: 'source-view', 'data-testid': 'source-view' }, h('p', { class: 'muted view-note' }, intro), chooser ? h('div', { class: 'view-toolbar' }, chooser) : null, map.element);
  const cleanup = [c.lens.on('matrix', follow), c.lens.on('theme', () => lens.emit('theme'))];
  return {
    element,
    activate: () => map.activate(),
    dispose: () => {
      cleanup.forEach((f) => f());
      map.dispose();
      feed.dispose();
      source.dispose();
    },
    canvas: () => map.canvas,
    pngName: () => `${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-attention-${lens.slug()}`,
    layers: () => lens.attention?.layers ?? 0,
    jsonValues: (scope) => attentionValueCount(lens, scope),
    exportJson: (scope) => attentionExport(lens, source, scope),
  };
}
