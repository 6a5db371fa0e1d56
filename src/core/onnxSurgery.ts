// Why: most ONNX exports in the wild (Optimum's defaults) return logits and caches but no attention. The
// probabilities still exist inside the graph, as the Softmax whose output is multiplied with the values; this
// finds them and returns a copy of the model that also outputs them, named and ordered as Optimum names the
// attention outputs of an export made with output_attentions=True, so the manifest derivation treats both alike.
// The copy is the original bytes with entries appended (an Identity node and a graph output per attention):
// protobuf concatenates repeated fields, so everything else (weights, unknown fields, field order) stays byte
// for byte. Layers and stacks are found from data flow, not names: a stack's layers follow each other in
// topological order, and cross-attention is the Softmax whose keys come from other layers than its queries.
// Pure: bytes in, bytes out; nothing is run.

import { Reader, Root, type Type, Writer } from 'protobufjs/light';
import { LensError } from './errors';
import type { OnnxDim } from './onnxGraph';

export type AttentionGroup = 'attentions' | 'encoder_attentions' | 'decoder_attentions' | 'cross_attentions';
export interface AddedAttention { name: string; layer: number; group: AttentionGroup; shape: OnnxDim[] }
export interface SurgeryResult { bytes: Uint8Array; added: AddedAttention[]; notes: string[] }

/** How to export a model whose attention can be inspected; every refusal below ends with it. */
export const EXPORT_RECIPE =
  'Export the model with its attention kept: load it with attn_implementation="eager" and export with output_attentions=True ' +
  '(torch.onnx.export with output names "logits", "attentions.0", …), without onnxruntime\'s transformer optimizer, which fuses attention into one operator.';

/** onnx.proto's messages as far as they are read or written here (field numbers from onnx/onnx.proto). */
const many = (type: string, id: number) => ({ rule: 'repeated', type, id });
const SCHEMA = {
  nested: {
    ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, graph: { type: 'GraphProto', id: 7 }, opsetImport: many('OperatorSetIdProto', 8) } },
    OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
    GraphProto: {
      fields: { node: many('NodeProto', 1), name: { type: 'string', id: 2 }, initializer: many('TensorProto', 5), input: many('ValueInfoProto', 11), output: many('ValueInfoProto', 12), valueInfo: many('ValueInfoProto', 13) },
    },
    NodeProto: {
      fields: { input: many('string', 1), output: many('string', 2), name: { type: 'string', id: 3 }, opType: { type: 'string', id: 4 }, attribute: many('AttributeProto', 5), domain: { type: 'string', id: 7 } },
    },
    AttributeProto: {
      fields: { name: { type: 'string', id: 1 }, i: { type: 'int64', id: 3 }, t: { type: 'TensorProto', id: 5 }, g: { type: 'GraphProto', id: 6 }, ints: many('int64', 8), graphs: many('GraphProto', 11) },
    },
    TensorProto: {
      fields: {
        dims: many('int64', 1), dataType: { type: 'int32', id: 2 }, int32Data: many('int32', 5), int64Data: many('int64', 7),
        name: { type: 'string', id: 8 }, rawData: { type: 'bytes', id: 9 }, dataLocation: { type: 'int32', id: 14 },
      },
    },
    ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
    TypeProto: { fields: { tensorType: { type: 'Tensor', id: 1 } }, nested: { Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } } } },
    TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } }, nested: { Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } } } },
  },
};

type Int64 = number | { toNumber(): number };
interface TensorMsg { name?: string; dims?: Int64[]; dataType?: number; int32Data?: number[]; int64Data?: Int64[]; rawData?: Uint8Array; dataLocation?: number }
interface AttrMsg { name?: string; i?: Int64; ints?: Int64[]; t?: TensorMsg; g?: GraphMsg; graphs?: GraphMsg[] }
interface NodeMsg { input?: string[]; output?: string[]; name?: string; opType?: string; domain?: string; attribute?: AttrMsg[] }
interface DimMsg { dimValue?: Int64; dimParam?: string }
interface ValueInfoMsg { name?: string; type?: { tensorType?: { elemType?: number; shape?: { dim?: DimMsg[] } } } }
interface GraphMsg { name?: string; node?: NodeMsg[]; initializer?: TensorMsg[]; input?: ValueInfoMsg[]; output?: ValueInfoMsg[]; valueInfo?: ValueInfoMsg[] }
interface ModelMsg { irVersion?: Int64; opsetImport?: Array<{ domain?: string; version?: Int64 }>; graph?: GraphMsg }

