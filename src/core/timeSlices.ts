// Why: long work on a page's own thread (rollout, a mean over heads, a matrix's statistics, joining a run's
// chunks, ranking influences) is cut into slices of a few milliseconds, between which the page draws and
// answers input. One clock for all of it: the caller says how to pause and whether the work was given up.
// Work written as a generator (steps) runs either at once (finish) or in slices (finishInSlices).

import { LensError } from './errors';

/** How work in slices pauses: `pause` between slices of about sliceMs; `cancelled` checked after each pause. */
export interface SliceOptions {
  pause: () => Promise<void>;
  sliceMs?: number;
  cancelled?: () => boolean;
}

/** Main-thread time one slice takes by default. */
export const DEFAULT_SLICE_MS = 8;

/** A clock for one piece of work in slices: `more()` pauses when the slice's time is up. */
export class TimeSlices {
  private until: number;
  private readonly sliceMs: number;

  constructor(private readonly options: SliceOptions) {
    this.sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
    this.until = performance.now() + this.sliceMs;
  }

  /** Pauses if this slice's time is up; throws LensError 'cancelled' if the work was given up meanwhile. */
  async more(): Promise<void> {
    if (this.due()) await this.pause();
  }

  /** Whether this slice's time is up. */
  due(): boolean {
    return performance.now() >= this.until;
  }

  /** Pauses now, whatever the time. */
  async pause(): Promise<void> {
    await this.options.pause();
    if (this.options.cancelled?.()) throw new LensError('cancelled', 'The computation was given up: a newer one replaced it.');
    this.until = performance.now() + this.sliceMs;
  }
}

/** Runs work written in steps (a generator that pauses between them) to its end, at once. */
export function finish<T>(steps: Generator<void, T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Runs work written in steps to its end, pausing between steps once a slice's time is up. */
export async function finishInSlices<T>(steps: Generator<void, T>, options: SliceOptions): Promise<T> {
  const slices = new TimeSlices(options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    await slices.more();
  }
}
