// Why: VS Code cannot be downloaded in CI here, but the npm package code-server bundles the real VS Code
// (server + web workbench). This module installs it (and the apt packages it and the browser need), starts
// it in throw-away folders, drives Debian's chromium through playwright-core, and cleans up exactly what it
// started, also on Ctrl+C or failure. Shared by integration.mjs, e2e.mjs and start.mjs. With the environment
// variable ATTENTION_LENS_KEEP_TEMP set, the throw-away folders stay (the extension's and the server's logs).

import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cp, mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
/** What the tests run: code-server 4.100.3 = VS Code 1.100.3, the newest that runs on Node 20. */
const PINNED_CODE_SERVER = '4.100.3';
/**
 * The code-server the harness runs: the pinned one, or the version the environment variable
 * ATTENTION_LENS_CODE_SERVER names (say 4.139.1, to time the benchmarks on a current VS Code). A version whose
 * package asks for a newer Node than this one runs on that Node, which ensureCodeServer installs from npm beside it.
 */
export const CODE_SERVER_VERSION = process.env.ATTENTION_LENS_CODE_SERVER || PINNED_CODE_SERVER;
if (!/^\d+\.\d+\.\d+$/.test(CODE_SERVER_VERSION)) throw new Error(`ATTENTION_LENS_CODE_SERVER names a code-server version such as 4.139.1, not "${CODE_SERVER_VERSION}"`);
const installDir = join(repoRoot, CODE_SERVER_VERSION === PINNED_CODE_SERVER ? '.cache/code-server' : `.cache/code-server-${CODE_SERVER_VERSION}`);
const installedMarker = join(installDir, `.installed-${CODE_SERVER_VERSION}`);
export const codeServerRoot = join(installDir, 'node_modules/code-server');
/** Where ensureCodeServer puts the Node a code-server needs when this one is older. */
const serverNodeDir = join(installDir, 'node');

/** The Node that runs code-server: the one installed beside it (ensureCodeServer), else this one. */
function codeServerNode() {
  const installed = join(serverNodeDir, 'bin/node');
  return existsSync(installed) ? installed : process.execPath;
}
export const chromiumPath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const APT_PACKAGES = ['chromium', 'libkrb5-dev', 'ripgrep'];

export const outputDir = join(repoRoot, '.test-output'); // gitignored: logs, screenshots

export const log = (message) => console.log(`[harness] ${message}`);

/** Runs the build when one of the given out/ files is missing (npm test builds first, so usually a no-op). */
export function ensureBuilt(files = ['out/extension.js', 'out/webview/panel.js', 'out/test/integration/index.js']) {
  if (files.every((f) => existsSync(join(repoRoot, f)))) return;
  log('out/ is incomplete: running node esbuild.mjs');
  execFileSync(process.execPath, [join(repoRoot, 'esbuild.mjs')], { cwd: repoRoot, stdio: 'inherit' });
}

