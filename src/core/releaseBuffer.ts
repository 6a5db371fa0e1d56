// Why: a large ArrayBuffer that is garbage still holds its memory until V8's next collection, which may come
// late. A run in chunks drops each chunk's outputs (up to 64 MiB of attention rows) once they are joined;
// detaching the buffer (ArrayBuffer.prototype.transfer(0)) frees that memory at once. The worker frees the
// model's bytes the same way once onnxruntime has copied them.

/**
 * Frees the memory of a view's buffer now; the view is unusable after. A view into a larger buffer (a heap) is
 * left alone unless the caller owns the whole buffer (one it received in a message, as the worker does).
 */
export function releaseBuffer(view: ArrayBufferView, ownsWholeBuffer = false): void {
  const buffer = view.buffer as ArrayBuffer & { transfer?: (length: number) => ArrayBuffer };
  if (!ownsWholeBuffer && (view.byteOffset !== 0 || view.byteLength !== buffer.byteLength)) return;
  if (typeof buffer.transfer === 'function') buffer.transfer(0);
  // An engine without transfer (Node 20) still detaches it, so that a use after release fails there too; its
  // memory then goes at the next collection, as without this.
  else if (buffer instanceof ArrayBuffer) structuredClone(buffer, { transfer: [buffer] });
}
