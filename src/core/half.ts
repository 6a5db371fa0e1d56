// Why: IEEE half precision, both ways, in one place: float16 weights in ONNX files are read as float32
// (onnxWeights.ts), and long runs' attention is held in half precision (lowerTriangle.ts). Pure.

/** IEEE half-precision bits to a number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * Every half-precision bit pattern's float32 value (decoding is one lookup, much faster than halfToFloat). Built
 * on first use, not when a page's script starts: about 9 ms of a cold panel's script evaluation
 * (bench:profile --cold), for attention held in half precision or float16 weights, which most runs never have.
 */
export const halfToFloatTable: () => Float32Array = (() => {
  let table: Float32Array | undefined;
  return () => (table ??= Float32Array.from({ length: 65536 }, (_, bits) => halfToFloat(bits)));
})();

/** The half-precision bits of a float32 value (its bits given too), rounded to nearest, ties to even. */
export function toHalf(value: number, bits: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude > 0x7f800000) return sign | 0x7e00; // NaN
  if (magnitude >= 0x477ff000) return sign | 0x7c00; // rounds to 65,536 or more: infinity
  if (magnitude < 0x38800000) {
    // Below 2⁻¹⁴: steps of 2⁻²⁴ (0x400, the most this gives, is 2⁻¹⁴), exact in float64.
    const steps = Math.abs(value) * 16777216;
    const n = Math.round(steps);
    return sign | (n - steps === 0.5 && n & 1 ? n - 1 : n);
  }
  return sign | (((magnitude - 0x38000000 + 0xfff + ((magnitude >>> 13) & 1)) >>> 13) & 0x7fff);
}
