// Why: a large ArrayBuffer that is garbage still counts against the page's memory until V8's next
// collection, and that pressure is what makes V8 collect: a run in chunks drops a chunk's outputs (64 MiB of
// attention rows) once they are joined, and each drop brought a 43–75 ms major collection (bench:profile).
// Detaching the buffer (ArrayBuffer.prototype.transfer(0)) frees its memory at once.

/** Frees the memory of a view's buffer now, when the view is its buffer's only user; the view is unusable after. */
export function releaseBuffer(view: ArrayBufferView): void {
  const buffer = view.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  if (view.byteOffset !== 0 || view.byteLength !== buffer.byteLength) return; // a view into a larger buffer (a heap)
  if (typeof buffer.transfer === 'function') buffer.transfer(0);
  // An engine without transfer (Node 20) still detaches it, so that a use after release fails there too; its
  // memory then goes at the next collection, as without this.
  else if (buffer instanceof ArrayBuffer) structuredClone(buffer, { transfer: [buffer] });
}
