// Why: which tabs an analysis gets follows from the roles its model declares, never from its architecture.
// Each view is one entry here, in display order: what it needs from the analysis (`applies`) and how to
// build it. The analysis view shows the entries that apply; a new view is one module plus one line below.

import type { Analysis } from '../../src/core/analyze';
import { gateData, stateData } from '../../src/core/roleData';
import { crossFamilies, crossView } from './crossView';
import { type JsonScope, type ViewExport, attentionExport, attentionValueCount, gatesExport, statesExport, wExport } from './exporter';
import { AttentionFeed } from './feeds';
import { GatesView, stateView, stateViewLayers } from './gatesView';
import { HeadView } from './headView';
import { HeadsView } from './headsView';
import { Heatmap } from './heatmap';
import { type Lens, selfFamilies } from './lens';
import type { MatrixSource } from './matrixSource';
import type { ModelProbes } from '../probes';
import { LogitLensView, hasLogitLens } from './logitLensView';
import { MaskedView } from './maskedView';
import { offersMaskedPredictions } from '../../src/core/maskedPredictions';
import { ModelView } from './modelView';
import { otherSequences, sourceView } from './sourceView';
import { matrixStates } from './stateMatrixData';
import { StateMatrixView } from './stateMatrixView';
import { type Occlude, WFeed, firstWSource } from './wFeed';
import { WView } from './wView';

export type { JsonScope };

/** One built view. */
export interface ViewInstance {
  element: HTMLElement;
  /** The tab became visible: size and paint (hidden canvases have no size). */
  activate(): void;
  deactivate?(): void;
  dispose(): void;
  /** The picture Export PNG saves. */
  canvas?(): HTMLCanvasElement | undefined;
  /** Its file name, without ".png". */
  pngName?(): string;
  /** Layers of the data it shows (the layer is clamped to them when the tab opens). */
  layers?(): number;
  /** Values a JSON export of this scope holds (to refuse or warn about huge ones). */
  jsonValues?(scope: JsonScope): number;
  /** Its part of the JSON export. */
  exportJson?(scope: JsonScope): Promise<ViewExport>;
}

/** What a view is built from. */
export interface ViewContext {
  analysis: Analysis;
  /** The lens over the primary sequence, shared by the toolbar, the token strip and the views. */
  lens: Lens;
  /** The matrices of the lens's current self-mixing family, when its sequence has one. */
  matrices: MatrixSource | undefined;
  /** Reveals a document range in the editor. */
  reveal(start: number, end: number): void;
  occlude: Occlude;
  occluded?(w: Float32Array): void;
  /** Switches to another tab (e.g. the model view opens a head in the heatmap). */
  showTab(id: string): void;
  /** What the model can compute beyond this analysis (the head probe, the readout weights); absent outside the panel's engine. */
  probes?: ModelProbes;
}

export interface ViewEntry {
  id: string;
  /** Whether its JSON export takes a scope (matrix, layer, all layers): known before the view is built. */
  scoped?: boolean;
  label(analysis: Analysis): string;
  applies(analysis: Analysis): boolean;
  /**
   * The data its first picture needs, computed in slices before it is built (AnalysisView.activateTab), so that
   * its construction and first draw are short tasks; a view without one computes what it needs as it is built.
   */
  prepare?(context: ViewContext): Promise<void>;
  create(context: ViewContext): ViewInstance;
}

const primarySelf = (a: Analysis) => selfFamilies(a, a.structure.primary).length > 0;

/** Export hooks of a view over the primary lens's family. */
function attentionHooks(c: ViewContext): Pick<ViewInstance, 'layers' | 'jsonValues' | 'exportJson'> {
  return {
    layers: () => c.lens.attention?.layers ?? c.lens.layers,
    jsonValues: (scope) => attentionValueCount(c.lens, scope),
    exportJson: (scope) => attentionExport(c.lens, c.matrices!, scope),
  };
}

