// Checks a parsed manifest (schema 2, see manifest.ts) and reports every problem at once, each naming the
// field, what was expected and what was found, so a user fixing a model file sees the whole list. Besides
// each tensor on its own it checks what the engine and the views rely on across tensors: per-layer families
// numbered without gaps, integer inputs laid out [batch, position] or [position, batch], each initial
// state shaped like the final state fed into it, and the parts of a selective scan or a linear attention
// (each once, the required ones present, one size per shared axis), and the infilling field
// (infillManifest.ts).

import { infillingProblems } from './infillManifest';
import {
  AXIS_NAMES,
  type AxisSpec,
  GATE_MEANINGS,
  INPUT_ROLES,
  INTEGER_INPUT_ROLES,
  MIXING_PARTS,
  MIXING_STRUCTURES,
  type ModelManifest,
  OUTPUT_ROLES,
  REQUIRED_MIXING_PARTS,
  REQUIRED_SCAN_PARTS,
  SELECTIVE_SCAN_PARTS,
  SEQUENCE_AXES,
  formatAxes,
  isSafeRelativePath,
} from './manifest';

export type ManifestResult = { ok: true; manifest: ModelManifest } | { ok: false; errors: string[] };

const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isPosInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;
const isNonEmpty = (v: unknown): v is string => typeof v === 'string' && v.trim().length > 0;
const list = (items: readonly string[]) => items.map((s) => `"${s}"`).join(', ');
const found = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));
/** Roles whose tensors are stacked by layer into one family (per-layer tensors or one with a layer axis). */
const STACKED_ROLES = ['mixing', 'cross_mixing', 'state', 'hidden_states', 'decay'];
/** The family a stacked output belongs to: states by the state they hold, the rest by role and group. */
const familyKey = (t: Obj) => (t.role === 'state' ? `state/${String(t.state ?? '')}` : `${String(t.role)}/${String(t.group ?? t.role)}`);

