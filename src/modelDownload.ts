// Why: "Download model…" fetches a model over the network, where connections are cut, servers stall, answer
// 404 or send other bytes than the manifest promises, and disks fill up. Whatever happens, the models folder
// must never hold half a model: everything goes to `<root>/.download-<random>/` and is renamed to
// `<root>/<id>/` only once every file is complete, matches the manifest's sizes and sha256 checksums and has
// passed the same folder check a model gets before it is offered. A cut file keeps its bytes in
// `<root>/.partial/<sha256 of its URL>` so the next attempt resumes it with an HTTP Range request. File names
// from a manifest are resolved beside it and may not leave its directory or host. The address of a `.zip` (or
// one that serves a zip) is downloaded the same way as one file and unpacked by modelArchive.ts into the
// temporary folder, where the same checks run; a zip of a Hugging Face export (no manifest.json) is handed
// to the caller there (onExport), which derives its manifest and installs it as a folder. Two downloads of
// one URL or one model id never run at once: the caller's map refuses the second in one window, and a lock
// file beside each partial file (modelFiles.ts lockPartial) keeps another window from appending to it. A file the manifest gives no sha256
// for is installed only when the caller says so (onUnverified: the command asks the user). No `vscode`
// import (the HTTP side is modelHttp.ts): the command wraps this in withProgress, and the unit tests run it
// in Node against a local server.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, open, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import type * as http from 'node:http';
import * as nodePath from 'node:path';
import { LensError } from './core/errors';
import { validateManifest } from './core/manifestValidator';
import { archiveKind, archiveName, checkUnpacked, fetchArchive, formatBytes } from './modelArchive';
import { type NamedFile, checkModelFolder, filesNamedBy, lockPartial, nodeFolderAccess, removeStaleDownloads } from './modelFiles';
import { ResumableError, contentLength, fetchManifest, openUrl, pump, statusError, transferError } from './modelHttp';

export { formatBytes };

/** Where downloaded bytes are written; a FileHandle of node:fs/promises is one. Tests inject failures here. */
export interface FileWriter {
  write(data: Uint8Array): Promise<{ bytesWritten: number }>;
  close(): Promise<void>;
}

export interface DownloadOptions {
  /** sha256 (hex) of what the URL serves: the manifest, which pins every file it checksums, or the .zip. */
  expectedSha256?: string;
  /** Aborting stops the download; the cut file stays resumable. */
  signal?: AbortSignal;
  /** Called at most every 100 ms per file and when a file is complete; `received` counts resumed bytes. */
  onProgress?(received: number, total: number | undefined, file: string): void;
  /** Time without a byte before the download is given up as stalled (default 30 s). */
  stallTimeoutMs?: number;
  /** Most bytes the whole model may take (default 4 GiB); an archive, and what it unpacks to, each as much. */
  maxBytes?: number;
  /** Opens a file for writing, 'w' from the start or 'a' to append (default: node:fs/promises open). */
  openFile?(path: string, flags: 'w' | 'a'): Promise<FileWriter>;
  /**
   * What is being downloaded or installed in this window, by "url <address>" and "id <model id>", each with
   * what holds it ("downloaded from …"): owned by the caller, shared by its downloads and installs, so a
   * second one of the same URL or id is refused while the first runs.
   */
  inProgress?: Map<string, string>;
  /**
   * Asked, before anything is fetched or installed, whether to install files the manifest gives no sha256
   * for (and no checksum the user gave covers); false cancels. Without it such a model is refused. `source`:
   * 'export' for the files of a Hugging Face export, which has no manifest to declare them.
   */
  onUnverified?(files: string[], source: 'manifest' | 'export'): Promise<boolean>;
  /**
   * Installs a Hugging Face export (config.json, no manifest.json) a .zip unpacked into `folder`, deriving
   * its manifest as "Add model from folder…" does, into `destinationRoot/<id>`, and resolves with it (a
   * LensError 'cancelled' when the user declines). `id`: from the archive's folder or the URL's file name;
   * `shown`: how messages name the folder. `folder` is deleted afterwards. Without it such a zip is refused.
   */
  onExport?(unpacked: { folder: string; id: string; shown: string }): Promise<DownloadedModel>;
}

/** The installed model: its folder `<destinationRoot>/<id>` and its id. */
export type DownloadedModel = { folder: string; id: string };

