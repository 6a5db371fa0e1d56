// Why: every colour the analysis views paint comes from here. Weights that cannot be negative use viridis
// (perceptually uniform, readable in colour-blindness and greyscale), computed from a polynomial fit rather
// than a palette table; signed ones (a family declared `signed`, a state) use a diverging map, blue below 0
// and red above, dark at 0 like viridis's bottom so the many near-zero cells stay quiet, on a scale
// symmetric around the largest |value| shown (the mapping, shared with the hover, is src/core/colourScale.ts,
// re-exported here so views import scales from one place); head colours are evenly spaced OKLCH hues whose
// lightness follows the theme; text, lines and backgrounds are read from VS Code's --vscode-* theme
// variables at draw time.

import { type ColourScale, positionOf } from '../../src/core/colourScale';
import type { Rgb } from '../../src/core/sourceOver';

export {
  type ColourScale,
  divergingLegend,
  divergingScale,
  largestMagnitude,
  positionOf,
  scaleEnds,
  scaleFor,
  scalePosition,
  sequentialScale,
  signedValue,
} from '../../src/core/colourScale';

/** viridis(t) for t in [0, 1] as 0-255 RGB; polynomial fit of matplotlib's viridis (within 5/255 of it). */
export function viridis(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, t));
  const poly = (c: readonly number[]) => c.reduceRight((acc, coef) => acc * x + coef, 0);
  const to255 = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  return [
    to255(poly([0.2777273272234177, 0.1050930431085774, -0.3308618287255563, -4.634230498983486, 6.228269936347081, 4.776384997670288, -5.435455855934631])),
    to255(poly([0.005407344544966578, 1.404613529898575, 0.214847559468213, -5.799100973351585, 14.17993336680509, -13.74514537774601, 4.645852612178535])),
    to255(poly([0.3340998053353061, 1.384590162594685, 0.09509516302823659, -19.33244095627987, 56.69055260068105, -65.35303263337234, 26.3124352495832])),
  ];
}

/** CSS colour of viridis(t). */
export function viridisCss(t: number): string {
  const [r, g, b] = viridis(t);
  return `rgb(${r} ${g} ${b})`;
}

/** 256 opaque viridis colours packed for a Uint32Array view of ImageData (RGBA in memory order). */
export const VIRIDIS_LUT: Uint32Array = (() => {
  const lut = new Uint32Array(256);
  const bytes = new Uint8Array(lut.buffer);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = viridis(i / 255);
    bytes.set([r, g, b, 255], i * 4);
  }
  return lut;
})();

/** The diverging map's anchors at t = 0, ¼, ½, ¾, 1: light blue, blue, near black (0), red, light red. */
const DIVERGING_ANCHORS: ReadonlyArray<readonly [number, number, number]> = [
  [158, 176, 255],
  [42, 111, 158],
  [17, 17, 17],
  [150, 58, 34],
  [255, 173, 173],
];

/** The diverging map at t in [0, 1] (½ is 0) as 0-255 RGB: linear between its anchors, lightness growing with |t − ½|. */
export function diverging(t: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, Number.isNaN(t) ? 0.5 : t)) * (DIVERGING_ANCHORS.length - 1);
  const i = Math.min(DIVERGING_ANCHORS.length - 2, Math.floor(x));
  const f = x - i;
  const a = DIVERGING_ANCHORS[i];
  const b = DIVERGING_ANCHORS[i + 1];
  return [0, 1, 2].map((c) => Math.round(a[c] + (b[c] - a[c]) * f)) as [number, number, number];
}

/** CSS colour of diverging(t). */
export function divergingCss(t: number): string {
  const [r, g, b] = diverging(t);
  return `rgb(${r} ${g} ${b})`;
}

/** 256 opaque diverging colours packed like VIRIDIS_LUT (index 128 ≈ 0). */
export const DIVERGING_LUT: Uint32Array = (() => {
  const lut = new Uint32Array(256);
  const bytes = new Uint8Array(lut.buffer);
  for (let i = 0; i < 256; i++) bytes.set([...diverging(i / 255), 255], i * 4);
  return lut;
})();

/** The packed colours of a scale's kind. */
export function scaleLut(s: ColourScale): Uint32Array {
  return s.kind === 'diverging' ? DIVERGING_LUT : VIRIDIS_LUT;
}

/** A function from value to index into scaleLut(s) (0-255); -1 for NaN (left transparent). */
export function lutIndexOf(s: ColourScale): (v: number) => number {
  const position = positionOf(s);
  return (v) => (Number.isNaN(v) ? -1 : Math.round(position(v) * 255));
}

/** CSS colour of a position t in [0, 1] on a scale's kind. */
export function positionCss(t: number, s: Pick<ColourScale, 'kind'>): string {
  return s.kind === 'diverging' ? divergingCss(t) : viridisCss(t);
}