/** Checks a parsed manifest; returns it typed, or every problem found (never just the first). */
export function validateManifest(value: unknown): ManifestResult {
  const errors: string[] = [];
  const err = (path: string, message: string) => errors.push(`${path}: ${message}`);
  if (!isObj(value)) return { ok: false, errors: ['manifest: expected a JSON object'] };
  const m = value;
  if (m.schemaVersion !== 2) {
    const hint = m.schemaVersion === 1 ? ' (schema 1 manifests name shapes instead of axes; see the README, "Bring a model: the manifest")' : '';
    err('schemaVersion', `expected 2, got ${found(m.schemaVersion)}${hint}`);
    return { ok: false, errors };
  }
  if (typeof m.id !== 'string' || !ID_PATTERN.test(m.id)) err('id', `expected lowercase letters, digits, ".", "_" or "-" (1-64 characters, starting with a letter or digit), got ${found(m.id)}`);
  if (!isNonEmpty(m.displayName)) err('displayName', 'expected a non-empty string');
  if (m.shortName !== undefined && !isNonEmpty(m.shortName)) err('shortName', `expected a non-empty string, got ${found(m.shortName)}`);
  if (m.order !== undefined && !(typeof m.order === 'number' && Number.isFinite(m.order))) err('order', `expected a number (the position in model menus), got ${found(m.order)}`);
  if (typeof m.architecture !== 'string') err('architecture', `expected a string (a label for people), got ${found(m.architecture)}`);
  if (typeof m.description !== 'string') err('description', 'expected a string');
  if (!isNonEmpty(m.license)) err('license', 'expected a non-empty string (an SPDX identifier such as "MIT")');
  if (!isPosInt(m.parameters)) err('parameters', `expected a positive integer, got ${found(m.parameters)}`);
  if (m.model !== undefined && (typeof m.model !== 'string' || !isSafeRelativePath(m.model))) err('model', `expected a relative path inside the model folder, got ${found(m.model)}`);
  if (m.externalData !== undefined) externalDataProblem(m.externalData, m.model, (message) => err('externalData', message));
  if (m.occlusionToken !== undefined && !isNonEmpty(m.occlusionToken)) err('occlusionToken', 'expected a token string');
  if (m.readout !== undefined) readoutProblems(m.readout, m.outputs, err);
  if (!isObj(m.dimensions)) err('dimensions', 'expected an object of positive integers');
  else for (const [key, v] of Object.entries(m.dimensions)) if (!isPosInt(v)) err(`dimensions.${key}`, `expected a positive integer, got ${found(v)}`);

  // Sequences: their length symbols tie sequence axes to them.
  const lengths = new Map<string, string>(); // symbol → sequence id
  if (!isObj(m.sequences) || Object.keys(m.sequences).length === 0) {
    err('sequences', 'expected an object with at least one sequence, e.g. {"tokens": {"length": "T"}}');
  } else {
    for (const [id, s] of Object.entries(m.sequences)) {
      const path = `sequences.${id}`;
      if (!isObj(s)) {
        err(path, 'expected an object with "length"');
        continue;
      }
      if (!isNonEmpty(s.length)) err(`${path}.length`, `expected the symbol its axes use as size (e.g. "T"), got ${found(s.length)}`);
      else if (lengths.has(s.length)) err(`${path}.length`, `"${s.length}" is already the length of sequence "${lengths.get(s.length)}"`);
      else lengths.set(s.length, id);
      if (s.label !== undefined && !isNonEmpty(s.label)) err(`${path}.label`, 'expected a non-empty string');
      if (s.addSpecialTokens !== undefined && typeof s.addSpecialTokens !== 'boolean') err(`${path}.addSpecialTokens`, `expected true or false, got ${found(s.addSpecialTokens)}`);
      if (s.prefix !== undefined && !(Array.isArray(s.prefix) && s.prefix.every(isNonEmpty))) err(`${path}.prefix`, 'expected an array of token strings');
    }
  }

  /** Checks axes; returns the sequence id of each axis (undefined for non-sequence axes), or null when malformed. */
  const checkAxes = (t: Obj, path: string): Array<string | undefined> | null => {
    if (!Array.isArray(t.axes) || t.axes.length === 0) {
      err(`${path}.axes`, `expected an array of axes such as [{"name": "batch"}, {"name": "position", "size": "T"}], got ${found(t.axes)}`);
      return null;
    }
    const seqs: Array<string | undefined> = [];
    let ok = true;
    (t.axes as unknown[]).forEach((a, i) => {
      const ap = `${path}.axes[${i}]`;
      if (!isObj(a) || !(AXIS_NAMES as readonly unknown[]).includes(a.name)) {
        err(ap, `expected {"name": one of ${list(AXIS_NAMES)}, "size"?: number or symbol}, got ${found(isObj(a) ? a.name : a)}`);
        ok = false;
        return;
      }
      const axis = a as unknown as AxisSpec;
      const sizeOk = axis.size === undefined || isPosInt(axis.size) || isNonEmpty(axis.size) || (axis.name === 'past' && axis.size === 0);
      if (!sizeOk) err(`${ap}.size`, `expected a positive integer or a symbol, got ${found(axis.size)}`);
      if (SEQUENCE_AXES.includes(axis.name)) {
        const seq = typeof axis.size === 'string' ? lengths.get(axis.size) : undefined;
        if (!seq) err(`${ap}.size`, `a "${axis.name}" axis needs a sequence's length symbol as size (${lengths.size ? list([...lengths.keys()]) : 'no sequence is declared'}), got ${found(axis.size)}`);
        seqs.push(seq);
      } else seqs.push(undefined);
    });
    const names = (t.axes as Obj[]).map((a) => (isObj(a) ? a.name : undefined));
    for (const name of ['batch', 'layer', 'head', 'gate', 'vocab', 'query', 'key', 'position'] as const) {
      if (names.filter((n) => n === name).length > 1) err(`${path}.axes`, `has more than one "${name}" axis`);
    }
    return ok ? seqs : null;
  };
  const has = (t: Obj, name: string) => Array.isArray(t.axes) && (t.axes as unknown[]).some((a) => isObj(a) && a.name === name);
  const axisSeq = (t: Obj, seqs: Array<string | undefined>, name: string) => seqs[(t.axes as Obj[]).findIndex((a) => isObj(a) && a.name === name)];
  const needAxes = (t: Obj, path: string, role: string, names: string[]) => {
    const missing = names.filter((n) => !has(t, n));
    if (missing.length) err(`${path}.axes`, `role "${role}" needs ${list(names)} axes; missing ${list(missing)}`);
    return missing.length === 0;
  };
  const uniqueNames = (items: unknown[], path: string) => {
    const seen = new Set<unknown>();
    items.forEach((t, i) => {
      if (!isObj(t)) return;
      if (seen.has(t.name)) err(`${path}[${i}].name`, `duplicate name ${found(t.name)}`);
      seen.add(t.name);
    });
  };
  const checkTensorBasics = (t: Obj, path: string, dtypes: readonly string[]) => {
    if (!isNonEmpty(t.name)) err(`${path}.name`, 'expected the graph name of the tensor');
    if (!dtypes.includes(t.dtype as string)) err(`${path}.dtype`, `expected ${list(dtypes)}, got ${found(t.dtype)}`);
    if (t.description !== undefined && typeof t.description !== 'string') err(`${path}.description`, 'expected a string');
  };

  const finalStates = new Map<string, AxisSpec[]>(); // state name → the final_state's axes
  const caches = new Map<string, AxisSpec[]>(); // cache name → the cache output's axes
  if (!Array.isArray(m.outputs) || m.outputs.length === 0) {
    err('outputs', 'expected a non-empty array');
  } else {
    const perLayer = new Map<string, Set<number>>();
    const layered = new Map<string, string[]>(); // family → paths of its tensors with a layer axis
    const parts: PartOutput[] = [];
    (m.outputs as unknown[]).forEach((t, i) => {
      const path = `outputs[${i}]`;
      if (!isObj(t)) return err(path, 'expected an object');
      const role = t.role as string;
      if (!Object.prototype.hasOwnProperty.call(OUTPUT_ROLES, role)) return err(`${path}.role`, `expected one of ${list(Object.keys(OUTPUT_ROLES))}, got ${found(t.role)}`);
      checkTensorBasics(t, path, role === 'ignored' ? ['float32', 'int64', 'int32'] : ['float32']);
      if (t.group !== undefined && !isNonEmpty(t.group)) err(`${path}.group`, 'expected a non-empty string');
      if (t.label !== undefined && !isNonEmpty(t.label)) err(`${path}.label`, 'expected a non-empty string');
      if (t.part !== undefined && role !== 'selective_scan' && role !== 'mixing_parts') err(`${path}.part`, `only roles "selective_scan" and "mixing_parts" name a part, got ${found(t.part)} on role "${role}"`);
      const seqs = checkAxes(t, path);
      if (!seqs) return;
      if (role === 'selective_scan' || role === 'mixing_parts') parts.push({ role, path, t });
      if (t.layer !== undefined) {
        if (!(Number.isInteger(t.layer) && (t.layer as number) >= 0)) err(`${path}.layer`, `expected a layer index (0, 1, …), got ${found(t.layer)}`);
        else if (has(t, 'layer')) err(`${path}.layer`, 'a tensor with a "layer" axis holds every layer: drop "layer" or the axis');
        else {
          const key = STACKED_ROLES.includes(role) ? familyKey(t) : `${role}/${(t.group as string) ?? role}`;
          const layers = perLayer.get(key) ?? new Set<number>();
          if (layers.has(t.layer as number)) err(`${path}.layer`, `layer ${t.layer} of ${key} is given twice`);
          perLayer.set(key, layers.add(t.layer as number));
        }
      } else if (STACKED_ROLES.includes(role) && has(t, 'layer')) {
        layered.set(familyKey(t), [...(layered.get(familyKey(t)) ?? []), path]);
      }
      if (role === 'logits') {
        needAxes(t, path, role, ['position', 'vocab']);
        if (t.predicts !== undefined && t.predicts !== 'next' && t.predicts !== 'current') err(`${path}.predicts`, `expected "next" or "current", got ${found(t.predicts)}`);
      } else if (role === 'mixing' || role === 'cross_mixing') {
        if (!needAxes(t, path, role, ['query', 'key'])) return;
        const q = axisSeq(t, seqs, 'query');
        const k = axisSeq(t, seqs, 'key');
        if (role === 'mixing' && q && k && q !== k) err(`${path}.axes`, `role "mixing" mixes one sequence, but query is "${q}" and key is "${k}" (use "cross_mixing")`);
        if (role === 'cross_mixing' && q && k && q === k) err(`${path}.axes`, `role "cross_mixing" needs query and key in different sequences, both are "${q}" (use "mixing")`);
        if (role === 'mixing' && !(MIXING_STRUCTURES as readonly unknown[]).includes(t.structure)) err(`${path}.structure`, `expected one of ${list(MIXING_STRUCTURES)}, got ${found(t.structure)}`);
        if (t.structure === 'windowed' && !isPosInt(t.window)) err(`${path}.window`, `a windowed structure needs the window size (keys a query sees, itself included), got ${found(t.window)}`);
        if (t.globalTokens !== undefined && !(Number.isInteger(t.globalTokens) && (t.globalTokens as number) >= 0)) err(`${path}.globalTokens`, `expected a count of tokens, got ${found(t.globalTokens)}`);
        if (t.normalised !== undefined && typeof t.normalised !== 'boolean') err(`${path}.normalised`, `expected true or false, got ${found(t.normalised)}`);
        if (!has(t, 'layer') && t.layer === undefined) err(`${path}.layer`, 'expected a "layer" axis, or "layer": index for a tensor that holds one layer');
      } else if (role === 'gates') {
        if (!needAxes(t, path, role, ['layer', 'position', 'gate', 'unit'])) return;
        const gates = t.gates;
        if (!Array.isArray(gates) || gates.length === 0) return err(`${path}.gates`, 'expected the gates along the gate axis, e.g. [{"name": "f", "meaning": "keep"}, …]');
        gates.forEach((g, j) => {
          if (!isObj(g) || !isNonEmpty(g.name)) return err(`${path}.gates[${j}].name`, 'expected a non-empty string');
          if (!(GATE_MEANINGS as readonly unknown[]).includes(g.meaning)) err(`${path}.gates[${j}].meaning`, `expected one of ${list(GATE_MEANINGS)}, got ${found(g.meaning)}`);
          if (g.complementWrites !== undefined && (typeof g.complementWrites !== 'boolean' || g.meaning !== 'keep')) err(`${path}.gates[${j}].complementWrites`, 'only a "keep" gate can declare that 1 − it is the write weight (true or false)');
        });
        const names = gates.filter(isObj).map((g) => g.name);
        if (new Set(names).size !== names.length) err(`${path}.gates`, 'gate names must be distinct');
        const keeps = gates.filter((g) => isObj(g) && g.meaning === 'keep').length;
        if (keeps > 1) err(`${path}.gates`, `expected at most one "keep" gate, found ${keeps}`);
        const gateAxis = (t.axes as AxisSpec[]).find((a) => a.name === 'gate');
        if (typeof gateAxis?.size === 'number' && gateAxis.size !== gates.length) err(`${path}.gates`, `names ${gates.length} gates but the gate axis has ${gateAxis.size}`);
      } else if (role === 'state') {
        needAxes(t, path, role, ['position']);
        if (!isNonEmpty(t.state)) err(`${path}.state`, 'expected the name of the state (e.g. "h" or "c")');
      } else if (role === 'cache' && t.state !== undefined) {
        if (!isNonEmpty(t.state)) err(`${path}.state`, 'expected the name of the cache it holds (e.g. "keys"), or no "state"');
        else if (needAxes(t, path, role, ['position'])) caches.set(t.state, t.axes as AxisSpec[]);
      } else if (role === 'final_state') {
        if (seqs.some(Boolean)) err(`${path}.axes`, 'a final state has no sequence axis (it is the state after the last token)');
        if (!isNonEmpty(t.state)) err(`${path}.state`, 'expected the name of the state it holds (e.g. "h" or "c")');
        else finalStates.set(t.state, t.axes as AxisSpec[]);
      } else if (role === 'hidden_states') {
        needAxes(t, path, role, ['position']);
      } else if (role === 'decay') {
        if (needAxes(t, path, role, ['position']) && !has(t, 'unit') && !has(t, 'head')) err(`${path}.axes`, 'role "decay" needs a "unit" or a "head" axis (what each keep factor applies to)');
        if (!has(t, 'layer') && t.layer === undefined) err(`${path}.layer`, 'expected a "layer" axis, or "layer": index for a tensor that holds one layer');
      }
    });
    uniqueNames(m.outputs as unknown[], 'outputs');
    checkParts(parts.filter((p) => p.role === 'selective_scan'), 'selective_scan', err);
    checkParts(parts.filter((p) => p.role === 'mixing_parts'), 'mixing_parts', err);
    for (const only of ['logits', 'gates']) {
      const n = (m.outputs as unknown[]).filter((t) => isObj(t) && t.role === only).length;
      const why = only === 'gates' ? ' (the one gate set retention and the Gates view read)' : '';
      if (n > 1) err('outputs', `expected at most one output with role "${only}"${why}, found ${n}`);
    }
    // Families: per-layer tensors numbered 0..N-1 (hidden states may start later: Hugging Face counts the
    // embeddings as layer 0), or exactly one tensor with a layer axis, never both.
    for (const [key, layers] of perLayer) {
      if (!STACKED_ROLES.includes(key.split('/')[0])) continue;
      const sorted = [...layers].sort((a, b) => a - b);
      const first = key.startsWith('hidden_states/') ? sorted[0] : 0;
      if (sorted.some((l, i) => l !== first + i)) err('outputs', `the per-layer tensors of ${key} have layers ${sorted.join(', ')}; expected ${first}..${first + sorted.length - 1} without gaps`);
      if (layered.has(key)) err('outputs', `${key} has both per-layer tensors ("layer": index) and a tensor with a "layer" axis (${layered.get(key)!.join(', ')}): use one or the other`);
    }
    for (const [key, paths] of layered) if (paths.length > 1) err('outputs', `${key} has ${paths.length} tensors with a "layer" axis (${paths.join(', ')}); expected one (give the others a "group")`);
  }

  if (!Array.isArray(m.inputs) || m.inputs.length === 0) {
    err('inputs', 'expected a non-empty array');
  } else {
    const idsBySequence = new Map<string, number>();
    (m.inputs as unknown[]).forEach((t, i) => {
      const path = `inputs[${i}]`;
      if (!isObj(t)) return err(path, 'expected an object');
      const role = t.role as string;
      if (!(INPUT_ROLES as readonly unknown[]).includes(role)) return err(`${path}.role`, `expected one of ${list(INPUT_ROLES)}, got ${found(t.role)}`);
      const integer = (INTEGER_INPUT_ROLES as readonly string[]).includes(role);
      checkTensorBasics(t, path, integer ? ['int64', 'int32'] : ['float32']);
      const seqs = checkAxes(t, path);
      if (!seqs) return;
      if (integer) {
        const seq = has(t, 'position') ? axisSeq(t, seqs, 'position') : undefined;
        if (role === 'input_ids' && seq) idsBySequence.set(seq, (idsBySequence.get(seq) ?? 0) + 1);
        // The engine lays integers out along batch and position only, in either order.
        const names = (t.axes as AxisSpec[]).map((a) => a.name).join(',');
        if (names !== 'batch,position' && names !== 'position,batch' && names !== 'position') {
          return err(`${path}.axes`, `role "${role}" needs the axes [batch, position] or [position, batch] (batch optional), got ${formatAxes(t.axes as AxisSpec[])}`);
        }
      } else if (role === 'initial_state') {
        const final = isNonEmpty(t.state) ? finalStates.get(t.state) : undefined;
        if (!isNonEmpty(t.state)) err(`${path}.state`, 'expected the name of the state it seeds (e.g. "h" or "c")');
        else if (Array.isArray(m.outputs) && !final) err(`${path}.state`, `no output with role "final_state" holds state "${t.state}", so long text cannot be run in chunks`);
        else if (final && !sameShape(t.axes as AxisSpec[], final)) {
          err(`${path}.axes`, `the final state "${t.state}" is fed back here, so it needs the same axes in the same order with the same sizes: ${formatAxes(final)}, got ${formatAxes(t.axes as AxisSpec[])}`);
        }
      }
      if (role === 'empty_cache' && t.state !== undefined) {
        const cache = isNonEmpty(t.state) ? caches.get(t.state) : undefined;
        const asOutput = (t.axes as AxisSpec[]).map((a) => (a.name === 'past' ? { name: 'position' as const } : a));
        if (!isNonEmpty(t.state)) err(`${path}.state`, 'expected the name of the cache output it continues (e.g. "keys"), or no "state"');
        else if (Array.isArray(m.outputs) && !cache) err(`${path}.state`, `no output with role "cache" holds "${t.state}", so nothing can seed this cache`);
        else if (!has(t, 'past')) err(`${path}.axes`, 'a cache that an output seeds needs a "past" axis (its tokens)');
        else if (cache && !sameShape(asOutput, cache.map((a) => (a.name === 'position' ? { name: 'position' as const } : a)))) {
          err(`${path}.axes`, `the cache "${t.state}" is fed back here, so it needs the axes of its output with "past" for "position": ${formatAxes(cache)}, got ${formatAxes(t.axes as AxisSpec[])}`);
        }
      }
      const free = (t.axes as AxisSpec[]).filter((a) => !SEQUENCE_AXES.includes(a.name) && a.name !== 'batch' && typeof a.size !== 'number');
      if (free.length) err(`${path}.axes`, `the engine must know every size it feeds: give ${list(free.map((a) => a.name))} a fixed size`);
    });
    uniqueNames(m.inputs as unknown[], 'inputs');
    for (const id of lengths.values()) {
      const n = idsBySequence.get(id) ?? 0;
      if (n !== 1) err('inputs', `expected exactly one input with role "input_ids" for sequence "${id}", found ${n}`);
    }
  }

  if (!isObj(m.tokenizer)) {
    err('tokenizer', 'expected an object with "file"');
  } else {
    if (typeof m.tokenizer.file !== 'string' || !isSafeRelativePath(m.tokenizer.file)) err('tokenizer.file', `expected a relative path inside the model folder, got ${found(m.tokenizer.file)}`);
    if (m.tokenizer.specialTokens !== undefined && (!isObj(m.tokenizer.specialTokens) || !Object.values(m.tokenizer.specialTokens).every(isNonEmpty))) {
      err('tokenizer.specialTokens', 'expected an object of non-empty token strings');
    }
  }
  if (m.metrics !== undefined) {
    if (!isObj(m.metrics)) err('metrics', 'expected an object of numbers');
    else for (const [k, v] of Object.entries(m.metrics)) if (typeof v !== 'number' || !Number.isFinite(v)) err(`metrics.${k}`, `expected a finite number, got ${found(v)}`);
  }
  if (m.training !== undefined && !isObj(m.training)) err('training', 'expected an object');
  if (m.infilling !== undefined) infillingProblems(m, err);
  return errors.length ? { ok: false, errors } : { ok: true, manifest: value as unknown as ModelManifest };
}

