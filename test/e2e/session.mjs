// Why: starting VS Code (code-server + chromium) and initialising the inference backend is most of an e2e
// run's time, so the panel tests and the view tests share one session per backend. useSession() registers
// the mocha hooks that start and stop it, skip the rest of a dependent chain after a failure, and keep a
// screenshot and the browser console of each failure.

import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import * as harness from '../harness/codeServer.mjs';
import { waitForWorkbench } from './workbench.mjs';

export const screenshots = join(harness.outputDir, 'screenshots');
const logs = join(harness.outputDir, 'e2e');

export const BACKENDS = [
  // Headless chromium's only WebGPU adapter is software (SwiftShader), which "auto" declines as slower
  // than WebAssembly; the WebGPU run therefore asks for WebGPU explicitly.
  // The first session reads files from the extension's file server (the default in a browser window), the
  // second through VS Code's resource loading, as with attentionLens.fileServer "off".
  { name: 'webgpu', webgpu: true, badge: 'WebGPU', served: true, settings: { 'attentionLens.backend': 'webgpu' } },
  { name: 'wasm', webgpu: false, badge: 'WebAssembly', served: false, settings: { 'attentionLens.fileServer': 'off' } },
];

/** The packaged VSIX under test (test/harness/e2e.mjs points this at a private copy). */
const vsix = process.env.ATTENTION_LENS_VSIX || join(harness.repoRoot, 'out/attention-lens.vsix');

/**
 * Call inside a describe() (with `this` being its suite), before useSession: installs the VSIX into a fresh
 * extensions folder before the suite runs. Returns a getter of that folder, for useSession.
 */
export function installedExtension(suite, name) {
  let extensionsDir;
  suite.beforeAll(async function () {
    this.timeout(120_000);
    harness.ensureCodeServer();
    const root = await harness.makeTempDir(`e2e-${name}-install`);
    extensionsDir = join(root, 'extensions');
    await harness.installVsix({ root: join(root, 'cli'), vsix, extensionsDir });
  });
  return () => extensionsDir;
}

const slug = (text) => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);

/**
 * Call inside a describe() (with `this` being its suite). Returns { page, folder, backend } filled in by the
 * before hook. A failing test directly in that suite skips the suite's later tests (they build on it);
 * nested suites decide for themselves (see views.mjs).
 */
export function useSession(suite, backend, extensionsDir) {
  const session = { backend, page: undefined, folder: undefined, broken: false };
  let server;
  let browser;
  let consoleLog;

  suite.beforeAll(async function () {
    this.timeout(180_000);
    mkdirSync(screenshots, { recursive: true });
    mkdirSync(logs, { recursive: true });
    const root = await harness.makeTempDir(`e2e-${backend.name}`);
    session.folder = await harness.copyWorkspace(root);
    consoleLog = createWriteStream(join(logs, `${backend.name}.log`));
    server = await harness.startCodeServer({ root: join(root, 'server'), extensionsDir: extensionsDir(), settings: backend.settings, onLine: (l) => consoleLog.write(`[server] ${l}\n`) });
    browser = await harness.launchChromium({ root, webgpu: backend.webgpu });
    const page = (session.page = browser.pages()[0] ?? (await browser.newPage()));
    page.on('console', (m) => consoleLog.write(`[console.${m.type()}] ${m.text()}\n`));
    page.on('pageerror', (e) => consoleLog.write(`[pageerror] ${e.stack ?? e.message}\n`));
    await page.goto(`${server.base}/?folder=${encodeURIComponent(session.folder)}`);
    await waitForWorkbench(page);
  });

  suite.afterAll(async function () {
    this.timeout(30_000);
    if (browser) await harness.closeBrowser(browser);
    if (server) await harness.stopProcess(server.child);
    consoleLog?.end();
  });

  suite.beforeEach(function () {
    if (session.broken) this.skip();
  });

  suite.afterEach(async function () {
    const test = this.currentTest;
    if (test?.state !== 'failed' || !session.page) return;
    if (test.parent === suite) session.broken = true;
    consoleLog?.write(`[test failed] ${test.fullTitle()}\n`);
    const path = join(screenshots, `${backend.name}-failure-${slug(test.title)}.png`);
    await session.page.screenshot({ path, fullPage: true }).catch(() => undefined);
  });

  return session;
}
