// Why: the logit lens needs a few of the model's weights (the final norm, the unembedding), which are
// initialisers inside the ONNX file (or its external-data file) and nowhere else. onnxGraph.ts reads the named
// initialisers' stored values (raw_data stays a view of the file's bytes); this converts them to float32
// (float16 included) and checks the manifest's `readout` against them: each name exists, is float32 or
// float16, and has the shape the model's vocabulary and hidden states imply. Pure: the webview engine calls it
// once at model load, and the host can run the same check (readoutProblems) on the initialisers onnxGraph.ts
// reads.

import { LensError } from './errors';
import type { ReadoutWeights } from './logitLens';
import { type ModelManifest, axisIndex } from './manifest';
import { modelStructure } from './modelStructure';
import { type OnnxTensorData, OnnxReadError, elemTypeName, readInitializerData } from './onnxGraph';

const FLOAT32 = 1;
const FLOAT16 = 10;

/** An initialiser as float32 values. */
export interface FloatInitialiser {
  dims: number[];
  data: Float32Array;
}

/** An initialiser's name, element type ("float32", "float16", "int64", …) and dimensions, as onnxGraph.ts reports them too. */
export interface InitialiserInfo {
  name: string;
  elemType: string;
  dims: number[];
}

/** IEEE half-precision bits to a number. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** The bytes of a tensor kept in the external-data file, from its location/offset/length entries. */
function externalBytes(t: OnnxTensorData, external: Uint8Array | undefined, name: string): Uint8Array {
  const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
  if (!external) throw new LensError('model-invalid', `initialiser "${name}": expected its values in the external-data file "${entry('location') ?? ''}", but no external data was loaded (manifest field externalData).`);
  const offset = Number(entry('offset') ?? 0);
  const length = entry('length') !== undefined ? Number(entry('length')) : external.length - offset;
  if (!(offset >= 0 && length >= 0 && offset + length <= external.length)) {
    throw new LensError('model-invalid', `initialiser "${name}": expected bytes ${offset}..${offset + length} of the external-data file, which has ${external.length}.`);
  }
  return external.subarray(offset, offset + length);
}

/** Every float16 bit pattern as a float32 (a lookup table is much faster than halfToFloat per value). */
function halfTable(): Float32Array {
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) table[bits] = halfToFloat(bits);
  return table;
}

function floatsOf(t: OnnxTensorData, external: Uint8Array | undefined, name: string): Float32Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  const raw = t.externalData.length ? externalBytes(t, external, name) : t.rawData;
  const half = t.dataType === FLOAT16 ? halfTable() : undefined;
  if (raw && raw.length) {
    const data = new Float32Array(count);
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = half ? 2 : 4;
    if (raw.length !== count * size) throw new LensError('model-invalid', `initialiser "${name}": expected ${count * size} bytes for its ${count} values, found ${raw.length}.`);
    for (let i = 0; i < count; i++) data[i] = half ? half[view.getUint16(i * 2, true)] : view.getFloat32(i * 4, true);
    return data;
  }
  // float16 bit patterns in int32_data, float32 in float_data.
  const values = half ? t.int32Data.map((v) => half[v & 0xffff]) : t.floatData;
  if (values.length !== count) throw new LensError('model-invalid', `initialiser "${name}": expected ${count} values, found ${values.length}.`);
  return Float32Array.from(values);
}

/**
 * Reads the named initialisers of an ONNX file: what each one is (`infos`, names not in the graph left out)
 * and, for the float32 and float16 ones, their values as float32 (`found`).
 */
export function readInitialisers(bytes: Uint8Array, names: readonly string[], externalData?: Uint8Array): { found: Map<string, FloatInitialiser>; infos: InitialiserInfo[] } {
  let tensors: Map<string, OnnxTensorData>;
  try {
    tensors = readInitializerData(bytes, names);
  } catch (err) {
    if (!(err instanceof OnnxReadError)) throw err;
    throw new LensError('model-invalid', `expected an ONNX model, found data that does not decode (${err.message}).`);
  }
  const found = new Map<string, FloatInitialiser>();
  const infos: InitialiserInfo[] = [];
  for (const [name, t] of tensors) {
    infos.push({ name, elemType: elemTypeName(t.dataType), dims: t.dims });
    if (t.dataType === FLOAT32 || t.dataType === FLOAT16) found.set(name, { dims: t.dims, data: floatsOf(t, externalData, name) });
  }
  return { found, infos };
}

/** A fixed size of an axis of the model's role outputs, or undefined when it is symbolic or absent. */
function fixedSize(manifest: ModelManifest, role: 'logits' | 'hidden_states', axis: 'vocab' | 'feature'): number | undefined {
  const structure = modelStructure(manifest);
  const spec = role === 'logits' ? structure.logits : structure.hiddenStates[0];
  const size = spec ? spec.axes[axisIndex(spec, axis)]?.size : undefined;
  return typeof size === 'number' ? size : undefined;
}