/** CSS colour of a value on a scale. */
export function scaleCss(v: number, s: ColourScale): string {
  return positionCss(positionOf(s)(v), s);
}

/** A CSS linear-gradient (left to right) of a scale's kind, for legends. */
export function scaleGradient(s: Pick<ColourScale, 'kind'>): string {
  return `linear-gradient(to right, ${[0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1].map((t) => positionCss(t, s)).join(', ')})`;
}

/**
 * Colour and opacity of a line drawn for a signed value v on a diverging scale of ±max (the head view of a
 * signed family): the hue of its sign (blue below 0, red above, lightness following the theme so lines
 * read on it), opacity |v| / max.
 */
export function signedLine(v: number, max: number): { colour: string; alpha: number } {
  const t = theme();
  const lightness = t.dark ? 0.72 : 0.5;
  return { colour: `oklch(${lightness} 0.16 ${v < 0 ? 250 : 28})`, alpha: max > 0 ? Math.min(1, Math.abs(v) / max) : 0 };
}

/** The theme colours the canvases need, read from the --vscode-* variables of the current theme. */
export interface ThemeColours {
  foreground: string;
  muted: string;
  background: string;
  border: string;
  focus: string;
  selection: string;
  dark: boolean;
  highContrast: boolean;
  fontFamily: string;
  monoFamily: string;
}

let cached: ThemeColours | undefined;

/** Luminance (0-1) of a computed colour string "rgb(r, g, b)" or "rgba(...)"; NaN if unparsable. */
function luminance(color: string): number {
  const m = /rgba?\(\s*([\d.]+)[ ,]+([\d.]+)[ ,]+([\d.]+)/.exec(color);
  return m ? (0.2126 * Number(m[1]) + 0.7152 * Number(m[2]) + 0.0722 * Number(m[3])) / 255 : NaN;
}

/** Reads the theme once per theme change (see onThemeChange). */
export function theme(): ThemeColours {
  if (cached) return cached;
  const body = document.body;
  const style = getComputedStyle(body);
  // Unset variables fall back to the body's computed colours, which the stylesheet derives from the theme.
  const v = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  const foreground = v('--vscode-foreground', style.color);
  const background = v('--vscode-editor-background', style.backgroundColor);
  const classes = body.classList;
  const highContrast = classes.contains('vscode-high-contrast') || classes.contains('vscode-high-contrast-light');
  const dark = classes.contains('vscode-dark') || classes.contains('vscode-high-contrast') || (!classes.contains('vscode-light') && !classes.contains('vscode-high-contrast-light') && luminance(style.backgroundColor) < 0.5);
  cached = {
    foreground,
    muted: v('--vscode-descriptionForeground', foreground),
    background,
    border: v('--vscode-panel-border', v('--vscode-widget-border', foreground)),
    focus: v('--vscode-focusBorder', foreground),
    selection: v('--vscode-editor-selectionBackground', v('--vscode-focusBorder', foreground)),
    dark,
    highContrast,
    fontFamily: v('--vscode-font-family', style.fontFamily),
    monoFamily: v('--vscode-editor-font-family', 'monospace'),
  };
  return cached;
}

/** Calls back (and drops the cached colours) whenever VS Code switches theme (it rewrites body's class and style). */
export function onThemeChange(callback: () => void): () => void {
  const observer = new MutationObserver(() => {
    cached = undefined;
    callback();
  });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
  return () => observer.disconnect();
}

/**
 * Colour of head i of n: hues evenly spaced around OKLCH (equal perceived lightness and chroma, so no
 * head looks more important), lighter on dark themes and darker on light ones so lines read on both.
 */
export function headColour(i: number, n: number): string {
  const t = theme();
  const lightness = t.dark ? 0.76 : 0.52;
  const chroma = t.highContrast ? 0.2 : 0.15;
  const hue = n <= 12 ? (25 + (i * 360) / n) % 360 : (25 + i * 137.508) % 360;
  return `oklch(${lightness} ${chroma} ${hue.toFixed(1)})`;
}

/**
 * The sRGB a 2D canvas paints for an opaque CSS colour, read back from one pixel: OKLCH outside sRGB's gamut is
 * mapped exactly as the canvas maps it when it draws, which a formula here could only approximate.
 */
export function canvasRgb(colour: string): Rgb {
  const probe = document.createElement('canvas');
  probe.width = probe.height = 1;
  const ctx = probe.getContext('2d', { willReadFrequently: true })!;
  ctx.fillStyle = colour;
  ctx.fillRect(0, 0, 1, 1);
  const [r, g, b] = ctx.getImageData(0, 0, 1, 1).data;
  return [r, g, b];
}
