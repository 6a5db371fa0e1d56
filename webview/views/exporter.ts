// Why: exports leave the webview through the host's save dialog (a webview cannot write files). A PNG is
// the current view's canvas; the JSON holds the tokens of every sequence, the surprisal and the data of
// the roles the current view shows, so what was on screen can be re-plotted or checked elsewhere.
//
// JSON schema ("format": "attention-lens.analysis", "version": 2); numbers are rounded to 6 decimals and
// offsets are UTF-16 code units in the document:
//   model {id, displayName, architecture, parameters}, backend, document {uri, fileName, languageId, version},
//   truncated {totalTokens, keptTokens} | null,
//   primary: the id of the sequence the logits score,
//   sequences: [{id, label, primary, tokens: [{index, id, text, start, end, partial, special}]}]
//     (special tokens, e.g. [CLS] or a decoder start token, stand for no text: start === end),
//   surprisalBits: per token of the primary sequence, null where nothing predicts it,
//   view {id, label}: the tab that was exported, and exactly one of (or none, for views without data):
//   attention {family {key, label, mask, query, keys}, scope: "matrix" | "layer" | "all", description,
//     layer (for the rollout, the last layer it runs through), head (a 0-based index, "mean", "max" or
//     "rollout"), layers, dims, data}
//     data[query][key] for a matrix, data[layer][head][query][key] otherwise; query and keys name the
//     sequences of the rows and columns (different ones for cross-attention: a rectangular matrix);
//   gates {layer, gates: [{name, meaning, label, complementWrites}], dims [T, G, U], data[t][g][u]};
//   states {layer, states: [{output, state, label, dims [T, U], data[t][u]}]};
//   w {source, label, layer (null for whole-model sources), unit ("" or "bits"), dims [T, T], data[t][k]}.

import type { Analysis } from '../../src/core/analyze';
import type { MixingFamily } from '../../src/core/modelStructure';
import type { SelectionSummary } from '../../src/core/protocol';
import { gateData, hiddenStateData, mixingMatrices, stateData } from '../../src/core/roleData';
import type { Lens } from './lens';
import type { MatrixSource } from './matrixSource';
import type { WFeed } from './wFeed';

export type JsonScope = 'matrix' | 'layer' | 'all';

/** Largest number of matrix values one JSON export holds (about 10 bytes each once written). */
export const MAX_JSON_VALUES = 24_000_000;

/** A view's part of the export: one top-level key (attention, gates, states, w) and a file-name suffix. */
export interface ViewExport {
  key: 'attention' | 'gates' | 'states' | 'w';
  value: Record<string, unknown>;
  fileSuffix?: string;
}

/** The PNG bytes of a canvas, base64-encoded. */
export function pngBase64(canvas: HTMLCanvasElement): string {
  return canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
}

const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : null);

/** Rows × cols values stored at data[offset…] as nested arrays, rounded to 6 decimals. */
export function nested(data: Float32Array, offset: number, rows: number, cols: number): Array<Array<number | null>> {
  const out: Array<Array<number | null>> = new Array(rows);
  for (let r = 0; r < rows; r++) {
    const row: Array<number | null> = new Array(cols);
    const base = offset + r * cols;
    for (let c = 0; c < cols; c++) row[c] = round(data[base + c]);
    out[r] = row;
  }
  return out;
}

function familyInfo(f: MixingFamily): Record<string, unknown> {
  return { key: f.key, label: f.label, mask: f.mask, query: f.query, keys: f.keys };
}

/** How many values an attention export of this scope holds (rows × cols per matrix). */
export function familyValueCount(layers: number, heads: number, rows: number, cols: number, scope: JsonScope): number {
  return rows * cols * (scope === 'all' ? layers * heads : scope === 'layer' ? heads : 1);
}

export function attentionValueCount(lens: Lens, scope: JsonScope): number {
  const m = lens.attention;
  return m ? familyValueCount(m.layers, m.heads, m.rows, m.cols, scope) : 0;
}

/** Every head of the chosen layers of a family, [layer][head][row][col]. */
function layersOf(analysis: Analysis, family: MixingFamily, scope: 'layer' | 'all', layer: number): Record<string, unknown> {
  const m = mixingMatrices(analysis, family);
  const layers = scope === 'layer' ? [Math.min(layer, m.layers - 1)] : [...Array(m.layers).keys()];
  const size = m.rows * m.cols;
  const data = layers.map((l) => {
    const d = m.layer(l);
    return Array.from({ length: m.heads }, (_, hd) => nested(d, hd * size, m.rows, m.cols));
  });
  return { family: familyInfo(family), scope, layers, dims: [layers.length, m.heads, m.rows, m.cols], data };
}

/** The lens's family: its current matrix (a head, an aggregate or the rollout), its layer, or all layers. */
export async function attentionExport(lens: Lens, source: MatrixSource, scope: JsonScope): Promise<ViewExport> {
  const family = lens.family!;
  if (scope !== 'matrix') {
    return { key: 'attention', value: layersOf(lens.analysis, family, scope, lens.layer), fileSuffix: scope === 'all' ? 'all-layers' : `layer${lens.layer + 1}` };
  }
  const rollout = lens.head === 'rollout';
  const matrix = rollout ? await source.rollout(lens.layer) : source.get(lens.head, lens.layer);
  if (!matrix) throw new Error(`There is no ${family.label} at layer ${lens.layer + 1}.`);
  const T = lens.T;
  return {
    key: 'attention',
    value: { family: familyInfo(family), scope, description: lens.describeMatrix(), layer: rollout ? lens.rolloutLayer() : lens.layer, head: lens.head, dims: [T, T], data: nested(matrix.data, 0, T, T) },
    fileSuffix: lens.slug(),
  };
}

