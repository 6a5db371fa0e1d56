// Why: the cross-attention of the filling, shown twice (a filled × source heatmap and a line view) at one
// layer and head that the user picks. Which pickers appear follows the family's own shape: layer and head
// pickers for a model with several, none for a family of one layer and no head axis (an RNN's alignment,
// shown as its one matrix). It starts on the last layer's mean over heads, what the editor hovers report.

import { type CrossHead, type FillingCross, crossLabel, crossMatrix, sharedMax } from '../../src/core/infillViews';
import { h, select } from '../dom';
import { colourLegend } from '../views/axes';
import { CrossLines } from './crossLines';
import { CrossMap } from './crossMap';
import type { FillFocus } from './focus';

/** The source tokens as the views label them. */
export interface SourceAxis {
  labels: string[];
  special: boolean[];
  lines: number[];
  hole: number;
}

export class CrossPanel {
  readonly element: HTMLElement;
  readonly map: CrossMap;
  readonly lines: CrossLines;
  private readonly label = h('div', { class: 'view-note', 'data-testid': 'fill-cross-label' });
  private readonly legend = colourLegend('fill-cross-legend');
  private layer: number;
  private head: CrossHead = 'mean';

  constructor(
    private readonly cross: FillingCross,
    private readonly filling: readonly string[],
    private readonly source: SourceAxis,
    focus: FillFocus,
    reveal: (col: number) => void,
  ) {
    const m = cross.matrices;
    this.layer = m.layers - 1;
    this.map = new CrossMap({ testid: 'fill-cross-heatmap', reveal, focus });
    this.lines = new CrossLines(focus, reveal);
    const field = (label: string, control: HTMLElement) => h('label', { class: 'field' }, h('span', { class: 'muted' }, label), control);
    let layerField: HTMLElement | null = null;
    if (m.layers > 1) {
      const pick = select('fill-layer-picker', `Layer of the ${cross.family.label}`, [...Array(m.layers).keys()].map((l) => [String(l), `Layer ${l + 1}`]), String(this.layer));
      pick.addEventListener('change', () => ((this.layer = Number(pick.value)), this.update()));
      layerField = field('Layer', pick);
    }
    let headField: HTMLElement | null = null;
    if (m.heads > 1) {
      const options: Array<[string, string]> = [...Array(m.heads).keys()].map((hd) => [String(hd), `Head ${hd + 1}`]);
      options.push(['mean', 'Mean over heads'], ['max', 'Max over heads']);
      const pick = select('fill-head-picker', `Head of the ${cross.family.label}`, options, 'mean');
      pick.addEventListener('change', () => ((this.head = pick.value === 'mean' || pick.value === 'max' ? pick.value : Number(pick.value)), this.update()));
      headField = field('Heads', pick);
    }
    const rowsNote = cross.family.normalised ? 'each row sums to 1 over the source' : 'the weights are not normalised, so rows need not sum to 1';
    this.element = h(
      'section',
      { class: 'fill-cross', 'aria-label': 'Cross-attention of the filling' },
      h('h2', {}, 'What the filling looked at'),
      h(
        'p',
        { class: 'muted view-note' },
        `Each row is a filled token: the ${cross.family.label} of the decoder step that wrote it, over the source (the code around the span, the hole marked where the span was); ${rowsNote}.`,
      ),
      layerField || headField ? h('div', { class: 'view-toolbar' }, layerField, headField) : null,
      h('div', { class: 'view-toolbar' }, this.label, this.legend.element),
      this.map.element,
      h('h3', {}, 'As lines'),
      this.lines.element,
    );
    this.update();
  }

  private update(): void {
    const m = this.cross.matrices;
    const matrix = crossMatrix(m, this.layer, this.head);
    const max = sharedMax([matrix]);
    this.label.textContent = crossLabel(this.cross.family, m, this.layer, this.head);
    this.legend.update({ data: matrix, size: m.cols, max, colourMax: max }, false);
    const common = { matrix, rows: m.rows, cols: m.cols, rowLabels: this.filling, colLabels: this.source.labels, special: this.source.special, hole: this.source.hole };
    this.map.set({ ...common, max });
    this.lines.set({ ...common, colLines: this.source.lines });
  }

  dispose(): void {
    this.map.dispose();
    this.lines.dispose();
  }
}
