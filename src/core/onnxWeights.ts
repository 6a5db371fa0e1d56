// Why: the logit lens needs a few of the model's weights (the final norm, the unembedding), which are
// initialisers inside the ONNX file (or its external-data file) and nowhere else. This reads named
// initialisers from the bytes with protobufjs's wire reader, walking only the fields it needs (field numbers
// from onnx/onnx.proto; everything else, the nodes and the other weights included, is skipped by its length,
// never decoded), converts float16 to float32, and checks the manifest's `readout` against them: each name
// exists, is float32 or float16, and has the shape the model's vocabulary and hidden states imply. Pure: the
// webview engine calls it once at model load, and the host can run the same check (readoutProblems) on the
// initialisers onnxGraph.ts reads. It does not decode through onnxGraph.ts's reflected schema on purpose:
// protobufjs generates that decoder with `new Function`, which the webview's Content Security Policy (no
// 'unsafe-eval') refuses; the wire Reader used here generates no code.

import { Reader } from 'protobufjs/minimal';
import { LensError } from './errors';
import { halfToFloatTable } from './half';
import { type ModelManifest, axisIndex } from './manifest';
import type { ReadoutWeights } from './logitLens';
import { modelStructure } from './modelStructure';

/** Field numbers of onnx.proto: ModelProto.graph, GraphProto.initializer, TensorProto's fields, StringStringEntryProto's. */
const F = { graph: 7, initializer: 5, dims: 1, dataType: 2, floatData: 4, int32Data: 5, name: 8, rawData: 9, externalData: 13, key: 1, value: 2 } as const;
const LENGTH_DELIMITED = 2;

type Int64 = number | { toNumber(): number };
/** The fields of a TensorProto read here; the packed arrays stay encoded until the type is known. */
interface TensorMsg {
  name?: string;
  dims: number[];
  dataType?: number;
  /** float_data: packed little-endian float32s, or single ones. */
  floatData: number[];
  floatPacked: Uint8Array[];
  /** int32_data (float16 bit patterns): packed varints, or single ones. */
  int32Data: number[];
  int32Packed: Uint8Array[];
  rawData?: Uint8Array;
  externalData: Array<{ key?: string; value?: string }>;
}
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

/** Names of TensorProto.DataType codes (onnx.proto), in the manifest's spelling. */
const ELEMENT_TYPES: Record<number, string> = { 1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64', 16: 'bfloat16' };
const elemTypeName = (code: number | undefined) => (code === undefined ? 'undefined' : (ELEMENT_TYPES[code] ?? `type ${code}`));

/** The bytes of a tensor kept in the external-data file, from its location/offset/length entries. */
function externalBytes(t: TensorMsg, external: Uint8Array | undefined, name: string): Uint8Array {
  const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value;
  if (!external) throw new LensError('model-invalid', `initialiser "${name}": expected its values in the external-data file "${entry('location') ?? ''}", but no external data was loaded (manifest field externalData).`);
  const offset = Number(entry('offset') ?? 0);
  const length = entry('length') !== undefined ? Number(entry('length')) : external.length - offset;
  if (!(offset >= 0 && length >= 0 && offset + length <= external.length)) {
    throw new LensError('model-invalid', `initialiser "${name}": expected bytes ${offset}..${offset + length} of the external-data file, which has ${external.length}.`);
  }
  return external.subarray(offset, offset + length);
}

function floatsOf(t: TensorMsg, external: Uint8Array | undefined, name: string): Float32Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  const raw = t.externalData.length ? externalBytes(t, external, name) : t.rawData;
  const half = t.dataType === FLOAT16 ? halfToFloatTable() : undefined;
  const data = new Float32Array(count);
  let n = 0;
  const put = (v: number) => {
    if (n < count) data[n] = v;
    n++;
  };
  if (raw && raw.length) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const size = half ? 2 : 4;
    if (raw.length !== count * size) throw new LensError('model-invalid', `initialiser "${name}": expected ${count * size} bytes for its ${count} values, found ${raw.length}.`);
    for (let i = 0; i < count; i++) data[i] = half ? half[view.getUint16(i * 2, true)] : view.getFloat32(i * 4, true);
    return data;
  }
  if (half) {
    // float16 bit patterns in int32_data.
    t.int32Data.forEach((v) => put(half[v & 0xffff]));
    for (const packed of t.int32Packed) {
      const r = Reader.create(packed);
      while (r.pos < r.len) put(half[r.uint32() & 0xffff]);
    }
  } else {
    t.floatData.forEach(put);
    for (const packed of t.floatPacked) {
      const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
      for (let i = 0; i + 4 <= packed.length; i += 4) put(view.getFloat32(i, true));
    }
  }
  if (n !== count) throw new LensError('model-invalid', `initialiser "${name}": expected ${count} values, found ${n}.`);
  return data;
}

