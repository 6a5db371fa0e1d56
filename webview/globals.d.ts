// Why: constants the build writes into the page bundles (esbuild.mjs, `define`).

/** onnxruntime-web's wasm binaries' SHA-256 digests (hex), by file name: what a kept copy must match (binaryCache.ts). */
declare const ORT_BINARY_SHA256: Readonly<Record<string, string>>;
