// Why: end-to-end tests must exercise what users install, so this packages the VSIX (npm run package:
// production build + vsce), then runs the mocha suites in test/e2e/ (VSIX contents; the installed VSIX
// in code-server driven by chromium, with and without WebGPU) with the repo's reporter. Everything it
// starts is killed and its temp folders removed at the end, on failure, on timeout and on Ctrl+C.
// Usage: node test/harness/e2e.mjs [--no-package] [name…]   (only the suites whose file names contain a name;
// env ATTENTION_LENS_E2E_TIMEOUT_MS, default 20 min)

import { spawnSync } from 'node:child_process';
import { copyFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import Mocha from 'mocha';
import * as harness from './codeServer.mjs';

const TIMEOUT_MS = Number(process.env.ATTENTION_LENS_E2E_TIMEOUT_MS) || 20 * 60_000; // two backends; the software WebGPU adapter is slow
const started = Date.now();
const vsix = join(harness.repoRoot, 'out/attention-lens.vsix');

function packageVsix() {
  harness.log('packaging the VSIX (npm run package)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', '--silent', 'package'], { cwd: harness.repoRoot, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm run package failed (${r.status ?? r.signal})`);
}

async function runMocha() {
  const mocha = new Mocha({
    reporter: join(harness.repoRoot, 'test/harness/reporter.cjs'),
    reporterOptions: { suite: 'e2e' },
    timeout: 120_000,
    color: process.stdout.isTTY,
  });
  const dir = join(harness.repoRoot, 'test/e2e');
  const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  readdirSync(dir)
    .filter((f) => f.endsWith('.e2e.mjs') && (only.length === 0 || only.some((name) => f.includes(name))))
    .sort((a, b) => (a.startsWith('vsix') ? -1 : b.startsWith('vsix') ? 1 : a.localeCompare(b))) // contents first
    .forEach((f) => mocha.addFile(join(dir, f)));
  await mocha.loadFilesAsync();
  return new Promise((resolve) => mocha.run(resolve));
}

let exitCode = 1;
try {
  harness.ensureCodeServer(); // one-time installs (apt, code-server) are not part of the run's time limit
  if (!process.argv.includes('--no-package')) packageVsix();
  // Test a private copy: a build started meanwhile (npm run watch, another terminal) empties out/.
  harness.freshOutputDir('screenshots');
  harness.freshOutputDir('e2e');
  const copy = join(await harness.makeTempDir('e2e-vsix'), 'attention-lens.vsix');
  copyFileSync(vsix, copy);
  process.env.ATTENTION_LENS_VSIX = copy;
  const failures = await harness.withTimeout(runMocha(), TIMEOUT_MS, 'the e2e tests');
  exitCode = failures > 0 ? 1 : 0;
} catch (err) {
  console.error(`e2e: FAILED: ${err instanceof Error ? err.message : String(err)}`);
}
await harness.cleanup();
harness.log(`e2e run took ${Math.round((Date.now() - started) / 1000)} s, exit code ${exitCode}; screenshots in .test-output/screenshots/`);
process.exit(exitCode);
