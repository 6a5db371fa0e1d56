// Why: what users install is the VSIX, not the repo. These checks keep .vscodeignore honest: the built
// extension, webviews, onnxruntime-web runtime and every media file (models included) go in; sources,
// tests, training code, node_modules and sourcemaps stay out. Run by test/harness/e2e.mjs after packaging.

import * as assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { repoRoot } from '../harness/codeServer.mjs';
import { listZip } from './zip.mjs';

const vsix = process.env.ATTENTION_LENS_VSIX || join(repoRoot, 'out/attention-lens.vsix');

describe('the packaged VSIX', function () {
  let names;

  before(async function () {
    assert.ok(existsSync(vsix), `${vsix} is missing: run npm run package (test/harness/e2e.mjs does)`);
    names = (await listZip(vsix)).map((entry) => entry.name);
  });

  it('contains the extension, its three webviews, the panel\'s starter and the onnxruntime-web runtime', function () {
    for (const required of [
      'extension/package.json',
      'extension/out/extension.js',
      'extension/out/webview/panel.js',
      'extension/out/webview/panelStart.js',
      'extension/out/webview/sidebar.js',
      'extension/out/webview/fill.js',
      'extension/out/webview/main.css',
    ]) {
      assert.ok(names.includes(required), `${required} must be in the VSIX`);
    }
    // The pages' scripts also ship gzipped, for the file server to send (esbuild.mjs, src/fileServer.ts).
    for (const script of ['panel.js', 'sidebar.js', 'fill.js', 'main.css', 'ortWorker.js']) {
      for (const copy of [`${script}.gz`, `${script}.br`]) assert.ok(names.includes(`extension/out/webview/${copy}`), `${copy} must be in the VSIX`);
    }
    // Each folder the file server publishes ships the build's list of its files' digests, which names it there (src/fileRoutes.ts).
    assert.ok(names.includes('extension/out/webview/digests.json'), "the pages' digests must be in the VSIX");
    const ort = names.filter((n) => n.startsWith('extension/out/ort/'));
    const binaries = ['ort-wasm-simd-threaded.asyncify.wasm', 'ort-wasm-simd-threaded.wasm'].flatMap((b) => [`${b}.br`, `${b}.gz`]).map((f) => `extension/out/ort/${f}`);
    assert.deepEqual(ort.sort(), ['extension/out/ort/digests.json', ...binaries], 'both onnxruntime-web binaries, as Brotli and gzipped, their digests, and nothing else');
  });

  it('contains every media file (icons, models), except Python sources', async function () {
    const mediaDir = join(repoRoot, 'media');
    const media = (await readdir(mediaDir, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile() && !entry.name.endsWith('.py'))
      .map((entry) => relative(mediaDir, join(entry.parentPath ?? entry.path, entry.name)).split('\\').join('/'));
    assert.ok(media.length > 0);
    const missing = media.filter((f) => !names.includes(`extension/media/${f}`));
    assert.deepEqual(missing, [], 'media files missing from the VSIX');
  });

  it('stays within 45 MB with every bundled model in it', async function () {
    const bundled = (await readdir(join(repoRoot, 'media/models'), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    assert.ok(bundled.length >= 10, `bundled models: ${bundled.join(', ')}`);
    for (const id of bundled) assert.ok(names.includes(`extension/media/models/${id}/model.onnx`), `${id} is in the VSIX`);
    const mb = statSync(vsix).size / 1e6;
    console.log(`      VSIX: ${mb.toFixed(1)} MB with ${bundled.length} models (${bundled.join(', ')})`);
    assert.ok(mb <= 45, `the VSIX is ${mb.toFixed(1)} MB; at most 45 MB`);
  });

  it('contains no node_modules, sources, tests, training code or sourcemaps', function () {
    const forbidden = names.filter(
      (n) =>
        n.includes('node_modules/') ||
        n.endsWith('.map') ||
        n.endsWith('.py') ||
        /\.(ts|tsx)$/.test(n) ||
        /^extension\/(src|webview|test|training|\.cache|\.test-output)\//.test(n) ||
        n.startsWith('extension/out/test/') ||
        n.endsWith('.vsix'),
    );
    assert.deepEqual(forbidden, [], 'files that must not ship');
  });
});