/** A rectangular (cross-attention) family: one matrix [rows, cols], a layer or all layers. */
export function crossExport(analysis: Analysis, family: MixingFamily, layer: number, head: number | 'mean' | 'max', matrix: Float32Array, scope: JsonScope): ViewExport {
  const slug = family.label.replace(/[^a-z0-9]+/gi, '-');
  if (scope !== 'matrix') return { key: 'attention', value: layersOf(analysis, family, scope, layer), fileSuffix: `${slug}-${scope === 'all' ? 'all-layers' : `layer${layer + 1}`}` };
  const m = mixingMatrices(analysis, family);
  const which = typeof head === 'number' ? `head ${head + 1}` : `${head} over heads`;
  return {
    key: 'attention',
    value: { family: familyInfo(family), scope, description: `${family.label}, layer ${layer + 1}, ${which}`, layer, head, dims: [m.rows, m.cols], data: nested(matrix, 0, m.rows, m.cols) },
    fileSuffix: `${slug}-layer${layer + 1}-${typeof head === 'number' ? `head${head + 1}` : head}`,
  };
}

/** The gates of one layer with their declared names and meanings. */
export function gatesExport(analysis: Analysis, layer: number): ViewExport {
  const g = gateData(analysis)!;
  const [L, T, G, U] = g.tensor.dims;
  const l = Math.min(layer, L - 1);
  const base = l * T * G * U;
  const data = Array.from({ length: T }, (_, t) => nested(g.tensor.data, base + t * G * U, G, U));
  const gates = g.gates.map((s) => ({ name: s.name, meaning: s.meaning, label: s.label ?? null, complementWrites: s.complementWrites ?? false }));
  return { key: 'gates', value: { layer: l, gates, dims: [T, G, U], data }, fileSuffix: `gates-layer${l + 1}` };
}

/** The states of one layer (or the hidden states, when the model exports only those). */
export function statesExport(analysis: Analysis, layer: number): ViewExport {
  const items: Array<{ output: string; state: string; label: string; dims: number[]; data: Float32Array; L: number }> = stateData(analysis).map((s) => ({
    output: s.family.output.name,
    state: s.family.state,
    label: s.family.label,
    dims: s.tensor.dims.slice(1),
    data: s.tensor.data,
    L: s.tensor.dims[0],
  }));
  const hidden = items.length ? undefined : hiddenStateData(analysis);
  if (hidden) items.push({ output: analysis.structure.hiddenStates[0].name, state: '', label: 'hidden states', dims: hidden.dims.slice(1), data: hidden.data, L: hidden.dims[0] });
  const states = items
    .filter((s) => layer < s.L)
    .map((s) => {
      const [T, U] = s.dims;
      return { output: s.output, state: s.state, label: s.label, dims: [T, U], data: nested(s.data, layer * T * U, T, U) };
    });
  return { key: 'states', value: { layer, states }, fileSuffix: `state-layer${layer + 1}` };
}

/** The W(t, k) the W tab shows, with what it is. */
export async function wExport(feed: WFeed): Promise<ViewExport> {
  const m = feed.matrix();
  if (!m) throw new Error('The W(t, k) matrix is not ready yet: wait for it to be drawn, then export again.');
  const perLayer = feed.source !== 'rollout' && feed.source !== 'occlusion';
  return {
    key: 'w',
    value: { source: feed.source, label: feed.note().text, layer: perLayer ? feed.layer : null, unit: feed.unit(), dims: [m.size, m.size], data: nested(m.data, 0, m.size, m.size) },
    fileSuffix: `w-${feed.key().replace(/[^a-z0-9]+/gi, '-')}`,
  };
}

/** The analysis and the current view's data as JSON text (see the schema at the top). */
export function analysisJson(analysis: Analysis, selection: SelectionSummary, backend: string, view: { id: string; label: string }, part: ViewExport | null): string {
  const primary = analysis.structure.primary;
  const document = { uri: selection.uri, fileName: selection.fileName, languageId: selection.languageId, version: selection.version };
  return JSON.stringify({
    format: 'attention-lens.analysis',
    version: 2,
    model: { ...analysis.model, parameters: analysis.manifest.parameters },
    backend,
    document,
    truncated: analysis.truncated,
    primary,
    sequences: analysis.sequences.map((s) => ({
      id: s.id,
      label: s.label,
      primary: s.id === primary,
      tokens: s.tokens.map((t, i) => ({ index: i, id: t.id, text: t.text, start: t.start, end: t.end, partial: t.partial, special: t.special })),
    })),
    surprisalBits: Array.from(analysis.surprisal, (s) => round(s)),
    view,
    ...(part ? { [part.key]: part.value } : {}),
    note: 'Offsets are UTF-16 code units in the document. Matrices are data[row][column]: attention rows are query tokens, columns key tokens; W rows are tokens t, columns the tokens k they draw on.',
  });
}
