// Why: a model folder is checked before it is offered, and a manifest must agree with its ONNX graph (names,
// element types, ranks, fixed sizes) without running the model. This reads what is needed from the bytes of
// an ONNX ModelProto with protobufjs, declaring only the fields it reads (field numbers from onnx/onnx.proto),
// so everything else (the nodes, the operators' attributes) is skipped, not decoded. On request it also
// counts NaN values in the weights stored in the file (initializers), which a checksum-less model can hide, in
// one go or in pieces with a pause between them (a host must keep answering while it scans 343 MiB). It
// also reads where a weight kept in an ONNX external-data file lies (TensorProto.external_data "location"), so
// the host can refuse a graph that reads another file than the manifest's `externalData`: onnxruntime opens
// whatever the graph names. Pure: no running, no file system; the host (src/modelFiles.ts) decides what a
// difference means.

import { Root, type Type } from 'protobufjs/light';

/** A dimension as the graph declares it: a fixed size, a symbol (dim_param), or null when the graph says nothing. */
export type OnnxDim = number | string | null;

export interface OnnxValueInfo {
  name: string;
  /** "float32", "int64", …, "not a tensor" for sequence or map values, or "type <n>" for an unknown code. */
  elemType: string;
  /** The dimensions; null when the graph gives no shape (unknown rank). */
  shape: OnnxDim[] | null;
}

export interface OnnxInitializer {
  name: string;
  elemType: string;
  dims: number[];
  /** NaN values among the weights held in the file (external data is not read). */
  nanCount: number;
  /**
   * Where its values lie when they are kept in an external-data file: the "location" the graph gives
   * (relative to the model file), or '' when the tensor says EXTERNAL without one. Absent for weights inside.
   */
  externalLocation?: string;
}

export interface OnnxGraph {
  irVersion: number;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
  initializers: OnnxInitializer[];
}

/** Element types of TensorProto.DataType, by code, in the manifest's spelling where it has one. */
const ELEMENT_TYPES = [
  'undefined', 'float32', 'uint8', 'int8', 'uint16', 'int16', 'int32', 'int64', 'string', 'bool', 'float16', 'float64',
  'uint32', 'uint64', 'complex64', 'complex128', 'bfloat16', 'float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz',
  'uint4', 'int4', 'float4e2m1',
];

/** The subset of onnx.proto read here (proto3 JSON descriptor for protobufjs; unknown fields are skipped). */
const SCHEMA = {
  nested: {
    onnx: {
      nested: {
        ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, graph: { type: 'GraphProto', id: 7 } } },
        GraphProto: {
          fields: {
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        TensorProto: {
          fields: {
            dims: { rule: 'repeated', type: 'int64', id: 1 },
            dataType: { type: 'int32', id: 2 },
            floatData: { rule: 'repeated', type: 'float', id: 4 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
            doubleData: { rule: 'repeated', type: 'double', id: 10 },
            externalData: { rule: 'repeated', type: 'StringStringEntryProto', id: 13 },
            dataLocation: { type: 'int32', id: 14 },
          },
        },
        StringStringEntryProto: { fields: { key: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: {
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: { Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } } },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: { Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } } },
        },
      },
    },
  },
};

/** int64 fields arrive as numbers or as Long objects (when the long package is present). */
type Int64 = number | { toNumber(): number };
interface DimMsg { dimValue?: Int64; dimParam?: string }
interface ValueInfoMsg { name?: string; type?: { tensorType?: { elemType?: number; shape?: { dim?: DimMsg[] } } } }
interface TensorMsg {
  name?: string;
  dims?: Int64[];
  dataType?: number;
  rawData?: Uint8Array;
  floatData?: number[];
  doubleData?: number[];
  externalData?: Array<{ key?: string; value?: string }>;
  dataLocation?: number;
}
interface ModelMsg { irVersion?: Int64; graph?: { input?: ValueInfoMsg[]; output?: ValueInfoMsg[]; initializer?: TensorMsg[] } }