/** The fields of an encoded TensorProto this module reads. */
function decodeTensor(message: Uint8Array): TensorMsg {
  const t: TensorMsg = { dims: [], floatData: [], floatPacked: [], int32Data: [], int32Packed: [], externalData: [] };
  const r = Reader.create(message);
  const int64 = () => {
    const v = r.int64() as unknown as Int64;
    return typeof v === 'number' ? v : v.toNumber();
  };
  while (r.pos < r.len) {
    const tag = r.uint32();
    const field = tag >>> 3;
    const packed = (tag & 7) === LENGTH_DELIMITED;
    if (field === F.dims) {
      if (!packed) t.dims.push(int64());
      else for (const end = r.uint32() + r.pos; r.pos < end; ) t.dims.push(int64());
    } else if (field === F.dataType) t.dataType = r.int32();
    else if (field === F.floatData) {
      if (packed) t.floatPacked.push(r.bytes());
      else t.floatData.push(r.float());
    } else if (field === F.int32Data) {
      if (packed) t.int32Packed.push(r.bytes());
      else t.int32Data.push(r.int32());
    } else if (field === F.name && packed) t.name = r.string();
    else if (field === F.rawData && packed) t.rawData = r.bytes();
    else if (field === F.externalData && packed) {
      const entry = Reader.create(r.bytes());
      const kv: { key?: string; value?: string } = {};
      while (entry.pos < entry.len) {
        const et = entry.uint32();
        if (et >>> 3 === F.key) kv.key = entry.string();
        else if (et >>> 3 === F.value) kv.value = entry.string();
        else entry.skipType(et & 7);
      }
      t.externalData.push(kv);
    } else r.skipType(tag & 7);
  }
  return t;
}

/**
 * The encoded TensorProto of each wanted initialiser, by name: the graph's fields are walked without being
 * decoded (a model's other weights, possibly gigabytes of them, are skipped by their lengths).
 */
function initialiserMessages(bytes: Uint8Array, wanted: ReadonlySet<string>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const model = Reader.create(bytes);
  while (model.pos < model.len) {
    const tag = model.uint32();
    if (tag >>> 3 !== F.graph || (tag & 7) !== LENGTH_DELIMITED) {
      model.skipType(tag & 7);
      continue;
    }
    const end = model.uint32() + model.pos;
    while (model.pos < end) {
      const field = model.uint32();
      if (field >>> 3 !== F.initializer || (field & 7) !== LENGTH_DELIMITED) {
        model.skipType(field & 7);
        continue;
      }
      const length = model.uint32();
      const message = bytes.subarray(model.pos, model.pos + length);
      model.skip(length);
      const name = tensorName(message);
      if (wanted.has(name) && !out.has(name)) out.set(name, message);
    }
  }
  return out;
}

/** TensorProto.name of an encoded tensor, its other fields skipped. */
function tensorName(message: Uint8Array): string {
  const r = Reader.create(message);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag >>> 3 === F.name && (tag & 7) === LENGTH_DELIMITED) return r.string();
    r.skipType(tag & 7);
  }
  return '';
}

/**
 * Reads the named initialisers of an ONNX file: what each one is (`infos`, names not in the graph left out)
 * and, for the float32 and float16 ones, their values as float32 (`found`).
 */
export function readInitialisers(bytes: Uint8Array, names: readonly string[], externalData?: Uint8Array): { found: Map<string, FloatInitialiser>; infos: InitialiserInfo[] } {
  let messages: Map<string, Uint8Array>;
  try {
    messages = initialiserMessages(bytes, new Set(names));
  } catch (err) {
    throw new LensError('model-invalid', `expected an ONNX model, found data that does not decode (${err instanceof Error ? err.message : String(err)}).`);
  }
  const found = new Map<string, FloatInitialiser>();
  const infos: InitialiserInfo[] = [];
  for (const [name, message] of messages) {
    const t = decodeTensor(message);
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
