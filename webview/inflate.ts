// Why: the extension ships onnxruntime's WebAssembly binaries gzipped (3.5 MiB instead of 13.6 MiB for the wasm
// build, read through VS Code's resource loading), and inflating one took a 94–108 ms task on a cold page's main
// thread (npm run bench:profile --cold). The onnxruntime worker inflates it instead, with this.

/** Inflates gzipped bytes; an error that names `what` when they are not gzip data. */
export async function inflate(gz: Uint8Array, what: string): Promise<Uint8Array> {
  try {
    const inflated = new Blob([gz as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(inflated).arrayBuffer());
  } catch (err) {
    throw new Error(`${what} could not be inflated (expected gzip data: ${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
}

/** Whether bytes begin as gzip data does (1f 8b); a WebAssembly module begins "\0asm". */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}
