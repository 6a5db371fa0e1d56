// Why: the Fill page's views (the generated tokens, the heatmap, the line view) must agree on which filled
// token is hovered, so hovering it anywhere highlights its row and its lines everywhere. This is that one
// piece of shared state, per rendered result, with subscribers.

export class FillFocus {
  /** The hovered filled token, or null. */
  row: number | null = null;
  private readonly listeners = new Set<() => void>();

  set(row: number | null): void {
    if (row === this.row) return;
    this.row = row;
    for (const listener of [...this.listeners]) listener();
  }

  /** Calls back on every change; returns the unsubscribe. */
  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
