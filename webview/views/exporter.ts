// Why: exports leave the webview through the host's save dialog (a webview cannot write files). A PNG
// is the current view's canvas; the JSON holds the tokens with their document ranges, the model and the
// attention of the current matrix, the current layer or all layers as nested [query][key] arrays.

import type { SelectionSummary } from '../../src/core/protocol';
import type { Lens } from './lens';
import type { MatrixSource } from './matrices';

export type JsonScope = 'matrix' | 'layer' | 'all';

/** Largest number of attention values one JSON export holds (about 10 bytes each once written). */
export const MAX_JSON_VALUES = 24_000_000;

/** The PNG bytes of a canvas, base64-encoded. */
export function pngBase64(canvas: HTMLCanvasElement): string {
  return canvas.toDataURL('image/png').replace(/^data:image\/png;base64,/, '');
}

const round = (v: number) => Math.round(v * 1e6) / 1e6;

/** Rows of a T×T matrix stored at data[offset…] as nested arrays, rounded to 6 decimals. */
function nested(data: Float32Array, offset: number, T: number): number[][] {
  const rows: number[][] = new Array(T);
  for (let q = 0; q < T; q++) {
    const row: number[] = new Array(T);
    const base = offset + q * T;
    for (let k = 0; k < T; k++) row[k] = round(data[base + k]);
    rows[q] = row;
  }
  return rows;
}

/** How many attention values an export of this scope holds. */
export function jsonValueCount(lens: Lens, scope: JsonScope): number {
  const perMatrix = lens.T * lens.T;
  if (!lens.attention) return 0;
  return scope === 'all' ? perMatrix * lens.layers * lens.heads : scope === 'layer' ? perMatrix * lens.heads : perMatrix;
}

/** The analysis as JSON text. Throws with a clear message when the attention part would be too large. */
export async function analysisJson(lens: Lens, source: MatrixSource | undefined, scope: JsonScope, selection: SelectionSummary, backend: string): Promise<string> {
  const { analysis, T } = lens;
  const count = jsonValueCount(lens, scope);
  if (count > MAX_JSON_VALUES) {
    throw new Error(
      `That export would hold ${count.toLocaleString('en-US')} attention values (${T.toLocaleString('en-US')} tokens): too large for one JSON file. Export the current layer or the current matrix instead.`,
    );
  }
  let attention: Record<string, unknown> | null = null;
  if (lens.attention && source) {
    const { layers, heads } = lens;
    if (scope === 'matrix') {
      const matrix = lens.head === 'rollout' ? await source.rollout() : source.get(lens.head, lens.layer)!;
      attention = {
        scope: 'matrix',
        description: lens.describeMatrix(),
        layer: lens.head === 'rollout' ? null : lens.layer,
        head: lens.head,
        dims: [T, T],
        data: nested(matrix.data, 0, T),
      };
    } else {
      const first = scope === 'layer' ? lens.layer : 0;
      const count = scope === 'layer' ? 1 : layers;
      const data: number[][][][] = [];
      for (let l = first; l < first + count; l++) {
        const layer: number[][][] = [];
        for (let hd = 0; hd < heads; hd++) layer.push(nested(lens.attention.data, (l * heads + hd) * T * T, T));
        data.push(layer);
      }
      attention = { scope, layers: Array.from({ length: count }, (_, i) => first + i), dims: [count, heads, T, T], data };
    }
  }
  const document = { uri: selection.uri, fileName: selection.fileName, languageId: selection.languageId, version: selection.version };
  return JSON.stringify({
    format: 'attention-lens.analysis',
    version: 1,
    model: { ...analysis.model, parameters: analysis.manifest.parameters },
    backend,
    document,
    truncated: analysis.truncated,
    tokens: analysis.tokens.map((t, i) => ({
      index: i,
      id: t.id,
      text: t.text,
      start: t.start,
      end: t.end,
      partial: t.partial,
      surprisalBits: Number.isFinite(analysis.surprisal[i]) ? round(analysis.surprisal[i]) : null,
    })),
    attention,
    note: 'Offsets are UTF-16 code units in the document. attention.data[...][query][key] is the weight a query token gives a key token.',
  });
}
