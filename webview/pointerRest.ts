// Why: after a long input's first paint the page still has work to do ahead of need: the editor's summary and
// rollout's factors (influence.ts), in tasks of a few ms. A person moving the pointer over the page then meets
// them: each move's frame (a hover's) waits for the task running when it came. Hovers right after the first paint
// of 1,529 and 2,041 tokens took 25.1–27.3 ms to their frames with that work running beside them, 18.2–18.9 ms
// once it waits (medians of 12, two runs each, bench:vscode's scale section). This lets such work wait until the
// pointer rests. The heatmap's pictures of other heads wait the same way, for moves over the heatmap
// (views/overviewImages.ts).

/** How long after a pointer move the work waits. */
export const REST_MS = 150;

/** Knows when the pointer last moved over a part of the page, and lets work wait until it has rested REST_MS. */
export class PointerRest {
  /** Until when (performance.now()) work waits. */
  private until = 0;
  private readonly moved = () => {
    this.until = performance.now() + REST_MS;
  };

  constructor(private readonly target: EventTarget) {
    // Mouse moves: what a pointer over the page sends (pointer events too, but the benchmarks' hovers are mousemoves).
    target.addEventListener('mousemove', this.moved, { capture: true, passive: true });
  }

  /** How long until the pointer will have rested REST_MS, if it moves no more (0 when it has). */
  remainingMs(): number {
    return Math.max(0, this.until - performance.now());
  }

  /** Resolves once the pointer has not moved for REST_MS (at once when it has not). */
  async rested(): Promise<void> {
    for (let wait = this.remainingMs(); wait > 0; wait = this.remainingMs()) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  dispose(): void {
    this.target.removeEventListener('mousemove', this.moved, { capture: true });
  }
}