interface PartOutput {
  role: 'selective_scan' | 'mixing_parts';
  path: string;
  t: Obj;
}

/**
 * The parts of a selective scan or of a linear attention (outputs whose axes are otherwise valid): a known
 * part each, each part at most once, its axes exactly the part's (batch optional, any order), the required
 * parts present, and one size for each axis the parts share (a linear attention's values and outputs may have
 * another feature size than its queries and keys).
 */
function checkParts(outputs: PartOutput[], role: PartOutput['role'], err: (path: string, message: string) => void): void {
  if (!outputs.length) return;
  const table: Record<string, readonly string[]> = role === 'selective_scan' ? SELECTIVE_SCAN_PARTS : MIXING_PARTS;
  const required: readonly string[] = role === 'selective_scan' ? REQUIRED_SCAN_PARTS : REQUIRED_MIXING_PARTS;
  const what = role === 'selective_scan' ? 'selective scan' : 'linear attention';
  const seen = new Map<string, string>(); // part → path
  const sizes = new Map<string, { part: string; path: string; size: AxisSpec['size'] }>(); // shared axis → first size given
  for (const { path, t } of outputs) {
    if (typeof t.part !== 'string' || !Object.prototype.hasOwnProperty.call(table, t.part)) {
      err(`${path}.part`, `expected one of ${list(Object.keys(table))} for role "${role}", got ${found(t.part)}`);
      continue;
    }
    const part = t.part;
    if (seen.has(part)) {
      err(`${path}.part`, `part "${part}" of role "${role}" is given twice (also ${seen.get(part)})`);
      continue;
    }
    seen.set(part, path);
    const axes = t.axes as AxisSpec[];
    const names: string[] = axes.map((a) => a.name).filter((n) => n !== 'batch');
    const want = table[part];
    if (names.length !== want.length || !want.every((n) => names.includes(n))) {
      err(`${path}.axes`, `part "${part}" of role "${role}" needs the axes [${want.join(', ')}] and an optional batch axis, in any order; got ${formatAxes(axes)}`);
      continue;
    }
    for (const a of axes) {
      if (a.name === 'batch' || a.size === undefined) continue;
      const key = a.name === 'feature' && (part === 'value' || part === 'output') ? 'feature of values' : a.name;
      const first = sizes.get(key);
      if (!first) sizes.set(key, { part, path, size: a.size });
      else if (first.size !== a.size) err(`${path}.axes`, `the "${a.name}" axis of part "${part}" is ${found(a.size)}, but part "${first.part}" (${first.path}) has ${found(first.size)}; the parts of one ${what} share it`);
    }
  }
  const missing = required.filter((p) => !seen.has(p));
  if (missing.length) err('outputs', `a ${what} (role "${role}") needs the parts ${list(required)}; missing ${list(missing)}`);
}

