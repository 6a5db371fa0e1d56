// Why: the body of the Compare view for one selection: a card per model (size, tokens, backend, latency,
// context memory, bits per byte), the sentences, per-token surprisal of every model on one token axis,
// influence against distance on a log scale (both sides for a model whose W is bidirectional), and the
// small multiples (drawn in full for such a model). Runs arrive one model at a time and are drawn as they
// come; finish() turns them into figures and words.

import type { CompareRun } from '../../src/core/compare';
import { profileSide, rowShares, signedDistanceProfile } from '../../src/core/compare';
import { type ModelFigures, type TokenPlace, bitsPerByteLabel, describeComparison, formatBytes, modelFigures, shortName } from '../../src/core/compareSummary';
import type { ContextMemory } from '../../src/core/contextMemory';
import { looksAhead, modelStructure } from '../../src/core/modelStructure';
import type { ModelDescriptor, SelectionSummary } from '../../src/core/protocol';
import { h, plural, replace, select } from '../dom';
import { headColour } from '../views/colors';
import { LineChart, type Series } from './lineChart';
import { SmallMultiples } from './multiples';

export interface CompareCallbacks {
  /** Open the selection in the analysis panel with this model. */
  open(modelId: string): void;
}

interface Slot {
  model: ModelDescriptor;
  colour: string;
  card: HTMLElement;
  run?: CompareRun;
  figures?: ModelFigures;
  /** Row shares of the occlusion W, once computed, and whether it looks ahead (a model that sees later tokens). */
  occlusion?: { shares: Float32Array; bidirectional: boolean };
}

const DISTANCE_NOTE = 'Mean share of W(t, k) at each distance d = t − k (log scale): a straight fall is geometric forgetting. Solid: the model’s own W (rollout or retention); dashed: occlusion.';
const BOTH_SIDES_NOTE = ' A bidirectional W is drawn on both sides: solid or dashed for earlier tokens (k = t − d), dotted for later ones (k = t + d).';

export class CompareView {
  readonly element: HTMLElement;
  private readonly slots: Slot[];
  private readonly words = h('ul', { class: 'compare-words', 'data-testid': 'compare-words' });
  private readonly surprisal: LineChart;
  private readonly distance: LineChart;
  private readonly multiples: SmallMultiples;
  /** Which W the small multiples show: each model's own, or occlusion (the same measure for all). */
  private readonly matrixPicker = select('multiples-source', 'Which W(t, k) the matrices show', [['own', 'Each model’s own W (rollout, retention)'], ['occlusion', 'Occlusion: the same measure for every model']], 'own');
  private readonly axisNote = h('p', { class: 'muted small', 'data-testid': 'surprisal-note' });
  private readonly distanceNote = h('p', { class: 'muted small', 'data-testid': 'distance-note' }, DISTANCE_NOTE);
  private figures: ModelFigures[] = [];

  constructor(
    models: readonly ModelDescriptor[],
    private readonly selection: SelectionSummary,
    callbacks: CompareCallbacks,
  ) {
    this.slots = models.map((model, i) => {
      const colour = headColour(i, models.length);
      const card = h('li', { class: 'model-card', 'data-testid': `compare-${model.manifest.id}`, 'data-state': 'waiting' });
      const slot = { model, colour, card };
      this.renderCard(slot, 'Waiting…');
      return slot;
    });
    this.surprisal = new LineChart({
      testid: 'surprisal-chart',
      label: 'Surprisal of every token, per model',
      xLabel: 'token',
      yLabel: 'bits',
      describeX: (x) => `token ${x} \`${this.slots.find((s) => s.run)?.run?.tokens[x]?.text ?? ''}\``,
      formatY: (y) => `${y.toFixed(2)} bits`,
    });
    this.distance = new LineChart({
      testid: 'distance-chart',
      label: 'Influence against distance, per model, log scale',
      xLabel: 'distance d = t − k (tokens)',
      yLabel: 'share',
      logY: true,
      xFrom: 1,
      describeX: (x) => `${plural(x, 'token')} back`,
      formatY: (y) => `${(y * 100).toPrecision(2)}%`,
    });
    this.multiples = new SmallMultiples((id) => callbacks.open(id));
    this.matrixPicker.hidden = true; // offered once occlusion has been computed
    this.matrixPicker.addEventListener('change', () => this.redraw());
    this.element = h(
      'div',
      { class: 'compare', 'data-testid': 'compare' },
      h('ul', { class: 'model-cards' }, ...this.slots.map((s) => s.card)),
      h('section', { 'aria-label': 'In words' }, h('h3', {}, 'In words'), this.words),
      h('section', { 'aria-label': 'Surprisal per token' }, h('h3', {}, 'Surprisal per token'), h('p', { class: 'muted small' }, 'How unexpected each token was to each model, −log₂ p, on one token axis.'), this.surprisal.element, this.axisNote),
      h(
        'section',
        { 'aria-label': 'Influence against distance' },
        h('h3', {}, 'Influence against distance'),
        this.distanceNote,
        this.distance.element,
      ),
      h('section', { 'aria-label': 'W(t, k) of every model' }, h('h3', {}, 'W(t, k), one colour scale'), this.matrixPicker, this.multiples.element),
    );
  }