export const DEFAULT_STALL_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_BYTES = 4 * 1024 ** 3;
const PROGRESS_INTERVAL_MS = 100;
const SHA256 = /^[0-9a-f]{64}$/;

/** A file to fetch: its name in the model folder, its URL and what the manifest (or the user: pinned) declares. */
type Planned = NamedFile & { pinned?: boolean };

/** One call's state: never shared between downloads. */
interface Job {
  root: string;
  partialDir: string;
  /** The temporary folder (`.download-*`), named in the partial files' locks. */
  temp: string;
  /** Keys this download holds in `inProgress`, released when it ends. */
  claimed: string[];
  inProgress: Map<string, string>;
  onUnverified?: DownloadOptions['onUnverified'];
  onExport?: DownloadOptions['onExport'];
  signal?: AbortSignal;
  stallMs: number;
  maxBytes: number;
  left: number; // bytes still allowed
  stall: Error; // what a stall destroys a request or response with, recognised by identity
  openFile(path: string, flags: 'w' | 'a'): Promise<FileWriter>;
  onProgress?: DownloadOptions['onProgress'];
}

const failed = (message: string) => new LensError('download-failed', message);
const invalid = (message: string) => new LensError('model-invalid', message);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
const sha256 = (data: Uint8Array | string) => createHash('sha256').update(data).digest('hex');

/**
 * Downloads the model whose manifest.json is at `url` into `destinationRoot/<id>/`, verified, or throws a
 * LensError ('download-failed', 'model-invalid' or 'cancelled') saying what happened and what to do, having
 * left no model folder and no temporary folder behind.
 */
export async function downloadModel(url: string, destinationRoot: string, options: DownloadOptions = {}): Promise<DownloadedModel> {
  if (!URL.canParse(url)) throw failed(`"${url}" is not a URL: give the http(s) address of the model's manifest.json or of a .zip of its folder`);
  const manifestUrl = new URL(url);
  if (manifestUrl.protocol !== 'https:' && manifestUrl.protocol !== 'http:') throw failed(`${url}: expected an http or https address, found ${manifestUrl.protocol}`);
  const kind = archiveKind(manifestUrl.pathname);
  if (kind === 'other') throw failed(`${url} is an archive in a format that is not downloaded (only .zip is): give the address of the model's manifest.json (its files are fetched from beside it) or of a .zip of its folder, or unpack it and use Add model from folder…`);
  const expected = options.expectedSha256?.trim().toLowerCase();
  if (expected !== undefined && !SHA256.test(expected)) throw failed(`the checksum given for ${url} is not a sha256 (64 hexadecimal digits): "${options.expectedSha256}"`);
  const root = nodePath.resolve(destinationRoot);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  const job: Job = {
    root,
    partialDir: nodePath.join(root, '.partial'),
    temp: '',
    claimed: [],
    inProgress: options.inProgress ?? new Map(),
    onUnverified: options.onUnverified,
    onExport: options.onExport,
    signal: options.signal,
    stallMs: options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS,
    maxBytes,
    left: maxBytes,
    stall: new Error('stalled'),
    openFile: options.openFile ?? ((path, flags) => open(path, flags)),
    onProgress: options.onProgress,
  };
  let temp: string | undefined;
  try {
    if (job.signal?.aborted) throw new LensError('cancelled', `the download of ${url} was cancelled before it started`);
    claim(job, `url ${manifestUrl.href}`, `downloaded from ${manifestUrl.href}`, () => `${url} is already being downloaded in this window; wait for that download to finish or cancel it`);
    await mkdir(root, { recursive: true });
    await removeStaleDownloads(root, job.stallMs * 2);
    temp = job.temp = await mkdtemp(nodePath.join(root, '.download-'));
    return await (kind === 'zip' ? fetchZip : fetchModel)(job, manifestUrl, temp, expected);
  } catch (err) {
    if (err instanceof LensError) throw err;
    throw fileError(err, `writing the model under ${root}`);
  } finally {
    for (const key of job.claimed) job.inProgress.delete(key);
    if (temp) await rm(temp, { recursive: true, force: true }).catch(() => undefined);
    await rmdir(job.partialDir).catch(() => undefined); // only when no resumable file is left in it
  }
}

