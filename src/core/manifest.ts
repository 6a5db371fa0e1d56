// Model manifest, schema 2: the JSON beside each model.onnx that says what every graph input and output
// means. Each tensor names its axes (layer, batch, head, query, key, position, …) and its role from an open,
// documented vocabulary; sequence axes name the token sequence they index by its length symbol (T, S, …).
// What the product can show is derived from these roles (see modelStructure.ts), never from the
// `architecture` string, which is only a label. The validator lives in manifestValidator.ts.

/** Token sequences a model reads are declared by id; each sequence axis names one by its length symbol. */
export interface SequenceSpec {
  /** Symbol used as the size of this sequence's axes, e.g. "T", "S". */
  length: string;
  /** Shown in the UI, e.g. "Source", "Target". */
  label?: string;
  /** Run the tokenizer's post-processor on this sequence ([CLS] … [SEP], … </s>). Default false. */
  addSpecialTokens?: boolean;
  /** Token strings put first, e.g. a decoder's start token. Default none. */
  prefix?: string[];
}

/** Axis names the product understands. */
export const AXIS_NAMES = ['batch', 'layer', 'head', 'query', 'key', 'position', 'vocab', 'gate', 'unit', 'feature', 'state', 'past'] as const;
export type AxisName = (typeof AXIS_NAMES)[number];
/** Axes that index a token sequence: their size is a sequence's length symbol. */
export const SEQUENCE_AXES: readonly AxisName[] = ['query', 'key', 'position'];

export interface AxisSpec {
  name: AxisName;
  /** A fixed size, or a symbol: a sequence's length ("T") or any other symbol (free; e.g. "B"). Absent means free. */
  size?: number | string;
}

/** What a graph input carries; the engine builds every feed from these. */
export const INPUT_ROLES = ['input_ids', 'attention_mask', 'position_ids', 'token_type_ids', 'initial_state', 'empty_cache'] as const;
export type InputRole = (typeof INPUT_ROLES)[number];
/**
 * Input roles the engine fills with integers along one sequence. Their axes are exactly [batch, position]
 * or [position, batch] (batch optional): the engine lays the values out for either order.
 */
export const INTEGER_INPUT_ROLES: readonly InputRole[] = ['input_ids', 'attention_mask', 'position_ids', 'token_type_ids'];

/**
 * What a graph output carries. The vocabulary is open: new roles are added here with their documentation,
 * and `ignored` marks outputs a model has but nothing reads (e.g. a Hugging Face `present.*` cache).
 */
export const OUTPUT_ROLES = {
  logits: 'Unnormalised token scores [batch, position, vocab]; `predicts` says whether position t scores token t+1 ("next") or token t ("current", masked language models).',
  mixing: 'An attention-like W over a query and a key axis of one sequence [layer?, batch, head?, query, key]; `structure` causal, bidirectional or windowed; `normalised` when rows sum to 1.',
  cross_mixing: 'W from the positions of one sequence (query) to another (key), e.g. decoder-to-encoder cross-attention [layer?, batch, head?, query, key].',
  gates: 'Recurrent gate activations [layer, batch, position, gate, unit] (at most one such output); `gates` names each with its meaning (keep, write, candidate, output, reset).',
  state: 'A recurrent state after every token [layer, batch, position, unit…], or one tensor per layer ("layer": i, no layer axis); `state` names it ("c", "h") and per-layer tensors of one state are stacked.',
  final_state: 'A recurrent state after the last token [layer, batch, unit…]; fed back through the initial_state input with the same `state` to run long text in chunks.',
  decay: 'A per-token keep factor in [0, 1] [layer, batch, position, unit|head] (retention-like models): retention reads keep = decay and write = 1 − decay.',
  hidden_states: 'The residual stream or hidden vectors [layer, batch, position, feature]; the views read those of the sequence the logits score.',
  cache: 'Keys and values kept for later tokens [layer?, batch, head?, position, feature]: the memory the context takes.',
  selective_scan:
    'One tensor of a selective state-space scan (S6), named by `part` (see SELECTIVE_SCAN_PARTS): h_t = exp(Δ_t ⊙ A) ⊙ h_{t-1} + (Δ_t ⊙ x_t) ⊗ B_t, y_t = C_t · h_t + D ⊙ x_t. Parts "x", "delta", "A", "B" and "C" are required ("D" and "y" optional), each once, with a layer axis; from them the hidden attention α_d(t, k) = C_t · exp(A_d Σ_{s=k+1..t} Δ_s[d]) ⊙ Δ_k[d] B_k is derived (Ali, Zimerman & Wolf 2024), a signed, causal W that is not normalised.',
  mixing_parts:
    'The factors of a linear attention, named by `part` (see MIXING_PARTS): "query" φ(q), "key" φ(k), "value" v and "output" Σ_k W(t, k) v_k, each [layer, batch, head, position, feature]; "query" and "key" are required. W(t, k) = φ(q_t)·φ(k_k) / Σ_{m≤t} φ(q_t)·φ(k_m).',
  ignored: 'An output nothing reads.',
} as const;
export type OutputRole = keyof typeof OUTPUT_ROLES;