export const VIEWS: ViewEntry[] = [
  {
    id: 'heatmap',
    scoped: true,
    label: () => 'Heatmap',
    applies: primarySelf,
    prepare: (c) => c.matrices?.prepare(c.lens.head, c.lens.layer) ?? Promise.resolve(),
    create(c) {
      const feed = new AttentionFeed(c.lens, c.matrices!);
      const map = new Heatmap(c.lens, feed);
      return {
        element: map.element,
        activate: () => map.activate(),
        dispose: () => (map.dispose(), feed.dispose()),
        canvas: () => map.canvas,
        pngName: () => `attention-${c.lens.slug()}`,
        ...attentionHooks(c),
      };
    },
  },
  {
    id: 'head',
    scoped: true,
    label: () => 'Head view',
    applies: primarySelf,
    create(c) {
      const view = new HeadView(c.lens);
      return { element: view.element, activate: () => view.activate(), dispose: () => view.dispose(), canvas: () => view.canvas, pngName: () => `head-view-layer${c.lens.layer + 1}`, ...attentionHooks(c) };
    },
  },
  {
    id: 'model',
    scoped: true,
    label: () => 'Model view',
    applies: primarySelf,
    create(c) {
      const view = new ModelView(c.lens, c.matrices!, () => c.showTab('heatmap'));
      return { element: view.element, activate: () => view.activate(), dispose: () => view.dispose(), canvas: () => view.snapshot(), pngName: () => 'model-view', ...attentionHooks(c) };
    },
  },
  {
    id: 'heads',
    label: () => 'Heads',
    applies: primarySelf,
    create(c) {
      const view = new HeadsView(c.lens, c.matrices!, c.probes, () => c.showTab('heatmap'));
      return { element: view.element, activate: () => view.activate(), deactivate: () => view.deactivate(), dispose: () => view.dispose(), layers: () => c.lens.attention?.layers ?? c.lens.layers };
    },
  },
  {
    id: 'logit-lens',
    label: () => 'Logit lens',
    // A declared readout (final norm and unembedding) and hidden states of the sequence the logits score.
    applies: hasLogitLens,
    create(c) {
      const view = new LogitLensView(c.lens, c.probes);
      return { element: view.element, activate: () => view.activate(), deactivate: () => view.deactivate(), dispose: () => view.dispose(), canvas: () => view.canvas, pngName: () => 'logit-lens' };
    },
  },
  {
    id: 'masked',
    label: () => 'Masked',
    // Logits that score the token at their own position and a declared mask token (a masked language model).
    applies: (a) => offersMaskedPredictions(a.manifest, a.structure),
    create(c) {
      const view = new MaskedView(c.lens, c.probes, c.reveal);
      return { element: view.element, activate: () => view.activate(), dispose: () => view.dispose() };
    },
  },
  {
    id: 'source',
    scoped: true,
    label: (a) => `${a.sequences.find((s) => s.id === otherSequences(a)[0])?.label ?? 'Source'} attention`,
    applies: (a) => otherSequences(a).length > 0,
    create: sourceView,
  },
  {
    id: 'cross',
    scoped: true,
    label: () => 'Cross-attention',
    applies: (a) => crossFamilies(a).length > 0,
    create: crossView,
  },
  {
    id: 'gates',
    label: () => 'Gates',
    applies: (a) => gateData(a) !== undefined,
    create(c) {
      const view = new GatesView(c.lens);
      return {
        element: view.element,
        activate: () => view.activate(),
        dispose: () => view.dispose(),
        canvas: () => view.maps.snapshot(),
        pngName: () => `gates-layer${c.lens.layer + 1}`,
        layers: () => gateData(c.analysis)!.tensor.dims[0],
        exportJson: async () => gatesExport(c.analysis, c.lens.layer),
      };
    },
  },
  {
    id: 'state',
    label: () => 'State',
    // Recurrent states; hidden states only for a model with nothing else per layer (a plain encoder export),
    // since a residual stream holds L + 1 entries that a layer picker over attention layers cannot name.
    applies: (a) => stateData(a).length > 0 || (a.structure.hiddenStates.length > 0 && a.structure.mixing.length === 0 && !gateData(a)),
    create(c) {
      const view = stateView(c.lens);
      return {
        element: view.element,
        activate: () => view.activate(),
        dispose: () => view.dispose(),
        canvas: () => view.snapshot(),
        pngName: () => `state-layer${c.lens.layer + 1}`,
        layers: () => stateViewLayers(c.analysis),
        exportJson: async () => statesExport(c.analysis, c.lens.layer),
      };
    },
  },
  {
    id: 'state-matrix',
    label: () => 'State matrix',
    // A state with two or more axes of its own besides layer, batch and position (S_t [head, state, feature]).
    applies: (a) => matrixStates(a).length > 0,
    create(c) {
      const view = new StateMatrixView(c.lens);
      return {
        element: view.element,
        activate: () => view.activate(),
        dispose: () => view.dispose(),
        canvas: () => view.snapshot(),
        pngName: () => `state-matrix-layer${c.lens.layer + 1}-token${c.lens.active ?? c.lens.selected ?? c.lens.T - 1}`,
        layers: () => view.layers(),
        exportJson: async () => statesExport(c.analysis, c.lens.layer),
      };
    },
  },
  {
    id: 'w',
    label: () => 'W(t, k)',
    applies: () => true,
    // Attention's mean over heads, as the heatmap's entry prepares it (retention is computed in slices by the feed).
    prepare: (c) => (firstWSource(c.lens) === 'attention' && c.matrices ? c.matrices.prepare('mean', c.lens.layer) : Promise.resolve()),
    create(c) {
      const feed = new WFeed(c.lens, c.matrices, c.occlude);
      const view = new WView(c.lens, feed);
      let occluded: Float32Array | null = null;
      const unsubscribe = feed.onChange(() => {
        const w = feed.occlusionResult;
        if (w && w !== occluded) c.occluded?.((occluded = w));
      });
      return {
        element: view.element,
        activate: () => view.activate(),
        deactivate: () => view.deactivate(),
        dispose: () => (unsubscribe(), view.dispose(), feed.dispose()),
        canvas: () => view.heatmap.canvas,
        pngName: () => `w-${feed.key().replace(/[^a-z0-9]+/gi, '-')}`,
        exportJson: async () => wExport(feed),
      };
    },
  },
];

/** The entries that apply to an analysis, in display order. */
export function viewsFor(analysis: Analysis): ViewEntry[] {
  return VIEWS.filter((v) => v.applies(analysis));
}

/** Every view id (what a saved tab may name). */
export const TABS: readonly string[] = VIEWS.map((v) => v.id);