let types: { model: Type; graph: Type } | undefined;
const schema = () => {
  if (types) return types;
  const root = Root.fromJSON(SCHEMA);
  return (types = { model: root.lookupType('ModelProto'), graph: root.lookupType('GraphProto') });
};
const num = (v: Int64 | undefined): number => (v === undefined ? 0 : typeof v === 'number' ? v : v.toNumber());
const attr = (n: NodeMsg, name: string) => (n.attribute ?? []).find((a) => a.name === name);
const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);
const subgraphs = (n: NodeMsg) => (n.attribute ?? []).flatMap((a) => [...(a.g ? [a.g] : []), ...(a.graphs ?? [])]);
const fail = (message: string): never => { throw new LensError('model-invalid', message); };

const GENERATION_OPS = new Set(['BeamSearch', 'GreedySearch', 'Sampling', 'WhisperBeamSearch']);
const FUSED_OPS = new Set(['Attention', 'MultiHeadAttention', 'GroupQueryAttention', 'PackedAttention', 'PackedMultiHeadAttention', 'DecoderAttention',
  'DecoderMaskedSelfAttention', 'DecoderMaskedMultiHeadAttention', 'LongformerAttention', 'QAttention', 'QOrderedAttention', 'SparseAttention', 'PagedAttention']);
/** Ops between a Softmax and the MatMul with the values (dropout, casts, masks of fully masked rows, head masks). */
const AFTER_SOFTMAX = new Set(['Dropout', 'Cast', 'Identity', 'Where', 'Mul', 'Reshape']);
/** Ops between the scores MatMul (Q × Kᵀ) and the Softmax: scale, mask, bias, soft-capping. */
const BEFORE_SOFTMAX = new Set(['Add', 'Sub', 'Div', 'Mul', 'Where', 'Cast', 'Identity', 'Max', 'Min', 'Clip', 'Tanh']);
const OPTIMUM_NAME = /^(encoder_|decoder_|cross_)?attentions\.\d+$/;

