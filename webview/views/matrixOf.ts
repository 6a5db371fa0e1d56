// Why: a matrix as the views draw it (its maximum and colour-scale top) and its pooled overviews, as pure
// functions of the numbers, without the DOM: the unit tests check the model view's thumbnails against them.

import quickselect from 'quickselect';
import type { TriangleRows } from '../../src/core/lowerTriangle';
import { type SliceOptions, finish, finishInSlices } from '../../src/core/timeSlices';

/** A square matrix, its largest value, and the value the colour scale tops out at. */
export interface Matrix {
  data: Float32Array;
  size: number;
  max: number;
  /** Where the colour scale tops out (see matrixOf); larger values get the top colour. */
  colourMax: number;
  /** Values may be negative (a family declared signed): drawn on a diverging scale of ±colourMax. */
  signed?: boolean;
}

/** Query rows skipped by the colour statistic: the first tokens have few keys, so large weights by construction. */
const EARLY_ROWS = 8;

/**
 * A matrix with its maximum and its colour-scale top: the 99.5th percentile of the positive entries of
 * the later rows (up to 65,536 of them, sampled at random), so one huge weight does not darken the rest.
 * A signed matrix's maximum and top are its largest |value|: its diverging scale is symmetric around it.
 */
export function matrixOf(data: Float32Array, size: number, signed = false, lowerOnly = false): Matrix {
  return finish(matrixSteps(data, size, signed, lowerOnly));
}

/**
 * matrixOf (the same Matrix) with its scan for the maximum done a row at a time in slices. At 2,044 tokens
 * matrixOf of a layer's mean (17 ms of scan, 19 ms of colour top) and the mean's final division (15 ms) were
 * one 63 ms task (bench:profile); the colour top's sample is still read at once.
 */
export function matrixOfInSlices(data: Float32Array, size: number, signed: boolean, options: SliceOptions, lowerOnly = false): Promise<Matrix> {
  return finishInSlices(matrixSteps(data, size, signed, lowerOnly), options);
}

/** matrixOf (the same Matrix) in steps of `rowsPerStep` rows of the scan for the maximum, then the colour top. */
export function* matrixOfSteps(data: Float32Array, size: number, signed: boolean, rowsPerStep: number, lowerOnly = false): Generator<void, Matrix> {
  const steps = matrixSteps(data, size, signed, lowerOnly);
  for (let row = 1; ; row++) {
    const step = steps.next();
    if (step.done) return step.value;
    if (row % rowsPerStep === 0) yield;
  }
}

/**
 * matrixOf in steps: a step per row of the scan for the maximum, then the colour top. lowerOnly: the entries above
 * the diagonal are zeros (a matrix decoded from lower triangles), so the scan reads each row up to its diagonal:
 * the same maximum (it starts at 0), half the reads (a head switch at 2,041 tokens scans 4.2 million entries).
 */
function* matrixSteps(data: Float32Array, size: number, signed: boolean, lowerOnly = false): Generator<void, Matrix> {
  let max = 0;
  for (let r = 0; r < size; r++) {
    const end = r * size + (lowerOnly ? r + 1 : size);
    if (signed) {
      for (let i = r * size; i < end; i++) if (Math.abs(data[i]) > max) max = Math.abs(data[i]);
    } else {
      for (let i = r * size; i < end; i++) if (data[i] > max) max = data[i];
    }
    yield;
  }
  if (signed) return { data, size, max, colourMax: max, signed: true };
  const top = colourTop(size, data);
  return { data, size, max, colourMax: top > 0 ? top : max };
}

/** Entries the colour-scale top reads at most: all of them up to this many, else this many drawn at random. */
const COLOUR_SAMPLE = 65_536;

/** Where colourTop's entries lie in a size × size matrix held row-major: from `from`, `span` entries. */
function sampledRange(size: number): { from: number; span: number } {
  const from = Math.min(EARLY_ROWS, size >> 1) * size;
  return { from, span: size * size - from };
}