/** The external-data file: a relative path inside the folder, beside the model file (the graph names it from there). */
function externalDataProblem(value: unknown, model: unknown, report: (message: string) => void): void {
  if (typeof value !== 'string' || !isSafeRelativePath(value)) return report(`expected a relative path inside the model folder, got ${found(value)}`);
  const modelFile = typeof model === 'string' ? model : 'model.onnx';
  const folderOf = (path: string) => path.split('/').filter((part) => part !== '.' && part !== '').slice(0, -1).join('/');
  if (value === modelFile) report(`expected the weights file, not the model file itself, got ${found(value)}`);
  else if (folderOf(value) !== folderOf(modelFile)) report(`expected a file beside the model file "${modelFile}" (onnxruntime finds it by the name the graph gives, relative to that file), got ${found(value)}`);
}

/** The readout (final norm and unembedding, by initialiser names) the logit lens applies to the hidden states. */
function readoutProblems(value: unknown, outputs: unknown, err: (path: string, message: string) => void): void {
  const initialiser = (path: string, v: unknown, optional: boolean) => {
    if ((v !== undefined || !optional) && !isNonEmpty(v)) err(path, `expected the name of an ONNX initialiser, got ${found(v)}`);
  };
  if (!isObj(value)) return err('readout', `expected an object with "unembedding" and optionally "norm", got ${found(value)}`);
  const u = value.unembedding;
  if (!isObj(u)) err('readout.unembedding', `expected an object with "weight" and "layout", got ${found(u)}`);
  else {
    initialiser('readout.unembedding.weight', u.weight, false);
    if (u.layout !== 'vocab_feature' && u.layout !== 'feature_vocab') err('readout.unembedding.layout', `expected "vocab_feature" ([vocab, feature]) or "feature_vocab" ([feature, vocab]), got ${found(u.layout)}`);
    initialiser('readout.unembedding.bias', u.bias, true);
  }
  const n = value.norm;
  if (n !== undefined && !isObj(n)) err('readout.norm', `expected an object with "kind", "weight" and "epsilon", got ${found(n)}`);
  else if (isObj(n)) {
    if (n.kind !== 'layernorm' && n.kind !== 'rmsnorm') err('readout.norm.kind', `expected "layernorm" or "rmsnorm", got ${found(n.kind)}`);
    initialiser('readout.norm.weight', n.weight, false);
    initialiser('readout.norm.bias', n.bias, true);
    if (!(typeof n.epsilon === 'number' && Number.isFinite(n.epsilon) && n.epsilon > 0)) err('readout.norm.epsilon', `expected a positive number (e.g. 1e-5), got ${found(n.epsilon)}`);
  }
  const roles = Array.isArray(outputs) ? outputs.filter(isObj).map((o) => o.role) : [];
  if (!roles.includes('hidden_states')) err('readout', 'expected an output with role "hidden_states" (the states the readout is applied to), found none');
  if (!roles.includes('logits')) err('readout', 'expected an output with role "logits" (what the readout reproduces), found none');
}

/** Same axis names in the same order, and the same size wherever either gives a fixed one (batch is free). */
function sameShape(a: readonly AxisSpec[], b: readonly AxisSpec[]): boolean {
  return a.length === b.length && a.every((x, i) => x.name === b[i].name && (x.name === 'batch' || x.size === b[i].size || (typeof x.size !== 'number' && typeof b[i].size !== 'number')));
}
