// Why: runs the mocha suite in out/test/integration inside a real VS Code extension host (VS Code 1.100
// bundled in code-server, started as a plain server) with the workbench and the extension's webviews in
// headless chromium with WebGPU enabled. The workbench reports the suite's end via codeAutomationExit and
// forwards the extension host's console via codeAutomationLog, mixed with its own log: the repo's reporter
// tags its lines (ATTENTION_LENS_TEST_TAG) so that only the spec output reaches the terminal; everything
// else goes to .test-output/integration/*.log. Exit code: the suite's (non-zero on any failure).
// Usage: node test/harness/integration.mjs [--verbose] [name…]   (only the test files whose names contain a name;
// env ATTENTION_LENS_TEST_TIMEOUT_MS, default 5 min)

import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { format } from 'node:util';
import * as harness from './codeServer.mjs';

const TAG = '[attention-lens-test] ';
const TIMEOUT_MS = Number(process.env.ATTENTION_LENS_TEST_TIMEOUT_MS) || 5 * 60_000;
const verbose = process.argv.includes('--verbose');
const started = Date.now();

const logDir = harness.freshOutputDir('integration');
const workbenchLog = createWriteStream(join(logDir, 'workbench.log'));
const serverLog = createWriteStream(join(logDir, 'server.log'));
const recentNoise = []; // last workbench/server lines, printed when the run fails

function noise(stream, line) {
  stream.write(`${line}\n`);
  if (!line.trim()) return;
  const lines = line.split('\n');
  recentNoise.push(lines.length > 6 ? [...lines.slice(0, 6), `    … (${lines.length - 6} more lines in the log)`].join('\n') : line);
  if (recentNoise.length > 30) recentNoise.shift();
  if (verbose) console.log(`  | ${line}`);
}

/** Spec output, as the reporter printed it; the counts come from its summary line or Spec's epilogue. */
const result = { summary: undefined, passing: undefined, failing: undefined };
function testLine(line) {
  console.log(line);
  const summary = /^integration: (\d+) passed, (\d+) failed/.exec(line);
  if (summary) result.summary = { passed: Number(summary[1]), failed: Number(summary[2]) };
  const passing = /^\s+(\d+) passing/.exec(line);
  if (passing) result.passing = Number(passing[1]);
  const failing = /^\s+(\d+) failing/.exec(line);
  if (failing) result.failing = Number(failing[1]);
}

/** codeAutomationLog(level, args): args are console arguments (printf-style) of one log call. */
function automationLog(level, args) {
  const text = format(...(Array.isArray(args) ? args : [args]));
  const lines = text.split('\n');
  if (lines.every((line) => line.startsWith(TAG))) {
    lines.forEach((line) => testLine(line.slice(TAG.length)));
  } else {
    noise(workbenchLog, `[${level}] ${text}`);
  }
}

async function main() {
  const root = await harness.makeTempDir('integration');
  const folder = await harness.copyWorkspace(root);
  const server = await harness.startVsCodeServer({
    root,
    // Inherited by the extension host it spawns: the tag, and which test files to run (test/integration/index.ts).
    env: { ATTENTION_LENS_TEST_TAG: TAG, ATTENTION_LENS_TEST_ONLY: process.argv.slice(2).filter((a) => !a.startsWith('--')).join(',') },
    onLine: (line) => noise(serverLog, line),
  });
  const url = harness.devWorkbenchUrl({ ...server, folder, testsPath: join(harness.repoRoot, 'out/test/integration/index') });
  const context = await harness.launchChromium({ root, webgpu: true });
  const page = context.pages()[0] ?? (await context.newPage());
  let exit;
  const exited = new Promise((resolve) => (exit = resolve));
  await page.exposeFunction('codeAutomationExit', (code) => exit(Number(code)));
  await page.exposeFunction('codeAutomationLog', automationLog);
  page.on('pageerror', (err) => noise(workbenchLog, `[pageerror] ${err.stack ?? err.message}`));
  page.on('crash', () => exit('the workbench page crashed'));
  server.child.once('exit', (c) => exit(`the VS Code server exited (${c}) during the run`));
  harness.log(`VS Code ${harness.vscodeVersion()} (code-server ${harness.CODE_SERVER_VERSION}) on ${server.base}, workspace copy ${folder}`);
  await page.goto(url);
  const code = await exited;
  if (typeof code === 'string') throw new Error(code);
  return code;
}

function verdict(code) {
  const counts = result.summary ?? (result.passing !== undefined ? { passed: result.passing, failed: result.failing ?? 0 } : undefined);
  if (!result.summary && counts) {
    console.log(`integration: ${counts.passed} passed, ${counts.failed} failed`); // the reporter's line was lost
  }
  if (!counts) {
    console.error('integration: the suite produced no mocha summary (did it load? see the log below)');
    return code || 1;
  }
  if (counts.failed > 0 || counts.passed === 0) return code || 1;
  return code;
}

let exitCode; // set by the try or by the catch
try {
  harness.ensureBuilt();
  harness.ensureCodeServer(); // one-time installs are not part of the run's time limit
  const code = await harness.withTimeout(main(), TIMEOUT_MS, 'the integration run');
  exitCode = verdict(code);
} catch (err) {
  console.error(`integration: FAILED: ${err instanceof Error ? err.message : String(err)}`);
  verdict(1);
  exitCode = 1;
}
if (exitCode !== 0 && !verbose) {
  console.error(`--- last workbench/server lines (full logs in .test-output/integration/) ---\n${recentNoise.join('\n')}`);
}
await harness.cleanup();
workbenchLog.end();
serverLog.end();
harness.log(`integration run took ${Math.round((Date.now() - started) / 1000)} s, exit code ${exitCode}`);
process.exit(exitCode);
