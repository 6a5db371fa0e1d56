// Why: a model folder comes from the extension or from the user (attentionLens.modelFolders), and what it
// holds is run and shown as fact. Before a model is offered, this checks its folder: the manifest (schema,
// id), that the files it names are plain files inside the folder (not the folder itself, not a link out
// of it), their sizes and sha256 checksums against the manifest's `onnx` and `tokenizer` fields, the ONNX
// graph against the declared inputs and outputs, the weights for NaN, and the tokenizer against the
// logits' vocabulary. Reading and hashing ~5 MB costs tens of milliseconds, so a folder that passed is
// remembered by a fingerprint (the manifest's hash, the files' sizes and modification times): later
// activations only stat the files. File access comes through FolderAccess, so the store (node:fs on a local
// disk, vscode.workspace.fs elsewhere) and the unit tests run the same checks. The weights of an external-data
// file are checked too: its size and sha256 against `onnx.externalData`, and the graph must read them from the
// manifest's `externalData` and no other file. A download reads the same integrity fields to plan its files
// (filesNamedBy). The end of the file holds the node:fs side of folders: the FolderAccess over node:fs (the
// store's on a local disk; downloads and installs too), a copy that takes a linked file's contents, never
// the link, and the lock that keeps two windows from appending to one partial download, with the sweep of
// what a closed window left, judged by those locks.

import { createHash, randomUUID } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { type FileHandle, copyFile, lstat, open, readdir, readFile, realpath, rm, stat } from 'node:fs/promises';
import * as nodePath from 'node:path';
import { LensError } from './core/errors';
import { type ModelManifest, isSafeRelativePath } from './core/manifest';
import { validateManifest } from './core/manifestValidator';
import { OnnxReadError, type OnnxGraph, readOnnxGraphInPieces } from './core/onnxGraph';
import { externalDataProblems, graphProblems, readTokenizerFile, vocabularyProblem, weightProblems } from './modelContents';

/** What a path in the model folder is. */
export interface EntryInfo {
  /** What it is, links followed. */
  kind: 'file' | 'directory' | 'other';
  /** The path is, or goes through, a symbolic link. */
  symlink: boolean;
  /** Whether its real path lies inside the model folder's: known on a local disk, undefined elsewhere. */
  inside: boolean | undefined;
  size: number;
  /** Modification time, milliseconds. */
  mtime: number;
}

/** The file operations the checks need, relative to the model folder. */
export interface FolderAccess {
  /** undefined when nothing is there. */
  stat(relative: string): Promise<EntryInfo | undefined>;
  read(relative: string): Promise<Uint8Array>;
  /** The file's sha256 (hex), streamed; without it the file is read whole. For external data of several GB. */
  sha256?(relative: string): Promise<string>;
  /** Lets other work run between the check's steps (TurnQueue.next). */
  pause?(): Promise<void>;
  /**
   * Told what the manifest names, once it parsed and its files are in place, before the files are read and
   * checked: a page may start downloading them meanwhile (ModelStore.likelyFirst), and loads them only if the
   * check passes.
   */
  manifestRead?(seen: ManifestSeen): void;
}

/** A folder's manifest and its files' sizes, seen before the folder's check is over. */
export interface ManifestSeen {
  manifest: ModelManifest;
  modelBytes: number;
  externalDataBytes?: number;
  /** The files' sizes and modification times (ModelDescriptor.filesStamp). */
  filesStamp: string;
  /**
   * The digests the manifest declares for the model and tokenizer files (onnx.sha256, tokenizer.sha256), lowercase:
   * verified once the check passes (ModelDescriptor.sha256).
   */
  sha256?: { model?: string; tokenizer?: string };
}

/** Fingerprints of the folders whose files passed every check, by folder. */
export interface VerifiedFolders {
  get(folder: string): string | undefined;
  set(folder: string, fingerprint: string): void;
  /** Forgets every folder but these (those no longer found). */
  keepOnly?(folders: ReadonlySet<string>): void;
}

export type FolderCheck = (ManifestSeen & { cached: boolean }) | { errors: string[] };

/** Bump when a check is added, so folders verified by older checks are checked again. */
const CHECKS_VERSION = 2;
const SHA256 = /^[0-9a-f]{64}$/;

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
const found = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Is `path`'s real location inside `folder`'s (links resolved)? For FolderAccess on a local disk. */
export async function realPathInside(folder: string, path: string): Promise<boolean> {
  const [base, real] = await Promise.all([realpath(folder), realpath(path)]);
  const rel = nodePath.relative(base, real);
  return rel === '' || (!rel.startsWith('..') && !nodePath.isAbsolute(rel));
}

