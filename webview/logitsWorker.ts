// Why: the worker that does the math over logits for the page (see logitsWorkerProtocol.ts): the same
// BaselineRows, klRows and rowPredictionSteps as on the page's thread, on the same logits, so the same numbers.

import { BaselineRows, klRows } from '../src/core/klSums';
import { type Envelope, Endpoint } from '../src/core/rpc';
import { rowPredictionSteps } from '../src/core/rowPredictions';
import { finish } from '../src/core/timeSlices';
import type { LogitsWorkerNotifications, LogitsWorkerRequests } from './logitsWorkerProtocol';
import { workerTransport } from './workerScript';

/** Answers' arrays move back to the page: a batch's KL values with its logits, and the logits a prediction borrowed with its log-sum-exps. */
function transferables(message: Envelope): Transferable[] {
  if (message.kind !== 'response') return [];
  const result = message.result as unknown;
  const predicted = result as { logits?: unknown; lse?: unknown; values?: unknown } | null;
  if (predicted?.values instanceof Float32Array && predicted.logits instanceof Float32Array) return [predicted.values.buffer as ArrayBuffer, predicted.logits.buffer as ArrayBuffer];
  return predicted?.logits instanceof Float32Array && predicted.lse instanceof Float64Array ? [predicted.logits.buffer as ArrayBuffer, predicted.lse.buffer as ArrayBuffer] : [];
}

const page = new Endpoint<Record<string, never>, Record<string, never>, LogitsWorkerRequests, LogitsWorkerNotifications>(workerTransport(transferables), { peer: 'page' });

const baselines = new Map<number, BaselineRows>();

page.onRequest('baseline', ({ key, logits, T, V }) => {
  baselines.set(key, new BaselineRows(logits, T, V)); // it keeps the array it was moved
  return null;
});

page.onRequest('columns', ({ key, batch, logits }) => {
  const base = baselines.get(key);
  if (!base) throw new Error(`no KL baseline ${key} (dropped?)`);
  // The logits go back, to be freed by the onnxruntime worker that allocated them (ortWorker.ts, 'free').
  return { values: klRows(base, batch, logits), logits };
});

page.onRequest('drop', ({ key }) => {
  baselines.delete(key);
  return null;
});

page.onRequest('predictions', ({ logits, rows, V, topK }) => ({ ...finish(rowPredictionSteps(logits, rows, V, topK)), logits }));