/** The folder .test-output/<name>, created empty. */
export function freshOutputDir(name) {
  const dir = join(outputDir, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

// ---------------------------------------------------------------- cleanup of what we started
const groups = new Set(); // pids of process groups we spawned (detached children lead their own group)
const tempDirs = new Set();
const closers = []; // async cleanups (browsers), run before the groups are killed

function killGroupSync(pid, signal) {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // already gone
  }
}

/** SIGTERM to each group, SIGKILL to whatever is left after 5 s. */
async function killGroups(pids) {
  pids.forEach((pid) => killGroupSync(pid, 'SIGTERM'));
  const deadline = Date.now() + 5000;
  while (pids.some((pid) => killGroupSync(pid, 0)) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  pids.forEach((pid) => killGroupSync(pid, 'SIGKILL'));
}

/** Stops one child started by spawnTracked (its whole process group). */
export async function stopProcess(child) {
  if (!groups.delete(child.pid)) return;
  await killGroups([child.pid]);
}

/** Closes one browser from launchChromium now rather than at cleanup(). */
export async function closeBrowser(context) {
  const index = closers.findIndex((close) => close.context === context);
  if (index >= 0) closers.splice(index, 1);
  await context.close().catch(() => undefined);
}

/** True once cleanup() has begun: children exiting after that are expected, not failures. */
export let cleaningUp = false;

/** Closes browsers, kills our process groups (TERM, then KILL), removes our temp folders (see the top). Idempotent. */
export async function cleanup() {
  cleaningUp = true;
  for (const close of closers.splice(0).reverse()) {
    await close().catch(() => undefined);
  }
  const pids = [...groups];
  groups.clear();
  await killGroups(pids);
  for (const dir of process.env.ATTENTION_LENS_KEEP_TEMP ? [] : tempDirs) {
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  }
  tempDirs.clear();
}

process.on('exit', () => {
  for (const pid of groups) killGroupSync(pid, 'SIGKILL');
  for (const dir of process.env.ATTENTION_LENS_KEEP_TEMP ? [] : tempDirs) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(signal, () => {
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  });
}

/** Registers an async cleanup (e.g. closing a browser) run by cleanup(). */
export function onCleanup(close) {
  closers.push(close);
}

/** A fresh temp folder removed by cleanup(). */
export async function makeTempDir(label) {
  const dir = await mkdtemp(join(tmpdir(), `attention-lens-${label}-`));
  tempDirs.add(dir);
  return dir;
}

/** Rejects after ms with a clear message; the caller decides how to fail. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- installation
function isRoot() {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

function dpkgInstalled(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

/** Installs chromium, libkrb5-dev and ripgrep with apt when missing (root only); instant when present. */
export function ensureSystemPackages() {
  if (spawnSync('dpkg-query', ['--version']).status !== 0) {
    log('not a Debian-like system: make sure chromium (or CHROMIUM_PATH), ripgrep and the Kerberos headers are installed');
    return;
  }
  const customChromium = process.env.CHROMIUM_PATH && existsSync(process.env.CHROMIUM_PATH);
  const missing = APT_PACKAGES.filter((pkg) => !(pkg === 'chromium' && customChromium) && !dpkgInstalled(pkg));
  if (missing.length === 0) return;
  if (!isRoot()) {
    throw new Error(
      `Missing system packages: ${missing.join(' ')}.\n` +
        `Install them once with:  sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}\n` +
        '(or run the tests as root, which installs them automatically).',
    );
  }
  log(`installing ${missing.join(', ')} with apt-get (once)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['-q', 'update'], { stdio: 'inherit', env });
  execFileSync('apt-get', ['-q', 'install', '-y', ...missing], { stdio: 'inherit', env });
}

function run(cmd, args, options) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (r.status !== 0) {
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}):\n${output.slice(-6000)}`);
  }
  return r.stdout;
}

/**
 * @vscode/ripgrep's postinstall downloads rg from GitHub unless $TMPDIR/vscode-ripgrep-cache-<pkg version>/
 * already holds the release tarball. We read the pinned versions from code-server's shrinkwrap and the
 * asset version from each package's postinstall.js, and fill that cache with a tarball of the system rg.
 */
function prefillRipgrepCache(npmTmp, env) {
  const rg = run('sh', ['-c', 'command -v rg']).trim();
  const arch = { x64: 'x86_64', arm64: 'aarch64' }[process.arch];
  if (!arch) throw new Error(`No ripgrep cache recipe for ${process.arch}`);
  const versions = new Set();
  for (const wrap of ['lib/vscode/npm-shrinkwrap.json', 'lib/vscode/extensions/npm-shrinkwrap.json']) {
    const file = join(codeServerRoot, wrap);
    if (!existsSync(file)) continue;
    for (const [path, info] of Object.entries(JSON.parse(readFileSync(file, 'utf8')).packages ?? {})) {
      if (path.endsWith('node_modules/@vscode/ripgrep')) versions.add(info.version);
    }
  }
  for (const version of versions) {
    const packDir = join(npmTmp, `pack-${version}`);
    mkdirSync(packDir, { recursive: true });
    const tgz = run('npm', ['pack', `@vscode/ripgrep@${version}`, '--pack-destination', packDir, '--silent'], { cwd: packDir, env }).trim().split('\n').pop();
    const postinstall = run('tar', ['-xzOf', join(packDir, tgz), 'package/lib/postinstall.js']);
    const asset = /const VERSION = '([^']+)'/.exec(postinstall)?.[1];
    if (!asset) throw new Error(`Cannot find the ripgrep release version in @vscode/ripgrep@${version}`);
    const cacheDir = join(npmTmp, `vscode-ripgrep-cache-${version}`);
    mkdirSync(cacheDir, { recursive: true });
    run('tar', ['-czf', join(cacheDir, `ripgrep-${asset}-${arch}-unknown-linux-musl.tar.gz`), '-C', dirname(rg), 'rg']);
    log(`ripgrep cache for @vscode/ripgrep@${version} (${asset}) filled from ${rg}`);
  }
}

