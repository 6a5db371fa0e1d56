// Why: the page's side of the KL worker (klWorker.ts, started through workerScript.ts): each occlusion's sums
// as a KlSums (src/core/klSums.ts), the logits moved to the worker rather than copied. The worker starts with
// the page's first occlusion: an analysis never needs it.

import type { KlSums } from '../src/core/klSums';
import type { FileRoutes } from './fileRoutes';
import type { KlWorkerNotifications, KlWorkerRequests } from './klWorkerProtocol';
import { WorkerConnection, wholeBuffer } from './workerScript';

/** A batch's sums take well under a second; an occlusion waits as long for them as for a run. */
const KL_TIMEOUT_MS = 10 * 60_000;

/** The buffer to move with a message: the array's own, else a copy of just its values (posting a view copies its whole buffer). */
function moved(values: Float32Array): { values: Float32Array; transfer: Transferable[] } {
  const own = wholeBuffer(values);
  const sent = own ? values : values.slice();
  return { values: sent, transfer: [own ?? (sent.buffer as ArrayBuffer)] };
}

export class KlWorkerClient {
  private connection?: WorkerConnection<KlWorkerRequests, KlWorkerNotifications>;
  private nextKey = 1;

  constructor(
    private readonly scriptUri: string,
    private readonly routes: FileRoutes,
  ) {}

  /** One occlusion's sums, in the worker. */
  sums(): KlSums {
    const connection = (this.connection ??= new WorkerConnection(this.scriptUri, 'KL sums', KL_TIMEOUT_MS, this.routes));
    const key = this.nextKey++;
    return {
      baseline: async (logits, T, V) => {
        const { values, transfer } = moved(logits);
        await connection.request('baseline', { key, logits: values, T, V }, transfer);
      },
      columns: (batch, logits) => {
        const { values, transfer } = moved(logits);
        return connection.request('columns', { key, batch, logits: values }, transfer);
      },
      dispose: () => void connection.request('drop', { key }).catch(() => undefined),
    };
  }

  /** Stops the worker, if it started: its baselines go with its heap. */
  dispose(): void {
    this.connection?.dispose();
  }
}
