// Why: every analysis reads each logits row's log-sum-exp (surprisal) and top k (the predictions). At 2,048
// tokens of a 50,257-word vocabulary that is 100 M floats; on a page whose code has not run yet, 128 rows of
// 4,096 took 125 ms. Written once as steps, it runs at once (a worker: webview/logitsWorker.ts), or in slices
// on the calling thread; where it runs is the caller's choice (AnalyseOptions.predictRows). Pure.

import { type Prediction, logSumExp, rowTopK } from './analysis';
import { type SliceOptions, finish, finishInSlices } from './timeSlices';

/** Each row's log-sum-exp and its top k tokens, most likely first. */
export interface RowPredictions {
  lse: Float64Array;
  top: Prediction[][];
}

/** The rows' predictions, a row per step. */
export function* rowPredictionSteps(logits: Float32Array, rows: number, V: number, topK: number): Generator<void, RowPredictions> {
  if (!(rows >= 0 && V > 0 && logits.length === rows * V)) throw new Error(`logits of ${logits.length} values are not ${rows} rows of ${V}`);
  const lse = new Float64Array(rows);
  const top: Prediction[][] = [];
  for (let t = 0; t < rows; t++) {
    if (t > 0) yield;
    lse[t] = logSumExp(logits, t * V, V);
    top.push(rowTopK(logits, t * V, V, topK, lse[t]));
  }
  return { lse, top };
}

/** The rows' predictions, and the logits they were read from (the same array, or the same values moved back). */
export type PredictRows = (logits: Float32Array, rows: number, V: number, topK: number) => Promise<RowPredictions & { logits: Float32Array }>;

/** Predictions on this thread: at once, or in slices when given how to pause. */
export function localPredictRows(slicing?: SliceOptions): PredictRows {
  return async (logits, rows, V, topK) => {
    const steps = rowPredictionSteps(logits, rows, V, topK);
    return { ...(slicing ? await finishInSlices(steps, slicing) : finish(steps)), logits };
  };
}
