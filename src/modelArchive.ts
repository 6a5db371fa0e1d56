// Why: "Download model…" also takes the address of a `.zip` of a model folder, and a zip is written by
// whoever publishes it: its entry names can point outside the folder (`../`, `/etc/…`, `C:\…`), an entry can
// be a symbolic link that a later entry writes through, and its headers can understate sizes so that a few
// kilobytes inflate to fill the disk. This file unpacks such an archive into the download's temporary
// folder, refusing all of that before or while writing, never trusting a header alone: every name is
// checked, only plain files and folders are written (exclusively, never over something), bytes are counted
// and CRC-checked as they stream, and the entries and the total are bounded. The model folder is the
// archive's root or its single top-level folder; the manifest download's checks and install
// (modelDownload.ts, which calls this) then run on it unchanged, with `checkUnpacked` standing in for
// fetching each file the manifest names. A folder with config.json and no manifest.json is a Hugging Face
// export: it goes to `installExport`, with an id from the folder's or the archive's name, to be installed as
// "Add model from folder…" installs one. `.tar.gz` and other formats are refused with a message.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rm } from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import * as yauzl from 'yauzl';
import { LensError } from './core/errors';
import { idFrom } from './modelContents';

/** Most entries (files and folders) an archive may hold: a model folder has a handful. */
export const MAX_ARCHIVE_ENTRIES = 64;
const MAX_MANIFEST_BYTES = 1024 * 1024;
const PROGRESS_INTERVAL_MS = 100;
/** Folders some archivers add beside the content (macOS Finder's resource forks): skipped, not written. */
const IGNORED_TOP = '__MACOSX';
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;
const DOS_DIRECTORY = 0x10;
const DOS_REPARSE_POINT = 0x400; // a Windows symbolic link or junction

/** What the archive part of a download needs from it; `install` is the manifest download's checks and install. */
export interface ArchiveJob<T> {
  url: URL;
  temp: string;
  maxBytes: number;
  maxEntries?: number;
  signal?: AbortSignal;
  onProgress?(received: number, total: number | undefined, file: string): void;
  /** Downloads the archive to `dest` (resumable, within the limits, checked against the user's sha256). */
  download(dest: string): Promise<void>;
  /** Checks and installs the unpacked model `folder`; `manifestUrl` names its manifest's place in the archive. */
  install(folder: string, manifestBytes: Uint8Array, manifestUrl: URL): Promise<T>;
  /** Installs the unpacked Hugging Face export `folder` (its plain `files`), shown as `shown`, under `id`. */
  installExport(folder: string, id: string, shown: string, files: string[]): Promise<T>;
}

/** The limits and reporting of one unpacking. */
export type UnpackOptions = Pick<ArchiveJob<unknown>, 'maxBytes' | 'maxEntries' | 'signal' | 'onProgress'>;

const invalid = (message: string) => new LensError('model-invalid', message);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
/** 1234567 → "1.2 MB" (modelDownload.ts exports it too). */
export function formatBytes(n: number): string {
  if (n < 1000) return `${n} bytes`;
  const [value, unit] = n < 1e6 ? [n / 1e3, 'kB'] : n < 1e9 ? [n / 1e6, 'MB'] : [n / 1e9, 'GB'];
  return `${value.toFixed(1)} ${unit}`;
}

/** 'zip' for an address this downloads as an archive, 'other' for an archive format it refuses, else undefined. */
export function archiveKind(pathname: string): 'zip' | 'other' | undefined {
  if (/\.zip$/i.test(pathname)) return 'zip';
  return /\.(tar|tgz|tar\.gz|tar\.xz|tar\.bz2|tar\.zst|7z|rar)$/i.test(pathname) ? 'other' : undefined;
}

/** Whether the first bytes of a response are those of a zip archive (a local file header). */
export function looksLikeZip(head: Uint8Array): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04;
}

/**
 * Downloads the zip at `job.url` into `job.temp`, unpacks it safely there and hands the model folder to
 * `job.install`. Throws a LensError saying what was wrong with the archive and what to do; the caller
 * removes `job.temp` whatever happens.
 */
export async function fetchArchive<T>(job: ArchiveJob<T>): Promise<T> {
  const archive = nodePath.join(job.temp, 'archive.zip');
  await job.download(archive);
  const into = nodePath.join(job.temp, 'unpacked');
  await mkdir(into);
  const top = await unpackZip(archive, into, job.url.href, job);
  await rm(archive, { force: true }); // its space, before the checks read the model
  const folder = top === undefined ? into : nodePath.join(into, top);
  const place = new URL(job.url.href);
  place.search = '';
  place.hash = '';
  if (top !== undefined) place.pathname += `/${encodeURIComponent(top)}`;
  const manifestFile = nodePath.join(folder, 'manifest.json');
  if (!(await lstat(manifestFile).then((info) => info.isFile(), () => false))) {
    // No manifest: a Hugging Face export (modelTop found config.json), named after its folder or the archive.
    const files = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name).sort();
    return job.installExport(folder, idFrom(top ?? archiveName(job.url).replace(/\.zip$/i, '')), place.href, files);
  }
  const manifestUrl = new URL(`${place.href}/manifest.json`);
  if ((await lstat(manifestFile)).size > MAX_MANIFEST_BYTES) throw invalid(`${manifestUrl.href} is over 1 MiB, too large for a manifest.json; the archive was not installed`);
  return job.install(folder, await readFile(manifestFile), manifestUrl);
}