const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);
const toNumber = (v: Int64 | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());
/** TensorProto.DataLocation.EXTERNAL. */
const EXTERNAL = 1;
const elemTypeName = (code: number | undefined) => (code === undefined ? 'undefined' : (ELEMENT_TYPES[code] ?? `type ${code}`));

/** Why the bytes are not an ONNX model; the message says what was found. */
export class OnnxReadError extends Error {}

/**
 * Reads the graph's inputs, outputs and initializers from the bytes of an .onnx file. `countNaN` scans the
 * floating-point weights (a few milliseconds per megabyte); without it every nanCount is 0.
 */
export function readOnnxGraph(bytes: Uint8Array, options: { countNaN?: boolean } = {}): OnnxGraph {
  const { graph, tensors } = decodeGraph(bytes);
  if (options.countNaN) graph.initializers.forEach((t, i) => (t.nanCount = [...nanPieces(tensors[i])].reduce((sum, { count }) => sum + count(), 0)));
  return graph;
}

/**
 * readOnnxGraph with the NaN scan cut into pieces of about NAN_PIECE_BYTES, awaiting `pause` between them: a
 * host that checks a 343 MiB model keeps answering its webviews (the scan alone held its thread for 0.25–0.5 s).
 */
export async function readOnnxGraphInPieces(bytes: Uint8Array, options: { countNaN?: boolean; pause: () => Promise<void> }): Promise<OnnxGraph> {
  const { graph, tensors } = decodeGraph(bytes);
  if (!options.countNaN) return graph;
  // A pause once a piece's worth of bytes was scanned, not after each tensor: each pause waits for a turn, and
  // a model has hundreds of small tensors.
  let scanned = 0;
  for (const [i, t] of graph.initializers.entries()) {
    for (const { count, bytes: size } of nanPieces(tensors[i])) {
      t.nanCount += count();
      scanned += size;
      if (scanned < NAN_PIECE_BYTES) continue;
      scanned = 0;
      await options.pause();
    }
  }
  return graph;
}

/** The graph without NaN counts (all 0), and the decoded initializers in the same order. */
function decodeGraph(bytes: Uint8Array): { graph: OnnxGraph; tensors: TensorMsg[] } {
  // A fresh reflection root per call: the schema is small, and nothing is shared between calls.
  const modelType: Type = Root.fromJSON(SCHEMA).lookupType('onnx.ModelProto');
  if (bytes.length === 0) throw new OnnxReadError('an empty file');
  const text = textStart(bytes);
  if (text !== undefined) {
    const lfs = text.startsWith('version https://git-lfs') ? ' (a Git LFS pointer: fetch the real file with "git lfs pull")' : '';
    throw new OnnxReadError(`a text file that begins ${JSON.stringify(text.slice(0, 40))}${lfs}`);
  }
  let model: ModelMsg;
  try {
    model = modelType.decode(bytes) as unknown as ModelMsg;
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (/index out of range/.test(reason)) throw new OnnxReadError(`data that ends early, ${bytes.length} bytes (is the file complete?)`);
    throw new OnnxReadError(`data that is not protobuf (${reason})`);
  }
  const irVersion = toNumber(model.irVersion);
  if (!model.graph || irVersion <= 0) throw new OnnxReadError(`no ${model.graph ? 'IR version' : 'graph'} (is it an ONNX file?)`);
  const graph = model.graph;
  const tensors = graph.initializer ?? [];
  return {
    tensors,
    graph: {
      irVersion,
      inputs: (graph.input ?? []).map(valueInfo),
      outputs: (graph.output ?? []).map(valueInfo),
      initializers: tensors.map((t) => {
        const location = externalLocation(t);
        return {
          name: t.name ?? '',
          elemType: elemTypeName(t.dataType),
          dims: (t.dims ?? []).map(toNumber),
          nanCount: 0,
          ...(location === undefined ? {} : { externalLocation: location }),
        };
      }),
    },
  };
}