/** Installs code-server into <repo>/.cache/code-server once; returns its folder. */
export function ensureCodeServer() {
  ensureSystemPackages();
  if (existsSync(installedMarker) && existsSync(join(codeServerRoot, 'lib/vscode/out/server-main.js'))) {
    return codeServerRoot;
  }
  const started = Date.now();
  log(`installing code-server@${CODE_SERVER_VERSION} into ${installDir.slice(repoRoot.length + 1)} (once, 1–2 minutes)…`);
  rmSync(installDir, { recursive: true, force: true });
  mkdirSync(installDir, { recursive: true });
  writeFileSync(join(installDir, 'package.json'), JSON.stringify({ name: 'attention-lens-code-server', private: true }, null, 2));
  const npmTmp = mkdtempSync(join(tmpdir(), 'attention-lens-npm-'));
  tempDirs.add(npmTmp);
  const env = {
    ...process.env,
    TMPDIR: npmTmp,
    npm_config_unsafe_perm: 'true',
    npm_config_yes: 'true', // node-pty's postinstall runs `npx node-gyp`
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };
  const npmArgs = ['--no-audit', '--no-fund', '--loglevel=error'];
  // 1. Unpack without scripts, to read which @vscode/ripgrep the bundled VS Code pins.
  run('npm', ['install', '--ignore-scripts', ...npmArgs, `code-server@${CODE_SERVER_VERSION}`], { cwd: installDir, env });
  prefillRipgrepCache(npmTmp, env);
  // A newer code-server than this Node runs (its package's engines): that Node, from npm's per-platform package,
  // with the headers its native modules build against.
  const wantedNode = Number(/\d+/.exec(JSON.parse(readFileSync(join(codeServerRoot, 'package.json'), 'utf8')).engines?.node ?? '')?.[0] ?? 0);
  if (wantedNode > Number(process.versions.node.split('.')[0])) {
    const nodePackage = `node-${process.platform}-${process.arch}@${wantedNode}`;
    log(`code-server@${CODE_SERVER_VERSION} needs Node ${wantedNode}: installing ${nodePackage} beside it`);
    const tgz = run('npm', ['pack', nodePackage, '--pack-destination', npmTmp, '--silent'], { cwd: npmTmp, env }).trim().split('\n').pop();
    mkdirSync(serverNodeDir, { recursive: true });
    run('tar', ['-xzf', join(npmTmp, tgz), '-C', serverNodeDir, '--strip-components=1']);
    // Its install scripts check which Node runs them: that one first on the PATH and in place of the Node an outer
    // `npm run` names to its children (a benchmark started with npm run), and no user agent passed down from that npm
    // (code-server's postinstall reads the Node version from npm's user agent).
    const node = join(serverNodeDir, 'bin/node');
    Object.assign(env, { PATH: `${dirname(node)}:${env.PATH}`, NODE: node, npm_node_execpath: node, npm_config_nodedir: serverNodeDir });
    delete env.npm_config_user_agent;
  }
  // 2. Run the install scripts (code-server's postinstall installs VS Code's own dependencies).
  run('npm', ['rebuild', '--foreground-scripts', ...npmArgs], { cwd: installDir, env });
  // ripgrep: built from the cache above, or (newer VS Code) shipped for every platform in one package.
  const rg = ['@vscode/ripgrep/bin/rg', `@vscode/ripgrep-universal/bin/${process.platform}-${process.arch}/rg`];
  if (!rg.some((p) => existsSync(join(codeServerRoot, 'lib/vscode/node_modules', p)))) {
    throw new Error('code-server installed without ripgrep; see the output above.');
  }
  writeFileSync(installedMarker, new Date().toISOString());
  rmSync(npmTmp, { recursive: true, force: true });
  tempDirs.delete(npmTmp);
  log(`code-server installed in ${Math.round((Date.now() - started) / 1000)} s`);
  return codeServerRoot;
}

