// Why: the worker that does the math over logits for the page (see logitsWorkerProtocol.ts): the same
// BaselineRows, klRows and rowPredictionSteps as on the page's thread, on the same logits, so the same numbers.

import { BaselineRows, klRows } from '../src/core/klSums';
import { type Envelope, Endpoint } from '../src/core/rpc';
import { releaseBuffer } from '../src/core/releaseBuffer';
import { rowPredictionSteps } from '../src/core/rowPredictions';
import { finish } from '../src/core/timeSlices';
import type { LogitsWorkerNotifications, LogitsWorkerRequests } from './logitsWorkerProtocol';
import { workerTransport } from './workerScript';

/** Answers' arrays move back to the page: a batch's KL values, and the logits a prediction borrowed with its log-sum-exps. */
function transferables(message: Envelope): Transferable[] {
  if (message.kind !== 'response') return [];
  const result = message.result as unknown;
  if (result instanceof Float32Array) return [result.buffer as ArrayBuffer];
  const predicted = result as { logits?: unknown; lse?: unknown } | null;
  return predicted?.logits instanceof Float32Array && predicted.lse instanceof Float64Array ? [predicted.logits.buffer as ArrayBuffer, predicted.lse.buffer as ArrayBuffer] : [];
}

const page = new Endpoint<Record<string, never>, Record<string, never>, LogitsWorkerRequests, LogitsWorkerNotifications>(workerTransport(transferables), { peer: 'page' });

const baselines = new Map<number, BaselineRows>();
/** Where summed logits go to be freed (the onnxruntime worker, which allocated them); until it is given, here. */
let spent: MessagePort | undefined;

page.onRequest('spentTo', ({ port }) => {
  spent = port;
  return null;
});

page.onRequest('baseline', ({ key, logits, T, V }) => {
  baselines.set(key, new BaselineRows(logits, T, V)); // it keeps the array it was moved
  return null;
});

page.onRequest('columns', ({ key, batch, logits }) => {
  const base = baselines.get(key);
  if (!base) throw new Error(`no KL baseline ${key} (dropped?)`);
  const values = klRows(base, batch, logits);
  // Received: the whole buffer is this worker's, and 12 MiB a batch adds up before a collection.
  if (spent) spent.postMessage(logits, [logits.buffer as ArrayBuffer]);
  else releaseBuffer(logits, true);
  return values;
});

page.onRequest('drop', ({ key }) => {
  baselines.delete(key);
  return null;
});

page.onRequest('predictions', ({ logits, rows, V, topK }) => ({ ...finish(rowPredictionSteps(logits, rows, V, topK)), logits }));
