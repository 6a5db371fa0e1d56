// Why: the scale targets are about models of GPT-2-small's shape (12 layers × 12 heads, 768 wide), which the
// extension never ships. The benchmarks generate one here, with seeded random weights: what a run costs
// depends on the shapes, not on what the weights learned. Written as Hugging Face's Optimum exports GPT-2 with
// output_attentions=True (inputs input_ids and position_ids; outputs logits and attentions.0 … attentions.11,
// one tensor per layer) beside a config.json and the bundled tokenizer, so the extension derives its manifest
// as for any user's export. The "concat" variant instead returns all layers in one [layer, batch, head, query,
// key] tensor, as the bundled models do, whose Concat holds every layer twice at the end of a run; the "half"
// variant casts the attention outputs to float16 in the graph (npm run bench measures what that would save; its manifest
// still says float32, which manifests allow only, so only the benchmark's run reads it); the "past" variant takes a
// key/value cache as Optimum's text-generation-with-past export does (inputs past_key_values.{i}.key/value, outputs
// present.{i}.key/value), so a long text runs in chunks from it (src/core/cacheChunks.ts).
// Usage: tsx test/bench/gpt2Model.ts [--model 768|96|96-concat|96-half|96-past|768-past] [--out .bench/models]

import { mkdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import { Root } from 'protobufjs/light';
import { deriveManifest } from '../../src/core/hfManifest';
import type { ModelManifest, OutputSpec } from '../../src/core/manifest';
import { readOnnxGraph } from '../../src/core/onnxGraph';
import { seededRandom } from '../../src/core/seededRandom';

export interface BenchModelSpec {
  layers: number;
  heads: number;
  width: number;
  /** Positions the learned position embedding covers (the longest input). */
  positions: number;
  attention: 'per-layer' | 'concat';
  /** Attention outputs cast to float16 in the graph (the float32 probabilities then stay internal). */
  half?: boolean;
  /** A key/value cache: past_key_values.{i}.key/value inputs [batch, head, past, head size], present.{i}.key/value outputs. */
  past?: boolean;
  /** Vocabulary size (default 4,096, the bundled tokenizer's); a larger one grows that tokenizer (grownTokenizer) to it, as GPT-2's 50,257. */
  vocab?: number;
}

export const GPT2_SMALL: Omit<BenchModelSpec, 'width' | 'attention'> = { layers: 12, heads: 12, positions: 2048 };
const DEFAULT_VOCAB = 4096; // the bundled byte-level BPE tokenizer's

/**
 * A byte-level BPE tokenizer.json grown to `size` tokens: the bundled one, plus merges of two of its tokens into a
 * new one (at most 16 characters), as a trained BPE's later merges are; seeded, so the same file each time.
 */
export function grownTokenizer(bundled: string, size: number, seed = size): Record<string, unknown> {
  const json = JSON.parse(bundled) as Record<string, unknown>;
  const model = json.model as { vocab: Record<string, number>; merges: string[] };
  const tokens = Object.keys(model.vocab);
  const random = seededRandom(seed);
  let next = tokens.length;
  while (next < size) {
    const [a, b] = [tokens[Math.floor(random() * tokens.length)], tokens[Math.floor(random() * tokens.length)]];
    const merged = a + b;
    if (merged.length > 16 || Object.hasOwn(model.vocab, merged)) continue;
    model.vocab[merged] = next++;
    tokens.push(merged);
    model.merges.push(`${a} ${b}`);
  }
  return json; // <|endoftext|> keeps its id, 4,095, inside the bundled part
}

/** onnx.proto's messages as far as a model is written here (field numbers from onnx/onnx.proto). */
const many = (type: string, id: number) => ({ rule: 'repeated', type, id });
const SCHEMA = {
  nested: {
    ModelProto: { fields: { irVersion: { type: 'int64', id: 1 }, producerName: { type: 'string', id: 2 }, graph: { type: 'GraphProto', id: 7 }, opsetImport: many('OperatorSetIdProto', 8) } },
    OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
    GraphProto: { fields: { node: many('NodeProto', 1), name: { type: 'string', id: 2 }, initializer: many('TensorProto', 5), input: many('ValueInfoProto', 11), output: many('ValueInfoProto', 12) } },
    NodeProto: { fields: { input: many('string', 1), output: many('string', 2), name: { type: 'string', id: 3 }, opType: { type: 'string', id: 4 }, attribute: many('AttributeProto', 5) } },
    AttributeProto: { fields: { name: { type: 'string', id: 1 }, f: { type: 'float', id: 2 }, i: { type: 'int64', id: 3 }, t: { type: 'TensorProto', id: 5 }, ints: many('int64', 8), type: { type: 'int32', id: 20 } } },
    TensorProto: { fields: { dims: many('int64', 1), dataType: { type: 'int32', id: 2 }, name: { type: 'string', id: 8 }, rawData: { type: 'bytes', id: 9 } } },
    ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
    TypeProto: { fields: { tensorType: { type: 'Tensor', id: 1 } }, nested: { Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } } } },
    TensorShapeProto: { fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } }, nested: { Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } } } },
  },
};
const FLOAT = 1;
const INT64 = 7;
const FLOAT16 = 10;
const ATTR = { float: 1, int: 2, tensor: 4, ints: 7 } as const;