/** The version of the VS Code that the installed code-server bundles (e.g. "1.100.3"). */
export function vscodeVersion() {
  return JSON.parse(readFileSync(join(codeServerRoot, 'lib/vscode/package.json'), 'utf8')).version;
}

// ---------------------------------------------------------------- servers
/** A TCP port free right now on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once url answers HTTP (any status); polls, no fixed sleep. Rejects if the child exits first. */
export async function waitForHttp(url, child, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`the server exited (${child.exitCode}) before listening on ${url}`);
    try {
      await fetch(url, { signal: AbortSignal.timeout(2000), redirect: 'manual' });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 150));
    }
  }
  throw new Error(`${url} did not answer within ${timeoutMs / 1000} s`);
}

/** Environment whose home-ish folders (config, data, cache, runtime, TMPDIR) all live under root. */
export function isolatedEnv(root) {
  const env = { ...process.env };
  for (const [name, sub] of Object.entries({ HOME: 'home', TMPDIR: 'tmp', XDG_CONFIG_HOME: 'config', XDG_DATA_HOME: 'data', XDG_CACHE_HOME: 'cache', XDG_RUNTIME_DIR: 'runtime' })) {
    env[name] = join(root, sub);
    mkdirSync(env[name], { recursive: true, mode: 0o700 });
  }
  delete env.VSCODE_IPC_HOOK_CLI; // never talk to a VS Code the user has open
  delete env.ELECTRON_RUN_AS_NODE;
  return env;
}

/** Spawns a child in its own process group (tracked for cleanup); onLine gets each output line. */
export function spawnTracked(cmd, args, { env, cwd, onLine } = {}) {
  const child = spawn(cmd, args, { env, cwd, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  groups.add(child.pid);
  for (const stream of [child.stdout, child.stderr]) {
    let buffered = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop();
      lines.forEach((line) => onLine?.(line));
    });
    stream.on('end', () => buffered && onLine?.(buffered));
  }
  return child;
}

/** Writes VS Code user settings that keep the workbench quiet and deterministic for tests. */
export function writeUserSettings(userDataDir, extra = {}) {
  mkdirSync(join(userDataDir, 'User'), { recursive: true });
  const settings = {
    'workbench.startupEditor': 'none',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'security.workspace.trust.enabled': false,
    'telemetry.telemetryLevel': 'off',
    'update.mode': 'none',
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'extensions.ignoreRecommendations': true,
    'chat.disableAIFeatures': true,
    'window.restoreWindows': 'none',
    ...extra,
  };
  writeFileSync(join(userDataDir, 'User/settings.json'), JSON.stringify(settings, null, 2));
  // code-server's windows are remote ones: a setting of machine scope (attentionLens.modelFolders) belongs in the
  // remote machine's settings, where VS Code reads it in every window. From the user settings alone it reached the
  // extension in a first window but not in a reloaded one, whose restored panel then offered only the bundled models.
  mkdirSync(join(userDataDir, 'Machine'), { recursive: true });
  writeFileSync(join(userDataDir, 'Machine/settings.json'), JSON.stringify(extra, null, 2));
}

/**
 * Starts the bundled VS Code server (not the code-server CLI, which rejects the extension-development and
 * smoke-test flags). Everything it writes goes under root. Resolves when it answers HTTP.
 */