/** Takes `key` in the caller's map of what runs in this window, or refuses: `refusal` gets what holds it. */
function claim(job: Job, key: string, holder: string, refusal: (holder: string) => string): void {
  const held = job.inProgress.get(key);
  if (held !== undefined) throw failed(refusal(held));
  job.inProgress.set(key, holder);
  job.claimed.push(key);
}

async function fetchModel(job: Job, manifestUrl: URL, temp: string, expected: string | undefined): Promise<DownloadedModel> {
  const manifestBytes = await fetchManifest(job, manifestUrl);
  if (!manifestBytes) return fetchZip(job, manifestUrl, temp, expected); // a zip, at an address without ".zip"
  job.left -= manifestBytes.length;
  const actual = sha256(manifestBytes);
  if (expected !== undefined && actual !== expected) throw failed(`${manifestUrl.href}: sha256 expected ${expected} (the checksum you gave), found ${actual}: the server sent another file; check the URL and the checksum`);
  await withWriter(job, nodePath.join(temp, 'manifest.json'), 'w', 'manifest.json', (write) => write(manifestBytes, 0));
  return installModel(job, manifestBytes, manifestUrl, temp, false, async (file, dest) => {
    await mkdir(nodePath.dirname(dest), { recursive: true });
    await downloadFile(job, file, dest, false);
  });
}

/** A .zip of a model folder: downloaded as one file (pinned by the user's sha256), unpacked, then installed. */
function fetchZip(job: Job, url: URL, temp: string, expected: string | undefined): Promise<DownloadedModel> {
  const name = archiveName(url);
  return fetchArchive({
    ...job,
    url,
    temp,
    download: (dest) => downloadFile(job, { name, url, sha256: expected, pinned: expected !== undefined }, dest, false),
    install: (folder, manifestBytes, manifestUrl) => installModel(job, manifestBytes, manifestUrl, folder, expected !== undefined, checkUnpacked),
    installExport: async (folder, id, shown, files) => {
      if (!job.onExport) throw invalid(`${shown}: expected a model folder with a manifest.json, found a Hugging Face export (config.json and no manifest.json), which only the Download model command installs (deriving its manifest); nothing was installed`);
      if (expected === undefined) await confirmUnverified(job, files, 'export', shown, ''); // else the user's checksum covers them
      return job.onExport({ folder, id, shown });
    },
  });
}

/**
 * The manifest at `manifestUrl` (its bytes) validated, each file it names brought into `folder` by `obtain`
 * (fetched, or checked where an archive unpacked it), the folder checked and renamed into place. `vouched`:
 * a checksum the user gave covers every file (that of the archive they are in).
 */
async function installModel(job: Job, manifestBytes: Uint8Array, manifestUrl: URL, folder: string, vouched: boolean, obtain: (file: Planned, dest: string) => Promise<void>): Promise<DownloadedModel> {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (err) {
    throw invalid(`${manifestUrl.href}: expected a model's manifest.json, found text that is not JSON (${messageOf(err)}); check that the URL points at the manifest itself`);
  }
  const result = validateManifest(json);
  if (!result.ok) throw invalid(`${manifestUrl.href} is not a valid manifest:\n${result.errors.join('\n')}`);
  const { manifest } = result;
  const target = nodePath.join(job.root, manifest.id);
  claim(job, `id ${manifest.id}`, `downloaded from ${manifestUrl.href}`, (holder) => `a model with id "${manifest.id}" is already being ${holder} in this window; wait for it to finish`);
  if (await exists(target)) throw failed(`a model with id "${manifest.id}" is already installed (${target}); remove it first to download it again`);
  const planned = filesNamedBy(json as Record<string, unknown>, manifestUrl);
  const unverified = vouched ? [] : planned.filter((f) => f.sha256 === undefined);
  const fields = `field${unverified.length > 1 ? 's' : ''} ${unverified.map((f) => f.hashField).join(', ')}`;
  await confirmUnverified(job, unverified.map((f) => f.name), 'manifest', manifestUrl.href, fields);
  for (const file of planned) await obtain(file, nodePath.join(folder, ...file.name.split('/')));
  const place = new URL('.', manifestUrl).href.replace(/\/$/, '');
  const check = await checkModelFolder(nodeFolderAccess(folder), manifest.id, place).catch((err: unknown) => Promise.reject(invalid(`${place}: the downloaded model could not be checked (${messageOf(err)})`)));
  if ('errors' in check) throw invalid(`the model downloaded from ${place} did not pass its checks, so it was not installed:\n${check.errors.join('\n')}`);
  const meanwhile = () => failed(`a model with id "${manifest.id}" was installed meanwhile (${target}), by another window or install; nothing was overwritten: remove it first to download this one`);
  if (await exists(target)) throw meanwhile(); // a rename onto an empty folder would replace it
  await rename(folder, target).catch((err: unknown) => {
    const code = (err as NodeJS.ErrnoException).code;
    throw code === 'EEXIST' || code === 'ENOTEMPTY' || code === 'ENOTDIR' ? meanwhile() : err;
  });
  return { folder: target, id: manifest.id };
}

