// Why: the head view draws one line per head between the same two tokens, so a canvas rasterises the same line
// once per head, each blended over the last. The colour those lines make together is computed here instead
// (Porter–Duff "source over", in drawing order, on 0–255 sRGB as a 2D canvas blends), and one line is drawn.
// Pure: the view resolves its CSS colours to RGB and draws.

/** An sRGB colour, each channel 0–255. */
export type Rgb = readonly [number, number, number];

/** Accumulates colours drawn one over another at one place; reset() between places. */
export class SourceOver {
  // Premultiplied by alpha, as the canvas keeps them.
  private r = 0;
  private g = 0;
  private b = 0;
  private a = 0;

  reset(): void {
    this.r = this.g = this.b = this.a = 0;
  }

  /** Draws colour at alpha (0–1) over what is there. */
  add(colour: Rgb, alpha: number): void {
    const keep = 1 - alpha;
    this.r = colour[0] * alpha + this.r * keep;
    this.g = colour[1] * alpha + this.g * keep;
    this.b = colour[2] * alpha + this.b * keep;
    this.a = alpha + this.a * keep;
  }

  /** The colour of everything drawn, as the CSS rgb() one draw of it takes (alpha to 1/256); null when nothing was drawn. */
  css(): string | null {
    if (this.a <= 0) return null;
    const c = (v: number) => Math.round(Math.min(255, Math.max(0, v / this.a)));
    return `rgb(${c(this.r)} ${c(this.g)} ${c(this.b)} / ${Math.round(Math.min(1, this.a) * 256) / 256})`;
  }
}
