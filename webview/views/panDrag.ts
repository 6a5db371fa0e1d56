// Why: the heatmap and the unit maps pan the same way: press, drag past a few pixels and the view follows
// the pointer; a press that never moved is a click. This module owns that gesture, and the pointer's
// position on an element, so both views behave alike.

/** Pixels a press may move and still count as a click. */
const CLICK_SLOP = 3;

/** A pointer position relative to an element's top-left corner, in CSS pixels. */
export function pointIn(element: Element, e: MouseEvent): { x: number; y: number } {
  const r = element.getBoundingClientRect();
  return { x: e.clientX - r.left, y: e.clientY - r.top };
}

/** Where the view is when a drag starts: its offsets in data units, and pixels per data unit on each axis. */
export interface PanStart {
  ox: number;
  oy: number;
  pxPerX: number;
  pxPerY: number;
}

export class PanDrag {
  private drag: (PanStart & { x: number; y: number; moved: boolean }) | null = null;

  /** `panTo` moves the view to new offsets; the view clamps them and redraws. */
  constructor(
    private readonly start: () => PanStart,
    private readonly panTo: (ox: number, oy: number) => void,
  ) {}

  /** Starts a drag on a primary-button press; false for other buttons. */
  press(e: MouseEvent): boolean {
    if (e.button !== 0) return false;
    this.drag = { ...this.start(), x: e.clientX, y: e.clientY, moved: false };
    return true;
  }

  /** Pans with the pointer while a drag is under way; false when there is none (the move is a hover). */
  move(e: MouseEvent): boolean {
    const drag = this.drag;
    if (!drag) return false;
    const dx = e.clientX - drag.x;
    const dy = e.clientY - drag.y;
    if (Math.abs(dx) + Math.abs(dy) > CLICK_SLOP) drag.moved = true;
    this.panTo(drag.ox - dx / drag.pxPerX, drag.oy - dy / drag.pxPerY);
    return true;
  }

  /** Ends the drag: 'click' when it never moved, 'pan' when it did, null when no drag was under way. */
  release(): 'click' | 'pan' | null {
    const drag = this.drag;
    this.drag = null;
    return drag ? (drag.moved ? 'pan' : 'click') : null;
  }
}
