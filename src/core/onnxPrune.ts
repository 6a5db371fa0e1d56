// Why: onnxruntime runs every node of a graph whatever outputs a run asks for, so a run that reads only the logits
// (each of occlusion's hundreds of runs) still computes and copies out every attention matrix, state and hidden
// state a model exposes for the views: a quarter of the bundled Transformer's run time at 256 tokens. This copies a
// model keeping only the graph outputs asked for and the nodes and weights they depend on (through subgraphs too),
// so a second session of it computes exactly those outputs with the same operators. The copy is the original bytes
// less the dropped entries: every entry kept (weights, unknown fields, their order) stays byte for byte. The nodes
// need not be in topological order (onnxruntime accepts that); kept nodes keep theirs. Pure: bytes in, bytes out.

import { Reader, Writer } from 'protobufjs/light';
import { LensError } from './errors';
import { type GraphMsg, type NodeMsg, schema, subgraphs } from './onnxProto';

export interface PrunedModel {
  bytes: Uint8Array;
  /** The graph's top-level nodes, graph outputs and initializers before and after. */
  nodes: [number, number];
  outputs: [number, number];
  initializers: [number, number];
}

/** One field of a message: where it starts and ends (tag included), and a length-delimited field's payload. */
interface Field {
  id: number;
  start: number;
  end: number;
  payload?: [number, number];
}

const fail = (message: string): never => {
  throw new LensError('model-invalid', message);
};

/** The fields of the message in bytes[from, to), positions in `bytes`. */
function fieldsOf(bytes: Uint8Array, from: number, to: number): Field[] {
  const reader = Reader.create(bytes.subarray(from, to));
  const out: Field[] = [];
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if ((tag & 7) === 2) {
      const length = reader.uint32();
      const at = reader.pos;
      reader.skip(length);
      out.push({ id: tag >>> 3, start: from + start, end: from + reader.pos, payload: [from + at, from + at + length] });
    } else {
      reader.skipType(tag & 7);
      out.push({ id: tag >>> 3, start: from + start, end: from + reader.pos });
    }
  }
  return out;
}

/** A TensorProto's name (field 8), read without decoding its data. */
function tensorName(bytes: Uint8Array, [from, to]: [number, number]): string {
  const field = fieldsOf(bytes, from, to).find((f) => f.id === 8 && f.payload);
  return field ? new TextDecoder().decode(bytes.subarray(...field.payload!)) : '';
}

/**
 * Names a graph reads from the graphs around it: used by its nodes (or theirs), or returned as its outputs (an If
 * branch may return an outer value as it is), but defined nowhere inside.
 */
function outerNames(graph: GraphMsg): string[] {
  const nodes = graph.node ?? [];
  const defined = new Set([...(graph.input ?? []).map((i) => i.name), ...(graph.initializer ?? []).map((t) => t.name), ...nodes.flatMap((n) => n.output ?? [])]);
  const used = [...nodes.flatMap((n) => [...(n.input ?? []), ...subgraphs(n).flatMap(outerNames)]), ...(graph.output ?? []).map((o) => o.name)];
  return used.filter((name): name is string => !!name && !defined.has(name));
}

/** The model's graph field and the graph's fields: nodes (decoded), outputs, inputs and initialisers by name. */
function readGraph(bytes: Uint8Array) {
  const { node: nodeType, valueInfo } = schema();
  const graphField = fieldsOf(bytes, 0, bytes.length).find((f) => f.id === 7 && f.payload);
  if (!graphField) return undefined;
  const graph = fieldsOf(bytes, ...graphField.payload!);
  const payload = (f: Field) => bytes.subarray(...f.payload!);
  const nameOf = (f: Field) => (valueInfo.decode(payload(f)) as unknown as { name?: string }).name ?? '';
  return {
    graphField,
    graph,
    nodes: graph.filter((f) => f.id === 1).map((f) => ({ field: f, node: nodeType.decode(payload(f)) as unknown as NodeMsg })),
    outputs: graph.filter((f) => f.id === 12).map((f) => ({ field: f, name: nameOf(f) })),
    inputs: new Set(graph.filter((f) => f.id === 11).map(nameOf)),
    initializers: graph.filter((f) => f.id === 5).map((f) => ({ field: f, name: tensorName(bytes, f.payload!) })),
  };
}

/**
 * A copy of the ONNX model in `bytes` whose graph outputs are only `keep` (each must be one), with the nodes and
 * initializers nothing kept depends on left out; every graph input stays (as do the weights a graph input names,
 * as old exports list them, and the sparse initializers, value_info and functions). Throws LensError('model-invalid')
 * when the bytes are not a model with a graph or an output asked for is not the graph's.
 */
export function pruneToOutputs(bytes: Uint8Array, keep: readonly string[]): PrunedModel {
  let parsed: ReturnType<typeof readGraph>;
  try {
    parsed = readGraph(bytes);
  } catch (err) {
    return fail(`The file is not an ONNX model (${err instanceof Error ? err.message : String(err)}).`);
  }
  if (!parsed) return fail('The file is not an ONNX model: it has no graph.');
  const { graphField, graph, nodes, outputs, inputs, initializers } = parsed;
  const missing = keep.filter((name) => !outputs.some((o) => o.name === name));
  if (missing.length) fail(`The graph has no output ${missing.map((n) => `"${n}"`).join(', ')} to keep.`);

  const producer = new Map<string, number>();
  nodes.forEach(({ node }, i) => (node.output ?? []).forEach((name) => name && producer.set(name, i)));
  const needed = new Set<string>();
  const keptNodes = new Set<number>();
  const pending = [...keep];
  while (pending.length) {
    const name = pending.pop()!;
    if (!name || needed.has(name)) continue;
    needed.add(name);
    const i = producer.get(name);
    if (i === undefined) continue; // an input or a weight (or undefined: onnxruntime says so when it loads the copy)
    if (keptNodes.has(i)) continue;
    keptNodes.add(i);
    const node = nodes[i].node;
    pending.push(...(node.input ?? []), ...subgraphs(node).flatMap(outerNames));
  }
  const dropped = new Set<Field>([
    ...nodes.filter((_, i) => !keptNodes.has(i)).map((n) => n.field),
    ...outputs.filter((o) => !keep.includes(o.name)).map((o) => o.field),
    ...initializers.filter((t) => !needed.has(t.name) && !inputs.has(t.name)).map((t) => t.field),
  ]);
  const kept = graph.filter((f) => !dropped.has(f));
  const graphBytes = kept.reduce((n, f) => n + f.end - f.start, 0);
  const head = Writer.create().uint32((7 << 3) | 2).uint32(graphBytes).finish();
  const parts = [bytes.subarray(0, graphField.start), head, ...kept.map((f) => bytes.subarray(f.start, f.end)), bytes.subarray(graphField.end)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  const count = <T>(list: T[], left: (t: T) => boolean): [number, number] => [list.length, list.filter(left).length];
  return {
    bytes: out,
    nodes: count(nodes, (n) => !dropped.has(n.field)),
    outputs: count(outputs, (o) => !dropped.has(o.field)),
    initializers: count(initializers, (t) => !dropped.has(t.field)),
  };
}
