// Why: the worker that sums occlusions' KL divergences for the page (see klWorkerProtocol.ts): the same
// BaselineRows and klRows as a sum on the page's thread, on the same logits, so the same bits.

import { BaselineRows, klRows } from '../src/core/klSums';
import { type Envelope, Endpoint } from '../src/core/rpc';
import { releaseBuffer } from '../src/core/releaseBuffer';
import type { KlWorkerNotifications, KlWorkerRequests } from './klWorkerProtocol';
import { workerTransport } from './workerScript';

/** A columns answer's values move back to the page. */
function transferables(message: Envelope): Transferable[] {
  return message.kind === 'response' && message.result instanceof Float32Array ? [message.result.buffer as ArrayBuffer] : [];
}

const page = new Endpoint<Record<string, never>, Record<string, never>, KlWorkerRequests, KlWorkerNotifications>(workerTransport(transferables), { peer: 'page' });

const baselines = new Map<number, BaselineRows>();

page.onRequest('baseline', ({ key, logits, T, V }) => {
  baselines.set(key, new BaselineRows(logits, T, V)); // it keeps the array it was moved
  return null;
});

page.onRequest('columns', ({ key, batch, logits }) => {
  const base = baselines.get(key);
  if (!base) throw new Error(`no KL baseline ${key} (dropped?)`);
  const values = klRows(base, batch, logits);
  releaseBuffer(logits, true); // received: the whole buffer is this worker's, and 12 MiB a batch adds up before a collection
  return values;
});

page.onRequest('drop', ({ key }) => {
  baselines.delete(key);
  return null;
});
