// "Only the latest wins": runs tasks one at a time (an inference session runs one inference at a time),
// and starting a task aborts the ones before it, so a stale result is never delivered.

import { LensError } from './errors';

export class LatestOnly {
  private current: AbortController | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** Starts a task after the previous one settles; rejects with "cancelled" if a newer task starts first. */
  run<T>(task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    this.current?.abort();
    const controller = (this.current = new AbortController());
    const previous = this.queue;
    const result = (async () => {
      await previous.catch(() => undefined);
      if (controller.signal.aborted) throw cancelled();
      const value = await task(controller.signal);
      if (controller.signal.aborted) throw cancelled();
      return value;
    })();
    this.queue = result;
    return result;
  }

  /** Aborts the running task, if any. */
  cancel(): void {
    this.current?.abort();
  }
}

function cancelled(): LensError {
  return new LensError('cancelled', 'The analysis was cancelled by a newer one.');
}