/** The LCG that draws colourTop's sample: no aliasing with the row length. */
function nextDraw(seed: number): number {
  return (Math.imul(seed, 1664525) + 1013904223) >>> 0;
}

/**
 * The colour-scale top of matrixOf for a size × size matrix held row-major: the 99.5th percentile of its positive
 * entries after the first rows, every one up to COLOUR_SAMPLE of them, else COLOUR_SAMPLE drawn by the LCG.
 */
function colourTop(size: number, values: Float32Array): number {
  const { from, span } = sampledRange(size);
  const drawn = new Float32Array(Math.max(0, Math.min(span, COLOUR_SAMPLE)));
  let n = 0;
  if (span <= COLOUR_SAMPLE) {
    for (let i = from; i < from + span; i++) if (values[i] > 0) drawn[n++] = values[i];
  } else {
    let seed = 12345;
    for (let d = 0; d < COLOUR_SAMPLE; d++) {
      const v = values[from + ((seed = nextDraw(seed)) % span)];
      if (v > 0) drawn[n++] = v; // NaN is not
    }
  }
  return percentile995(drawn.subarray(0, n));
}

/**
 * The flat indices (row × size + column) colourTop reads of a size × size matrix, in ascending order: the same
 * entries, so the same top, but read forwards through memory. Read in the LCG's order from rows held as lower
 * triangles (hundreds of MB at 2,048 tokens), the sample took 2.9 ms per model-view thumbnail in Node; in order,
 * 0.9 ms. The same for every head of a length: MatrixSource keeps one.
 */
export function colourSampleOf(size: number): Uint32Array {
  const { from, span } = sampledRange(size);
  if (span <= COLOUR_SAMPLE) return Uint32Array.from({ length: span }, (_, d) => from + d);
  const indices = new Uint32Array(COLOUR_SAMPLE);
  let seed = 12345;
  for (let d = 0; d < COLOUR_SAMPLE; d++) indices[d] = from + ((seed = nextDraw(seed)) % span);
  return indices.sort();
}

/**
 * The 99.5th percentile of values (0 when there are none), which it reorders; values must hold no NaN (the
 * comparisons would not order it). The value a sort would put at that index, found by selection (Floyd–Rivest):
 * sorting 65,536 samples took 5 ms, and the model view sorted one set per thumbnail (144 at 12 × 12); selecting
 * takes 0.1–0.3 ms (Node).
 */
export function percentile995(values: Float32Array): number {
  if (!values.length) return 0;
  const k = Math.min(values.length - 1, Math.floor(values.length * 0.995));
  quickselect(values as unknown as number[], k); // a typed array indexes like an array
  return values[k];
}

/**
 * poolMax(matrixOf(head), factor, true) of one head held as lower triangles (a non-negative causal matrix), read
 * from its rows: the same numbers without decoding the head into a T × T array (16 MB at 2,048 tokens) and
 * reading it twice more. The model view draws 144 such thumbnails: at 2,036 tokens, in Node, each took 80–126 ms
 * decoded and 20–48 ms so.
 */
export function pooledTriangleHead(rows: TriangleRows, head: number, n: number, factor: number): Matrix {
  return finish(pooledTriangleHeadSteps(rows, head, n, factor, n));
}

/**
 * pooledTriangleHead (the same Matrix) in steps: it pauses after every `rowsPerStep` rows and before the colour
 * top, so that a caller on a UI thread can draw a thumbnail over several tasks (one thumbnail at 2,044 tokens
 * reads 2 million weights). `sample` must be colourSampleOf(n), which a caller drawing many heads makes once.
 */