/**
 * Checks one model folder (`name` is its folder name, `folder` how messages show it); every error names the
 * file, the field, what was expected and what was found. A folder verified before with the same fingerprint
 * is not read again.
 */
export async function checkModelFolder(access: FolderAccess, name: string, folder: string, verified?: VerifiedFolders): Promise<FolderCheck> {
  const manifestFile = `${folder}/manifest.json`;
  const manifestEntry = await access.stat('manifest.json');
  const manifestPlace = placeProblem(manifestEntry, 'manifest.json', folder, 'every model folder has one', manifestFile);
  if (manifestPlace) return { errors: [manifestPlace] };
  let manifestBytes: Uint8Array;
  let json: unknown;
  try {
    manifestBytes = await access.read('manifest.json');
    json = JSON.parse(new TextDecoder().decode(manifestBytes));
  } catch (err) {
    return { errors: [`${manifestFile}: cannot be read as JSON (${message(err)})`] };
  }
  const result = validateManifest(json);
  if (!result.ok) return { errors: result.errors.map((error) => `${manifestFile}: ${error}`) };
  const manifest = result.manifest;
  if (manifest.id !== name) return { errors: [`${manifestFile}: id: "${manifest.id}" does not match its folder name "${name}"`] };
  const declared = declaredFiles(json as Record<string, unknown>, manifest);
  const errors = declared.errors.map((error) => `${manifestFile}: ${error}`);
  const modelFile = manifest.model ?? 'model.onnx';
  const tokenizerFile = manifest.tokenizer.file;
  const externalFile = manifest.externalData;
  const [modelEntry, tokenizerEntry, externalEntry] = await Promise.all([access.stat(modelFile), access.stat(tokenizerFile), externalFile ? access.stat(externalFile) : undefined]);
  const named: Array<[EntryInfo | undefined, string, string]> = [[modelEntry, modelFile, 'model'], [tokenizerEntry, tokenizerFile, 'tokenizer.file']];
  if (externalFile) named.push([externalEntry, externalFile, 'externalData']);
  for (const [entry, file, field] of named) {
    const problem = placeProblem(entry, file, folder, `named by ${manifestFile}, field ${field}`, `${folder}/${file}`);
    if (problem) errors.push(problem);
  }
  if (errors.length || !modelEntry || !tokenizerEntry) return { errors };
  // The weights in an external-data file take part in the fingerprint: a changed file is checked again.
  const external = externalEntry ? [externalEntry.size, externalEntry.mtime] : [];
  const filesStamp = [modelEntry.size, modelEntry.mtime, tokenizerEntry.size, tokenizerEntry.mtime, ...external].join(':');
  const { onnxSha256, tokenizerSha256 } = declared;
  const digests = onnxSha256 || tokenizerSha256 ? { sha256: { ...(onnxSha256 ? { model: onnxSha256 } : {}), ...(tokenizerSha256 ? { tokenizer: tokenizerSha256 } : {}) } } : {};
  const seen: ManifestSeen = { manifest, modelBytes: modelEntry.size, ...(externalEntry ? { externalDataBytes: externalEntry.size } : {}), filesStamp, ...digests };
  access.manifestRead?.(seen);
  const fingerprint = [CHECKS_VERSION, sha256(manifestBytes), filesStamp].join(':');
  if (verified?.get(folder) === fingerprint) return { ...seen, cached: true };

  const [modelBytes, tokenizerBytes] = await Promise.all([access.read(modelFile), access.read(tokenizerFile)]);
  // What follows is work without I/O: run back to back for every folder, it held the extension host's thread
  // for 1.5 s of a first window (the bundled models), and the webview's first files, served from that thread
  // (fileServer.ts), waited. Between steps, the access may let other work through (the store's TurnQueue).
  await access.pause?.();
  const modelPath = `${folder}/${modelFile}`;
  const tokenizerPath = `${folder}/${tokenizerFile}`;
  const pause = access.pause ?? (() => Promise.resolve());
  const modelIntegrity = await integrityProblems(modelBytes, modelPath, declared.onnxBytes, declared.onnxSha256, 'onnx', pause);
  errors.push(...modelIntegrity);
  errors.push(...(await integrityProblems(tokenizerBytes, tokenizerPath, undefined, declared.tokenizerSha256, 'tokenizer', pause)));
  if (externalFile && externalEntry) {
    const shown = `${folder}/${externalFile}`;
    const { bytes, sha256: expected } = declared.external;
    if (bytes !== undefined && externalEntry.size !== bytes) errors.push(`${shown}: size: expected ${bytes} bytes (manifest.json, field onnx.externalData.bytes), found ${externalEntry.size} (cut short or replaced?)`);
    else if (expected !== undefined) {
      const actual = access.sha256 ? await access.sha256(externalFile) : sha256(await access.read(externalFile));
      if (actual !== expected) errors.push(`${shown}: sha256: expected ${expected} (manifest.json, field onnx.externalData.sha256), found ${actual}: the file is not the one the manifest describes (damaged, or replaced without updating the manifest)`);
    }
  }
  await access.pause?.();
  let graph: OnnxGraph | undefined;
  try {
    // A matching checksum vouches for the weights as published; the NaN scan is for files nobody vouches for.
    graph = await readOnnxGraphInPieces(modelBytes, { countNaN: declared.onnxSha256 === undefined || modelIntegrity.length > 0, pause });
  } catch (err) {
    if (!(err instanceof OnnxReadError)) throw err;
    errors.push(`${modelPath}: expected an ONNX model (a protobuf ModelProto), found ${err.message}`);
  }
  await access.pause?.();
  if (graph) errors.push(...[...graphProblems(manifest, graph), ...externalDataProblems(manifest, graph), ...weightProblems(graph)].map((p) => `${modelPath}: ${p}`));
  await access.pause?.();
  const tokenizer = readTokenizerFile(tokenizerBytes, tokenizerPath);
  if ('error' in tokenizer) errors.push(tokenizer.error);
  else {
    const vocabulary = vocabularyProblem(manifest, graph, tokenizer.vocabSize);
    if (vocabulary) errors.push(`${tokenizerPath}: ${vocabulary}`);
  }
  if (errors.length) return { errors };
  verified?.set(folder, fingerprint);
  return { ...seen, cached: false };
}

