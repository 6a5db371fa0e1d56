// Why: the views turn T×T matrices (matrixSource.ts serves them) into pixels: a window of a matrix on its colour
// scale (viridis, or for a family declared signed the diverging scale centred on 0, colors.ts), canvases that
// hold such pictures, and canvases sized to their CSS box at the device's pixel ratio.

import { type ColourScale, lutIndexOf, scaleLut } from './colors';
import type { Matrix } from './matrixOf';

/**
 * How values map to colours: v / max (clipped at 1), optionally square-rooted to lift small weights; signed,
 * on a diverging scale from −max to +max centred on 0.
 */
export interface ValueScale {
  max: number;
  sqrt: boolean;
  signed?: boolean;
}

/** The colour scale of a ValueScale (see colors.ts). */
export function colourScaleOf(scale: ValueScale): ColourScale {
  return { kind: scale.signed ? 'diverging' : 'sequential', max: scale.max, sqrt: scale.sqrt };
}

/**
 * Pixels of the window rows r0..r1 × cols c0..c1 of a matrix on its scale (viridis, or diverging when the
 * scale is signed). NaN, and zeros above the diagonal of a causal matrix, are transparent (there is no
 * weight there, not a weight of 0).
 */
export function windowImage(m: Matrix, r0: number, r1: number, c0: number, c1: number, scale: ValueScale, causal: boolean): ImageData {
  const w = c1 - c0;
  const hgt = r1 - r0;
  const image = new ImageData(w, hgt);
  const px = new Uint32Array(image.data.buffer);
  const colours = colourScaleOf(scale);
  const lut = scaleLut(colours);
  const index = lutIndexOf(colours);
  const n = m.size;
  for (let r = 0; r < hgt; r++) {
    const row = (r0 + r) * n;
    const q = r0 + r;
    for (let c = 0; c < w; c++) {
      const k = c0 + c;
      const v = m.data[row + k];
      if (Number.isNaN(v) || (causal && k > q && v === 0)) continue;
      px[r * w + c] = lut[index(v)];
    }
  }
  return image;
}

/** A canvas holding an image (for drawImage scaling). */
export function canvasOf(image: ImageData): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = image.width;
  canvas.height = image.height;
  canvas.getContext('2d')!.putImageData(image, 0, 0);
  return canvas;
}

/** Sets a canvas's backing store to its CSS size × devicePixelRatio and returns a context in CSS pixels. */
export function fitCanvas(canvas: HTMLCanvasElement, cssWidth: number, cssHeight: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(cssWidth * dpr));
  const hgt = Math.max(1, Math.round(cssHeight * dpr));
  if (canvas.width !== w || canvas.height !== hgt) {
    canvas.width = w;
    canvas.height = hgt;
  }
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}
