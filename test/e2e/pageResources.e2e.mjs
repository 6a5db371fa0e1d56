// Why: a webview page's own script and stylesheet come from the extension's file server when a route covers
// them, and from their resource URIs when that fails (src/core/pageResources.ts); if the fallback did not work, a
// page whose server failed would stay blank. VS Code cannot be made to fail one file, so this checks the tags the
// host writes in headless chromium, under a Content-Security-Policy like the pages' (scripts and stylesheets by
// nonce only): one server stands for the file server and another, of another origin, for resource loading.

import * as assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { tsImport } from 'tsx/esm/api';
import * as harness from '../harness/codeServer.mjs';

const { pageResourceTags } = await tsImport('../../src/core/pageResources.ts', import.meta.url);

const NONCE = 'bm9uY2Utb2YtdGhlLXRlc3Q=';
const escape = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A server on 127.0.0.1; answer(path) gives [status, type, body] or undefined (404). Resolves with its base URL and the paths asked. */
async function serve(answer) {
  const asked = [];
  const server = createServer((req, res) => {
    asked.push(req.url);
    const found = answer(req.url);
    if (!found) return void res.writeHead(404, { 'Access-Control-Allow-Origin': '*' }).end('Not found.');
    const [type, body] = found;
    res.writeHead(200, { 'Content-Type': type, 'Access-Control-Allow-Origin': '*', 'X-Content-Type-Options': 'nosniff' }).end(body);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { base: `http://127.0.0.1:${server.address().port}`, asked, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** What a script and a stylesheet from `origin` do: say where they came from. */
const files = (origin, padding) => ({
  '/out/webview/panel.js': ['text/javascript', `document.body.dataset.ran = ${JSON.stringify(origin)};`],
  '/out/webview/main.css': ['text/css', `body { padding-left: ${padding}px; }`],
});

describe("a page's own script and stylesheet (served, with the resource URI as fallback)", function () {
  this.timeout(120_000);
  let browser;
  let resources;
  /** How the served side answers now: 'ok', 'missing' (404) or 'untyped' (octet-stream, nosniff). */
  let servedMode = 'ok';
  let served;
  let pages;

  before(async () => {
    resources = await serve((path) => files('resource', 9)[path]);
    served = await serve((path) => {
      const file = files('served', 7)[path.replace(/^\/t\/0\//, '/out/')];
      if (!file || servedMode === 'missing') return undefined;
      return servedMode === 'untyped' ? ['application/octet-stream', file[1]] : file;
    });
    // The page itself, from a third origin, as a webview's document is neither of the two.
    pages = await serve(() => {
      const routes = [{ from: `${resources.base}/out/`, to: `${served.base}/t/0/` }];
      const tags = pageResourceTags(routes, NONCE, `${resources.base}/out/webview/main.css`, `${resources.base}/out/webview/panel.js`, escape);
      const csp = `default-src 'none'; style-src 'nonce-${NONCE}'; script-src 'nonce-${NONCE}'`;
      return ['text/html', `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="${csp}">${tags.fallback}${tags.stylesheet}</head><body><main>page</main>${tags.script}</body></html>`];
    });
    browser = await harness.launchChromium({ root: await harness.makeTempDir('page-resources'), webgpu: false });
  });

  after(async () => {
    if (browser) await harness.closeBrowser(browser);
    await Promise.all([resources, served, pages].filter(Boolean).map((s) => s.close()));
  });

  /** Loads the page and resolves with where its script came from and the stylesheet's padding, once the script ran. */
  async function load() {
    resources.asked.length = 0;
    served.asked.length = 0;
    const page = await browser.newPage();
    try {
      await page.goto(`${pages.base}/page`);
      await page.waitForFunction(() => document.body.dataset.ran && ['7px', '9px'].includes(getComputedStyle(document.body).paddingLeft), null, { timeout: 30_000 });
      return await page.evaluate(() => ({ ran: document.body.dataset.ran, padding: getComputedStyle(document.body).paddingLeft }));
    } finally {
      await page.close();
    }
  }

  it('takes both from the served URLs when the server answers, and never asks the resource URIs', async () => {
    servedMode = 'ok';
    assert.deepEqual(await load(), { ran: 'served', padding: '7px' });
    assert.deepEqual(resources.asked, []);
    assert.deepEqual([...served.asked].sort(), ['/t/0/webview/main.css', '/t/0/webview/panel.js']);
  });

  it('takes both from the resource URIs when the served ones fail', async () => {
    servedMode = 'missing';
    assert.deepEqual(await load(), { ran: 'resource', padding: '9px' });
    assert.deepEqual([...resources.asked].sort(), ['/out/webview/main.css', '/out/webview/panel.js']);
  });

  it('falls back too when the server sends them without their types (the browser refuses them then)', async () => {
    servedMode = 'untyped';
    assert.deepEqual(await load(), { ran: 'resource', padding: '9px' });
  });

  it('writes plain tags, and no fallback, for URIs no route covers', () => {
    const tags = pageResourceTags([], NONCE, 'https://r/out/webview/main.css', 'https://r/out/webview/panel.js', escape);
    assert.equal(tags.fallback, '');
    assert.equal(tags.stylesheet, `<link rel="stylesheet" nonce="${NONCE}" href="https://r/out/webview/main.css">`);
    assert.equal(tags.script, `<script type="module" nonce="${NONCE}" src="https://r/out/webview/panel.js"></script>`);
  });
});