type Attr = { name: string; f?: number; i?: number; ints?: number[]; t?: object; type: number };
const attrInt = (name: string, i: number): Attr => ({ name, i, type: ATTR.int });
const attrFloat = (name: string, f: number): Attr => ({ name, f, type: ATTR.float });
const attrInts = (name: string, ints: number[]): Attr => ({ name, ints, type: ATTR.ints });

/** Builds the graph node by node; names are unique by construction. */
class GraphBuilder {
  readonly nodes: object[] = [];
  readonly initializers: object[] = [];
  private count = 0;

  constructor(private readonly random: () => number) {}

  op(opType: string, inputs: string[], attribute: Attr[] = [], output?: string): string {
    const out = output ?? `${opType.toLowerCase()}_${this.count++}`;
    this.nodes.push({ opType, name: `${opType}_${this.count++}`, input: inputs, output: [out], attribute });
    return out;
  }

  /** A float initializer: uniform random with standard deviation std, or filled with a constant. */
  weight(name: string, dims: number[], init: { std: number } | { fill: number }): string {
    const values = new Float32Array(dims.reduce((a, b) => a * b, 1));
    if ('fill' in init) values.fill(init.fill);
    else {
      const half = init.std * Math.sqrt(3); // uniform(-a, a) has standard deviation a / √3
      for (let i = 0; i < values.length; i++) values[i] = (this.random() * 2 - 1) * half;
    }
    this.initializers.push({ name, dims, dataType: FLOAT, rawData: new Uint8Array(values.buffer) });
    return name;
  }

  ints(name: string, values: number[]): string {
    this.initializers.push({ name, dims: [values.length], dataType: INT64, rawData: new Uint8Array(BigInt64Array.from(values, BigInt).buffer) });
    return name;
  }

  scalar(name: string, value: number): string {
    this.initializers.push({ name, dims: [], dataType: FLOAT, rawData: new Uint8Array(Float32Array.of(value).buffer) });
    return name;
  }

  /** x·W + b for a [in, out] weight. */
  linear(x: string, name: string, inputs: number, outputs: number): string {
    const w = this.weight(`${name}.weight`, [inputs, outputs], { std: 0.02 });
    const b = this.weight(`${name}.bias`, [outputs], { fill: 0 });
    return this.op('Add', [this.op('MatMul', [x, w]), b]);
  }

  layerNorm(x: string, name: string, width: number): string {
    const g = this.weight(`${name}.weight`, [width], { fill: 1 });
    const b = this.weight(`${name}.bias`, [width], { fill: 0 });
    return this.op('LayerNormalization', [x, g, b], [attrInt('axis', -1), attrFloat('epsilon', 1e-5)]);
  }
}

const dims = (...d: Array<number | string>) => ({ dim: d.map((x) => (typeof x === 'number' ? { dimValue: x } : { dimParam: x })) });
const valueInfo = (name: string, elemType: number, shape: ReturnType<typeof dims>) => ({ name, type: { tensorType: { elemType, shape } } });