/** The readout's initialisers by manifest field, in the order they are checked. */
function readoutFields(manifest: ModelManifest): Array<[string, string]> {
  const spec = manifest.readout;
  if (!spec) return [];
  const fields: Array<[string, string]> = [['readout.unembedding.weight', spec.unembedding.weight]];
  if (spec.unembedding.bias) fields.push(['readout.unembedding.bias', spec.unembedding.bias]);
  if (spec.norm) fields.push(['readout.norm.weight', spec.norm.weight]);
  if (spec.norm?.bias) fields.push(['readout.norm.bias', spec.norm.bias]);
  return fields;
}

/**
 * What is wrong with a manifest's readout against the graph's initialisers ("field: expected …, found …"
 * each; none when it fits): every one it names exists, is float32 or float16, and has the shape its role needs
 * ([V, F] or [F, V] with V the logits' vocabulary and F the hidden states' features where the manifest fixes
 * them; norm weight and bias [F]; bias [V]). Pure: the host can check a graph read by onnxGraph.ts with it.
 */
export function readoutProblems(manifest: ModelManifest, initialisers: readonly InitialiserInfo[]): string[] {
  const spec = manifest.readout;
  if (!spec) return [];
  const byName = new Map(initialisers.map((i) => [i.name, i]));
  const problems: string[] = [];
  const usable = readoutFields(manifest).every(([field, name]) => {
    const info = byName.get(name);
    const ok = info !== undefined && (info.elemType === 'float32' || info.elemType === 'float16');
    if (!ok) problems.push(`${field}: expected a float32 or float16 initialiser "${name}", found ${info ? `one of element type ${info.elemType}` : 'no initialiser of that name'}.`);
    return ok;
  });
  if (!usable) return problems;
  const shape = (dims: readonly (number | string)[]) => `[${dims.join(', ')}]`;
  const u = byName.get(spec.unembedding.weight)!;
  const vocabFirst = spec.unembedding.layout === 'vocab_feature';
  const wantV = fixedSize(manifest, 'logits', 'vocab');
  const wantF = fixedSize(manifest, 'hidden_states', 'feature');
  const [V, F] = vocabFirst ? u.dims : [u.dims[1], u.dims[0]];
  if (u.dims.length !== 2 || (wantV !== undefined && V !== wantV) || (wantF !== undefined && F !== wantF)) {
    const expected = vocabFirst ? [wantV ?? 'vocab', wantF ?? 'feature'] : [wantF ?? 'feature', wantV ?? 'vocab'];
    return [`readout.unembedding.weight: expected "${u.name}" of shape ${shape(expected)} (${spec.unembedding.layout}: the logits' vocabulary and the hidden states' features), found ${shape(u.dims)}.`];
  }
  const vector = (field: string, name: string | undefined, size: number, of: string) => {
    const dims = name ? byName.get(name)!.dims : [size];
    if (dims.length !== 1 || dims[0] !== size) problems.push(`${field}: expected "${name}" of shape [${size}] (${of}), found ${shape(dims)}.`);
  };
  vector('readout.unembedding.bias', spec.unembedding.bias, V, 'one per vocabulary entry');
  vector('readout.norm.weight', spec.norm?.weight, F, 'one per feature');
  vector('readout.norm.bias', spec.norm?.bias, F, 'one per feature');
  return problems;
}

/**
 * The readout weights a manifest names, read from its model's bytes (and external data) and checked with
 * readoutProblems; a feature_vocab unembedding is transposed to [V, F]. Errors name the model file and the
 * manifest field, with what was expected and what was found.
 */
export function readoutWeights(manifest: ModelManifest, bytes: Uint8Array, externalData?: Uint8Array): ReadoutWeights {
  const spec = manifest.readout;
  const file = `${manifest.id}/${manifest.model ?? 'model.onnx'}`;
  if (!spec) throw new LensError('model-invalid', `${file}: the manifest declares no readout.`);
  const { found, infos } = readInitialisers(bytes, readoutFields(manifest).map(([, name]) => name), externalData);
  const problems = readoutProblems(manifest, infos);
  if (problems.length) throw new LensError('model-invalid', `${file}: ${problems.join(' ')}`);
  const u = found.get(spec.unembedding.weight)!;
  const vocabFirst = spec.unembedding.layout === 'vocab_feature';
  const [V, F] = vocabFirst ? u.dims : [u.dims[1], u.dims[0]];
  let unembedding = u.data;
  if (!vocabFirst) {
    unembedding = new Float32Array(V * F);
    for (let f = 0; f < F; f++) for (let v = 0; v < V; v++) unembedding[v * F + f] = u.data[f * V + v];
  }
  const values = (name: string | undefined) => (name ? found.get(name)!.data : undefined);
  const norm = spec.norm;
  return {
    ...(norm ? { norm: { kind: norm.kind, weight: values(norm.weight)!, ...(norm.bias ? { bias: values(norm.bias) } : {}), epsilon: norm.epsilon } } : {}),
    unembedding,
    ...(spec.unembedding.bias ? { bias: values(spec.unembedding.bias) } : {}),
    vocab: V,
    features: F,
  };
}