/**
 * A file the unpacked model's manifest names (shown as `file.url`): a plain file of the size and sha256 the
 * manifest declares, if it declares them. Streams the file, so a model of several GB is not read into memory.
 */
export async function checkUnpacked(file: { url: URL; sha256?: string; bytes?: number }, path: string): Promise<void> {
  const info = await lstat(path).catch(() => undefined);
  const again = 'the archive does not hold the model its manifest.json describes; tell its publisher';
  if (!info?.isFile()) throw invalid(`${file.url.href}: expected a file, named by the archive's manifest.json, found ${info ? 'a folder' : 'nothing'}: ${again}`);
  if (file.bytes !== undefined && info.size !== file.bytes) throw invalid(`${file.url.href}: expected ${file.bytes} bytes (the manifest's), found ${info.size}: ${again}`);
  if (file.sha256 === undefined) return;
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  const actual = hash.digest('hex');
  if (actual !== file.sha256) throw invalid(`${file.url.href}: sha256 expected ${file.sha256} (the manifest's), found ${actual}: ${again}`);
}

/**
 * Unpacks the zip at `archive` (shown as `shown`) into the empty folder `into`. Returns the folder name that
 * holds the model when it is the archive's single top-level folder, undefined when the model is at its root.
 */
export async function unpackZip(archive: string, into: string, shown: string, options: UnpackOptions): Promise<string | undefined> {
  const refuse = (why: string, what = 'nothing was installed') => invalid(`${shown}: ${why}; ${what}`);
  const damaged = (why: string) => refuse(`the archive is damaged or not a zip (${why})`, 'nothing was installed: check the URL, download it again, or ask its publisher for a new one');
  const maxEntries = options.maxEntries ?? MAX_ARCHIVE_ENTRIES;
  let zip: yauzl.ZipFile;
  try {
    // Names are decoded and checked here (decodeStrings: false), sizes counted here, to say what was wrong.
    zip = await yauzl.openPromise(archive, { lazyEntries: true, autoClose: true, decodeStrings: false, validateEntrySizes: false, strictFileNames: true });
  } catch (err) {
    throw damaged(messageOf(err));
  }
  if (zip.entryCount > maxEntries) {
    zip.close();
    throw refuse(`it holds ${zip.entryCount} entries, more than the ${maxEntries} a model folder needs`, 'nothing was installed: zip only the model folder');
  }
  const names = new Map<string, 'file' | 'folder'>(); // by lower-case name: names only the case tells apart collide on some disks
  const written = new Map<string, 'file' | 'folder'>(); // exact names, for finding the manifest
  // Each entry's bytes are counted against its header as they stream, so the headers' sum bounds the total.
  let declared = 0;
  let last = 0;
  const entries = zip.eachEntry();
  try {
    for (;;) {
      let next: IteratorResult<yauzl.Entry>;
      try {
        next = await entries.next();
      } catch (err) {
        throw damaged(messageOf(err));
      }
      if (next.done) break;
      const entry = next.value;
      if (options.signal?.aborted) throw new LensError('cancelled', `unpacking ${shown} was cancelled; nothing was installed`);
      const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, true);
      const problem = nameProblem(name);
      if (problem) throw refuse(`the entry ${JSON.stringify(name)} has ${problem}, so it could be written outside the model folder`, 'the archive was refused and nothing was installed');
      const kind = entryKind(entry, name);
      if (kind === 'link') throw refuse(`the entry ${JSON.stringify(name)} is a symbolic link, which could make later entries write outside the model folder`, 'the archive was refused and nothing was installed: zip the model files themselves');
      if (kind === 'other') throw refuse(`the entry ${JSON.stringify(name)} is a device, pipe or socket, not a file`, 'the archive was refused and nothing was installed');
      if (entry.isEncrypted()) throw refuse(`the entry ${JSON.stringify(name)} is encrypted`, 'nothing was installed: zip the model without a password');
      if (kind === 'file' && entry.compressionMethod !== 0 && entry.compressionMethod !== 8) throw refuse(`the entry ${JSON.stringify(name)} is compressed with method ${entry.compressionMethod}, which is not read (only stored or deflated)`, 'nothing was installed: zip it again with the usual deflate');
      const path = name.replace(/\/$/, '');
      if (path.split('/')[0] === IGNORED_TOP) continue;
      const parts = path.split('/');
      for (let i = 1; i <= parts.length; i++) {
        const sub = parts.slice(0, i).join('/');
        const as = i < parts.length ? 'folder' : kind;
        const had = names.get(sub.toLowerCase());
        if (had !== undefined && (had === 'file' || as === 'file')) throw refuse(`the entry ${JSON.stringify(name)} collides with another entry of the same name (letter case aside)`, 'the archive was refused and nothing was installed');
        names.set(sub.toLowerCase(), as);
        written.set(sub, as);
      }
      const dest = nodePath.join(into, ...parts);
      if (kind === 'folder') {
        await mkdir(dest, { recursive: true });
        continue;
      }
      declared += entry.uncompressedSize;
      if (declared > options.maxBytes) throw refuse(`its files would take ${formatBytes(declared)} or more once unpacked, over the limit of ${formatBytes(options.maxBytes)}`, 'nothing was installed');
      await mkdir(nodePath.dirname(dest), { recursive: true });
      const handle = await open(dest, 'wx'); // never over something already there
      let stream: Readable | undefined;
      let size = 0;
      let crc = 0;
      try {
        stream = await zip.openReadStreamPromise(entry);
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (options.signal?.aborted) throw new LensError('cancelled', `unpacking ${shown} was cancelled; nothing was installed`);
          size += chunk.length;
          if (size > entry.uncompressedSize) throw refuse(`the entry ${JSON.stringify(name)} holds more than the ${formatBytes(entry.uncompressedSize)} its header declares (a zip bomb, or a damaged archive)`, 'the archive was refused and nothing was installed');
          crc = crc32(chunk, crc);
          for (let n = 0; n < chunk.length; ) n += (await handle.write(chunk, n)).bytesWritten;
          if (Date.now() - last >= PROGRESS_INTERVAL_MS) {
            last = Date.now();
            options.onProgress?.(size, entry.uncompressedSize, `unpacking ${path}`);
          }
        }
      } catch (err) {
        if (err instanceof LensError) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (typeof code === 'string' && code.startsWith('E')) throw err; // the disk's, said by the caller
        throw damaged(`${name}: ${messageOf(err)}`);
      } finally {
        stream?.destroy();
        await handle.close();
      }
      if (size !== entry.uncompressedSize) throw damaged(`${name}: ${size} bytes where its header declares ${entry.uncompressedSize}`);
      if (crc >>> 0 !== entry.crc32 >>> 0) throw damaged(`${name}: its CRC-32 does not match its bytes`);
      options.onProgress?.(size, entry.uncompressedSize, `unpacking ${path}`);
    }
  } finally {
    await entries.return?.();
  }
  return modelTop(written, shown);
}