export function* pooledTriangleHeadSteps(rows: TriangleRows, head: number, n: number, factor: number, rowsPerStep: number, sample = colourSampleOf(n)): Generator<void, Matrix> {
  const size = Math.ceil(n / factor);
  const out = new Float32Array(size * size);
  const { values } = rows;
  let max = 0;
  for (let i = 0; i < n; i++) {
    const outRow = ((i / factor) | 0) * size;
    const data = rows.data(i);
    const from = rows.offset(head, i);
    for (let c = 0, j = 0; j <= i; c++) {
      const stop = Math.min(i + 1, j + factor);
      let best = out[outRow + c];
      if (values) {
        for (; j < stop; j++) if (values[data[from + j]] > best) best = values[data[from + j]];
      } else {
        for (; j < stop; j++) if (data[from + j] > best) best = data[from + j];
      }
      out[outRow + c] = best;
      if (best > max) max = best;
    }
    if ((i + 1) % rowsPerStep === 0 && i + 1 < n) yield;
  }
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) if (c * factor > Math.min(n - 1, r * factor + factor - 1)) out[r * size + c] = NaN;
  }
  yield;
  // colourTop's entries, read in ascending order (colourSampleOf), a row's place looked up once per row.
  const drawn = new Float32Array(sample.length);
  let count = 0;
  let row = -1;
  let data: Float32Array | Uint16Array = out;
  let from = 0;
  for (let d = 0; d < sample.length; d++) {
    const index = sample[d];
    const i = (index / n) | 0;
    const j = index - i * n;
    if (j > i) continue; // above the diagonal: 0, which the top never counts
    if (i !== row) {
      row = i;
      data = rows.data(i);
      from = rows.offset(head, i);
    }
    const v = values ? values[data[from + j]] : data[from + j];
    if (v > 0) drawn[count++] = v;
  }
  const top = percentile995(drawn.subarray(0, count));
  return { data: out, size, max, colourMax: top > 0 ? top : max };
}

/**
 * Max-pools a matrix by `factor` into a ceil(size/factor) square. With causal attention, blocks wholly
 * above the diagonal become NaN (painted transparent), the others keep their largest weight (a signed
 * matrix's blocks, the value of largest magnitude, with its sign).
 */
export function poolMax(m: Matrix, factor: number, causal: boolean): Matrix {
  return finish(poolMaxSteps(m, factor, causal, m.size));
}

/**
 * poolMax (the same Matrix) in steps: it pauses after every `rowsPerStep` rows of m, so that work done ahead on a
 * UI thread stays in short tasks (pooling one head at 2,041 tokens took 11–25 ms of a task: bench:profile).
 */
export function* poolMaxSteps(m: Matrix, factor: number, causal: boolean, rowsPerStep: number): Generator<void, Matrix> {
  const size = Math.ceil(m.size / factor);
  const out = new Float32Array(size * size);
  for (let from = 0; from < m.size; from += rowsPerStep) {
    if (from > 0) yield;
    poolRows(m, factor, causal, out, from, Math.min(m.size, from + rowsPerStep));
  }
  if (causal) {
    const n = m.size;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) if (c * factor > Math.min(n - 1, r * factor + factor - 1)) out[r * size + c] = NaN;
    }
  }
  return { data: out, size, max: m.max, colourMax: m.colourMax, signed: m.signed };
}

/** Rows from..to-1 of m max-pooled into `out` (ceil(size/factor) square); a plain loop: as a generator's, 7–50% slower (Node). */
function poolRows(m: Matrix, factor: number, causal: boolean, out: Float32Array, from: number, to: number): void {
  const { data, size: n, signed } = m;
  const size = Math.ceil(n / factor);
  for (let i = from; i < to; i++) {
    const row = i * n;
    const outRow = ((i / factor) | 0) * size;
    const jEnd = causal ? Math.min(n, i + 1) : n;
    for (let c = outRow, j = 0; j < jEnd; c++) {
      const stop = Math.min(jEnd, j + factor);
      let best = out[c];
      if (signed) {
        for (; j < stop; j++) if (Math.abs(data[row + j]) > Math.abs(best)) best = data[row + j];
      } else {
        for (; j < stop; j++) if (data[row + j] > best) best = data[row + j];
      }
      out[c] = best;
    }
  }
}