/**
 * Turns of the event loop handed out one at a time: concurrent checks that wait for next() between their steps
 * run one step per turn, with I/O (the file server's requests, the webviews' messages) handled between them.
 * Resolved by setImmediate, all of a loop's waiting steps would run back to back in its check phase.
 */
export class TurnQueue {
  private last: Promise<void> = Promise.resolve();

  next(): Promise<void> {
    const turn = this.last.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
    this.last = turn;
    return turn;
  }
}

/**
 * Why a named path cannot be used as a model file, or undefined when it is a plain file inside the folder:
 * missing, the folder itself ("."), a folder, a device or pipe, or a link that leads out of the folder.
 */
function placeProblem(entry: EntryInfo | undefined, file: string, folder: string, why: string, shown: string): string | undefined {
  if (!entry) return `${shown}: missing (${why})`;
  const itself = file.split('/').every((part) => part === '.' || part === '');
  if (entry.kind === 'directory') return `${shown}: expected a file (${why}), found ${itself ? 'the model folder itself' : 'a folder'}`;
  if (entry.kind !== 'file') return `${shown}: expected a plain file (${why}), found a device, pipe or socket`;
  if (entry.inside === false) return `${shown}: expected a file inside ${folder} (${why}), found a path that leads out of it through a symbolic link`;
  if (entry.symlink && entry.inside === undefined) return `${shown}: expected a plain file (${why}), found a symbolic link, which is followed only on a local disk`;
  return undefined;
}

interface DeclaredFiles {
  errors: string[];
  onnxSha256?: string;
  onnxBytes?: number;
  tokenizerSha256?: string;
  /** onnx.externalData: "<file>" or {file, sha256, bytes}, the file being the manifest's externalData. */
  external: { sha256?: string; bytes?: number };
}

