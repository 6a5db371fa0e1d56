// Why: one rule for where a value falls on a colour scale, shared by every view that paints a W(t, k) or a
// state (webview/views/colors.ts adds the colours and re-exports this) and by the editor hover's text bars.
// Values that cannot be negative go on a sequential scale from 0 to a top value; signed ones (a family
// declared `signed`, such as a state-space model's hidden attention, or a recurrent state) go on a
// diverging scale centred on 0 and symmetric around the largest |value| shown, so the sign is never lost
// and equal magnitudes look equally strong. Pure, so the mapping is unit-tested in Node.

export interface ColourScale {
  /** 'sequential': 0 … max; 'diverging': −max … 0 … +max with 0 in the middle. */
  kind: 'sequential' | 'diverging';
  /** The value at the top of the scale (diverging: also −max at the bottom); larger magnitudes are clipped. */
  max: number;
  /** Colour by the square root of the magnitude (lifts small values; a diverging scale keeps the sign). */
  sqrt: boolean;
}

/** The largest |value| (NaN skipped); 0 for none. */
export function largestMagnitude(values: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < values.length; i++) {
    const a = Math.abs(values[i]);
    if (a > max) max = a;
  }
  return max;
}

/** A sequential scale from 0 to max. */
export function sequentialScale(max: number, sqrt = false): ColourScale {
  return { kind: 'sequential', max: Math.max(0, max), sqrt };
}

/** A diverging scale centred on 0, symmetric around the largest |value| given (a number, or the values shown). */
export function divergingScale(values: number | ArrayLike<number>, sqrt = false): ColourScale {
  return { kind: 'diverging', max: typeof values === 'number' ? Math.abs(values) : largestMagnitude(values), sqrt };
}

/**
 * The scale for values shown: diverging around the largest |value| when they are signed, else sequential up
 * to `top` (e.g. a percentile, so one huge weight does not darken the rest), or the largest value.
 */
export function scaleFor(signed: boolean, values: ArrayLike<number>, options: { sqrt?: boolean; top?: number } = {}): ColourScale {
  if (signed) return divergingScale(values, options.sqrt);
  let max = 0;
  if (options.top === undefined) for (let i = 0; i < values.length; i++) if (values[i] > max) max = values[i];
  return sequentialScale(options.top ?? max, options.sqrt);
}

/**
 * A function from value to position on the scale in [0, 1] (clipped), NaN for NaN: sequential v / max;
 * diverging ½ + ½·v / max, so 0 sits at ½, −max at 0 and +max at 1. A scale of max 0 puts everything at
 * its zero (0, or ½ when diverging).
 */
export function positionOf(s: ColourScale): (v: number) => number {
  const inv = s.max > 0 ? 1 / s.max : 0;
  if (s.kind === 'sequential') {
    return s.sqrt ? (v) => Math.sqrt(Math.min(1, Math.max(0, v * inv))) : (v) => Math.min(1, Math.max(0, v * inv));
  }
  return (v) => {
    const x = Math.min(1, Math.max(-1, v * inv));
    return 0.5 + 0.5 * (s.sqrt ? Math.sign(x) * Math.sqrt(Math.abs(x)) : x);
  };
}

/** Position of one value on a scale (see positionOf). */
export function scalePosition(v: number, s: ColourScale): number {
  return positionOf(s)(v);
}

/** The values at the two ends of a scale: [0, max] or [−max, max]. */
export function scaleEnds(s: ColourScale): [number, number] {
  return s.kind === 'diverging' ? [-s.max, s.max] : [0, s.max];
}

/** A value for a legend: "+0.420", "−0.420", "0". */
export function signedValue(v: number, digits = 3): string {
  if (v === 0) return '0';
  return `${v < 0 ? '−' : '+'}${Math.abs(v).toFixed(digits)}`;
}

/**
 * What a diverging scale shows, for its legend: "diverging, centred on 0 (blue below, red above), symmetric
 * around the largest |value| shown, ±0.420". `what` names the values ("|W|", "|value|").
 */
export function divergingLegend(max: number, what = '|value|', unit = ''): string {
  const u = unit ? ` ${unit}` : '';
  return `diverging, centred on 0 (blue below, red above), symmetric around the largest ${what} shown: ±${max.toFixed(3)}${u}`;
}

/**
 * A text bar for a signed value on a diverging scale of ±max: `half` cells left of a centre line for
 * negative values, `half` right of it for positive ones, filled in proportion to |v| / max (at least one
 * cell for any non-zero value). "░░░██│░░░░░" is −0.4·max with half = 5.
 */
export function divergingTextBar(v: number, max: number, half = 5): string {
  const n = max > 0 && v !== 0 && Number.isFinite(v) ? Math.min(half, Math.max(1, Math.round((Math.abs(v) / max) * half))) : 0;
  const left = v < 0 ? '░'.repeat(half - n) + '█'.repeat(n) : '░'.repeat(half);
  const right = v > 0 ? '█'.repeat(n) + '░'.repeat(half - n) : '░'.repeat(half);
  return `${left}│${right}`;
}
