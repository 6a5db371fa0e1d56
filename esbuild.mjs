// One build script, one esbuild context per bundle: the extension host (Node, CommonJS), the webviews (the
// panel, the Compare sidebar and the Fill panel; browser ESM for VS Code's Chromium), and the integration tests that run inside the extension host.
// It also copies the onnxruntime-web files the webview loads at run time into out/ort/.
// Usage: node esbuild.mjs [--watch] [--production]

import * as esbuild from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/**
 * onnxruntime-web loads these at run time: the WebGPU build the asyncify binary, the plain wasm build
 * (the wasm backend, faster on CPU) the plain one. Only the chosen backend's binary is fetched.
 */
const ORT_RUNTIME_FILES = [
  'ort-wasm-simd-threaded.asyncify.mjs',
  'ort-wasm-simd-threaded.asyncify.wasm',
  'ort-wasm-simd-threaded.mjs',
  'ort-wasm-simd-threaded.wasm',
];

/** Logs each rebuild's errors in watch mode, in the format VS Code's esbuild problem matchers read. */
const reporter = {
  name: 'reporter',
  setup(build) {
    build.onEnd((result) => {
      for (const { text, location } of result.errors) {
        console.error(`✘ [ERROR] ${text}`);
        if (location) console.error(`    ${location.file}:${location.line}:${location.column}:`);
      }
      if (watch) console.log(`[watch] build finished (${result.errors.length} errors)`);
    });
  },
};

const common = {
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  plugins: [reporter],
};

const configs = [
  {
    ...common,
    entryPoints: { extension: join(root, 'src/extension.ts') },
    outdir: join(root, 'out'),
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode'],
  },
  {
    ...common,
    entryPoints: {
      panel: join(root, 'webview/panel.ts'),
      sidebar: join(root, 'webview/sidebar.ts'),
      fill: join(root, 'webview/fill.ts'),
      // onnxruntime-web and every session run in this worker (webview/ortClient.ts starts it).
      ortWorker: join(root, 'webview/ortWorker.ts'),
      main: join(root, 'webview/main.css'),
    },
    outdir: join(root, 'out/webview'),
    platform: 'browser',
    format: 'esm',
    target: 'chrome124',
    // onnxruntime-web's bundle refers to its wasm file relative to import.meta.url; we set wasmPaths instead.
    logOverride: { 'empty-import-meta': 'silent' },
  },
  {
    ...common,
    entryPoints: [join(root, 'test/integration/index.ts'), join(root, 'test/integration/*.test.ts')],
    outdir: join(root, 'out/test/integration'),
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['vscode', 'mocha', 'onnxruntime-web'],
  },
];

async function copyOrtRuntime() {
  const from = join(root, 'node_modules/onnxruntime-web/dist');
  const to = join(root, 'out/ort');
  await mkdir(to, { recursive: true });
  await Promise.all(ORT_RUNTIME_FILES.map((file) => copyFile(join(from, file), join(to, file))));
}

await rm(join(root, 'out'), { recursive: true, force: true });
await copyOrtRuntime();
const contexts = await Promise.all(configs.map((config) => esbuild.context(config)));
if (watch) {
  await Promise.all(contexts.map((ctx) => ctx.watch()));
  console.log('[watch] watching for changes…');
} else {
  try {
    const results = await Promise.all(contexts.map((ctx) => ctx.rebuild()));
    const errors = results.reduce((n, r) => n + r.errors.length, 0);
    if (errors) process.exitCode = 1;
  } catch {
    process.exitCode = 1; // esbuild has already printed the errors.
  } finally {
    await Promise.all(contexts.map((ctx) => ctx.dispose()));
  }
}
