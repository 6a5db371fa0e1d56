// Why: every view of a fill (the page's, the Compare cards', the snapshot, the editor hovers) reads the same
// few things from a result: the filling's cross-attention (the family found from the manifest's roles and
// its infilling sequences, never from the model's name), the source tokens as an axis (labels, special
// flags, document lines, the hole), and the summary matrix the hovers report (the last layer's mean over
// heads) with its label. Prepared here once per result.

import type { InfillResult } from '../../src/core/infill';
import { LensError } from '../../src/core/errors';
import { type FillingCross, contextLines, crossLabel, crossMatrix, fillingCross } from '../../src/core/infillViews';
import type { SourceAxis } from './crossPanel';

export interface FillData {
  result: InfillResult;
  /** Null when the model exports no attention from the target to the source. */
  cross: FillingCross | null;
  source: SourceAxis;
  /** The last layer's mean over heads [filled × source] and what it is, for hovers and Compare; null without cross. */
  summary: { matrix: Float32Array; label: string } | null;
}

export function fillData(result: InfillResult): FillData {
  const analysis = result.fillingAnalysis;
  const infilling = analysis.manifest.infilling;
  if (!infilling) throw new LensError('model-invalid', `Model "${analysis.model.id}" declares no "infilling" in its manifest, so it cannot fill in a span.`);
  const cross = fillingCross(analysis, infilling, result.filling.ids);
  if (cross && cross.matrices.cols !== result.source.length) {
    throw new LensError('internal', `The ${cross.family.label} has ${cross.matrices.cols} source columns, but the fill read ${result.source.length} source tokens.`);
  }
  const source: SourceAxis = {
    labels: result.source.map((t) => t.text),
    special: result.source.map((t) => t.special),
    lines: contextLines(result.request, result.source.map((t) => t.start)),
    hole: result.holeIndex,
  };
  let summary: FillData['summary'] = null;
  if (cross) {
    const last = cross.matrices.layers - 1;
    summary = { matrix: crossMatrix(cross.matrices, last, 'mean'), label: crossLabel(cross.family, cross.matrices, last, 'mean') };
  }
  return { result, cross, source, summary };
}