/** The ONNX bytes of a GPT-2-shaped model (pre-LayerNorm blocks, learned positions, tied embeddings, GELU). */
export function gpt2OnnxBytes(spec: BenchModelSpec, seed = 124): Uint8Array {
  const { layers: L, heads: H, width: D, positions } = spec;
  const vocab = spec.vocab ?? DEFAULT_VOCAB;
  if (D % H !== 0) throw new Error(`width ${D} is not a multiple of ${H} heads`);
  const g = new GraphBuilder(seededRandom(seed));
  const wte = g.weight('transformer.wte.weight', [vocab, D], { std: 0.02 });
  const wpe = g.weight('transformer.wpe.weight', [positions, D], { std: 0.01 });
  let x = g.op('Add', [g.op('Gather', [wte, 'input_ids']), g.op('Gather', [wpe, 'position_ids'])]);
  // The causal mask, -1e9 above the diagonal, from the input's length: 1 - tril(ones [T, T]) times -1e9; with a
  // cache of P tokens, the T queries at P..P+T-1 over P + T keys: 1 - tril(ones [T, P + T], P).
  const dh = D / H;
  const pastName = (l: number, kv: string) => `past_key_values.${l}.${kv}`;
  const length = g.op('Slice', [g.op('Shape', ['input_ids']), g.ints('one', [1]), g.ints('two', [2])]);
  const past = spec.past ? g.op('Slice', [g.op('Shape', [pastName(0, 'key')]), g.ints('two_', [2]), g.ints('three', [3])]) : undefined;
  const keys = past ? g.op('Add', [past, length]) : length;
  const ones = g.op('ConstantOfShape', [g.op('Concat', [length, keys], [attrInt('axis', 0)])], [{ name: 'value', t: { dims: [1], dataType: FLOAT, rawData: new Uint8Array(Float32Array.of(1).buffer) }, type: ATTR.tensor }]);
  const diagonal = past ? [g.op('Squeeze', [past, g.ints('zero_axis', [0])])] : [];
  const above = g.op('Sub', [g.scalar('unit', 1), g.op('Trilu', [ones, ...diagonal], [attrInt('upper', 0)])]);
  const mask = g.op('Mul', [above, g.scalar('masked', -1e9)]);
  const headShape = g.ints('head_shape', [0, 0, H, D / H]);
  const wideShape = g.ints('wide_shape', [0, 0, D]);
  const scale = g.scalar('scale', 1 / Math.sqrt(D / H));
  const attentions: string[] = [];
  for (let l = 0; l < L; l++) {
    const p = `transformer.h.${l}`;
    const h = g.layerNorm(x, `${p}.ln_1`, D);
    const split = (name: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [g.linear(h, `${p}.attn.${name}`, D, D), headShape])], [attrInts('perm', perm)]);
    const q = split('q_proj', [0, 2, 1, 3]); // [B, H, T, dh]
    let k = split('k_proj', [0, 2, 3, 1]); // [B, H, dh, T]
    let v = split('v_proj', [0, 2, 1, 3]);
    if (spec.past) {
      // [B, H, P + T, dh] each: the cache, then this run's tokens.
      const present = g.op('Concat', [pastName(l, 'key'), g.op('Transpose', [k], [attrInts('perm', [0, 1, 3, 2])])], [attrInt('axis', 2)], `present.${l}.key`);
      v = g.op('Concat', [pastName(l, 'value'), v], [attrInt('axis', 2)], `present.${l}.value`);
      k = g.op('Transpose', [present], [attrInts('perm', [0, 1, 3, 2])]);
    }
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), mask]);
    const probs = g.op('Softmax', [scores], [attrInt('axis', -1)], spec.attention === 'per-layer' && !spec.half ? `attentions.${l}` : undefined);
    attentions.push(spec.half ? g.op('Cast', [probs], [attrInt('to', FLOAT16)], spec.attention === 'per-layer' ? `attentions.${l}` : undefined) : probs);
    const context = g.op('Reshape', [g.op('Transpose', [g.op('MatMul', [probs, v])], [attrInts('perm', [0, 2, 1, 3])]), wideShape]);
    x = g.op('Add', [x, g.linear(context, `${p}.attn.c_proj`, D, D)]);
    const m = g.linear(g.layerNorm(x, `${p}.ln_2`, D), `${p}.mlp.c_fc`, D, 4 * D);
    // GELU, exactly: m · ½ · (1 + erf(m / √2)).
    const gelu = g.op('Mul', [g.op('Mul', [m, g.scalar(`${p}.half`, 0.5)]), g.op('Add', [g.op('Erf', [g.op('Mul', [m, g.scalar(`${p}.rsqrt2`, Math.SQRT1_2)])]), g.scalar(`${p}.one`, 1)])]);
    x = g.op('Add', [x, g.linear(gelu, `${p}.mlp.c_proj`, 4 * D, D)]);
  }
  const final = g.layerNorm(x, 'transformer.ln_f', D);
  g.op('MatMul', [final, g.op('Transpose', [wte], [attrInts('perm', [1, 0])])], [], 'logits');
  const attentionOutputs =
    spec.attention === 'per-layer'
      ? attentions.map((name) => valueInfo(name, spec.half ? FLOAT16 : FLOAT, dims('batch_size', H, 'sequence_length', spec.past ? 'total_sequence_length' : 'sequence_length')))
      : [valueInfo(g.op('Concat', attentions.map((a) => g.op('Unsqueeze', [a, g.ints(`${a}.axis`, [0])])), [attrInt('axis', 0)], 'attention'), spec.half ? FLOAT16 : FLOAT, dims(L, 'batch_size', H, 'sequence_length', 'sequence_length'))];
  const caches = Array.from({ length: L }, (_, l) => ['key', 'value'].map((kv) => [l, kv] as [number, string])).flat();
  const graph = {
    name: 'gpt2-bench',
    node: g.nodes,
    initializer: g.initializers,
    input: [
      ...['input_ids', 'position_ids'].map((name) => valueInfo(name, INT64, dims('batch_size', 'sequence_length'))),
      ...(spec.past ? caches.map((name) => valueInfo(pastName(...name), FLOAT, dims('batch_size', H, 'past_sequence_length', dh))) : []),
    ],
    output: [
      valueInfo('logits', FLOAT, dims('batch_size', 'sequence_length', vocab)),
      ...attentionOutputs,
      ...(spec.past ? caches.map(([l, kv]) => valueInfo(`present.${l}.${kv}`, FLOAT, dims('batch_size', H, 'total_sequence_length', dh))) : []),
    ],
  };
  const type = Root.fromJSON(SCHEMA).lookupType('ModelProto');
  return type.encode(type.fromObject({ irVersion: 8, producerName: 'attention-lens bench', opsetImport: [{ domain: '', version: 17 }], graph })).finish();
}