  setRunning(modelId: string, text: string): void {
    const slot = this.slot(modelId);
    if (slot) this.renderCard(slot, text, 'running');
  }

  setFailed(modelId: string, message: string): void {
    const slot = this.slot(modelId);
    if (slot) this.renderCard(slot, message, 'failed');
  }

  /** A model's run arrived: its card and the charts show it at once. */
  setRun(modelId: string, run: CompareRun): void {
    const slot = this.slot(modelId);
    if (!slot) return;
    slot.run = run;
    const text = this.selection.text;
    const predictedFrom = run.tokens.length > 1 ? run.tokens[1].start - this.selection.startOffset : text.length;
    slot.figures = modelFigures(slot.model.manifest, run, text.slice(0, run.tokens.length ? run.tokens[run.tokens.length - 1].end - this.selection.startOffset : 0), predictedFrom);
    this.renderCard(slot, '', 'done');
    this.redraw();
  }

  setOcclusion(modelId: string, w: Float32Array): void {
    const slot = this.slot(modelId);
    if (!slot?.figures) return;
    slot.occlusion = { shares: rowShares(w, slot.figures.T), bidirectional: looksAhead(modelStructure(slot.model.manifest)) };
    this.matrixPicker.hidden = false;
    this.redraw();
  }

  /** Every model has run (or failed): figures and sentences. */
  finish(): { figures: ModelFigures[]; sentences: string[] } {
    this.figures = this.slots.flatMap((s) => (s.figures ? [s.figures] : []));
    const sentences = this.figures.length ? describeComparison(this.figures, (i) => this.place(i)) : [];
    replace(this.words, ...sentences.map((s) => h('li', {}, ...codeSpans(s))));
    if (!sentences.length) replace(this.words, h('li', { class: 'muted' }, 'No model produced figures for this selection.'));
    return { figures: this.figures, sentences };
  }

  /** The finished runs with their models (occlusion reruns each on its own sequences' ids). */
  get runs(): Array<{ model: ModelDescriptor; run: CompareRun }> {
    return this.slots.flatMap((s) => (s.run ? [{ model: s.model, run: s.run }] : []));
  }

  dispose(): void {
    this.surprisal.dispose();
    this.distance.dispose();
    this.multiples.dispose();
  }

  private slot(modelId: string): Slot | undefined {
    return this.slots.find((s) => s.model.manifest.id === modelId);
  }

  /** Where token i is: its text, the word it is part of, and its 1-based line in the document. */
  private place(i: number): TokenPlace {
    const token = (this.slots.find((s) => s.run)?.run?.tokens ?? [])[i];
    if (!token) return { text: '', line: this.selection.start.line + 1 };
    const doc = this.selection.text;
    const start = token.start - this.selection.startOffset;
    const end = token.end - this.selection.startOffset;
    let line = this.selection.start.line + 1;
    for (let c = 0; c < start; c++) if (doc.charCodeAt(c) === 10) line++;
    const raw = doc.slice(start, end);
    const text = raw.trim() || token.text; // whitespace-only tokens keep their visible form (·, ↵)
    const isWord = (c: string | undefined) => c !== undefined && /[\p{L}\p{N}_$]/u.test(c);
    let a = start + raw.length - raw.trimStart().length;
    let b = end - (raw.length - raw.trimEnd().length);
    if (isWord(doc[a])) while (a > 0 && isWord(doc[a - 1])) a--;
    if (isWord(doc[b - 1])) while (b < doc.length && isWord(doc[b])) b++;
    return { text, word: doc.slice(a, b), line };
  }