export async function startVsCodeServer({ root, port, env = {}, onLine = () => undefined }) {
  port ??= await freePort();
  const dirs = Object.fromEntries(['server-data', 'user-data', 'extensions'].map((d) => [d, join(root, d)]));
  Object.values(dirs).forEach((d) => mkdirSync(d, { recursive: true }));
  writeUserSettings(dirs['user-data']);
  const args = [
    join(codeServerRoot, 'lib/vscode/out/server-main.js'),
    '--host', '127.0.0.1', '--port', String(port),
    '--without-connection-token', '--accept-server-license-terms', '--enable-smoke-test-driver',
    '--disable-telemetry', '--disable-workspace-trust',
    '--server-data-dir', dirs['server-data'], '--user-data-dir', dirs['user-data'], '--extensions-dir', dirs.extensions,
  ];
  const child = spawnTracked(codeServerNode(), args, { env: { ...isolatedEnv(root), ...env }, cwd: root, onLine });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/version`, child);
  return { port, base, child };
}

/** The workbench URL that opens folder and loads the extension in development (and optionally test) mode. */
export function devWorkbenchUrl({ base, port, folder, extensionPath = repoRoot, testsPath }) {
  const remote = (p) => `vscode-remote://127.0.0.1:${port}${p}`;
  const payload = [['extensionDevelopmentPath', remote(extensionPath)], ['skipWelcome', 'true'], ['skipReleaseNotes', 'true']];
  if (testsPath) payload.push(['extensionTestsPath', remote(testsPath)]);
  return `${base}/?folder=${encodeURIComponent(folder)}&payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

/** The code-server CLI (for the packaged-extension tests): node <code-server>/out/node/entry.js. */
export function codeServerCli(args, { env, onLine } = {}) {
  return spawnTracked(codeServerNode(), [join(codeServerRoot, 'out/node/entry.js'), ...args], { env, onLine });
}

/** Installs a .vsix into extensionsDir with the code-server CLI (offline); rejects with its output on failure. */
export async function installVsix({ root, vsix, extensionsDir }) {
  const lines = [];
  const child = codeServerCli(['--user-data-dir', join(root, 'user-data'), '--extensions-dir', extensionsDir, '--install-extension', vsix, '--force'], {
    env: isolatedEnv(root),
    onLine: (line) => lines.push(line),
  });
  const code = await new Promise((resolve) => child.once('exit', (c) => resolve(c)));
  await stopProcess(child);
  const output = lines.join('\n');
  if (code !== 0 || !/successfully installed/i.test(output)) {
    throw new Error(`installing ${vsix} failed (exit ${code}):\n${output}`);
  }
  return output;
}

/** Starts `code-server --auth none` on a free port with its own user data under root; resolves when it serves. */
export async function startCodeServer({ root, extensionsDir, settings = {}, onLine = () => undefined }) {
  const port = await freePort();
  const userData = join(root, 'user-data');
  writeUserSettings(userData, settings);
  const args = [
    '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--user-data-dir', userData, '--extensions-dir', extensionsDir,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    '--ignore-last-opened',
  ];
  const child = codeServerCli(args, { env: isolatedEnv(root), onLine });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/healthz`, child);
  return { port, base, child };
}

/** Copies the sample workspace into dir/workspace and returns its path. */
export async function copyWorkspace(dir) {
  const target = join(dir, 'workspace');
  await cp(join(repoRoot, 'test/fixtures/workspace'), target, { recursive: true });
  return target;
}

// ---------------------------------------------------------------- browser
/** Launches headless Debian chromium with its own profile under root; closed by cleanup(). */
export async function launchChromium({ root, webgpu, viewport = { width: 1600, height: 1000 } }) {
  const { chromium } = await import('playwright-core');
  if (!existsSync(chromiumPath)) throw new Error(`No chromium at ${chromiumPath} (set CHROMIUM_PATH)`);
  const profile = join(root, 'chromium-profile');
  const args = [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage',
  ];
  if (webgpu) args.push('--enable-unsafe-webgpu');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args,
    viewport,
    env: isolatedEnv(join(root, 'chromium-env')),
  });
  const close = () => context.close();
  close.context = context;
  onCleanup(close);
  return context;
}
