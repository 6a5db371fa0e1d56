// Model manifest: the JSON beside each model.onnx that tells the extension what the model is and what
// each graph input and output means (by role, so new architectures need no new code paths), plus the
// validator that checks bundled and user-imported manifests with one clear message per invalid field.

/** Architectures the product knows how to explain. */
export const ARCHITECTURES = ['transformer', 'lstm', 'gru', 'elman', 'seq2seq-attention', 'encoder', 'encoder-decoder', 'linear-attention', 'sparse-attention', 'state-space'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

/** What a graph input carries. */
export const INPUT_ROLES = ['input_ids', 'initial_state'] as const;
export type InputRole = (typeof INPUT_ROLES)[number];

/** What a graph output carries, and the rank its shape must have. */
export const OUTPUT_RANKS = {
  logits: 3, // [B, T, V]
  attention: 5, // [L, B, H, T, T] softmax probabilities
  hidden_states: 4, // [L+1, B, T, d]
  gates: 5, // [L, B, T, G, H] in gateOrder
  cell_state: 4, // [L, B, T, H]
  hidden_state: 4, // [L, B, T, H]
  final_state: 3, // [L, B, H]
} as const;
export type OutputRole = keyof typeof OUTPUT_RANKS;

/** A dimension: a symbol (B, T, V, …) or a fixed size. */
export type Dim = string | number;

export interface TensorSpec {
  name: string;
  dtype: 'float32' | 'int64';
  shape: Dim[];
  description?: string;
}

export interface InputSpec extends TensorSpec {
  role: InputRole;
  /** For initial_state: which recurrent state it seeds ("h", "c"). */
  stateOf?: string;
}

export interface OutputSpec extends TensorSpec {
  role: OutputRole;
  /** For gates: the gate names along the gate axis, in order. */
  gateOrder?: string[];
  /** For final_state: which recurrent state it holds ("h", "c"). */
  stateOf?: string;
}

export interface ModelManifest {
  schemaVersion: 1;
  id: string;
  displayName: string;
  architecture: Architecture;
  description: string;
  parameters: number;
  dimensions: Record<string, number>;
  inputs: InputSpec[];
  outputs: OutputSpec[];
  tokenizer: { file: string; specialTokens: Record<string, string> };
  /** Relative path of the ONNX file; defaults to model.onnx. */
  model?: string;
  positional?: string;
  training?: Record<string, unknown>;
  metrics?: Record<string, number>;
  license: string;
}

/** Roles each known architecture must provide, beyond logits. */
const REQUIRED_OUTPUTS: Partial<Record<Architecture, OutputRole[]>> = {
  transformer: ['attention'],
  lstm: ['gates', 'cell_state', 'hidden_state'],
  gru: ['gates', 'hidden_state'],
};
const GATE_ORDERS: Partial<Record<Architecture, string[]>> = {
  lstm: ['i', 'f', 'g', 'o'],
  gru: ['r', 'z', 'n'],
};
const REQUIRED_DIMENSIONS: Partial<Record<Architecture, string[]>> = {
  transformer: ['layers', 'heads', 'vocabSize'],
  lstm: ['layers', 'hidden', 'vocabSize'],
  gru: ['layers', 'hidden', 'vocabSize'],
};

export type ManifestResult = { ok: true; manifest: ModelManifest } | { ok: false; errors: string[] };

const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isNonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;
const list = (items: readonly string[]) => items.map((s) => `"${s}"`).join(', ');

/** A relative path inside the model folder: no absolute paths, no "..", no backslashes. */
export function isSafeRelativePath(path: string): boolean {
  return path.length > 0 && !path.startsWith('/') && !/^[a-zA-Z]:/.test(path) && !path.includes('\\') && !path.split('/').includes('..');
}

/** Checks a parsed manifest; returns it typed, or every problem found (never just the first). */
export function validateManifest(value: unknown): ManifestResult {
  const errors: string[] = [];
  const err = (path: string, message: string) => errors.push(`${path}: ${message}`);
  if (!isObj(value)) {
    return { ok: false, errors: ['manifest: expected a JSON object'] };
  }
  const m = value;
  if (m.schemaVersion !== 1) err('schemaVersion', `expected 1, got ${JSON.stringify(m.schemaVersion)}`);
  if (typeof m.id !== 'string' || !ID_PATTERN.test(m.id)) err('id', 'expected lowercase letters, digits, ".", "_" or "-" (1-64 characters, starting with a letter or digit)');
  if (!isNonEmpty(m.displayName)) err('displayName', 'expected a non-empty string');
  if (typeof m.description !== 'string') err('description', 'expected a string');
  if (!isNonEmpty(m.license)) err('license', 'expected a non-empty string (an SPDX identifier such as "MIT")');
  if (!isPosInt(m.parameters)) err('parameters', 'expected a positive integer');
  const arch = m.architecture as Architecture;
  const knownArch = (ARCHITECTURES as readonly unknown[]).includes(arch);
  if (!knownArch) err('architecture', `expected one of ${list(ARCHITECTURES)}, got ${JSON.stringify(m.architecture)}`);
  if (m.model !== undefined && (typeof m.model !== 'string' || !isSafeRelativePath(m.model))) err('model', 'expected a relative path inside the model folder');

  if (!isObj(m.dimensions)) {
    err('dimensions', 'expected an object of positive integers');
  } else {
    for (const [key, v] of Object.entries(m.dimensions)) {
      if (!isPosInt(v)) err(`dimensions.${key}`, 'expected a positive integer');
    }
    for (const key of (knownArch && REQUIRED_DIMENSIONS[arch]) || []) {
      if (!(key in m.dimensions)) err(`dimensions.${key}`, `required for architecture "${arch}"`);
    }
  }

  const checkTensor = (t: Obj, path: string, dtypes: readonly string[]) => {
    if (!isNonEmpty(t.name)) err(`${path}.name`, 'expected a non-empty string');
    if (!dtypes.includes(t.dtype as string)) err(`${path}.dtype`, `expected ${list(dtypes)}, got ${JSON.stringify(t.dtype)}`);
    if (!Array.isArray(t.shape) || !t.shape.every((d) => isPosInt(d) || isNonEmpty(d))) {
      err(`${path}.shape`, 'expected an array of dimension names or positive sizes');
      return false;
    }
    return true;
  };
  const uniqueNames = (items: Obj[], path: string) => {
    const seen = new Set<unknown>();
    items.forEach((t, i) => {
      if (seen.has(t.name)) err(`${path}[${i}].name`, `duplicate name ${JSON.stringify(t.name)}`);
      seen.add(t.name);
    });
  };

  if (!Array.isArray(m.inputs) || m.inputs.length === 0) {
    err('inputs', 'expected a non-empty array');
  } else {
    const inputs = m.inputs as unknown[];
    inputs.forEach((t, i) => {
      const path = `inputs[${i}]`;
      if (!isObj(t)) return err(path, 'expected an object');
      if (!(INPUT_ROLES as readonly unknown[]).includes(t.role)) err(`${path}.role`, `expected one of ${list(INPUT_ROLES)}, got ${JSON.stringify(t.role)}`);
      checkTensor(t, path, t.role === 'input_ids' ? ['int64'] : ['float32']);
      if (t.role === 'initial_state' && !isNonEmpty(t.stateOf)) err(`${path}.stateOf`, 'expected the name of the state it seeds (e.g. "h" or "c")');
    });
    const objs = inputs.filter(isObj);
    uniqueNames(objs, 'inputs');
    const ids = objs.filter((t) => t.role === 'input_ids').length;
    if (ids !== 1) err('inputs', `expected exactly one input with role "input_ids", found ${ids}`);
  }

  if (!Array.isArray(m.outputs) || m.outputs.length === 0) {
    err('outputs', 'expected a non-empty array');
  } else {
    const outputs = m.outputs as unknown[];
    outputs.forEach((t, i) => {
      const path = `outputs[${i}]`;
      if (!isObj(t)) return err(path, 'expected an object');
      const role = t.role as OutputRole;
      const knownRole = Object.prototype.hasOwnProperty.call(OUTPUT_RANKS, role);
      if (!knownRole) err(`${path}.role`, `expected one of ${list(Object.keys(OUTPUT_RANKS))}, got ${JSON.stringify(t.role)}`);
      if (checkTensor(t, path, ['float32']) && knownRole && (t.shape as Dim[]).length !== OUTPUT_RANKS[role]) {
        err(`${path}.shape`, `role "${role}" needs ${OUTPUT_RANKS[role]} dimensions, got ${(t.shape as Dim[]).length}`);
      }
      if (role === 'gates') {
        const order = t.gateOrder;
        if (!Array.isArray(order) || order.length === 0 || !order.every(isNonEmpty) || new Set(order).size !== order.length) {
          err(`${path}.gateOrder`, 'expected a non-empty array of distinct gate names');
        } else {
          const expected = knownArch ? GATE_ORDERS[arch] : undefined;
          if (expected && order.join(',') !== expected.join(',')) err(`${path}.gateOrder`, `architecture "${arch}" exports gates in the order ${list(expected)}`);
          const gateDim = Array.isArray(t.shape) && t.shape.length === OUTPUT_RANKS.gates ? t.shape[3] : undefined;
          if (typeof gateDim === 'number' && gateDim !== order.length) err(`${path}.gateOrder`, `names ${order.length} gates but the gate axis has ${gateDim}`);
        }
      }
      if (role === 'final_state' && !isNonEmpty(t.stateOf)) err(`${path}.stateOf`, 'expected the name of the state it holds (e.g. "h" or "c")');
    });
    const objs = outputs.filter(isObj);
    uniqueNames(objs, 'outputs');
    const logits = objs.filter((t) => t.role === 'logits').length;
    if (logits !== 1) err('outputs', `expected exactly one output with role "logits", found ${logits}`);
    for (const role of (knownArch && REQUIRED_OUTPUTS[arch]) || []) {
      if (!objs.some((t) => t.role === role)) err('outputs', `architecture "${arch}" needs an output with role "${role}"`);
    }
  }

  if (!isObj(m.tokenizer)) {
    err('tokenizer', 'expected an object with "file" and "specialTokens"');
  } else {
    if (typeof m.tokenizer.file !== 'string' || !isSafeRelativePath(m.tokenizer.file)) err('tokenizer.file', 'expected a relative path inside the model folder');
    if (!isObj(m.tokenizer.specialTokens) || !Object.values(m.tokenizer.specialTokens).every(isNonEmpty)) {
      err('tokenizer.specialTokens', 'expected an object of non-empty token strings');
    }
  }
  if (m.metrics !== undefined) {
    if (!isObj(m.metrics)) err('metrics', 'expected an object of numbers');
    else for (const [k, v] of Object.entries(m.metrics)) if (typeof v !== 'number' || !Number.isFinite(v)) err(`metrics.${k}`, 'expected a finite number');
  }
  if (m.training !== undefined && !isObj(m.training)) err('training', 'expected an object');
  return errors.length ? { ok: false, errors } : { ok: true, manifest: value as unknown as ModelManifest };
}

/** The output with a role, if the model has one. */
export function outputByRole(manifest: ModelManifest, role: OutputRole): OutputSpec | undefined {
  return manifest.outputs.find((o) => o.role === role);
}
