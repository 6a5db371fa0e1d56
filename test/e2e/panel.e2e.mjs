// Why: the end-to-end check of what users get. The packaged VSIX is installed into code-server (the real
// VS Code 1.100 workbench), which headless chromium drives like a person: open sample.ts, select a
// function, run "Visualize attention on selection" from the command palette, then read the panel and the
// Compare view inside their webviews, then the analysis views (views.mjs), the RNN views, W(t, k) and
// editor hover (rnn.mjs) and the Compare view's comparison (compare.mjs) in the same session. Once with
// WebGPU exposed (--enable-unsafe-webgpu) and once without, which must fall back to WebAssembly and say
// why. Screenshots go to .test-output/screenshots/.

import * as assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { BACKENDS, screenshots, installedExtension, useSession } from './session.mjs';
import { describeCompareView } from './compare.mjs';
import { describeRnnViews } from './rnn.mjs';
import { describeViews } from './views.mjs';
import { goToLine, quickOpen, runCommand, statusSelection, webviewContentFrame, webviewFrame } from './workbench.mjs';

const COMMAND_TITLE = 'Attention Lens: Visualize attention on selection';

/** The selection the tests make: the whole tokenize function in sample.ts, lines included. */
const sample = readFileSync(join(harness.repoRoot, 'test/fixtures/workspace/sample.ts'), 'utf8');
const sampleLines = sample.split('\n');
const firstLine = sampleLines.findIndex((l) => l.startsWith('export function tokenize')) + 1;
const lastLine = sampleLines.findIndex((l, i) => i >= firstLine && l === '}') + 1;
const expectedText = `${sampleLines.slice(firstLine - 1, lastLine).join('\n')}\n`;