/** A model folder's id, e.g. gpt2-bench-768 or gpt2-bench-96-concat. */
export function benchModelId(spec: BenchModelSpec): string {
  const vocab = spec.vocab && spec.vocab !== DEFAULT_VOCAB ? `-v${spec.vocab}` : '';
  return `gpt2-bench-${spec.width}${spec.attention === 'concat' ? '-concat' : ''}${spec.half ? '-half' : ''}${spec.past ? '-past' : ''}${vocab}`;
}

/**
 * A bench model by its short name: "96" (per-layer attention), "96-concat" (one tensor), "96-half" (float16 outputs),
 * "96-past" (a cache); a last "-v<size>" sets the vocabulary ("768-past-v50257": GPT-2's).
 */
export function benchSpec(name: string): BenchModelSpec {
  const [width, ...rest] = name.split('-');
  const vocab = rest.length && /^v\d+$/.test(rest[rest.length - 1]) ? Number(rest.pop()!.slice(1)) : undefined;
  const [variant, extra] = rest;
  if (!/^\d+$/.test(width) || extra !== undefined || (variant !== undefined && !['concat', 'half', 'past'].includes(variant)) || (vocab !== undefined && vocab < DEFAULT_VOCAB)) {
    throw new Error(`bench model "${name}": expected a width, optionally followed by -concat, -half or -past, then optionally -v<vocabulary of at least ${DEFAULT_VOCAB}>`);
  }
  return { ...GPT2_SMALL, width: Number(width), attention: variant === 'concat' ? 'concat' : 'per-layer', half: variant === 'half', past: variant === 'past', ...(vocab ? { vocab } : {}) };
}