/**
 * Where the model is: the root when it holds manifest.json (or, a Hugging Face export, config.json), else
 * the single top-level folder holding one.
 */
function modelTop(written: Map<string, 'file' | 'folder'>, shown: string): string | undefined {
  const holdsModel = (prefix: string) => written.get(`${prefix}manifest.json`) === 'file' || written.get(`${prefix}config.json`) === 'file';
  if (holdsModel('')) return undefined;
  const tops = [...written.keys()].filter((name) => !name.includes('/'));
  if (tops.length === 1 && written.get(tops[0]) === 'folder' && holdsModel(`${tops[0]}/`)) return tops[0];
  const found = tops.length === 0 ? 'nothing' : tops.slice(0, 5).join(', ') + (tops.length > 5 ? ', …' : '');
  throw invalid(
    `${shown}: expected a model folder at the archive's root or as its single top-level folder: manifest.json with the model and its tokenizer, ` +
      `or a Hugging Face export (config.json, an .onnx file, tokenizer.json); found ${found}; nothing was installed`,
  );
}

/** The archive's file name from its address, %-escapes decoded ("archive" when there is none). */
export function archiveName(url: URL): string {
  const name = url.pathname.slice(url.pathname.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(name) || 'archive';
  } catch {
    return name; // a malformed %-escape ("%zz"): the name is only shown (and made an id), so as it is
  }
}

/** Why an entry name is unsafe to write, or undefined. Directory names end in "/". */
function nameProblem(name: string): string | undefined {
  if (name === '' || name === '/') return 'an empty name';
  if (name.includes('\\')) return 'a backslash, a folder separator on Windows';
  if (name.startsWith('/')) return 'an absolute path';
  if (/^[a-zA-Z]:/.test(name)) return 'a drive letter';
  const parts = name.replace(/\/$/, '').split('/');
  if (parts.includes('..')) return 'a ".." part, which leads out of the folder';
  if (parts.some((part) => part === '' || part === '.')) return 'an empty or "." part';
  if (/[:*?"<>|]/.test(name) || [...name].some((c) => c.charCodeAt(0) < 0x20)) return 'characters that are not allowed in a file name';
  return undefined;
}

/** What an entry is, from its name and external attributes (Unix mode in the high 16 bits, DOS in the low). */
function entryKind(entry: yauzl.Entry, name: string): 'file' | 'folder' | 'link' | 'other' {
  const attributes = entry.externalFileAttributes >>> 0;
  const type = (attributes >>> 16) & S_IFMT;
  if (type === S_IFLNK || attributes & DOS_REPARSE_POINT) return 'link';
  if (name.endsWith('/') || type === S_IFDIR || attributes & DOS_DIRECTORY) return type === 0 || type === S_IFDIR ? 'folder' : 'other';
  return type === 0 || type === S_IFREG ? 'file' : 'other';
}
