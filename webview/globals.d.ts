// Why: constants the build writes into the page bundles (esbuild.mjs, `define`).

/** onnxruntime-web's wasm binaries' SHA-256 digests (hex), by file name: what a kept copy must match (binaryCache.ts). */
declare const ORT_BINARY_SHA256: Readonly<Record<string, string>>;

/** Their sizes in bytes, by file name: a page reads a binary that arrives encoded (no size declared) into one array of this size. */
declare const ORT_BINARY_BYTES: Readonly<Record<string, number>>;