/**
 * Files no sha256 covers (`fields`: where the manifest would declare them) are installed only when the
 * caller agrees; without a way to ask, never. `where`: the manifest's address, or the export's.
 */
async function confirmUnverified(job: Job, unverified: string[], source: 'manifest' | 'export', where: string, fields: string): Promise<void> {
  if (!unverified.length) return;
  const names = unverified.join(', ');
  if (!job.onUnverified) {
    throw invalid(
      source === 'manifest'
        ? `${where}: expected a sha256 for every file the manifest names, found none for ${names} (${fields}), so they cannot be verified; nothing was installed. Ask the model's publisher for the checksums, or confirm the install when Download model asks`
        : `${where}: expected a sha256 of the archive (a Hugging Face export has no manifest to declare its files'), found none, so ${names} cannot be verified; nothing was installed. Give the archive's sha256, or confirm the install when Download model asks`,
    );
  }
  if (!(await job.onUnverified(unverified, source))) {
    const declared = source === 'manifest' ? 'manifest.json declares no sha256 for' : 'no sha256 was given for the archive holding';
    throw new LensError('cancelled', `the download of ${where} was cancelled: ${declared} ${names}; nothing was installed`);
  }
}

/**
 * One file into `dest`, through its resumable partial file: a partial from an earlier attempt is resumed with
 * `Range` (206 continues it, 200 starts over), and the whole file's size and sha256 are checked either way.
 */
async function downloadFile(job: Job, file: Planned, dest: string, fresh: boolean): Promise<void> {
  await mkdir(job.partialDir, { recursive: true });
  const part = nodePath.join(job.partialDir, sha256(file.url.href));
  // A live download stalls out within stallMs, so a lock unchanged for twice that (its partial neither) is left over.
  const lock = await lockPartial(part, { temp: job.temp, url: file.url.href }, job.stallMs * 2);
  if (!lock) throw failed(`${file.url.href} is being downloaded by another window (its partial file is locked: ${part}.lock); wait for that download to finish, then run Download model again`);
  try {
    await transfer(job, file, dest, part, fresh);
  } finally {
    await lock.release();
  }
}

