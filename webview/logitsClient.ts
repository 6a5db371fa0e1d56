// Why: the page's side of the logits worker (logitsWorker.ts, started through workerScript.ts with the page,
// since the analyses' predictions run there): each occlusion's sums as a KlSums (src/core/klSums.ts), and each
// analysis's predictions as a PredictRows (src/core/rowPredictions.ts), the logits moved to the worker rather
// than copied. (Fill in the selection still ranks its few rows on the page.)

import type { KlSums } from '../src/core/klSums';
import { PREDICTIONS_SLICE_MS } from '../src/core/analyze';
import { type PredictRows, localPredictRows } from '../src/core/rowPredictions';
import { mark } from './marks';
import { yieldToUi } from './yieldToUi';
import type { FileRoutes } from './fileRoutes';
import type { LogitsWorkerNotifications, LogitsWorkerRequests } from './logitsWorkerProtocol';
import { WorkerConnection, wholeBuffer } from './workerScript';

/** A batch's sums or an analysis's predictions take well under a second; an occlusion waits as long for them as for a run. */
const LOGITS_TIMEOUT_MS = 10 * 60_000;

/** The buffer to move with a message: the array's own, else a copy of just its values (posting a view copies its whole buffer). */
function moved(values: Float32Array): { values: Float32Array; transfer: Transferable[] } {
  const own = wholeBuffer(values);
  const sent = own ? values : values.slice();
  return { values: sent, transfer: [own ?? (sent.buffer as ArrayBuffer)] };
}

export class LogitsWorkerClient {
  private readonly connection: WorkerConnection<LogitsWorkerRequests, LogitsWorkerNotifications>;
  private nextKey = 1;

  constructor(scriptUri: string, routes: FileRoutes) {
    this.connection = new WorkerConnection(scriptUri, 'logits', LOGITS_TIMEOUT_MS, routes);
  }

  /** One occlusion's sums, in the worker. */
  sums(): KlSums {
    const connection = this.connection;
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

  /**
   * An analysis's predictions, in the worker: the logits go there and come back with them (the caller's array is
   * emptied meanwhile). When the worker failed before it took them (it did not start), on the page, in slices:
   * the same numbers. Logits lost with a worker that failed after taking them fail the analysis.
   */
  readonly predictRows: PredictRows = async (logits, rows, V, topK) => {
    const { values, transfer } = moved(logits);
    try {
      const predicted = await this.connection.request('predictions', { logits: values, rows, V, topK }, transfer);
      mark('predicted');
      return predicted;
    } catch (err) {
      if (values.length !== rows * V) throw err; // moved to the worker and lost with it
      console.warn(`Ranking predictions on the page: the logits worker failed (${err instanceof Error ? err.message : String(err)}).`);
      return localPredictRows({ pause: yieldToUi, sliceMs: PREDICTIONS_SLICE_MS })(values, rows, V, topK);
    }
  };

  /** Moves each batch's logits, once summed, to `port` instead of freeing them in the worker. */
  async spendTo(port: MessagePort): Promise<void> {
    await this.connection.request('spentTo', { port }, [port]);
  }

  /** Stops the worker: its baselines go with its heap. */
  dispose(): void {
    this.connection.dispose();
  }
}