/** The external-data file a tensor's values lie in (its "location" entry), '' when EXTERNAL names none. */
function externalLocation(t: TensorMsg): string | undefined {
  const location = t.externalData?.find((e) => e.key === 'location')?.value;
  if (location !== undefined) return location;
  return t.dataLocation === EXTERNAL || t.externalData?.length ? '' : undefined;
}

/** The file's first bytes when they are plain ASCII text (an ONNX file starts with binary protobuf). */
function textStart(bytes: Uint8Array): string | undefined {
  const head = bytes.subarray(0, 64);
  for (const b of head) if (!(b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127))) return undefined;
  return new TextDecoder().decode(head);
}

function valueInfo(v: ValueInfoMsg): OnnxValueInfo {
  const tensor = v.type?.tensorType;
  if (!tensor) return { name: v.name ?? '', elemType: 'not a tensor', shape: null };
  const shape = tensor.shape && own(tensor, 'shape') ? (tensor.shape.dim ?? []).map(dimOf) : null;
  return { name: v.name ?? '', elemType: elemTypeName(tensor.elemType), shape };
}

function dimOf(d: DimMsg): OnnxDim {
  if (own(d, 'dimValue')) return toNumber(d.dimValue);
  if (own(d, 'dimParam') && d.dimParam) return d.dimParam;
  return null;
}

/** Bytes of raw data one piece of a NaN scan reads (readOnnxGraphInPieces pauses between pieces). */
export const NAN_PIECE_BYTES = 16 * 2 ** 20;

/**
 * A floating-point initializer's NaN count as pieces to run one after another (their sum is the count), read
 * from the bit patterns (little-endian, as ONNX stores them); float_data and double_data are one piece.
 */
function* nanPieces(t: TensorMsg): Generator<{ count: () => number; bytes: number }> {
  for (const values of [t.floatData, t.doubleData]) {
    if (values?.length) yield { count: () => values.reduce((n, x) => n + Number(Number.isNaN(x)), 0), bytes: values.length * 8 };
  }
  const raw = t.rawData;
  if (!raw?.length || t.dataType === undefined || !(t.dataType in RAW_WIDTH)) return;
  // A piece ends on an element's boundary: NAN_PIECE_BYTES is a multiple of every width.
  for (let start = 0; start < raw.length; start += NAN_PIECE_BYTES) {
    const piece = raw.subarray(start, Math.min(start + NAN_PIECE_BYTES, raw.length));
    yield { count: () => countRawNaN(t.dataType!, piece), bytes: piece.length };
  }
}

/** Bytes per value of the floating-point types a NaN scan reads: float32, float16, bfloat16, float64. */
const RAW_WIDTH: Record<number, number> = { 1: 4, 10: 2, 16: 2, 11: 8 };

function countRawNaN(dataType: number, b: Uint8Array): number {
  let n = 0;
  switch (dataType) {
    case 1: // float32: exponent all ones, mantissa not zero
      for (let i = 3; i < b.length; i += 4) if ((b[i] & 0x7f) === 0x7f && b[i - 1] & 0x80 && ((b[i - 1] & 0x7f) | b[i - 2] | b[i - 3])) n++;
      break;
    case 10: // float16
      for (let i = 1; i < b.length; i += 2) if ((b[i] & 0x7c) === 0x7c && ((b[i] & 0x03) | b[i - 1])) n++;
      break;
    case 16: // bfloat16
      for (let i = 1; i < b.length; i += 2) if ((b[i] & 0x7f) === 0x7f && b[i - 1] & 0x80 && b[i - 1] & 0x7f) n++;
      break;
    case 11: // float64
      for (let i = 7; i < b.length; i += 8) if ((b[i] & 0x7f) === 0x7f && (b[i - 1] & 0xf0) === 0xf0 && ((b[i - 1] & 0x0f) | b[i - 2] | b[i - 3] | b[i - 4] | b[i - 5] | b[i - 6] | b[i - 7])) n++;
      break;
  }
  return n;
}