/** The bytes of a model with `graphExtra` (serialised GraphProto fields) appended to its graph; nothing else moves. */
export function appendToGraph(bytes: Uint8Array, graphExtra: Uint8Array): Uint8Array {
  const reader = Reader.create(bytes);
  let field: [number, number, number] | undefined; // start of the tag, start and end of the graph's bytes
  while (reader.pos < reader.len) {
    const start = reader.pos;
    const tag = reader.uint32();
    if (tag === ((7 << 3) | 2)) {
      const length = reader.uint32();
      field = [start, reader.pos, reader.pos + length];
      reader.skip(length);
    } else reader.skipType(tag & 7);
  }
  if (!field) return fail('the model has no graph');
  const [tagAt, from, to] = field;
  const head = Writer.create().uint32((7 << 3) | 2).uint32(to - from + graphExtra.length).finish();
  const parts = [bytes.subarray(0, tagAt), head, bytes.subarray(from, to), graphExtra, bytes.subarray(to)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/**
 * Adds every attention probability tensor (a Softmax whose output is multiplied with the values) as a graph
 * output named like Optimum's ("attentions.0", …, or encoder_/decoder_/cross_ when the graph has both stacks),
 * ordered by layer; the input bytes are not changed. Throws LensError('model-invalid', …) with the export recipe
 * when attention is fused (com.microsoft Attention / MultiHeadAttention / GroupQueryAttention), generation is one
 * operator (BeamSearch), or no such Softmax exists.
 */
export function exposeAttention(bytes: Uint8Array): SurgeryResult {
  const { model: modelType, graph: graphType } = schema();
  let model: ModelMsg;
  try {
    model = modelType.decode(bytes) as unknown as ModelMsg;
  } catch (err) {
    return fail(`The file is not an ONNX model (${err instanceof Error ? err.message : String(err)}).`);
  }
  const graph = model.graph;
  if (!graph || num(model.irVersion) <= 0) return fail('The file is not an ONNX model (no graph or IR version).');
  const nodes = graph.node ?? [];
  const notes: string[] = [];

  const existing = (graph.output ?? []).map((o) => o.name ?? '').filter((n) => OPTIMUM_NAME.test(n));
  if (existing.length) return { bytes: bytes.slice(), added: [], notes: [`the graph already outputs its attention (${existing.join(', ')}); nothing was added`] };

  const everyNode = [...walkNodes(graph)];
  const generation = everyNode.find((n) => GENERATION_OPS.has(n.opType ?? ''));
  if (generation) {
    fail(`The model is one ${generation.opType} operator that runs the whole generation loop (its decoder is a subgraph inside it), so its attention cannot be read. ` +
      `Use the plain decoder export instead (Optimum's decoder_model.onnx or model.onnx). ${EXPORT_RECIPE}`);
  }
  const fused = everyNode.filter((n) => FUSED_OPS.has(n.opType ?? '') && (n.domain === 'com.microsoft' || n.opType === 'Attention'));
  if (fused.length) {
    const ops = [...new Set(fused.map((n) => `${n.domain ? n.domain + '.' : ''}${n.opType}`))].join(', ');
    fail(`Attention is fused into ${fused.length} ${ops} operator${fused.length === 1 ? '' : 's'}, which compute the attention probabilities internally and never output them: ` +
      `the model cannot be inspected. ${EXPORT_RECIPE}`);
  }
  const imported = new Set((model.opsetImport ?? []).map((o) => o.domain ?? ''));
  if (everyNode.some((n) => n.domain === 'com.microsoft') && !imported.has('com.microsoft')) {
    notes.push('the graph uses com.microsoft operators without importing that domain (onnx.checker rejects it; onnxruntime supplies the import), left as it is');
  }
  if ((graph.initializer ?? []).some((t) => t.dataLocation === 1)) notes.push('weights are stored in an external data file: keep it beside the copy under its original name');

  const order = topologicalOrder(graph, nodes);
  if (order.some((n, i) => i > 0 && n < order[i - 1])) notes.push('the nodes are not in topological order (onnx.checker rejects that; onnxruntime runs it): layers were ordered by data flow');

  const [consumers, producer] = [new Map<string, NodeMsg[]>(), new Map<string, NodeMsg>()];
  for (const n of nodes) for (const name of n.input ?? []) consumers.set(name, [...(consumers.get(name) ?? []), n]);
  for (const n of nodes) for (const name of n.output ?? []) producer.set(name, n);
  const isSoftmax = (n: NodeMsg) => n.opType === 'Softmax' && (n.domain ?? '') === '';
  const softmaxes = order.map((i) => nodes[i]).filter((n) => isSoftmax(n) && feedsValues(n.output?.[0] ?? '', consumers));
  if (!softmaxes.length) {
    const top = new Set(nodes);
    if (everyNode.some((n) => isSoftmax(n) && !top.has(n))) {
      fail('The attention Softmax nodes are inside subgraphs (If branches, as in a merged decoder with and without cache like Optimum\'s decoder_model_merged.onnx), ' +
        `which cannot be made outputs of the model. Use the unmerged export (decoder_model.onnx or model.onnx). ${EXPORT_RECIPE}`);
    }
    fail(`The graph has no attention probabilities to expose: no Softmax whose output is multiplied with the values (MatMul). ${EXPORT_RECIPE}`);
  }

  // One pass in topological order: which candidate Softmaxes lie upstream of each tensor, and the rank, element
  // type and small integer values (reshape targets) of tensors the graph does not annotate.
  const bit = new Map(softmaxes.map((n, i) => [n, i]));
  const words = Math.ceil(softmaxes.length / 32);
  const upstream = new Map<string, Uint32Array>();
  const facts = new Map<string, Facts>();
  const known = new Map<string, Facts>();
  for (const v of [...(graph.input ?? []), ...(graph.valueInfo ?? []), ...(graph.output ?? [])]) known.set(v.name ?? '', factsOfValueInfo(v));
  for (const t of graph.initializer ?? []) known.set(t.name ?? '', factsOfTensor(t));
  const get = (name: string): Facts => known.get(name) ?? facts.get(name) ?? {};
  for (const i of order) {
    const n = nodes[i];
    const set = new Uint32Array(words);
    // Sizes are not data: a reshape to the query's batch size must not make keys depend on the queries' layers.
    const reads = n.opType === 'Shape' || n.opType === 'Size' ? [] : [...(n.input ?? []), ...outerNames(n)];
    for (const name of reads) { const up = upstream.get(name); if (up) for (let w = 0; w < words; w++) set[w] |= up[w]; }
    const b = bit.get(n);
    if (b !== undefined) set[b >> 5] |= 1 << (b & 31);
    const out = infer(n, (n.input ?? []).map(get));
    (n.output ?? []).forEach((name, k) => { upstream.set(name, set); facts.set(name, k === 0 || n.opType === 'Split' ? out : {}); });
  }

  const described = softmaxes.map((n) => {
    const probs = n.output?.[0] ?? '';
    const scores = findBack(n.input?.[0] ?? '', producer, (m) => m.opType === 'MatMul' || m.opType === 'Einsum', BEFORE_SOFTMAX);
    const q = scores?.input?.[0];
    const k = scores?.input?.[1];
    const none = new Uint32Array(words);
    const ancQ = q !== undefined ? (upstream.get(q) ?? none) : undefined;
    const ancK = k !== undefined ? (upstream.get(k) ?? none) : undefined;
    const cross = ancQ && ancK ? !ancQ.every((w, i) => w === ancK[i]) : undefined;
    return { node: n, probs, cross, ancK, shape: shapeOf(get(probs), known.get(probs), q, producer, get) };
  });

  // Stacks: cross-attention reads keys of other layers than its queries; the self-attention upstream of those keys is the encoder's.
  // Only data flow decides; node names are not read. A Softmax whose queries and keys were not found is self-attention.
  for (const d of described.filter((x) => x.cross === undefined)) {
    d.cross = false;
    notes.push(`${d.node.name || d.probs}: queries and keys not found in the graph; taken as self-attention`);
  }
  const encoderBits = new Uint32Array(words);
  for (const d of described) if (d.cross && d.ancK) for (let w = 0; w < words; w++) encoderBits[w] |= d.ancK[w];
  const hasCross = described.some((d) => d.cross);
  const groupOf = (d: (typeof described)[number]): AttentionGroup => {
    if (!hasCross) return 'attentions';
    if (d.cross) return 'cross_attentions';
    const b = bit.get(d.node) ?? 0;
    if (encoderBits[b >> 5] & (1 << (b & 31))) return 'encoder_attentions';
    return 'decoder_attentions';
  };

  const rankOf = (g: AttentionGroup) => ['attentions', 'encoder_attentions', 'decoder_attentions', 'cross_attentions'].indexOf(g);
  const grouped = described.map((d) => ({ ...d, group: groupOf(d) })).sort((x, y) => rankOf(x.group) - rankOf(y.group)); // stable: layers keep their order
  const taken = new Set<string>();
  for (const n of everyNode) for (const name of [...(n.input ?? []), ...(n.output ?? [])]) taken.add(name);
  for (const v of [...(graph.input ?? []), ...(graph.initializer ?? [])]) taken.add(v.name ?? '');
  const counts = new Map<AttentionGroup, number>();
  const [added, extraNodes, extraOutputs]: [AddedAttention[], NodeMsg[], ValueInfoMsg[]] = [[], [], []];
  for (const { group, ...d } of grouped) {
    const layer = counts.get(group) ?? 0;
    counts.set(group, layer + 1);
    const name = `${group}.${layer}`;
    if (taken.has(name)) fail(`The graph already has a tensor named "${name}" that is not a graph output; it cannot be exposed under Optimum's name.`);
    if (d.shape.dims === null) notes.push(`${name}: its shape is not known from the graph; the manifest derivation must find its axes from a run`);
    else if (d.shape.dims.length !== 4) notes.push(`${name}: rank ${d.shape.dims.length}, not [batch, heads, query, key]`);
    added.push({ name, layer, group, shape: d.shape.dims ?? [] });
    extraNodes.push({ input: [d.probs], output: [name], name: `AttentionLens/expose/${name}`, opType: 'Identity', domain: '' });
    const dims = d.shape.dims?.map((v): DimMsg => (typeof v === 'number' ? { dimValue: v } : typeof v === 'string' ? { dimParam: v } : {}));
    extraOutputs.push({ name, type: { tensorType: { elemType: d.shape.elem ?? 1, ...(dims ? { shape: { dim: dims } } : {}) } } });
    if (d.shape.elem === undefined) notes.push(`${name}: element type not known from the graph, declared float32`);
  }
  if (hasCross && (counts.get('cross_attentions') ?? 0) !== (counts.get('decoder_attentions') ?? 0)) {
    notes.push(`${counts.get('decoder_attentions') ?? 0} decoder self-attention and ${counts.get('cross_attentions') ?? 0} cross-attention layers: check the stacks`);
  }
  notes.push(`exposed ${added.length} attention tensors: ${[...counts].map(([g, c]) => `${g} ×${c}`).join(', ')}`);
  const extra = graphType.encode(graphType.fromObject({ node: extraNodes, output: extraOutputs })).finish();
  return { bytes: appendToGraph(bytes, extra), added, notes };
}

/** Every node of the graph and of its subgraphs (If branches, Loop bodies, generation operators' decoders). */
function* walkNodes(graph: GraphMsg): Generator<NodeMsg> {
  for (const n of graph.node ?? []) {
    yield n;
    for (const g of subgraphs(n)) yield* walkNodes(g);
  }
}

/** Names a node's subgraphs read from the enclosing graph (implicit inputs, which order it like real ones). */
function outerNames(n: NodeMsg): string[] {
  const result: string[] = [];
  const visit = (g: GraphMsg, outer: Set<string>) => {
    const inner = new Set([...(g.input ?? []), ...(g.initializer ?? [])].map((v) => v.name ?? ''));
    for (const m of g.node ?? []) for (const name of m.output ?? []) inner.add(name);
    for (const m of g.node ?? []) {
      for (const name of m.input ?? []) if (name && !inner.has(name) && !outer.has(name)) { outer.add(name); result.push(name); }
      for (const sub of subgraphs(m)) visit(sub, outer);
    }
    for (const o of g.output ?? []) if (o.name && !inner.has(o.name) && !outer.has(o.name)) { outer.add(o.name); result.push(o.name); }
  };
  for (const g of subgraphs(n)) visit(g, new Set());
  return result;
}

/** Node indices in an order where every producer precedes its consumers; the file's order where it already is one. */
function topologicalOrder(graph: GraphMsg, nodes: NodeMsg[]): number[] {
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => (n.output ?? []).forEach((name) => { if (name) producer.set(name, i); }));
  const deps = nodes.map((n) => [...(n.input ?? []), ...outerNames(n)].map((name) => producer.get(name)).filter((i): i is number => i !== undefined));
  const state = new Uint8Array(nodes.length); // 0 new, 1 on the stack, 2 placed
  const order: number[] = [];
  for (let start = 0; start < nodes.length; start++) {
    if (state[start]) continue;
    const stack: Array<[number, number]> = [[start, 0]];
    state[start] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const next = deps[top[0]][top[1]++];
      if (next === undefined) { stack.pop(); state[top[0]] = 2; order.push(top[0]); continue; }
      if (state[next] === 1) fail(`The graph "${graph.name ?? ''}" has a cycle through node ${nodes[next].name || nodes[next].opType}.`);
      if (state[next] === 0) { state[next] = 1; stack.push([next, 0]); }
    }
  }
  return order;
}

