// One build script, one esbuild context per bundle: the extension host (Node, CommonJS), the webviews (the
// panel, the Compare sidebar and the Fill panel; browser ESM for VS Code's Chromium), and the integration tests that run inside the extension host.
// It also copies the onnxruntime-web files the webview loads at run time into out/ort/.
// Usage: node esbuild.mjs [--watch] [--production]

import * as esbuild from 'esbuild';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants as zlibConstants, gzip } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

/**
 * onnxruntime-web's binaries, loaded at run time: the WebGPU build the asyncify binary, the plain wasm build
 * (the wasm backend, faster on CPU) the plain one. Only the chosen backend's binary is fetched. They are
 * written gzipped (3.9× smaller): a webview reads its resources through VS Code, slowly (about 5 MB/s in
 * code-server here), and the onnxruntime worker inflates them with DecompressionStream (webview/inflate.ts). Each build bundles its
 * own loader, so the .mjs files beside them are not needed. A Brotli copy is written beside each (38% smaller than
 * the gzipped one for the plain binary: 2.3 MB against 3.7): the extension's file server sends it to a browser that
 * takes Brotli (src/fileServer.ts), which decodes it as it arrives; resource loading reads the gzipped file.
 */
const ORT_BINARIES = ['ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.wasm'];

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

/**
 * In the browser bundles, protobufjs goes without its optional `long` package: its int64 reads then give numbers,
 * which is all the webview's ONNX readers take (onnxWeights.ts reads dims as either). Loading `long` compiles a
 * WebAssembly module synchronously as the page's script starts: 1.0–20.6 ms of that task in three cold profiles.
 */