/**
 * Writes a model folder under outDir: model.onnx, config.json, tokenizer.json (the bundled one of repoRoot) and the manifest.json the
 * extension derives from them (for the concat variant, with the one attention tensor in place of the per-layer
 * ones). Returns the folder and its manifest.
 */
export function writeBenchModel(outDir: string, spec: BenchModelSpec, repoRoot: string): { folder: string; manifest: ModelManifest; bytes: number } {
  const id = benchModelId(spec);
  const folder = path.join(outDir, id);
  mkdirSync(folder, { recursive: true });
  const bytes = gpt2OnnxBytes(spec);
  writeFileSync(path.join(folder, 'model.onnx'), bytes);
  const bundled = readFileSync(path.join(repoRoot, 'media/models/transformer/tokenizer.json'), 'utf8');
  const vocab = spec.vocab ?? DEFAULT_VOCAB;
  const tokenizer = vocab === DEFAULT_VOCAB ? bundled : JSON.stringify(grownTokenizer(bundled, vocab));
  writeFileSync(path.join(folder, 'tokenizer.json'), tokenizer);
  const config = {
    architectures: ['GPT2LMHeadModel'], model_type: 'gpt2', vocab_size: vocab, n_positions: spec.positions, n_embd: spec.width,
    n_layer: spec.layers, n_head: spec.heads, activation_function: 'gelu', layer_norm_epsilon: 1e-5, tie_word_embeddings: true,
    bos_token_id: DEFAULT_VOCAB - 1, eos_token_id: DEFAULT_VOCAB - 1,
  };
  writeFileSync(path.join(folder, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  const perLayer = spec.attention === 'per-layer' && !spec.half ? bytes : gpt2OnnxBytes({ ...spec, attention: 'per-layer', half: false });
  const derived = deriveManifest({ id, graph: readOnnxGraph(perLayer), config, tokenizer: JSON.parse(tokenizer), onnxFile: 'model.onnx', tokenizerFile: 'tokenizer.json', fileBytes: bytes.length, license: 'MIT' });
  const manifest = spec.attention === 'per-layer' ? derived.manifest : concatManifest(derived.manifest, spec.layers);
  manifest.displayName = `GPT-2-small-shaped benchmark model (${spec.layers} × ${spec.heads}, ${spec.width} wide, random weights${spec.attention === 'concat' ? ', one attention tensor' : ''}${spec.half ? ', float16 attention' : ''}${spec.past ? ', key/value cache' : ''}${vocab !== DEFAULT_VOCAB ? `, ${vocab.toLocaleString('en')} tokens` : ''})`;
  writeFileSync(path.join(folder, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { folder, manifest, bytes: bytes.length };
}

/** The per-layer manifest with its attention outputs replaced by one tensor with a leading layer axis. */
function concatManifest(manifest: ModelManifest, layers: number): ModelManifest {
  const perLayer = manifest.outputs.filter((o) => o.role === 'mixing');
  if (perLayer.length !== layers) throw new Error(`expected ${layers} per-layer attention outputs, found ${perLayer.length}`);
  const { layer: _layer, ...first } = perLayer[0];
  const attention: OutputSpec = { ...first, name: 'attention', axes: [{ name: 'layer', size: layers }, ...first.axes] };
  return { ...manifest, outputs: [...manifest.outputs.filter((o) => o.role !== 'mixing'), attention] };
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : fallback);
  const spec = benchSpec(option('--model', '768'));
  const written = writeBenchModel(path.resolve(option('--out', '.bench/models')), spec, path.join(__dirname, '../..'));
  console.log(`${written.folder}: ${(written.bytes / 2 ** 20).toFixed(1)} MiB`);
}