/** The manifest's optional integrity fields: onnx {file, sha256, bytes, externalData} and tokenizer.sha256. */
function declaredFiles(json: Record<string, unknown>, manifest: ModelManifest): DeclaredFiles {
  const errors: string[] = [];
  const external: DeclaredFiles['external'] = {};
  const size = (value: unknown, field: string, what: string): number | undefined => {
    if (value === undefined) return undefined;
    if (Number.isSafeInteger(value) && (value as number) > 0) return value as number;
    errors.push(`${field}: expected ${what} size in bytes (a positive integer), found ${found(value)}`);
    return undefined;
  };
  const hash = (value: unknown, field: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value === 'string' && SHA256.test(value.toLowerCase())) return value.toLowerCase();
    errors.push(`${field}: expected the file's sha256 as 64 hexadecimal digits, found ${found(value)}`);
    return undefined;
  };
  const tokenizerSha256 = hash(manifest.tokenizer.sha256, 'tokenizer.sha256');
  const onnx = json.onnx;
  if (onnx === undefined) return { errors, tokenizerSha256, external };
  if (!isRecord(onnx)) {
    errors.push(`onnx: expected an object {"file", "sha256", "bytes"} describing the model file, found ${found(onnx)}`);
    return { errors, tokenizerSha256, external };
  }
  const { file, sha256: onnxHash, bytes, externalData } = onnx;
  const modelFile = manifest.model ?? 'model.onnx';
  if (file !== undefined && file !== modelFile) errors.push(`onnx.file: expected ${JSON.stringify(modelFile)}, the file "model" names, found ${found(file)}`);
  const onnxSha256 = hash(onnxHash, 'onnx.sha256');
  const onnxBytes = size(bytes, 'onnx.bytes', "the model file's");
  if (externalData !== undefined) {
    const weights = typeof externalData === 'string' ? { file: externalData } : isRecord(externalData) ? externalData : undefined;
    const field = typeof externalData === 'string' ? 'onnx.externalData' : 'onnx.externalData.file';
    const wanted = manifest.externalData === undefined ? 'nothing, as "externalData" names no file' : `${JSON.stringify(manifest.externalData)}, the file "externalData" names`;
    if (!weights) errors.push(`onnx.externalData: expected an object {"file", "sha256", "bytes"} describing the external-data file, found ${found(externalData)}`);
    else if (weights.file !== undefined && weights.file !== manifest.externalData) errors.push(`${field}: expected ${wanted}, found ${found(weights.file)}`);
    else {
      external.sha256 = hash(weights.sha256, 'onnx.externalData.sha256');
      external.bytes = size(weights.bytes, 'onnx.externalData.bytes', "the external-data file's");
    }
  }
  return { errors, onnxSha256, onnxBytes, tokenizerSha256, external };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Bytes hashed between two pauses of a check: 16 MiB take ~12 ms here (a 343 MiB model's checksum held the thread 0.25 s). */
const HASH_PIECE_BYTES = 16 * 2 ** 20;

/** Size and checksum against the manifest; the checksum in pieces, with `pause` between them (see readOnnxGraphInPieces). */
async function integrityProblems(bytes: Uint8Array, shown: string, size: number | undefined, hash: string | undefined, field: 'onnx' | 'tokenizer', pause: () => Promise<void>): Promise<string[]> {
  if (size !== undefined && bytes.length !== size) {
    return [`${shown}: size: expected ${size} bytes (manifest.json, field ${field}.bytes), found ${bytes.length} (cut short or replaced?)`];
  }
  if (hash === undefined) return [];
  const hasher = createHash('sha256');
  for (let start = 0; start < bytes.length; start += HASH_PIECE_BYTES) {
    hasher.update(bytes.subarray(start, start + HASH_PIECE_BYTES));
    if (start + HASH_PIECE_BYTES < bytes.length) await pause();
  }
  const actual = hasher.digest('hex');
  if (actual === hash) return [];
  return [`${shown}: sha256: expected ${hash} (manifest.json, field ${field}.sha256), found ${actual}: the file is not the one the manifest describes (damaged, or replaced without updating the manifest)`];
}

/** A file a manifest names: its name in the model folder, its URL, what the manifest declares of it. */
export interface NamedFile { name: string; url: URL; sha256?: string; bytes?: number; /** Where its sha256 is declared. */ hashField?: string }

/**
 * The files a manifest at `manifestUrl` names (for a download), resolved beside it; a name that would leave
 * its directory or host is refused. Values declaredFiles would refuse are ignored here: the folder check
 * after the download reports them.
 */
export function filesNamedBy(json: Record<string, unknown>, manifestUrl: URL): NamedFile[] {
  const obj = (v: unknown) => (isRecord(v) ? v : {});
  const hash = (v: unknown) => (typeof v === 'string' && SHA256.test(v.toLowerCase()) ? v.toLowerCase() : undefined);
  const size = (v: unknown) => (Number.isSafeInteger(v) && (v as number) >= 0 ? (v as number) : undefined);
  const onnx = obj(json.onnx);
  const tokenizer = obj(json.tokenizer);
  const external = typeof onnx.externalData === 'string' ? { file: onnx.externalData } : obj(onnx.externalData);
  const wanted: Array<[unknown, string, string | undefined, number | undefined, string]> = [
    [json.model ?? 'model.onnx', 'model', hash(onnx.sha256), size(onnx.bytes), 'onnx.sha256'],
    [tokenizer.file, 'tokenizer.file', hash(tokenizer.sha256), undefined, 'tokenizer.sha256'],
  ];
  // The weights of a model saved with ONNX external data: `externalData`, or `onnx.externalData` {file, sha256, bytes}.
  const externalName = json.externalData ?? external.file;
  const declared = external.file === undefined || external.file === externalName;
  if (externalName !== undefined) wanted.push([externalName, json.externalData === undefined ? 'onnx.externalData' : 'externalData', declared ? hash(external.sha256) : undefined, declared ? size(external.bytes) : undefined, 'onnx.externalData.sha256']);
  const directory = manifestUrl.pathname.slice(0, manifestUrl.pathname.lastIndexOf('/') + 1);
  const seen = new Set(['manifest.json']);
  const planned: NamedFile[] = [];
  for (const [name, field, sha, bytes, hashField] of wanted) {
    const refuse = (why: string) => new LensError('model-invalid', `${manifestUrl.href}: ${field}: expected a file name inside the model's directory, found ${JSON.stringify(name)} (${why}); the download was refused`);
    if (typeof name !== 'string' || !isSafeRelativePath(name)) throw refuse('a path that leaves the directory');
    if (/[?#%:]/.test(name) || name.split('/').some((part) => part === '' || part === '.')) throw refuse('characters that are not part of a plain file name');
    const url = new URL(name, manifestUrl);
    if (url.origin !== manifestUrl.origin) throw refuse('another host');
    if (!url.pathname.startsWith(directory)) throw refuse('a path that leaves the directory');
    if (seen.has(name)) continue;
    seen.add(name);
    planned.push({ name, url, sha256: sha, bytes, hashField });
  }
  return planned;
}

// ---- The node:fs side of folders the extension fills itself (downloads and installs). ----

/** node:fs as the checks' FolderAccess (links resolved, sha256 streamed: an external-data file of GBs is never read whole). */
export function nodeFolderAccess(folder: string): FolderAccess {
  return {
    async stat(relative) {
      const file = nodePath.join(folder, relative);
      const info = await stat(file).catch(() => undefined);
      if (!info) return undefined;
      const symlink = (await lstat(file)).isSymbolicLink();
      const kind = info.isFile() ? 'file' : info.isDirectory() ? 'directory' : 'other';
      return { kind, symlink, inside: await realPathInside(folder, file), size: info.size, mtime: info.mtimeMs };
    },
    read: (relative) => readWholeFile(nodePath.join(folder, relative)),
    async sha256(relative) {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(nodePath.join(folder, relative))) hash.update(chunk as Buffer);
      return hash.digest('hex');
    },
  };
}

/**
 * A whole file, in as few reads as the system allows. fs.readFile reads 512 KiB at a time, each piece waiting
 * for a turn of the event loop: in an extension host busy starting up, a 343 MiB model took 4.3 s that way,
 * against 0.5 s in a quiet process (npm run bench:vscode, first check of the 768-wide model).
 */
export async function readWholeFile(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    return await readOpenFile(handle, 0, (await handle.stat()).size);
  } finally {
    await handle.close();
  }
}

/** Bytes start..start+length-1 of a file on disk (fewer at its end), in as few reads as the system allows. */
export async function readRange(path: string, start: number, length: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    return await readOpenFile(handle, start, length);
  } finally {
    await handle.close();
  }
}