describe('the packaged extension in VS Code (code-server)', function () {
  const extensionsDir = installedExtension(this, 'panel');
  /** A file of onnxruntime's folder in the installed extension (out/ort/). */
  const installedOrtFile = (name) => join(extensionsDir(), readdirSync(extensionsDir()).find((entry) => entry.includes('attention-lens')), 'out/ort', name);
  before(function () {
    assert.ok(firstLine > 0 && lastLine > firstLine, 'sample.ts must define tokenize');
  });

  for (const backend of BACKENDS) {
    describe(`with ${backend.webgpu ? 'WebGPU exposed' : 'no WebGPU'} (${backend.badge})`, function () {
      const session = useSession(this, backend, extensionsDir);

      it('opens sample.ts with Quick Open and selects the tokenize function', async function () {
        const { page } = session;
        await quickOpen(page, 'sample.ts');
        await goToLine(page, firstLine);
        for (let line = firstLine; line <= lastLine; line++) {
          await page.keyboard.press('Shift+ArrowDown');
        }
        await statusSelection(page, new RegExp(`^Ln ${lastLine + 1}, Col 1 \\(${expectedText.length} selected\\)$`));
      });

      it(`shows the selection and the ${backend.badge} backend in the panel`, async function () {
        const { page } = session;
        this.timeout(120_000);
        await runCommand(page, COMMAND_TITLE);
        const panel = await webviewFrame(page, 'panel');
        const text = panel.locator('[data-testid=selection-text]');
        await text.waitFor();
        assert.equal(await text.textContent(), expectedText);
        assert.equal(await panel.locator('[data-testid=selection-file]').textContent(), 'sample.ts');
        assert.equal(await panel.locator('[data-testid=selection-range]').textContent(), `Ln ${firstLine}, Col 1 – Ln ${lastLine + 1}, Col 1`);

        const ready = panel.locator('[data-testid=backend][data-state=ready]');
        const failed = panel.locator('[data-testid=backend][data-state=error]');
        await ready.or(failed).waitFor({ timeout: 90_000 });
        if ((await failed.count()) > 0) assert.fail(`the backend failed: ${await failed.textContent()}`);
        assert.equal(await ready.getAttribute('data-backend'), backend.name);
        assert.equal((await ready.locator('vscode-badge').textContent())?.trim(), backend.badge);
        assert.match((await ready.textContent()) ?? '', /onnxruntime-web \d+\.\d+\.\d+/);
        const adapter = ready.locator('[data-testid=backend-adapter]');
        const reason = ready.locator('[data-testid=backend-reason]');
        if (backend.webgpu) {
          assert.match((await adapter.textContent()) ?? '', /^Adapter: \S.*/);
          assert.equal(await reason.count(), 0, 'WebGPU was used, so there is no fallback reason');
        } else {
          assert.equal(await adapter.count(), 0);
          // Without the flag chromium has no adapter; any other reason (say, ORT failing on WebGPU) is a bug.
          assert.match((await reason.textContent()) ?? '', /^WebGPU not used: (no WebGPU adapter is available|this webview does not expose WebGPU).*\.$/);
        }
        // Where onnxruntime's binary came from: the extension's file server (through code-server's port
        // forwarding, /proxy/<port>/) or the webview resource URI (attentionLens.fileServer "off").
        // Through the server under its plain name, which it answers Brotli-encoded (the browser decodes it on the way);
        // through resource loading as stored, gzipped (onnxruntime's worker inflates it).
        const fetched = await panel.locator('body').evaluate(() => performance.getEntriesByType('resource').filter((e) => /ort-wasm-simd-threaded.*\.wasm(\.gz)?$/.test(e.name)).map((e) => ({ name: e.name, sent: e.encodedBodySize, read: e.decodedBodySize })));
        assert.ok(fetched.length > 0, 'the binary was fetched');
        if (backend.webgpu) {
          // This profile's first panel: the page keeps no copy of the binary yet, so the HTML preloads the one the setting names.
          assert.deepEqual(await panel.locator('body').evaluate((b) => [b.dataset.likelyBuild, b.dataset.likelyPreloaded]), ['webgpu', 'true']);
          assert.deepEqual(await panel.locator('body').evaluate(() => performance.getEntriesByType('resource').filter((e) => /\.wasm$/.test(e.name)).map((e) => e.initiatorType)), ['link']);
        }
        for (const { name, sent, read } of fetched) {
          // Served from onnxruntime's published folder, named by its files' digests (src/fileRoutes.ts, publishFolder): a
          // fixed URL, which the browser caches with the code compiled from it.
          assert.match(name, backend.served ? /^http:\/\/127\.0\.0\.1:\d+\/proxy\/\d+\/onnxruntime-[0-9a-f]{16}\/0\/[\w.-]+\.wasm$/ : /vscode-resource.*\.wasm\.gz$/);
          if (!backend.served) continue;
          // Chromium takes Brotli from the loopback address: the server sent the Brotli copy (fewer bytes than the
          // gzipped one), through code-server's forwarding, and the browser decoded it into the binary.
          const file = installedOrtFile(name.split('/').pop());
          assert.deepEqual([sent, read], [statSync(`${file}.br`).size, gunzipSync(readFileSync(`${file}.gz`)).length], `${name}: the installed Brotli copy's bytes sent, the binary's read`);
        }
        if (backend.served) {
          // The model's files waited for the binary's bytes (webview/earlyFetches.ts says why): for the end of the
          // preload that the worker's fetch took, not for the compilation after it (webview/resourceArrival.ts).
          const order = await panel.locator('body').evaluate(() => {
            const entries = performance.getEntriesByType('resource');
            return { binaryEnds: entries.filter((e) => /\.wasm$/.test(e.name)).map((e) => e.responseEnd), modelStarts: entries.filter((e) => /\/model\.onnx$/.test(e.name)).map((e) => e.startTime) };
          });
          assert.equal(order.binaryEnds.length, 1, `one fetch of the binary in the page, its preload: ${JSON.stringify(order)}`);
          assert.ok(order.modelStarts.length > 0 && order.modelStarts.every((start) => start >= order.binaryEnds[0]), `the model file was fetched after the binary's bytes had come: ${JSON.stringify(order)}`);
        }
        // The page's HTML preloads what starting the backend takes (src/core/ortFiles.ts); the page's own fetches
        // of those URLs took the preloaded answers: one fetch per file, by the preload link.
        const started = await panel.locator('body').evaluate(() => performance.getEntriesByType('resource').filter((e) => /(ortWorker|tokenizerWorker|logitsWorker)\.js$|probe\.onnx$/.test(e.name)).map((e) => [e.name.split('/').pop(), e.initiatorType]));
        assert.deepEqual(started.sort(), [['logitsWorker.js', 'link'], ['ortWorker.js', 'link'], ['probe.onnx', 'link'], ['tokenizerWorker.js', 'link']]);
        // The page's own script and stylesheet: from the file server too when the page has routes (src/core/pageResources.ts), and applied.
        const own = await panel.locator('body').evaluate(() => ({
          urls: performance.getEntriesByType('resource').map((e) => e.name).filter((n) => /\/(webview|webview-[0-9a-f]{16}\/0)\/(panel\.js|main\.css)$/.test(n)).sort(),
          padding: getComputedStyle(document.body).paddingLeft,
        }));
        assert.equal(own.urls.length, 2, `the script and the stylesheet, each fetched once: ${own.urls.join(', ')}`);
        // Served from the pages' published folder, named by its files' digests (src/fileRoutes.ts, publishPages).
        for (const url of own.urls) assert.match(url, backend.served ? /^http:\/\/127\.0\.0\.1:\d+\/proxy\/\d+\/webview-[0-9a-f]{16}\/0\/(panel\.js|main\.css)$/ : /vscode-resource.*\/webview\/(panel\.js|main\.css)$/);
        assert.equal(own.padding, '12px', "main.css's rules apply");
        // The page's waiting indicators animate only what the compositor runs (transform, opacity). The progress ring's
        // own animation changes its stroke, which Chromium animates on the page's main thread, a frame every 16 ms
        // while onnxruntime starts; the page's stylesheet turns it by a transform instead (webview/main.css).
        // A determinate bar's new value shows at once: no transition of its width (layout) either.
        const animated = await panel.locator('body').evaluate(async () => {
          const made = ['vscode-progress-ring', 'vscode-progress-bar', 'vscode-progress-bar'].map((tag) => document.body.appendChild(document.createElement(tag)));
          const determinate = Object.assign(made[2], { max: 10, value: 3 });
          await Promise.all(made.map((e) => e.updateComplete));
          for (let frame = 0; frame < 2; frame++) await new Promise((resolve) => requestAnimationFrame(resolve)); // drawn: a change of value could start a transition
          determinate.value = 7;
          await determinate.updateComplete;
          const found = made
            .flatMap((e) => [...e.getAnimations(), ...(e.shadowRoot?.getAnimations() ?? [])])
            .map((a) => ({ name: a.animationName ?? a.transitionProperty, properties: [...new Set(a.effect.getKeyframes().flatMap((k) => Object.keys(k)))].filter((p) => !['offset', 'computedOffset', 'easing', 'composite'].includes(p)).sort() }));
          for (const e of made) e.remove();
          return found;
        });
        assert.deepEqual(animated, [{ name: 'lens-ring-turn', properties: ['transform'] }, { name: 'progress', properties: ['transform'] }]);
        // The HTML's inline starter (webview/panelStart.ts) began it before the page's script ran, which took it over:
        // one worker script fetched (above), and the starter's mark before the script's.
        const marks = await panel.locator('body').evaluate(() => ['lens:start', 'lens:script'].map((n) => performance.getEntriesByName(n)[0]?.startTime ?? null));
        assert.ok(marks[0] !== null && marks[1] !== null && marks[0] < marks[1], `the starter ran before the page's script (${marks.join(' ms, ')} ms)`);
        await page.screenshot({ path: join(screenshots, `${backend.name}-panel.png`), fullPage: true });
      });

      it('shows the selection summary in the Compare architectures view', async function () {
        const { page } = session;
        await page.locator('.part.activitybar .action-label[aria-label="Attention Lens"]').click();
        // The view's header is hidden while it is the container's only view; it exists all the same.
        await page.locator('.part.sidebar .pane-header[aria-label^="Compare architectures"]').waitFor({ state: 'attached' });
        const sidebar = await webviewFrame(page, 'sidebar');
        const file = sidebar.locator('[data-testid=selection-file]');
        await file.waitFor();
        assert.equal(await file.textContent(), 'sample.ts');
        assert.equal(await sidebar.locator('[data-testid=selection-range]').textContent(), `Ln ${firstLine}, Col 1 – Ln ${lastLine + 1}, Col 1`);
        const lineCount = lastLine - firstLine + 2; // the selection ends at the start of the next line
        assert.match(
          (await sidebar.locator('[data-testid=selection-length]').textContent()) ?? '',
          new RegExp(`^${expectedText.length} characters \\(UTF-16\\) · ${expectedText.length} code points · ${lineCount} lines$`),
        );
        assert.equal(await sidebar.locator('[data-testid=selection-text]').count(), 0, 'the Compare view shows no text');
        await page.screenshot({ path: join(screenshots, `${backend.name}-sidebar.png`), fullPage: true });
      });

      describeViews(session, { fileName: 'sample.ts', text: expectedText, firstLine });
      describeRnnViews(session);
      describeCompareView(session);

      // A suite of its own, so that it runs after the suites above (a suite's own tests run before its children).
      if (!backend.settings['attentionLens.backend']) describe('a new panel in the same profile', function () {
        /** Closes every editor, selects a line of sample.ts and runs the command: the new panel's frame, once its backend is ready. */
        async function newPanel(page) {
          await runCommand(page, 'View: Close All Editor Groups');
          await quickOpen(page, 'sample.ts');
          await goToLine(page, firstLine);
          await page.keyboard.press('Shift+ArrowDown');
          await statusSelection(page, /\(\d+ selected\)$/);
          await runCommand(page, COMMAND_TITLE);
          const panel = await webviewFrame(page, 'panel');
          await panel.locator('[data-testid=backend][data-state=ready]').waitFor({ timeout: 90_000 });
          return panel;
        }
        /** The binaries the panel's page fetched: [file, initiator]. */
        const binariesFetched = (panel) => panel.locator('body').evaluate(() => performance.getEntriesByType('resource').filter((e) => /ort-wasm-simd-threaded.*\.wasm(\.gz)?$/.test(e.name)).map((e) => [e.name.split('/').pop(), e.initiatorType]));
        /**
         * Waits until a page's Cache Storage cache holds `count` entries, or, with `key`, until the entry under it has
         * more than `moreThanBytes` bytes. Polled here: waitForFunction takes the promise an async check returns as
         * its truthy answer, so it would not wait (the pages keep their copies after their first paint, in a worker).
         */
        async function untilKept(frame, { cacheName, count = 1, key, moreThanBytes = 0, timeoutMs = 60_000 }) {
          await frame.evaluate(async ({ cacheName, count, key, moreThanBytes, timeoutMs }) => {
            const kept = async () => {
              const cache = await caches.open(cacheName);
              if (key === undefined) return (await cache.keys()).length >= count;
              return ((await (await cache.match(key))?.arrayBuffer())?.byteLength ?? 0) > moreThanBytes;
            };
            for (const end = performance.now() + timeoutMs; !(await kept()); ) {
              if (performance.now() > end) throw new Error(`${cacheName}: ${key ?? `${count} entries`} not kept within ${timeoutMs} ms`);
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
          }, { cacheName, count, key, moreThanBytes, timeoutMs });
        }
        /** What a page keeps in one of its Cache Storage caches, once `count` entries are there: [the key's last segment, bytes]. */
        async function keptEntries(page, cacheName, count) {
          const frame = await webviewContentFrame(page, 'panel');
          await untilKept(frame, { cacheName, count });
          return frame.evaluate(async (name) => {
            const cache = await caches.open(name);
            return Promise.all((await cache.keys()).map(async (request) => [new URL(request.url).pathname.split('/').pop(), (await (await cache.match(request)).arrayBuffer()).byteLength]));
          }, cacheName);
        }
        /** The binaries kept, once the page has kept one (webview/binaryCache.ts): [file, bytes]. */
        const keptBinaries = (page) => keptEntries(page, 'attention-lens-onnxruntime', 1);
        const installedBinary = () => gunzipSync(readFileSync(installedOrtFile('ort-wasm-simd-threaded.wasm.gz')));
        /** The model files kept (webview/keptModelFiles.ts): [digest, bytes], once `count` are. */
        const keptModelFiles = (page, count) => keptEntries(page, 'attention-lens-model-files', count);
        /** The bundled model files a panel's HTML names ("<id>/<file>"), with their digest and size as shipped. */
        const shipped = (named) => named.map((file) => readFileSync(join(harness.repoRoot, 'media/models', file))).map((bytes) => [createHash('sha256').update(bytes).digest('hex'), bytes.length]);
        /** The model files a page fetched: [<folder>/<file>, initiator, whether after the binary's mark]. */
        const modelFilesFetched = (panel) =>
          panel.locator('body').evaluate(() => {
            const binaryAt = performance.getEntriesByName('lens:binary')[0]?.startTime ?? Infinity;
            return performance.getEntriesByType('resource').filter((e) => /\/(model\.onnx|tokenizer\.json)$/.test(e.name)).map((e) => [e.name.split('/').slice(-2).join('/'), e.initiatorType, e.startTime >= binaryAt]);
          });

        it('kept the binary and the model\'s files the first panel fetched, and reads them from there: nothing fetched', async function () {
          const { page } = session;
          this.timeout(180_000);
          // The first panel fetched the binary (gzipped, through resource loading) and, once it had painted, kept it
          // inflated for later pages (webview/binaryCache.ts); and the model's files, under their digests (keptModelFiles.ts).
          assert.deepEqual(await keptBinaries(page), [['ort-wasm-simd-threaded.wasm', installedBinary().length]]);
          const panel = await newPanel(page);
          assert.deepEqual(await binariesFetched(panel), [], 'the binary came from the copy kept');
          // The models were checked before, so the host named the first model's files in the HTML, with the digests it
          // verified; the starter read the copies kept of them, and fetched none (webview/earlyFetches.ts would have).
          const named = await panel.locator('body').evaluate(() => JSON.parse(document.body.dataset.firstModelFiles ?? '[]').map((url) => url.split('/').slice(-2).join('/')));
          assert.equal(named.length, 2, `the tokenizer and the model file: ${named.join(', ')}`);
          const digests = await panel.locator('body').evaluate(() => Object.values(JSON.parse(document.body.dataset.firstModelSha256 ?? '{}')));
          assert.deepEqual(digests.sort(), shipped(named).map(([sha256]) => sha256).sort(), 'the HTML names each file\'s digest');
          const kept = await keptModelFiles(page, 2);
          for (const [sha256, bytes] of shipped(named)) assert.ok(kept.some(([d, b]) => d === sha256 && b === bytes), `the first panel kept ${sha256} (${bytes} bytes), each file under its digest: ${JSON.stringify(kept)}`);
          await panel.locator('[data-testid=tab-heatmap][active]').waitFor({ timeout: 90_000 });
          assert.deepEqual(await modelFilesFetched(panel), [], 'the model\'s files came from the copies kept');
          // The first panel of this profile chose WebAssembly; the host remembered it and named that build in this
          // panel's HTML (src/panel.ts, autoChoseLast), whose binary the page read before it looked for an adapter.
          assert.equal(await panel.locator('body').getAttribute('data-likely-build'), 'wasm');
          assert.equal(await panel.locator('body').getAttribute('data-likely-preloaded'), 'false', 'the page keeps a copy: the HTML does not preload it');
        });

        it('fetches the binary again when the copy kept is not the build\'s, says so, and keeps the right one', async function () {
          const { page } = session;
          this.timeout(180_000);
          const frame = await webviewContentFrame(page, 'panel');
          // Another page of this origin (or a damaged disk) left other bytes under the key.
          const key = await frame.evaluate(async () => {
            const cache = await caches.open('attention-lens-onnxruntime');
            const [request] = await cache.keys();
            await cache.put(request, new Response(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]), { headers: { 'Content-Type': 'application/wasm' } }));
            return request.url;
          });
          const warnings = [];
          const onConsole = (m) => m.type() === 'warning' && warnings.push(m.text());
          page.on('console', onConsole);
          try {
            const panel = await newPanel(page);
            assert.deepEqual(await binariesFetched(panel), [['ort-wasm-simd-threaded.wasm.gz', 'fetch']], 'fetched through resource loading, once');
            const sha256 = new URL(key).searchParams.get('sha256');
            assert.ok(
              warnings.some((w) => w.startsWith("The kept copy of onnxruntime's binary ort-wasm-simd-threaded.wasm was not the build's (SHA-256 ") && w.includes(', 8 bytes; expected ') && w.includes(sha256)),
              `a warning names the file, what was found and what was expected: ${warnings.join(' | ')}`,
            );
            await panel.locator('[data-testid=tab-heatmap][active]').waitFor({ timeout: 90_000 });
          } finally {
            page.off('console', onConsole);
          }
          // Kept again, the build's bytes this time.
          const frameAfter = await webviewContentFrame(page, 'panel');
          await untilKept(frameAfter, { cacheName: 'attention-lens-onnxruntime', key, moreThanBytes: 8 });
          assert.deepEqual(await keptBinaries(page), [['ort-wasm-simd-threaded.wasm', installedBinary().length]]);
        });

        it('fetches a model file again when its kept copy does not have its digest, says so, and keeps the file', async function () {
          const { page } = session;
          this.timeout(180_000);
          const frame = await webviewContentFrame(page, 'panel');
          const named = await frame.evaluate(() => JSON.parse(document.body.dataset.firstModelFiles ?? '[]').map((url) => url.split('/').slice(-2).join('/')));
          const modelFile = named.find((file) => file.endsWith('/model.onnx'));
          const [[sha256, size]] = shipped([modelFile]);
          // Other bytes under the model file's key.
          await frame.evaluate(async (key) => (await caches.open('attention-lens-model-files')).put(key, new Response(new Uint8Array([8, 7, 6]))), `https://attention-lens.invalid/model-files/${sha256}`);
          const warnings = [];
          const onConsole = (m) => m.type() === 'warning' && warnings.push(m.text());
          page.on('console', onConsole);
          try {
            const panel = await newPanel(page);
            await panel.locator('[data-testid=tab-heatmap][active]').waitFor({ timeout: 90_000 });
            assert.deepEqual(await modelFilesFetched(panel), [[modelFile, 'fetch', true]], 'the model file fetched once, after the binary; the tokenizer came from its copy');
            assert.ok(
              warnings.some((w) => w.startsWith(`The kept copy of ${modelFile} did not have its manifest's SHA-256 (found `) && w.includes(', 3 bytes; expected ') && w.includes(sha256)),
              `a warning names the file, what was found and what was expected: ${warnings.join(' | ')}`,
            );
          } finally {
            page.off('console', onConsole);
          }
          // Kept again once the panel painted: the file's own bytes.
          const frameAfter = await webviewContentFrame(page, 'panel');
          await untilKept(frameAfter, { cacheName: 'attention-lens-model-files', key: `https://attention-lens.invalid/model-files/${sha256}`, moreThanBytes: 3 });
          assert.ok((await keptModelFiles(page, 2)).some(([digest, bytes]) => digest === sha256 && bytes === size));
        });
      });
    });
  }
});
