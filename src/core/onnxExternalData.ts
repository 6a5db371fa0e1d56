// Why: onnxruntime-web copies a model's bytes into its wasm heap, then builds its weights from that copy, so a
// single-file model takes twice its size there while the session is created, and the heap never shrinks: a
// 343 MiB model held about 1.2 GB of the webview. Weights stored as external data are instead copied once,
// each straight from the mounted file into its tensor. This rewrites a model so that its large initialisers
// point into the model's own bytes (ONNX external data: location, offset, length) and drops their raw_data
// from a small copy of the graph: the original bytes are then mounted as the external data file, no weight is
// copied here, and the heap holds each weight once. Only the top graph's initialisers move (those of
// subgraphs and any already external stay as they are). Pure: bytes in, bytes out.

import { Reader, Writer } from 'protobufjs/minimal';

/** Initialisers whose raw_data is at least this long move to external data (smaller ones stay inline). */
export const EXTERNAL_MIN_BYTES = 1024;

/** onnx.proto field numbers (ModelProto.graph, GraphProto.initializer, TensorProto's data fields). */
const MODEL_GRAPH = 7;
const GRAPH_INITIALIZER = 5;
const TENSOR_RAW_DATA = 9;
const TENSOR_EXTERNAL_DATA = 13;
const TENSOR_DATA_LOCATION = 14;
const LENGTH_DELIMITED = 2;
const EXTERNAL = 1;

export interface ExternalisedModel {
  /** The model without the moved weights' bytes: what the session is created from. */
  graph: Uint8Array;
  /** How many initialisers now point into the original bytes, and their bytes. */
  moved: number;
  movedBytes: number;
}

/** A field of a message: its tag, where it starts (tag included) and ends, and a length-delimited body's range. */
interface Field {
  id: number;
  wire: number;
  start: number;
  end: number;
  body?: { start: number; end: number };
}

/** The fields of the message in bytes[start, end), in order. */
function fields(bytes: Uint8Array, start: number, end: number): Field[] {
  const reader = new Reader(bytes.subarray(0, end));
  reader.pos = start;
  const out: Field[] = [];
  while (reader.pos < end) {
    const at = reader.pos;
    const tag = reader.uint32();
    const id = tag >>> 3;
    const wire = tag & 7;
    if (wire === LENGTH_DELIMITED) {
      const length = reader.uint32();
      const body = { start: reader.pos, end: reader.pos + length };
      if (body.end > end) throw new Error(`field ${id} at byte ${at} runs past its message (${body.end} > ${end})`);
      reader.pos = body.end;
      out.push({ id, wire, start: at, end: body.end, body });
    } else {
      reader.skipType(wire);
      out.push({ id, wire, start: at, end: reader.pos });
    }
  }
  return out;
}

/** A length-delimited field with this body. */
function lengthDelimited(id: number, body: Uint8Array[]): Uint8Array[] {
  const length = body.reduce((n, b) => n + b.length, 0);
  return [Writer.create().uint32((id << 3) | LENGTH_DELIMITED).uint32(length).finish(), ...body];
}

/** StringStringEntryProto { key = 1, value = 2 } as a TensorProto.external_data entry. */
function externalEntry(key: string, value: string): Uint8Array[] {
  return lengthDelimited(TENSOR_EXTERNAL_DATA, [Writer.create().uint32((1 << 3) | LENGTH_DELIMITED).string(key).uint32((2 << 3) | LENGTH_DELIMITED).string(value).finish()]);
}

/**
 * The model with every top-graph initialiser of at least minBytes of raw_data pointing into `bytes` itself as
 * the external data file named `location` (mount `bytes` under that name when creating the session), or
 * undefined when none would move (nothing to gain). Throws on bytes that are not a well-formed ModelProto.
 */
export function externaliseWeights(bytes: Uint8Array, location: string, minBytes = EXTERNAL_MIN_BYTES): ExternalisedModel | undefined {
  let moved = 0;
  let movedBytes = 0;
  const tensor = (t: Field): Uint8Array[] => {
    const parts = fields(bytes, t.body!.start, t.body!.end);
    const raw = parts.find((f) => f.id === TENSOR_RAW_DATA && f.wire === LENGTH_DELIMITED);
    const external = parts.some((f) => f.id === TENSOR_DATA_LOCATION || f.id === TENSOR_EXTERNAL_DATA);
    if (!raw || external || raw.body!.end - raw.body!.start < minBytes) return [bytes.subarray(t.start, t.end)];
    moved++;
    movedBytes += raw.body!.end - raw.body!.start;
    const body = [
      ...parts.filter((f) => f !== raw).map((f) => bytes.subarray(f.start, f.end)),
      ...externalEntry('location', location),
      ...externalEntry('offset', String(raw.body!.start)),
      ...externalEntry('length', String(raw.body!.end - raw.body!.start)),
      Writer.create().uint32((TENSOR_DATA_LOCATION << 3) | 0).int32(EXTERNAL).finish(),
    ];
    return lengthDelimited(GRAPH_INITIALIZER, body);
  };
  const graph = (g: Field): Uint8Array[] =>
    lengthDelimited(
      MODEL_GRAPH,
      fields(bytes, g.body!.start, g.body!.end).flatMap((f) => (f.id === GRAPH_INITIALIZER && f.wire === LENGTH_DELIMITED ? tensor(f) : [bytes.subarray(f.start, f.end)])),
    );
  const model = fields(bytes, 0, bytes.length).flatMap((f) => (f.id === MODEL_GRAPH && f.wire === LENGTH_DELIMITED ? graph(f) : [bytes.subarray(f.start, f.end)]));
  if (!moved) return undefined;
  const out = new Uint8Array(model.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const part of model) {
    out.set(part, at);
    at += part.length;
  }
  return { graph: out, moved, movedBytes };
}