/**
 * The parts of a selective scan (role `selective_scan`) and each one's axes besides an optional batch axis, in
 * any order: "x" the scan's input (after the convolution and SiLU), "delta" the positive step Δ, "B" and "C"
 * the input-dependent input and output vectors, "A" the negative diagonal state matrix and "D" the skip (both
 * parameters: no position axis), "y" the scan's output including D ⊙ x, before any gate.
 */
export const SELECTIVE_SCAN_PARTS = {
  x: ['layer', 'position', 'unit'],
  delta: ['layer', 'position', 'unit'],
  A: ['layer', 'unit', 'state'],
  B: ['layer', 'position', 'state'],
  C: ['layer', 'position', 'state'],
  D: ['layer', 'unit'],
  y: ['layer', 'position', 'unit'],
} as const satisfies Record<string, readonly AxisName[]>;
export type SelectiveScanPart = keyof typeof SELECTIVE_SCAN_PARTS;
/** The parts a selective scan must export: enough to derive its hidden attention. */
export const REQUIRED_SCAN_PARTS: readonly SelectiveScanPart[] = ['x', 'delta', 'A', 'B', 'C'];

/**
 * The parts of a linear attention (role `mixing_parts`) and each one's axes besides an optional batch axis, in
 * any order: "query" φ(q_t), "key" φ(k_t), "value" v_t, "output" Σ_k W(t, k) v_k.
 */
export const MIXING_PARTS = {
  query: ['layer', 'head', 'position', 'feature'],
  key: ['layer', 'head', 'position', 'feature'],
  value: ['layer', 'head', 'position', 'feature'],
  output: ['layer', 'head', 'position', 'feature'],
} as const satisfies Record<string, readonly AxisName[]>;
export type MixingPart = keyof typeof MIXING_PARTS;
/** The parts a linear attention must export: W needs both. */
export const REQUIRED_MIXING_PARTS: readonly MixingPart[] = ['query', 'key'];

export const MIXING_STRUCTURES = ['causal', 'bidirectional', 'windowed'] as const;
export type MixingStructure = (typeof MIXING_STRUCTURES)[number];

export const GATE_MEANINGS = ['keep', 'write', 'candidate', 'output', 'reset', 'other'] as const;
export type GateMeaning = (typeof GATE_MEANINGS)[number];

export interface GateSpec {
  /** Short name as the model's authors use it ("f", "z", "retain"). */
  name: string;
  meaning: GateMeaning;
  /** Shown in the UI, e.g. "forget gate". */
  label?: string;
  /** For a keep gate: the write weight is 1 − this gate (GRU's update gate). */
  complementWrites?: boolean;
}

export type Dtype = 'float32' | 'int64' | 'int32';

export interface TensorSpec {
  name: string;
  dtype: Dtype;
  axes: AxisSpec[];
  description?: string;
}

export interface InputSpec extends TensorSpec {
  role: InputRole;
  /**
   * initial_state: which state it seeds (a final_state output's `state`, with the same axes in the same order and
   * sizes). empty_cache (optional): the `cache` output with this `state` holds what it takes, token by token (its
   * axes with position for past), so that a run can start from the cache of an earlier run's first tokens.
   */
  state?: string;
}

export interface OutputSpec extends TensorSpec {
  role: OutputRole;
  /** Outputs of one role that belong together (e.g. per-layer tensors, or the self-attention of the source vs of the target). Default: the role. */
  group?: string;
  /** Shown in the UI, e.g. "decoder self-attention". */
  label?: string;
  /**
   * This tensor holds one layer (Hugging Face's `attentions.0`, …): its index. Then it has no layer axis.
   * The per-layer tensors of one family (same role and group; for states, the same `state`) are numbered
   * 0..N-1 without gaps (hidden states may start later: Hugging Face counts the embeddings as 0), and a
   * family is either per-layer tensors or one tensor with a layer axis, never both.
   */
  layer?: number;
  /** logits: "next" (default) or "current". */
  predicts?: 'next' | 'current';
  /** mixing: the mask the model applies. */
  structure?: MixingStructure;
  /** mixing, windowed: keys visible to a query, itself included (t − window < k ≤ t). */
  window?: number;
  /** mixing, windowed: the first keys every query also sees (attention sinks, global tokens). */
  globalTokens?: number;
  /**
   * mixing / cross_mixing: rows sum to 1 (softmax probabilities). Default true. When false, rollout first
   * row-normalises |W| of every head and layer (and says so in its label).
   */
  normalised?: boolean;
  /**
   * mixing: W may be negative (e.g. a state-space model's hidden attention); views then draw it on a diverging
   * colour scale centred on 0. Default false.
   */
  signed?: boolean;
  /**
   * state / gates: the interval the values lie in by construction (tanh: [-1, 1], sigmoid: [0, 1]); views
   * show how many units sit near its bounds (saturation).
   */
  range?: [number, number];
  /** gates: each gate along the gate axis, in order. */
  gates?: GateSpec[];
  /** state / final_state: which state ("h", "c"); gates: the state they update. */
  state?: string;
  /**
   * selective_scan: which part of the scan ("x", "delta", "A", "B", "C", "D", "y"; SELECTIVE_SCAN_PARTS);
   * mixing_parts: which factor of the linear attention ("query", "key", "value", "output"; MIXING_PARTS).
   */
  part?: string;
}

