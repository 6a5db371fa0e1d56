// Why: an inference session runs one inference at a time, the user may start a new analysis, cancel, or ask
// for occlusion at any moment, and a stale result must never be shown. Earlier, analyses and occlusions
// each waited on the other's promise, and a cancelled occlusion could wait for the analysis that waited for
// it: a deadlock. Here one object owns the order of every job. A job waits only for the one job before it to
// return (never for a later one), and cancelling only aborts signals and takes jobs out of the queue, never
// awaits anything, so no cycle of waits can form. A job's body must return soon after its signal aborts
// (at most the one onnxruntime call it has in flight), which bounds how long a newer job waits.

import { LensError } from './errors';

/**
 * "exclusive": an analysis (or a group of them); starting one cancels every job running or queued.
 * "followUp": work on the current analysis (occlusion); it runs after the jobs already queued, a newer
 * follow-up cancels the older ones, and a newer exclusive job cancels it.
 */
export type JobKind = 'exclusive' | 'followUp';

/** A job's body: it gets a signal that aborts when the job is cancelled, and should then return promptly. */
export type JobBody<T> = (signal: AbortSignal) => Promise<T>;

interface Job {
  readonly kind: JobKind;
  readonly controller: AbortController;
  /** Runs the body and settles the caller's promise; never rejects. */
  run(): Promise<void>;
  /** Settles the caller's promise as cancelled without running the body (the job was still queued). */
  drop(): void;
}

/** The error of a cancelled job. */
export function cancelledError(kind: JobKind): LensError {
  return new LensError('cancelled', kind === 'exclusive' ? 'The analysis was cancelled by a newer one.' : 'Occlusion was cancelled.');
}

/**
 * Waits for `work`, or rejects with "cancelled" as soon as `signal` aborts (the work goes on; whoever
 * started it keeps its result). For waits that need no inference session, such as a download.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal, kind: JobKind = 'exclusive'): Promise<T> {
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(cancelledError(kind));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelledError(kind));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Runs jobs one at a time, in order, with "only the latest analysis wins" cancellation. */
export class RunQueue {
  private readonly waiting: Job[] = [];
  private running: Job | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  /**
   * Runs an analysis job: cancels every job running or queued, then runs once the running job's body has
   * returned. Resolves with the body's value unless the job was cancelled meanwhile ("cancelled").
   */
  exclusive<T>(body: JobBody<T>, signal?: AbortSignal): Promise<T> {
    this.abortWhere(() => true);
    return this.enqueue('exclusive', body, signal);
  }

  /** Runs a follow-up job (occlusion) after the jobs queued so far; cancels older follow-ups. */
  followUp<T>(body: JobBody<T>, signal?: AbortSignal): Promise<T> {
    this.abortWhere((job) => job.kind === 'followUp');
    return this.enqueue('followUp', body, signal);
  }

  /** Cancels every job running or queued. */
  cancel(): void {
    this.abortWhere(() => true);
  }

  /** Cancels everything and refuses new jobs ("disposed"); idle() then says when the last body has returned. */
  close(): void {
    this.closed = true;
    this.cancel();
  }

  /** Resolves once no job runs or waits. */
  idle(): Promise<void> {
    if (!this.running && this.waiting.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  private abortWhere(test: (job: Job) => boolean): void {
    for (const job of [...this.waiting, ...(this.running ? [this.running] : [])]) if (test(job)) job.controller.abort();
  }

  private enqueue<T>(kind: JobKind, body: JobBody<T>, external?: AbortSignal): Promise<T> {
    if (this.closed) return Promise.reject(new LensError('disposed', 'The view was closed.'));
    return new Promise<T>((resolve, reject) => {
      const controller = new AbortController();
      const signal = controller.signal;
      const onExternalAbort = () => controller.abort();
      const settle = (): void => {
        external?.removeEventListener('abort', onExternalAbort);
        signal.removeEventListener('abort', onAbort);
      };
      const job: Job = {
        kind,
        controller,
        run: async () => {
          try {
            if (signal.aborted) throw cancelledError(kind);
            const value = await body(signal);
            // A result that arrives after a newer job started describes a replaced analysis: never deliver it.
            if (signal.aborted) throw cancelledError(kind);
            resolve(value);
          } catch (err) {
            reject(signal.aborted ? cancelledError(kind) : err);
          } finally {
            settle();
          }
        },
        drop: () => {
          settle();
          reject(cancelledError(kind));
        },
      };
      // A queued job that is cancelled settles at once, without waiting for its turn.
      const onAbort = () => {
        const at = this.waiting.indexOf(job);
        if (at >= 0) {
          this.waiting.splice(at, 1);
          job.drop();
          this.notifyIfIdle();
        }
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (external?.aborted) controller.abort();
      external?.addEventListener('abort', onExternalAbort, { once: true });
      if (signal.aborted) {
        job.drop();
        return;
      }
      this.waiting.push(job);
      this.pump();
    });
  }

  /** Starts the next job when none runs (in a later microtask, so a caller never runs a body synchronously). */
  private pump(): void {
    if (this.running) return;
    const next = this.waiting.shift();
    if (!next) {
      this.notifyIfIdle();
      return;
    }
    this.running = next;
    void Promise.resolve()
      .then(() => next.run())
      .finally(() => {
        this.running = undefined;
        this.pump();
      });
  }

  private notifyIfIdle(): void {
    if (this.running || this.waiting.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
