// Why: a model whose files disagree with its manifest used to fail late and cryptically (onnxruntime's
// Gather errors for a vocabulary mismatch, "Invalid typed array length", a bare SyntaxError), or worse,
// ran and showed wrong numbers. These checks compare what the files hold with what the manifest declares,
// without running anything: the ONNX graph's inputs and outputs (names, element types, ranks, fixed sizes,
// symbolic sizes used alike), NaN weights, the external-data file the weights are read from (onnxruntime
// opens the one the graph names, so it must be the manifest's `externalData`), and the tokenizer (JSON,
// model type, vocabulary size against the logits). Each problem says what was expected and what was found;
// the caller puts the file's path in front. For a Hugging Face export without a manifest, the manifest is
// derived from the same contents (deriveExport, for "Add model from folder…" and a downloaded .zip of one),
// and installedFiles says which files such an install copies and whether each can be copied.

import { LensError } from './core/errors';
import { type DeriveInput, type DerivedManifest, deriveManifest } from './core/hfManifest';
import { type AxisSpec, type ModelManifest, type TensorSpec, SEQUENCE_AXES, formatAxes, isSafeRelativePath } from './core/manifest';
import { type OnnxDim, type OnnxGraph, type OnnxValueInfo, OnnxReadError, readOnnxGraph } from './core/onnxGraph';
import { exposeAttention } from './core/onnxSurgery';
import { isObject, prepare } from './core/tokenizerConfig';
import type { FolderAccess } from './modelFiles';

/** Graph names listed in a message before "…". */
const LISTED = 6;
/** Initializers with NaN values named in messages. */
const NAMED_NAN = 3;

const quoteAll = (names: readonly string[]) =>
  names.length === 0 ? 'none' : names.slice(0, LISTED).map((n) => `"${n}"`).join(', ') + (names.length > LISTED ? `, … (${names.length} in all)` : '');
const formatDims = (dims: readonly OnnxDim[]) => `[${dims.map((d) => (d === null ? '?' : String(d))).join(', ')}]`;
const axisLabel = (a: AxisSpec) => (a.size === undefined ? a.name : `${a.name}=${a.size}`);

interface Declared {
  kind: 'input' | 'output';
  spec: TensorSpec;
  /** Where it is in manifest.json, e.g. "outputs[1]". */
  path: string;
}