async function readOpenFile(handle: FileHandle, start: number, length: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await handle.read(bytes, done, length - done, start + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? bytes : bytes.subarray(0, done);
}

/**
 * Copies the contents of `source` to the new file `dest`, links followed: a Hugging Face hub snapshot's files
 * are links to `../../blobs/…`, and a copied link would point nowhere (or anywhere) once installed. Refuses
 * a source whose real target is not a regular file; `shown` and `why` (e.g. "named by …, field model") say
 * which file in the message.
 */
export async function copyRegularFile(source: string, dest: string, shown: string, why: string): Promise<void> {
  const link = (await lstat(source).catch(() => undefined))?.isSymbolicLink();
  const real = await realpath(source).catch(() => undefined);
  const info = real === undefined ? undefined : await stat(real).catch(() => undefined);
  if (real !== undefined && info?.isFile()) return copyFile(real, dest, constants.COPYFILE_EXCL);
  const what = !info ? 'nothing' : info.isDirectory() ? 'a folder' : 'a device, pipe or socket';
  throw new Error(`${shown}: expected a regular file (${why}), found ${link ? `a link to ${what}` : what}`);
}

/** Holds `<partial>.lock` until released. */
export interface PartialLock {
  release(): Promise<void>;
}

/** What a lock file holds: its holder's token, and the temporary folder it downloads into (for the sweep). */
interface LockInfo { token: string; temp: string; url: string; pid: number }

/**
 * Takes `<part>.lock` (open 'wx'): two windows appending to one partial file would corrupt it. A lock that,
 * like its partial file, has not changed for `staleMs` was left by a window that closed or hung, and is taken
 * over. Resolves undefined while another download holds it.
 */
export async function lockPartial(part: string, holder: { temp: string; url: string }, staleMs: number): Promise<PartialLock | undefined> {
  const lock = `${part}.lock`;
  const info: LockInfo = { token: randomUUID(), temp: nodePath.basename(holder.temp), url: holder.url, pid: process.pid };
  for (let attempt = 0; attempt < 2; attempt++) {
    let handle;
    try {
      handle = await open(lock, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (attempt > 0 || !(await lockIsStale(part, staleMs))) return undefined;
      // Two windows taking over the same stale lock at once is not excluded: it needs a minute of silence first.
      await rm(lock, { force: true });
      continue;
    }
    try {
      await handle.writeFile(JSON.stringify(info));
    } catch (err) {
      await handle.close().catch(() => undefined);
      await rm(lock, { force: true });
      throw err;
    }
    await handle.close();
    return {
      release: async () => {
        // Not a lock another window took over meanwhile (it holds its own token).
        const text = await readFile(lock, 'utf8').catch(() => undefined);
        if (text?.includes(info.token)) await rm(lock, { force: true }).catch(() => undefined);
      },
    };
  }
  return undefined;
}

/** A lock is stale when neither it nor its partial file changed for `staleMs`; a lock gone is no lock. */
async function lockIsStale(part: string, staleMs: number): Promise<boolean> {
  const [lock, data] = await Promise.all([lstat(`${part}.lock`).catch(() => undefined), lstat(part).catch(() => undefined)]);
  if (!lock) return true;
  return Date.now() - Math.max(lock.mtimeMs, data?.mtimeMs ?? 0) > staleMs;
}

/** Temporary download folders left by a closed window after this long without a live lock naming them. */
export const STALE_DOWNLOAD_MS = 24 * 3600_000;
/** Partial files nobody resumed for this long. */
export const STALE_PARTIAL_MS = 7 * 24 * 3600_000;

/**
 * Removes what downloads in closed windows left in `root`: `.download-*` folders no live lock names (a slow
 * download writes its partial file, not its folder, so the folder's age alone says nothing) and untouched for
 * `STALE_DOWNLOAD_MS`, and partial files untouched for `STALE_PARTIAL_MS`. `staleLockMs`: see lockPartial.
 */
export async function removeStaleDownloads(root: string, staleLockMs: number): Promise<void> {
  const partialDir = nodePath.join(root, '.partial');
  const live = new Set<string>();
  let unknown = false;
  for (const name of (await readdir(partialDir).catch(() => [] as string[])).filter((n) => n.endsWith('.lock'))) {
    const part = nodePath.join(partialDir, name.slice(0, -'.lock'.length));
    if (await lockIsStale(part, staleLockMs)) continue;
    const info = await readFile(`${part}.lock`, 'utf8').then((text) => JSON.parse(text) as Partial<LockInfo>).catch(() => undefined);
    if (typeof info?.temp === 'string') live.add(info.temp);
    else unknown = true; // being written: keep every folder this time
  }
  const sweep = async (folder: string, names: (name: string) => boolean, age: number) => {
    for (const name of (await readdir(folder).catch(() => [] as string[])).filter(names)) {
      const info = await lstat(nodePath.join(folder, name)).catch(() => undefined);
      if (info && Date.now() - info.mtimeMs > age) await rm(nodePath.join(folder, name), { recursive: true, force: true }).catch(() => undefined);
    }
  };
  if (!unknown) await sweep(root, (name) => name.startsWith('.download-') && !live.has(name), STALE_DOWNLOAD_MS);
  await sweep(partialDir, () => true, STALE_PARTIAL_MS);
}
