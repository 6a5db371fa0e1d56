// Why: one command (`npm start`) to try the extension from source on the sample workspace, with or without
// a desktop VS Code. With `code` on PATH it opens an Extension Development Host; otherwise it serves the
// VS Code bundled in code-server (installed into .cache/ on first use) with the extension loaded in
// development mode, prints the URL to open in a Chromium-based browser, and runs until Ctrl+C.
// Usage: node test/harness/start.mjs [--port N] [--verbose] [--no-desktop]

import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import * as harness from './codeServer.mjs';

const args = process.argv.slice(2);
const verbose = args.includes('--verbose');
const portArg = args.indexOf('--port');
const requestedPort = portArg >= 0 ? Number(args[portArg + 1]) : Number(process.env.PORT) || undefined;
const workspace = join(harness.repoRoot, 'test/fixtures/workspace');

function desktopCode() {
  if (args.includes('--no-desktop')) return undefined;
  const r = process.platform === 'win32' ? spawnSync('where', ['code'], { encoding: 'utf8' }) : spawnSync('sh', ['-c', 'command -v code'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.split(/\r?\n/)[0].trim() || undefined : undefined;
}

async function runDesktop(code) {
  harness.log(`opening ${code} with the extension in development mode`);
  const child = spawn(code, [`--extensionDevelopmentPath=${harness.repoRoot}`, workspace], { stdio: 'inherit', shell: process.platform === 'win32' });
  const status = await new Promise((resolve) => child.once('exit', (c) => resolve(c ?? 1)));
  process.exit(status);
}

async function runServer() {
  harness.ensureBuilt(['out/extension.js', 'out/webview/panel.js']);
  harness.ensureCodeServer();
  const root = await harness.makeTempDir('start');
  let server;
  try {
    server = await harness.startVsCodeServer({
      root,
      port: requestedPort,
      onLine: (line) => {
        if (verbose || /error/i.test(line)) console.log(`  [vscode-server] ${line}`);
      },
    });
  } catch (err) {
    console.error(`Could not start the VS Code server: ${err instanceof Error ? err.message : String(err)}`);
    await harness.cleanup();
    process.exit(1);
  }
  const url = harness.devWorkbenchUrl({ ...server, folder: workspace });
  console.log(`
Attention Lens is loaded in development mode in VS Code ${harness.vscodeVersion()} (the server bundled in code-server ${harness.CODE_SERVER_VERSION}).
Open this URL in Chrome, Edge or Chromium on this machine (WebGPU needs a Chromium-based browser):

  ${url}

The server listens on 127.0.0.1 only and has no password; from another machine, forward the port first
(ssh -L ${server.port}:127.0.0.1:${server.port} <host>). After \`npm run build\`, reload the window
(F1, "Developer: Reload Window") to pick up changes. Settings live in a temporary profile, deleted on exit.
Press Ctrl+C to stop.
`);
  server.child.once('exit', async (code) => {
    if (harness.cleaningUp) return; // Ctrl+C: cleanup() stopped it
    console.error(`The VS Code server exited (${code}).`);
    await harness.cleanup();
    process.exit(code || 1);
  });
}

const code = desktopCode();
if (code) await runDesktop(code);
else await runServer();