/** Differences between the manifest's inputs and outputs and the graph's, as "expected …, found …" messages. */
export function graphProblems(manifest: ModelManifest, graph: OnnxGraph): string[] {
  const problems: string[] = [];
  const byName = (list: readonly OnnxValueInfo[]) => new Map(list.map((v) => [v.name, v]));
  const graphInputs = byName(graph.inputs);
  const graphOutputs = byName(graph.outputs);
  const declared: Declared[] = [
    ...manifest.inputs.map((spec, i): Declared => ({ kind: 'input', spec, path: `inputs[${i}]` })),
    ...manifest.outputs.map((spec, i): Declared => ({ kind: 'output', spec, path: `outputs[${i}]` })),
  ];
  // Graph inputs that initializers feed (older exporters list weights as inputs) need no feed.
  const weights = new Set(graph.initializers.map((t) => t.name));
  const undescribed = graph.inputs.filter((v) => !weights.has(v.name) && !manifest.inputs.some((i) => i.name === v.name));
  for (const v of undescribed) problems.push(`graph input "${v.name}": expected a description in manifest.json "inputs" (every input is fed by its role), found none`);
  /** Each symbolic graph dimension, with the manifest axis it was first seen as. */
  const symbols = new Map<string, { size: string; label: string; where: string }>();
  for (const { kind, spec, path } of declared) {
    const v = (kind === 'input' ? graphInputs : graphOutputs).get(spec.name);
    const what = `${kind} "${spec.name}"`;
    if (!v) {
      problems.push(`${what} (manifest.json ${path}): expected in the graph, found graph ${kind}s ${quoteAll([...(kind === 'input' ? graphInputs : graphOutputs).keys()])}`);
      continue;
    }
    if (v.elemType !== spec.dtype) problems.push(`${what} (manifest.json ${path}.dtype): expected ${spec.dtype}, found ${v.elemType} in the graph`);
    if (!v.shape) continue;
    if (v.shape.length !== spec.axes.length) {
      problems.push(`${what} (manifest.json ${path}.axes): expected ${spec.axes.length} axes ${formatAxes(spec.axes)}, found ${v.shape.length} in the graph ${formatDims(v.shape)}`);
      continue;
    }
    spec.axes.forEach((axis, i) => {
      const dim = v.shape![i];
      const at = `${what} (manifest.json ${path}.axes[${i}] "${axis.name}")`;
      if (typeof dim === 'number') {
        if (typeof axis.size === 'number' && dim !== axis.size) problems.push(`${at}: expected ${axis.size}, found ${dim} in the graph`);
        else if (axis.name === 'batch' && dim !== 1) problems.push(`${at}: expected a batch of any size or 1, found a fixed ${dim} in the graph`);
        else if (SEQUENCE_AXES.includes(axis.name) && typeof axis.size === 'string') problems.push(`${at}: expected a length that varies (${axis.size}), found a fixed ${dim} in the graph`);
      } else if (typeof dim === 'string' && (axis.name === 'batch' || axis.size !== undefined)) {
        // The graph says two dimensions with one name are equal: the manifest must say the same of them.
        // Compared by size (query=T, key=T and position=T are one length); batch stands for itself.
        const size = axis.name === 'batch' ? 'batch' : String(axis.size);
        const first = symbols.get(dim);
        if (!first) symbols.set(dim, { size, label: axisLabel(axis), where: `${what} axes[${i}]` });
        else if (first.size !== size) {
          problems.push(`${at}: expected ${first.label}, as the graph calls this dimension "${dim}" like ${first.where}, found ${axisLabel(axis)}`);
        }
      }
    });
  }
  // State links need nothing more: the manifest validator makes each initial state declare the axes of its
  // final state, and the fixed sizes above tie both to the graph.
  return problems;
}

/** Initializers holding NaN values, as one message (a checksum-less model can hide them). */
export function weightProblems(graph: OnnxGraph): string[] {
  const bad = graph.initializers.filter((t) => t.nanCount > 0);
  if (!bad.length) return [];
  const named = bad.slice(0, NAMED_NAN).map((t) => `"${t.name}" (${t.nanCount})`).join(', ');
  const total = bad.reduce((n, t) => n + t.nanCount, 0);
  return [`weights: expected numbers, found ${total} NaN values in ${bad.length} initializer${bad.length > 1 ? 's' : ''}: ${named}${bad.length > NAMED_NAN ? ', …' : ''}`];
}

/**
 * The external-data files the graph's weights are read from against the manifest's `externalData`: none
 * without it, and only that file (named relative to the model file, beside which the validator keeps it).
 */
export function externalDataProblems(manifest: ModelManifest, graph: OnnxGraph): string[] {
  const byLocation = new Map<string, string[]>();
  for (const t of graph.initializers) {
    if (t.externalLocation === undefined) continue;
    const location = t.externalLocation.replace(/^(\.\/)+/, '');
    byLocation.set(location, [...(byLocation.get(location) ?? []), t.name]);
  }
  const declared = manifest.externalData?.split('/').pop();
  const problems: string[] = [];
  for (const [location, names] of byLocation) {
    if (location === declared) continue;
    const which = `initializer${names.length > 1 ? 's' : ''} ${quoteAll(names)}`;
    const found = location === '' ? `${which} marked as external data with no "location"` : `${which} read from "${location}"`;
    problems.push(
      declared === undefined
        ? `external data (manifest.json externalData): expected the weights inside the model file, as the manifest names no external-data file, found ${found}${location ? `: declare "externalData": "${location}"` : ''}`
        : `external data (manifest.json externalData): expected the weights in "${declared}", the file "externalData" names, found ${found}`,
    );
  }
  return problems;
}

export type TokenizerCheck = { vocabSize: number } | { error: string };

