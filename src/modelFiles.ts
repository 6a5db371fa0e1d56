// Why: a model folder comes from the extension or from the user (attentionLens.modelFolders), and what it
// holds is run and shown as fact. Before a model is offered, this checks its folder: the manifest (schema,
// id), that the files it names are plain files inside the folder (not the folder itself, not a link out
// of it), their sizes and sha256 checksums against the manifest's `onnx` and `tokenizer` fields, the ONNX
// graph against the declared inputs and outputs, the weights for NaN, and the tokenizer against the
// logits' vocabulary. Reading and hashing ~5 MB costs tens of milliseconds, so a folder that passed is
// remembered by a fingerprint (the manifest's hash, the files' sizes and modification times): later
// activations only stat the files. File access comes through FolderAccess, so the store (vscode.workspace.fs)
// and the unit tests (node:fs) run the same checks.

import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import * as nodePath from 'node:path';
import type { ModelManifest } from './core/manifest';
import { validateManifest } from './core/manifestValidator';
import { OnnxReadError, readOnnxGraph, type OnnxGraph } from './core/onnxGraph';
import { graphProblems, readTokenizerFile, vocabularyProblem, weightProblems } from './modelContents';

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
}

/** Fingerprints of the folders whose files passed every check, by folder. */
export interface VerifiedFolders {
  get(folder: string): string | undefined;
  set(folder: string, fingerprint: string): void;
}

export type FolderCheck = { manifest: ModelManifest; modelBytes: number; cached: boolean } | { errors: string[] };

/** Bump when a check is added, so folders verified by older checks are checked again. */
const CHECKS_VERSION = 1;
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
  const fingerprint = [CHECKS_VERSION, sha256(manifestBytes), modelEntry.size, modelEntry.mtime, tokenizerEntry.size, tokenizerEntry.mtime, ...external].join(':');
  if (verified?.get(folder) === fingerprint) return { manifest, modelBytes: modelEntry.size, cached: true };

  const [modelBytes, tokenizerBytes] = await Promise.all([access.read(modelFile), access.read(tokenizerFile)]);
  const modelPath = `${folder}/${modelFile}`;
  const tokenizerPath = `${folder}/${tokenizerFile}`;
  const modelIntegrity = integrityProblems(modelBytes, modelPath, declared.onnxBytes, declared.onnxSha256, 'onnx');
  errors.push(...modelIntegrity);
  errors.push(...integrityProblems(tokenizerBytes, tokenizerPath, undefined, declared.tokenizerSha256, 'tokenizer'));
  let graph: OnnxGraph | undefined;
  try {
    // A matching checksum vouches for the weights as published; the NaN scan is for files nobody vouches for.
    graph = readOnnxGraph(modelBytes, { countNaN: declared.onnxSha256 === undefined || modelIntegrity.length > 0 });
  } catch (err) {
    if (!(err instanceof OnnxReadError)) throw err;
    errors.push(`${modelPath}: expected an ONNX model (a protobuf ModelProto), found ${err.message}`);
  }
  if (graph) errors.push(...[...graphProblems(manifest, graph), ...weightProblems(graph)].map((p) => `${modelPath}: ${p}`));
  const tokenizer = readTokenizerFile(tokenizerBytes, tokenizerPath);
  if ('error' in tokenizer) errors.push(tokenizer.error);
  else {
    const vocabulary = vocabularyProblem(manifest, graph, tokenizer.vocabSize);
    if (vocabulary) errors.push(`${tokenizerPath}: ${vocabulary}`);
  }
  if (errors.length) return { errors };
  verified?.set(folder, fingerprint);
  return { manifest, modelBytes: modelEntry.size, cached: false };
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

/** The manifest's optional integrity fields: onnx {file, sha256, bytes} and tokenizer.sha256. */
function declaredFiles(json: Record<string, unknown>, manifest: ModelManifest): { errors: string[]; onnxSha256?: string; onnxBytes?: number; tokenizerSha256?: string } {
  const errors: string[] = [];
  const hash = (value: unknown, field: string): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value === 'string' && SHA256.test(value.toLowerCase())) return value.toLowerCase();
    errors.push(`${field}: expected the file's sha256 as 64 hexadecimal digits, found ${found(value)}`);
    return undefined;
  };
  const tokenizerSha256 = hash(manifest.tokenizer.sha256, 'tokenizer.sha256');
  const onnx = json.onnx;
  if (onnx === undefined) return { errors, tokenizerSha256 };
  if (typeof onnx !== 'object' || onnx === null || Array.isArray(onnx)) {
    errors.push(`onnx: expected an object {"file", "sha256", "bytes"} describing the model file, found ${found(onnx)}`);
    return { errors, tokenizerSha256 };
  }
  const { file, sha256: onnxHash, bytes } = onnx as Record<string, unknown>;
  const modelFile = manifest.model ?? 'model.onnx';
  if (file !== undefined && file !== modelFile) errors.push(`onnx.file: expected ${JSON.stringify(modelFile)}, the file "model" names, found ${found(file)}`);
  const onnxSha256 = hash(onnxHash, 'onnx.sha256');
  let onnxBytes: number | undefined;
  if (bytes !== undefined) {
    if (Number.isSafeInteger(bytes) && (bytes as number) > 0) onnxBytes = bytes as number;
    else errors.push(`onnx.bytes: expected the model file's size in bytes (a positive integer), found ${found(bytes)}`);
  }
  return { errors, onnxSha256, onnxBytes, tokenizerSha256 };
}

/** Size and checksum against the manifest. */
function integrityProblems(bytes: Uint8Array, shown: string, size: number | undefined, hash: string | undefined, field: 'onnx' | 'tokenizer'): string[] {
  if (size !== undefined && bytes.length !== size) {
    return [`${shown}: size: expected ${size} bytes (manifest.json, field ${field}.bytes), found ${bytes.length} (cut short or replaced?)`];
  }
  if (hash === undefined) return [];
  const actual = sha256(bytes);
  if (actual === hash) return [];
  return [`${shown}: sha256: expected ${hash} (manifest.json, field ${field}.sha256), found ${actual}: the file is not the one the manifest describes (damaged, or replaced without updating the manifest)`];
}