/** Whether a tensor reaches a MatMul (or Einsum) as its left operand, directly or through AFTER_SOFTMAX ops. */
function feedsValues(name: string, consumers: Map<string, NodeMsg[]>, depth = 0): boolean {
  return (consumers.get(name) ?? []).some((c) =>
    ((c.opType === 'MatMul' || c.opType === 'Einsum') && c.input?.[0] === name) ||
    (depth < 3 && AFTER_SOFTMAX.has(c.opType ?? '') && feedsValues(c.output?.[0] ?? '', consumers, depth + 1)));
}

/** The nearest producer upstream of `name` that matches, walking back only through the ops in `through`. */
function findBack(name: string, producer: Map<string, NodeMsg>, match: (n: NodeMsg) => boolean, through: Set<string>, depth = 0): NodeMsg | undefined {
  const n = producer.get(name);
  if (!n || depth > 6) return undefined;
  if (match(n)) return n;
  if (!through.has(n.opType ?? '')) return undefined;
  for (const input of n.opType === 'Where' ? (n.input ?? []).slice(1) : (n.input ?? [])) {
    const found = findBack(input, producer, match, through, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/** What is known of a tensor: rank, element type, and for small integer tensors their values (null where unknown). */
interface Facts { dims?: OnnxDim[]; rank?: number; elem?: number; values?: Array<number | null> }

function factsOfValueInfo(v: ValueInfoMsg): Facts {
  const t = v.type?.tensorType;
  if (!t) return {};
  const dims = t.shape && own(t, 'shape') ? (t.shape.dim ?? []).map((d): OnnxDim => (own(d, 'dimValue') ? num(d.dimValue) : d.dimParam || null)) : undefined;
  return { elem: t.elemType || undefined, dims, rank: dims?.length };
}

function factsOfTensor(t: TensorMsg): Facts {
  const dims = (t.dims ?? []).map(num);
  const size = dims.reduce((a, b) => a * b, 1);
  let values: number[] | undefined;
  if (size <= 64 && (t.dataType === 7 || t.dataType === 6)) {
    const raw = t.rawData;
    const width = t.dataType === 7 ? 8 : 4;
    if (raw?.length === size * width) {
      const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
      values = Array.from({ length: size }, (_, i) => (width === 8 ? Number(view.getBigInt64(i * 8, true)) : view.getInt32(i * 4, true)));
    } else values = t.dataType === 7 ? (t.int64Data ?? []).map(num) : [...(t.int32Data ?? [])];
    if (values.length !== size) values = undefined;
  }
  return { dims, rank: dims.length, elem: t.dataType, values };
}

/** Forward rules for the first output of the ops attention is built from; {} where the op is not modelled. */
function infer(n: NodeMsg, ins: Facts[]): Facts {
  const [a = {}, b = {}] = ins;
  const rank = (f: Facts) => f.rank ?? f.dims?.length;
  const ints = (key: string) => attr(n, key)?.ints?.map(num);
  switch (n.opType) {
    case 'Constant': { const t = attr(n, 'value')?.t; return t ? factsOfTensor(t) : {}; }
    case 'Shape': return { rank: 1, elem: 7, values: rank(a) !== undefined ? (a.dims ?? Array(rank(a)).fill(null)).map((d) => (typeof d === 'number' ? d : null)) : undefined };
    case 'Gather': {
      const r = rank(a) !== undefined && rank(b) !== undefined ? rank(a)! - 1 + rank(b)! : undefined;
      const i = b.values?.length === 1 ? b.values[0] : undefined;
      const one = typeof i === 'number' ? [a.values ? (a.values[(i + a.values.length) % a.values.length] ?? null) : null] : undefined;
      return { rank: r, elem: a.elem, values: one };
    }
    case 'Unsqueeze': case 'Squeeze': { // a scalar unsqueezed is one element, known or not (a size in a reshape target)
      const axes = (ints('axes') ?? b.values)?.length;
      const r = rank(a) !== undefined && axes !== undefined ? rank(a)! + (n.opType === 'Squeeze' ? -axes : axes) : undefined;
      return { rank: r, elem: a.elem, values: a.values ?? (rank(a) === 0 && n.opType === 'Unsqueeze' ? [null] : undefined) };
    }
    case 'Cast': case 'Identity': return { rank: rank(a), elem: n.opType === 'Cast' ? num(attr(n, 'to')?.i) : a.elem, values: a.values };
    case 'Concat': return { rank: rank(a), elem: a.elem, values: ins.every((f) => f.values) ? ins.flatMap((f) => f.values ?? []) : undefined };
    case 'Slice': {
      const [, starts = {}, ends = {}] = ins;
      const [from, to] = [starts.values?.[0], ends.values?.[0]];
      const plain = (ins[3]?.values ?? [0])[0] === 0 && (ins[4]?.values ?? [1])[0] === 1; // along axis 0, step 1
      if (!plain || from == null || to == null) return { rank: rank(a), elem: a.elem };
      if (!a.values) { // a slice of a shape of unknown rank: its length is still known when both ends count from the same side
        const length = from >= 0 && to >= 0 && to < 2 ** 31 ? to - from : from < 0 && (to < 0 || to >= 2 ** 31) ? Math.min(to, 0) - from : undefined;
        return { rank: rank(a), elem: a.elem, values: length !== undefined && length >= 0 && length <= 64 ? Array(length).fill(null) : undefined };
      }
      const clamp = (v: number) => Math.max(0, Math.min(a.values!.length, v < 0 ? v + a.values!.length : v));
      return { rank: 1, elem: a.elem, values: a.values.slice(clamp(from), clamp(to)) };
    }
    case 'Reshape': return { rank: b.values?.length, elem: a.elem };
    case 'Transpose': return { rank: ints('perm')?.length ?? rank(a), elem: a.elem };
    case 'MatMul': return { rank: rank(a)! >= 2 && rank(b)! >= 2 ? Math.max(rank(a)!, rank(b)!) : undefined, elem: a.elem };
    case 'Add': case 'Sub': case 'Mul': case 'Div': case 'Pow': case 'Max': case 'Min': case 'Where': case 'Expand':
    case 'Equal': case 'Less': case 'Greater': case 'LessOrEqual': case 'GreaterOrEqual': case 'And': case 'Or': {
      const rs = n.opType === 'Expand' ? [rank(a), b.values?.length] : ins.map(rank);
      const elem = n.opType === 'Where' ? (b.elem ?? ins[2]?.elem) : /^(Equal|Less|Greater|And|Or)/.test(n.opType) ? 9 : (a.elem ?? b.elem);
      return { rank: rs.every((r) => r !== undefined) ? Math.max(...(rs as number[])) : undefined, elem, values: arithmetic(n.opType ?? '', a, b) };
    }
    case 'Gemm': case 'Range': return { rank: n.opType === 'Gemm' ? 2 : 1, elem: a.elem };
    case 'ConstantOfShape': return { rank: a.values?.length, elem: attr(n, 'value')?.t?.dataType ?? 1 };
    case 'ReduceMean': case 'ReduceSum': case 'ReduceMax': {
      const axes = ints('axes') ?? b.values;
      const keep = num(attr(n, 'keepdims')?.i ?? 1) !== 0;
      return { rank: keep ? rank(a) : rank(a) !== undefined && axes ? rank(a)! - axes.length : undefined, elem: a.elem };
    }
    case 'Softmax': case 'Dropout': case 'Tanh': case 'Clip': case 'Neg': case 'Exp': case 'Sqrt': case 'Erf': case 'Relu': case 'Sigmoid': case 'Not':
    case 'LayerNormalization': case 'Gelu': case 'FastGelu': case 'SkipLayerNormalization': case 'Trilu': case 'Split':
      return { rank: rank(a), elem: n.opType === 'Not' ? 9 : a.elem };
    default: return {};
  }
}

/** The Softmax output's shape: as the graph declares it, else its rank with the heads read from the query's reshape. */
function shapeOf(f: Facts, declared: Facts | undefined, q: string | undefined, producer: Map<string, NodeMsg>, get: (n: string) => Facts): { dims: OnnxDim[] | null; elem?: number } {
  if (declared?.dims) return { dims: declared.dims, elem: declared.elem ?? f.elem };
  const { rank } = f;
  if (rank === undefined) return { dims: null, elem: f.elem };
  const dims: OnnxDim[] = Array(rank).fill(null);
  // Queries are [..., heads, q, head_dim] = Transpose(Reshape(x, [..., heads, head_dim])): the heads' size is in the reshape target.
  const transpose = q !== undefined ? findBack(q, producer, (m) => m.opType === 'Transpose', new Set(['Mul', 'Div', 'Cast'])) : undefined;
  const perm = transpose ? attr(transpose, 'perm')?.ints?.map(num) : undefined;
  const reshape = transpose ? producer.get(transpose.input?.[0] ?? '') : undefined;
  const target = reshape?.opType === 'Reshape' ? get(reshape.input?.[1] ?? '').values : undefined;
  const heads = perm && target && perm.length === rank && rank >= 3 ? target[perm[rank - 3]] : undefined;
  if (typeof heads === 'number' && heads > 0) dims[rank - 3] = heads;
  return { dims, elem: f.elem };
}

/** Small integer arithmetic on sizes (head_dim = width / heads); null where an operand is unknown. */
function arithmetic(op: string, { values: x }: Facts, { values: y }: Facts): Array<number | null> | undefined {
  if (!x || !y || !['Add', 'Sub', 'Mul', 'Div'].includes(op) || (x.length !== y.length && x.length !== 1 && y.length !== 1)) return undefined;
  return Array.from({ length: Math.max(x.length, y.length) }, (_, i) => {
    const [p, q] = [x[x.length === 1 ? 0 : i], y[y.length === 1 ? 0 : i]];
    if (p === null || q === null) return null;
    return op === 'Add' ? p + q : op === 'Sub' ? p - q : op === 'Mul' ? p * q : q === 0 ? null : Math.trunc(p / q);
  });
}