export interface ReadoutSpec {
  norm?: { kind: 'layernorm' | 'rmsnorm'; weight: string; bias?: string; epsilon: number };
  /** [vocab, feature] ("vocab_feature", a tied embedding) or [feature, vocab]; an optional bias [vocab]. */
  unembedding: { weight: string; layout: 'vocab_feature' | 'feature_vocab'; bias?: string };
}

/**
 * "Fill in the selection" (src/core/infill.ts): an encoder–decoder that reads code with a hole and writes what
 * the hole held. The source sequence reads the code before the span, the `hole` token, then the code after it
 * (with the source's own post-processor tokens and prefix); the target sequence reads its own `prefix`, then
 * `begin`, then the span's tokens, then `end`. The logits must score the target, predicting the next token.
 * Every token is a token string of the model's tokenizer (checked when the tokenizer is loaded).
 * Example (T5-style sentinels): {"source": "source", "target": "target", "hole": "<extra_id_0>",
 * "begin": ["<extra_id_0>"], "end": "<extra_id_1>"}.
 */
export interface InfillingSpec {
  /** Id of the sequence (in `sequences`) that reads the code around the hole. */
  source: string;
  /** Id of the sequence the model writes the span in: the one its logits score. */
  target: string;
  /** The token that stands in the source for the hidden span. */
  hole: string;
  /** Tokens after the target's prefix, before the span (may be empty when the target has a prefix). */
  begin: string[];
  /** The token that ends the span: generation stops when the model writes it. */
  end: string;
}

export interface ModelManifest {
  schemaVersion: 2;
  id: string;
  displayName: string;
  /** A short name for sentences ("the LSTM's retention…"); defaults to displayName. */
  shortName?: string;
  /** Position in model menus (ascending; models without one follow, by id). */
  order?: number;
  /** A label for people ("decoder-only Transformer"); no behaviour depends on it. */
  architecture: string;
  description: string;
  parameters: number;
  dimensions: Record<string, number>;
  /** The token sequences, by id. Most models read one. */
  sequences: Record<string, SequenceSpec>;
  inputs: InputSpec[];
  outputs: OutputSpec[];
  tokenizer: { file: string; specialTokens?: Record<string, string>; sha256?: string; type?: string };
  /** Relative path of the ONNX file; defaults to model.onnx. */
  model?: string;
  /**
   * Relative path of the ONNX external-data file holding the weights (models over 2 GB are saved this way,
   * e.g. "model.onnx.data"). It lies beside the model file: the graph names it relative to that file.
   */
  externalData?: string;
  /**
   * How the logits are read from the last hidden state (final norm, then unembedding), by the names of the
   * ONNX initialisers that hold the weights. The logit lens reads every layer's hidden state this way.
   */
  readout?: ReadoutSpec;
  /** The model can fill a hidden span of code in (see InfillingSpec); absent: it cannot. */
  infilling?: InfillingSpec;
  /** Token that replaces an occluded token (default: a single space, else the tokenizer's unknown token). */
  occlusionToken?: string;
  positional?: string;
  training?: Record<string, unknown>;
  metrics?: Record<string, number>;
  license: string;
}

/** Index of the first axis with a name, or -1. */
export function axisIndex(spec: TensorSpec, name: AxisName): number {
  return spec.axes.findIndex((a) => a.name === name);
}

/** The sequence id an axis indexes (by its length symbol), if any. */
export function sequenceOfAxis(manifest: ModelManifest, axis: AxisSpec | undefined): string | undefined {
  if (!axis || typeof axis.size !== 'string') return undefined;
  return Object.keys(manifest.sequences).find((id) => manifest.sequences[id].length === axis.size);
}

/** Writes a shape for messages: [layer=4, batch, head=4, query=T, key=T]. */
export function formatAxes(axes: readonly AxisSpec[]): string {
  return `[${axes.map((a) => (a.size === undefined ? a.name : `${a.name}=${a.size}`)).join(', ')}]`;
}

/** A relative path inside the model folder: no absolute paths, no "..", no backslashes. */
export function isSafeRelativePath(path: string): boolean {
  return path.length > 0 && !path.startsWith('/') && !/^[a-zA-Z]:/.test(path) && !path.includes('\\') && !path.split('/').includes('..');
}