/** Parses a tokenizer.json as the webview will, and counts its vocabulary (largest id + 1, added tokens included). */
export function readTokenizerFile(bytes: Uint8Array, file: string): TokenizerCheck {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    return { error: `${file}: expected JSON (a Hugging Face tokenizer.json), found text that does not parse (${err instanceof Error ? err.message : String(err)})` };
  }
  try {
    const { model, added } = prepare(json, file);
    const vocab = model.vocab;
    const ids = Array.isArray(vocab) ? [vocab.length - 1] : isObject(vocab) ? Object.values(vocab as Record<string, number>) : [];
    let max = -1;
    for (const id of [...ids, ...added.map((t) => t.id)]) if (id > max) max = id;
    return { vocabSize: max + 1 };
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** The logits' vocabulary axis must have as many entries as the tokenizer has tokens. */
export function vocabularyProblem(manifest: ModelManifest, graph: OnnxGraph | undefined, vocabSize: number): string | undefined {
  const index = manifest.outputs.findIndex((o) => o.role === 'logits');
  if (index < 0) return undefined;
  const logits = manifest.outputs[index];
  const axis = logits.axes.findIndex((a) => a.name === 'vocab');
  if (axis < 0) return undefined;
  const declared = logits.axes[axis].size;
  const inGraph = graph?.outputs.find((o) => o.name === logits.name)?.shape?.[axis];
  const size = typeof declared === 'number' ? declared : typeof inGraph === 'number' ? inGraph : undefined;
  if (size === undefined || size === vocabSize) return undefined;
  return `vocabulary: expected ${size} tokens, the size of the vocab axis of output "${logits.name}" (manifest.json outputs[${index}].axes[${axis}]), found ${vocabSize}`;
}

/**
 * A manifest derived from an export. A plain export (no attention outputs, as Optimum exports by default)
 * gets its attention probabilities, found inside the graph, added as outputs in a copy of the model (the
 * user's file is never changed); when they cannot be found, it is installed without attention and says why.
 */
export function deriveWithAttention(input: DeriveInput, bytes: Uint8Array, shown: string): { derived: DerivedManifest; modelBytes?: Uint8Array } {
  const plain = deriveManifest(input);
  if (plain.manifest.outputs.some((o) => o.role === 'mixing' || o.role === 'cross_mixing')) return { derived: plain };
  let surgery;
  try {
    surgery = exposeAttention(bytes);
  } catch (err) {
    return { derived: { ...plain, notes: [...plain.notes, `Its attention cannot be shown: ${err instanceof Error ? err.message : String(err)}`] } };
  }
  if (!surgery.added.length) return { derived: plain };
  const exposed = deriveManifest({ ...input, graph: readOnnxGraph(surgery.bytes), fileBytes: surgery.bytes.length });
  const names = surgery.added.map((a) => a.name);
  const note = `${shown}/${input.onnxFile} has no attention outputs: the attention probabilities found inside its graph are added as outputs (${names.join(', ')}) in the installed copy; the file itself is not changed.`;
  return { derived: { ...exposed, notes: [note, ...exposed.notes] }, modelBytes: surgery.bytes };
}

/** A Hugging Face export's folder, as deriveExport reads it: its file names, and its files read or parsed. */
export interface ExportFolder {
  /** How messages name the folder. */
  shown: string;
  id: string;
  files: string[];
  read(name: string): Promise<Uint8Array>;
  /** The file parsed as JSON; throws saying which file does not parse. */
  parse(name: string, what: string): Promise<unknown>;
}

/**
 * The manifest of a Hugging Face export without one (config.json, one ONNX file, tokenizer.json), derived
 * with its attention exposed (deriveWithAttention). Throws a LensError with `errors`, one message a line.
 */
export async function deriveExport(folder: ExportFolder): Promise<{ derived: DerivedManifest; modelBytes?: Uint8Array }> {
  const { shown, files } = folder;
  const failure = (errors: string[]) => Object.assign(new LensError('model-invalid', errors.join('\n')), { errors });
  const onnx = files.includes('model.onnx') ? ['model.onnx'] : files.filter((f) => f.toLowerCase().endsWith('.onnx'));
  if (onnx.length !== 1) throw failure([`${shown}: expected one ONNX file (model.onnx, or a single *.onnx) beside config.json, found ${onnx.length ? onnx.join(', ') : 'none'}`]);
  if (!files.includes('tokenizer.json')) throw failure([`${shown}/tokenizer.json: missing (a Hugging Face export needs its tokenizer.json beside config.json)`]);
  const [bytes, config, tokenizer] = await Promise.all([folder.read(onnx[0]), folder.parse('config.json', 'a Hugging Face config.json'), folder.parse('tokenizer.json', 'a Hugging Face tokenizer.json')]);
  let graph;
  try {
    graph = readOnnxGraph(bytes);
  } catch (err) {
    if (!(err instanceof OnnxReadError)) throw err;
    throw failure([`${shown}/${onnx[0]}: expected an ONNX model (a protobuf ModelProto), found ${err.message}`]);
  }
  // The file the graph reads its weights from; else Optimum's model.onnx_data or torch.onnx's model.onnx.data.
  const located = graph.initializers.find((t) => t.externalLocation !== undefined)?.externalLocation;
  const externalData = located?.replace(/^(\.\/)+/, '') || [`${onnx[0]}_data`, `${onnx[0]}.data`].find((f) => files.includes(f));
  const input = { id: folder.id, graph, config, tokenizer, onnxFile: onnx[0], tokenizerFile: 'tokenizer.json', fileBytes: bytes.length, externalData };
  try {
    return deriveWithAttention(input, bytes, shown);
  } catch (err) {
    throw failure((err instanceof Error ? err.message : String(err)).split('\n').map((line) => `${shown}: ${line}`));
  }
}

/**
 * The files an install copies from a folder (`shown`; its manifest is `where`): those the manifest names, and
 * config.json when there is one, each with what names it ("named by …, field model"), and why any cannot be
 * copied. Links are followed, out of the folder too (their contents are copied): a Hugging Face hub
 * snapshot's files link to ../../blobs.
 */
export async function installedFiles(json: Record<string, unknown>, manifest: ModelManifest, config: boolean, access: FolderAccess, shown: string, where: string): Promise<{ files: Array<[name: string, by: string]>; problems: string[] }> {
  const external = (json.onnx as { externalData?: { file?: unknown } } | undefined)?.externalData;
  const named: Array<[unknown, string]> = [[manifest.model ?? 'model.onnx', 'model'], [manifest.tokenizer.file, 'tokenizer.file'], [manifest.externalData, 'externalData'], [external, 'onnx.externalData'], [external?.file, 'onnx.externalData.file'], [config ? 'config.json' : undefined, '']];
  const copied = new Map<string, string>();
  const problems: string[] = [];
  for (const [name, field] of named) {
    if (typeof name !== 'string' || copied.has(name)) continue;
    const by = field ? `named by ${where}, field ${field}` : 'copied beside the manifest';
    copied.set(name, by);
    const entry = isSafeRelativePath(name) ? await access.stat(name) : undefined;
    if (!isSafeRelativePath(name)) problems.push(`${where}: ${field}: expected a relative path inside the model folder, found ${JSON.stringify(name)}`);
    else if (!entry) problems.push(`${shown}/${name}: expected a file (${by}), found nothing (or a link to nothing)`);
    else if (entry.kind !== 'file') problems.push(`${shown}/${name}: expected a regular file (${by}), found ${entry.symlink ? 'a link to ' : ''}${entry.kind === 'directory' ? 'a folder' : 'a device, pipe or socket'}`);
    else if (entry.symlink && entry.inside === undefined) problems.push(`${shown}/${name}: expected a regular file (${by}), found a link on a non-local disk, which is not followed there`);
  }
  return { files: [...copied], problems };
}

/** A model id from a folder name: lowercase, other characters as "-". */
export function idFrom(name: string): string {
  const id = name.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);
  return id || 'model';
}
