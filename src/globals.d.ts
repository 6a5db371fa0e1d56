// Why: constants the build writes into the extension's bundle (esbuild.mjs, `define`).

/** onnxruntime-web's wasm binaries' SHA-256 digests (hex), by file name: they name the binaries' fixed path on the file server (fileRoutes.ts). */
declare const ORT_BINARY_SHA256: Readonly<Record<string, string>>;
