// Why: the same integration suite (out/test/integration) in desktop VS Code (Electron), for people with
// internet access: @vscode/test-electron downloads VS Code into .cache/vscode-test and runs the suite in an
// Extension Development Host on a copy of the sample workspace, with a throw-away profile.
// CI here has no download access and uses test/harness/integration.mjs (the same suite in code-server's VS Code).
// Usage: node test/harness/electron.mjs   (env VSCODE_TEST_VERSION: "stable" (default), "insiders" or "1.100.3")
// On Linux without a display, run it under a virtual one: xvfb-run -a npm run test:electron

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';
import * as harness from './codeServer.mjs';

const started = Date.now();
let exitCode; // set by the try or by the catch
try {
  harness.ensureBuilt();
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    harness.log('no DISPLAY: if VS Code fails to start, run this under xvfb-run -a');
  }
  const root = await harness.makeTempDir('electron');
  const workspace = await harness.copyWorkspace(root);
  const extensionTestsPath = join(harness.repoRoot, 'out/test/integration/index');
  if (!existsSync(`${extensionTestsPath}.js`)) throw new Error(`${extensionTestsPath}.js is missing: run npm run build`);
  exitCode = await runTests({
    version: process.env.VSCODE_TEST_VERSION || 'stable',
    cachePath: join(harness.repoRoot, '.cache/vscode-test'),
    extensionDevelopmentPath: harness.repoRoot,
    extensionTestsPath,
    launchArgs: [
      workspace,
      `--user-data-dir=${join(root, 'user-data')}`,
      `--extensions-dir=${join(root, 'extensions')}`,
      '--disable-extensions', // other extensions; the one under development still loads
      '--disable-workspace-trust',
      '--skip-welcome',
      '--skip-release-notes',
      '--disable-telemetry',
    ],
  });
} catch (err) {
  // runTests rejects with the exit code when the suite fails, or when VS Code cannot be downloaded/started.
  console.error(`electron: FAILED: ${err instanceof Error ? err.message : String(err)}`);
  exitCode = 1;
}
await harness.cleanup();
harness.log(`desktop (Electron) run took ${Math.round((Date.now() - started) / 1000)} s, exit code ${exitCode}`);
process.exit(exitCode);