/** downloadFile's transfer, under the partial file's lock. */
async function transfer(job: Job, file: Planned, dest: string, part: string, fresh: boolean): Promise<void> {
  const metaFile = `${part}.json`;
  const discard = () => Promise.all([rm(part, { force: true }), rm(metaFile, { force: true })]);
  if (fresh) await discard();
  const meta = await readFile(metaFile, 'utf8').then((text) => JSON.parse(text) as { url?: string; validator?: string }).catch(() => undefined);
  const validator = meta?.url === file.url.href ? meta.validator : undefined;
  let offset = (await stat(part).catch(() => undefined))?.size ?? 0;
  // Without a checksum or a validator for If-Range, resumed bytes could belong to an older version of the file.
  if ((validator === undefined && file.sha256 === undefined) || (file.bytes !== undefined && offset > file.bytes)) offset = 0;
  if (file.bytes !== undefined && file.bytes - offset > job.left) throw tooLarge(job, file, file.bytes);
  const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-`, ...(validator ? { 'If-Range': validator } : {}) } : {};
  let received = 0;
  let total: number | undefined;
  let resumable = offset > 0; // until the server answers, an earlier attempt's bytes stay worth keeping
  let opened: http.IncomingMessage | undefined; // destroyed on failure
  try {
    const res = (opened = await openUrl(job, file.url, headers));
    if (res.statusCode === 416 && offset > 0 && !fresh) {
      res.resume();
      return await transfer(job, file, dest, part, true); // the partial file does not fit the server's: start over
    }
    const range = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''));
    const start = res.statusCode === 206 && offset > 0 && Number(range?.[1]) === offset ? offset : 0;
    if (res.statusCode !== 200 && start === 0) throw statusError(res, file.url);
    const length = contentLength(res);
    total = length === undefined ? file.bytes : start + length;
    received = start;
    if (file.bytes !== undefined && total !== undefined && total !== file.bytes) {
      throw failed(`${file.url.href} is ${formatBytes(total)} on the server, but the manifest says ${formatBytes(file.bytes)}: the manifest and the file disagree; tell the model's publisher`);
    }
    if (total !== undefined && total - start > job.left) throw tooLarge(job, file, total);
    const etag = res.headers.etag;
    const newValidator = etag && !etag.startsWith('W/') ? etag : res.headers['last-modified'];
    await writeFile(metaFile, JSON.stringify({ url: file.url.href, validator: newValidator }));
    const hash = createHash('sha256');
    if (start > 0) for await (const chunk of createReadStream(part, { end: start - 1 })) hash.update(chunk as Buffer);
    resumable = newValidator !== undefined || file.sha256 !== undefined;
    let last = 0;
    const report = (force: boolean) => {
      const now = Date.now();
      if (!force && now - last < PROGRESS_INTERVAL_MS) return;
      last = now;
      job.onProgress?.(received, total, file.name);
    };
    report(true);
    await withWriter(job, part, start > 0 ? 'a' : 'w', file.name, (write) =>
      pump(job, res, async (chunk) => {
        if (chunk.length > job.left) throw tooLarge(job, file, received + chunk.length);
        job.left -= chunk.length;
        hash.update(chunk);
        await write(chunk, received);
        received += chunk.length;
        report(false);
      }),
    );
    if (total !== undefined && received < total) throw new Error('the server closed the connection early');
    report(true);
    resumable = false;
    const actual = hash.digest('hex');
    if (file.sha256 !== undefined && actual !== file.sha256) {
      const advice = file.pinned ? 'check the URL and the checksum' : "the manifest and the file on the server disagree: tell the model's publisher";
      throw failed(`${file.url.href}: sha256 expected ${file.sha256} (${file.pinned ? 'the checksum you gave' : "the manifest's"}), found ${actual}: the server sent a damaged or different file. Run Download model again; if it happens again, ${advice}`);
    }
    await rename(part, dest);
    await rm(metaFile, { force: true });
  } catch (err) {
    opened?.destroy();
    const error = transferError(job, err, file.url, file.name, received, total, resumable);
    if (!(error instanceof ResumableError)) await discard();
    throw error;
  }
}

/** A file-system failure, a full disk said as such. */
function fileError(err: unknown, what: string): LensError {
  if (err instanceof LensError) return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') return failed(`the disk is full: ${what} failed; free some space and run Download model again`);
  return failed(`${what} failed (${messageOf(err)}); check that the folder can be written and run Download model again`);
}

function tooLarge(job: Job, file: Planned, bytes: number): LensError {
  return failed(`${file.url.href} (${formatBytes(bytes)}) would take the model over the limit of ${formatBytes(job.maxBytes)}; nothing was installed`);
}

/** Opens `path` for `body` to write to (`at`: bytes of the file before `data`); file-system failures say so. */
async function withWriter(job: Job, path: string, flags: 'w' | 'a', name: string, body: (write: (data: Uint8Array, at: number) => Promise<void>) => Promise<void>): Promise<void> {
  const writer = await job.openFile(path, flags).catch((err) => Promise.reject(fileError(err, `writing ${name}`)));
  let done = false;
  try {
    await body(async (data, at) => {
      try {
        for (let n = 0; n < data.length; ) n += (await writer.write(data.subarray(n))).bytesWritten;
      } catch (err) {
        throw fileError(err, `writing ${name}${at > 0 ? ` after ${formatBytes(at)}` : ''}`);
      }
    });
    done = true;
  } finally {
    await writer.close().catch((err) => (done ? Promise.reject(fileError(err, `writing ${name}`)) : undefined));
  }
}

const exists = (path: string) => lstat(path).then(() => true, () => false);