  private renderCard(slot: Slot, status: string, state = 'waiting'): void {
    const m = slot.model.manifest;
    const f = slot.figures;
    const run = slot.run;
    slot.card.setAttribute('data-state', state);
    const head = h(
      'div',
      { class: 'card-head' },
      swatch(slot.colour),
      h('strong', {}, shortName(m)),
      h('span', { class: 'muted' }, ` ${m.displayName}`),
      f && Number.isFinite(f.bitsPerByte)
        ? h(
            'span',
            {
              class: 'bpb',
              'data-testid': `bpb-${m.id}`,
              title: f.predictsNext ? 'Mean bits per byte of the predicted text (lower is better)' : 'Bits per byte of tokens the model could see while scoring them: not comparable with next-token models',
            },
            bitsPerByteLabel(f),
          )
        : null,
    );
    if (!run || !f) {
      replace(slot.card, head, h('div', { class: state === 'failed' ? 'error' : 'muted', role: state === 'failed' ? 'alert' : 'status' }, status));
      return;
    }
    const params = m.parameters ? `${(m.parameters / 1e6).toFixed(2)} M parameters` : '';
    const speed = run.reused ? 'reused from the panel' : `${run.backend === 'webgpu' ? 'WebGPU' : 'wasm'} ${Math.round(run.runMs)} ms${run.loadMs ? ` (+${Math.round(run.loadMs)} ms load)` : ''}`;
    const memory = describeMemory(f.memory);
    const w = run.influence ? `${run.influence.label}${Number.isFinite(f.halfLife) ? `; halves every ${f.halfLife.toFixed(1)} tokens` : ''}` : 'no W(t, k) output';
    replace(
      slot.card,
      head,
      h('div', { class: 'muted', 'data-testid': `stats-${m.id}` }, [params, plural(f.T, 'token'), speed].filter(Boolean).join(' · ')),
      h('div', { 'data-testid': `memory-${m.id}` }, `Context memory: ${memory}`),
      h('div', { class: 'muted' }, `W(t, k): ${w}`),
    );
  }

  private redraw(): void {
    const done = this.slots.filter((s) => s.run && s.figures);
    const ids = done.map((s) => s.run!.tokenIds.join(','));
    const shared = ids.every((x) => x === ids[0]);
    this.axisNote.textContent = shared ? '' : 'These models tokenize the text differently: each line uses its own token index.';
    this.surprisal.setSeries(done.map((s) => ({ label: shortName(s.model.manifest), colour: s.colour, values: s.run!.surprisal })));
    const series: Series[] = [];
    let bothSides = false;
    for (const s of done) {
      const f = s.figures!;
      const name = shortName(s.model.manifest);
      if (f.profile) series.push({ label: f.later ? `${name}, earlier` : name, colour: s.colour, values: f.profile });
      if (f.later) series.push({ label: `${name}, later`, colour: s.colour, values: f.later, dotted: true });
      if (s.occlusion) {
        const signed = signedDistanceProfile(s.occlusion.shares, f.T);
        const both = s.occlusion.bidirectional;
        series.push({ label: `${name} occlusion${both ? ', earlier' : ''}`, colour: s.colour, values: profileSide(signed, 'earlier'), dashed: true });
        if (both) series.push({ label: `${name} occlusion, later`, colour: s.colour, values: profileSide(signed, 'later'), dashed: true, dotted: true });
      }
      bothSides ||= !!f.later || !!s.occlusion?.bidirectional;
    }
    this.distanceNote.textContent = DISTANCE_NOTE + (bothSides ? BOTH_SIDES_NOTE : '');
    this.distance.setAxis(
      bothSides ? 'distance d = |t − k| (tokens), earlier and later' : 'distance d = t − k (tokens)',
      bothSides ? (x) => `${plural(x, 'token')} away` : (x) => `${plural(x, 'token')} back`,
    );
    this.distance.setSeries(series);
    const occlusion = this.matrixPicker.value === 'occlusion';
    this.multiples.set(
      this.slots.filter((s) => s.run).map((s) => ({
        modelId: s.model.manifest.id,
        name: shortName(s.model.manifest),
        source: occlusion ? (s.occlusion ? 'occlusion (KL divergence)' : 'occlusion not computed') : (s.run!.influence?.label ?? ''),
        shares: occlusion ? (s.occlusion?.shares ?? null) : (s.figures?.shares ?? null),
        bidirectional: occlusion ? !!s.occlusion?.bidirectional : !!s.figures?.bidirectional,
        tokens: s.run!.tokens,
      })),
    );
  }
}

/** What carries a model's context from token to token, and how it grows with the tokens. */
function describeMemory(memory: ContextMemory): string {
  const size = formatBytes(memory.bytes);
  switch (memory.kind) {
    case 'attention': {
      const maps = memory.maps ?? { count: 1, rows: 0, cols: 0 };
      const growth = memory.growth === 'window' ? 'growing linearly (a sliding window)' : 'growing as T²';
      return `attention ${size}: ${maps.count} maps (layers × heads) of ${maps.rows}×${maps.cols}, ${formatBytes(memory.bytes / maps.count)} each, ${growth}`;
    }
    case 'state':
      return `state ${size} per step (the same at any length)`;
    case 'cache':
      return `key/value cache ${size}, growing linearly with the tokens`;
    case 'none':
      return 'no context tensors exported';
  }
}

/** A colour square (set through the CSSOM: the webview's CSP blocks style attributes). */
function swatch(colour: string): HTMLElement {
  const el = h('span', { class: 'swatch', 'aria-hidden': 'true' });
  el.style.background = colour;
  return el;
}

/** A sentence with `code` spans as <code> elements. */
function codeSpans(sentence: string): Array<string | HTMLElement> {
  return sentence.split('`').map((part, i) => (i % 2 ? h('code', {}, part) : part));
}