const withoutLong = {
  name: 'without-long',
  setup(build) {
    build.onResolve({ filter: /^long$/ }, () => ({ path: 'long', namespace: 'without-long' }));
    build.onLoad({ filter: /.*/, namespace: 'without-long' }, () => ({ contents: 'module.exports = null;', loader: 'js' }));
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
      // Inlined in the panel's HTML (src/webviewHtml.ts): starts onnxruntime before panel.js arrives.
      panelStart: join(root, 'webview/panelStart.ts'),
      sidebar: join(root, 'webview/sidebar.ts'),
      fill: join(root, 'webview/fill.ts'),
      // onnxruntime-web and every session run in this worker (webview/ortClient.ts starts it).
      ortWorker: join(root, 'webview/ortWorker.ts'),
      // The engines tokenize analysed text in this one (webview/tokenizerClient.ts).
      tokenizerWorker: join(root, 'webview/tokenizerWorker.ts'),
      // Analyses' predictions and occlusions' KL sums run in this one (webview/logitsClient.ts).
      logitsWorker: join(root, 'webview/logitsWorker.ts'),
      // Large model files are read in this one (webview/downloadClient.ts).
      downloadWorker: join(root, 'webview/downloadWorker.ts'),
      main: join(root, 'webview/main.css'),
    },
    outdir: join(root, 'out/webview'),
    platform: 'browser',
    format: 'esm',
    target: 'chrome124',
    plugins: [reporter, withoutLong],
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

const brotli = promisify(brotliCompress);
const gzipped = promisify(gzip);

/** Brotli at its smallest (quality 11, a 16 MiB window: seconds for a script, 20–40 s for a binary) and gzip at level 9. */
const BROTLI = { quality: 11, window: 24 };
const GZIP_LEVEL = 9;

function brotliCopy(bytes) {
  return brotli(bytes, { params: { [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI.quality, [zlibConstants.BROTLI_PARAM_LGWIN]: BROTLI.window, [zlibConstants.BROTLI_PARAM_SIZE_HINT]: bytes.length } });
}

function gzipCopy(bytes) {
  return gzipped(bytes, { level: GZIP_LEVEL });
}

/** The copies' settings, part of the cache's key: a change of them compresses the binaries again. */
const COPY_SETTINGS = `gzip${GZIP_LEVEL}-br${BROTLI.quality}w${BROTLI.window}`;

/**
 * Writes each binary gzipped and as Brotli into out/ort/, from a cache kept per onnxruntime-web version (gzip at
 * level 9 takes seconds, Brotli at quality 11 tens of seconds: the binaries are compressed side by side, on libuv's
 * threads). Resolves with each binary's SHA-256 (hex, by file name): the pages keep the binaries they fetched in
 * the browser's Cache Storage for the next windows, and take a kept one only if its bytes have this digest
 * (webview/binaryCache.ts); and with each one's size, into which a page reads it as it arrives (webview/backend.ts).
 */
async function copyOrtRuntime() {
  const from = join(root, 'node_modules/onnxruntime-web/dist');
  const { version } = JSON.parse(await readFile(join(root, 'node_modules/onnxruntime-web/package.json'), 'utf8'));
  const cache = join(root, '.cache/ort-copies', `${version}-${COPY_SETTINGS}`);
  const to = join(root, 'out/ort');
  await mkdir(cache, { recursive: true });
  await mkdir(to, { recursive: true });
  const copies = [
    ['.gz', gzipCopy],
    ['.br', brotliCopy],
  ];
  await Promise.all(ORT_BINARIES.flatMap((file) => copies.map(async ([suffix, compress]) => {
    const cached = join(cache, `${file}${suffix}`);
    if (!existsSync(cached)) {
      await writeFile(`${cached}.partial`, await compress(await readFile(join(from, file))));
      await rename(`${cached}.partial`, cached);
    }
    await copyFile(cached, join(to, `${file}${suffix}`));
  })));
  const read = await Promise.all(ORT_BINARIES.map(async (file) => [file, await readFile(join(from, file))]));
  return {
    digests: Object.fromEntries(read.map(([file, bytes]) => [file, createHash('sha256').update(bytes).digest('hex')])),
    sizes: Object.fromEntries(read.map(([file, bytes]) => [file, bytes.length])),
  };
}

/**
 * Writes a gzipped and a Brotli copy beside each script and stylesheet of out/webview/ (not in watch mode: a copy
 * would go stale; out/ starts empty, so there is none then). The extension's file server sends one of them, encoded,
 * for the plain name (src/fileServer.ts): a page's own script and its workers' scripts then share the server with
 * onnxruntime's binary as a fraction of their size (the panel's 543 KB as 170 KB gzipped). Resource loading reads
 * the plain files.
 */
async function compressPageFiles() {
  const dir = join(root, 'out/webview');
  const names = (await readdir(dir)).filter((name) => /\.(js|css)$/.test(name) && !name.startsWith('panelStart.')); // the starter is inlined in the HTML
  await Promise.all(names.map(async (name) => {
    const bytes = await readFile(join(dir, name));
    await writeFile(join(dir, `${name}.gz`), await gzipCopy(bytes));
    await writeFile(join(dir, `${name}.br`), await brotliCopy(bytes));
  }));
}

/**
 * Writes <folder>/digests.json: each of its files (the copies too) and its SHA-256. The extension's file server
 * publishes out/ort and out/webview under names made of them (src/fileRoutes.ts), at paths the browser may cache for
 * ever: a build that changes any file gets another path. Not for out/webview in watch mode, whose files change under
 * the server: without the list the folder is not published.
 */
async function writeFolderDigests(dir) {
  const names = (await readdir(dir)).filter((name) => name !== FOLDER_DIGESTS).sort();
  const digests = {};
  for (const name of names) digests[name] = createHash('sha256').update(await readFile(join(dir, name))).digest('hex');
  await writeFile(join(dir, FOLDER_DIGESTS), `${JSON.stringify(digests, null, 1)}\n`);
}
/** The file name src/fileServer.ts reads (FOLDER_DIGESTS there too). */
const FOLDER_DIGESTS = 'digests.json';

await rm(join(root, 'out'), { recursive: true, force: true });
// The page bundles know the binaries' digests and sizes (webview/globals.d.ts).
const { digests, sizes } = await copyOrtRuntime();
await writeFolderDigests(join(root, 'out/ort')); // its files do not change in watch mode
configs.find((config) => config.outdir === join(root, 'out/webview')).define = { ORT_BINARY_SHA256: JSON.stringify(digests), ORT_BINARY_BYTES: JSON.stringify(sizes) };
const contexts = await Promise.all(configs.map((config) => esbuild.context(config)));
if (watch) {
  await Promise.all(contexts.map((ctx) => ctx.watch()));
  console.log('[watch] watching for changes…');
} else {
  try {
    const results = await Promise.all(contexts.map((ctx) => ctx.rebuild()));
    const errors = results.reduce((n, r) => n + r.errors.length, 0);
    if (errors) process.exitCode = 1;
    else {
      await compressPageFiles();
      await writeFolderDigests(join(root, 'out/webview'));
    }
  } catch (err) {
    // esbuild has printed its own errors; anything else (say, writing the compressed copies) is printed here.
    if (!(err && typeof err === 'object' && 'errors' in err)) console.error(err);
    process.exitCode = 1;
  } finally {
    await Promise.all(contexts.map((ctx) => ctx.dispose()));
  }
}
