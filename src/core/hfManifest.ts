// Why: most models people bring are Hugging Face exports with no manifest of ours, only model.onnx,
// tokenizer.json and config.json. Their tensors follow naming conventions (input_ids, attentions.3,
// past_key_values.0.key, present.*), so a manifest can be derived from the graph's declared inputs and
// outputs (read without running it) and config.json. The conventions are data in hfNames.ts; this file
// applies them and says, for every graph input and output, what it was taken as or why it was not, so a
// person sees that before the model is installed. Pure: no file system, no running.

import { LensError } from './errors';
import {
  INPUT_RULES,
  OUTPUT_RULES,
  type OutputRule,
  SELF_ATTENTION_DEFAULT,
  SELF_ATTENTION_RULES,
  type Side,
  UNSUPPORTED_INPUTS,
  cacheKey,
  configNumber,
} from './hfNames';
import type { AxisSpec, Dtype, InputSpec, ModelManifest, OutputSpec, SequenceSpec } from './manifest';
import { validateManifest } from './manifestValidator';
import type { OnnxDim, OnnxGraph, OnnxValueInfo } from './onnxGraph';
import { type Json, isObject, prepare } from './tokenizerConfig';

export interface DerivedManifest {
  /** Schema 2; passes validateManifest. */
  manifest: ModelManifest;
  /** Each graph input and output that was understood, and what it was taken as. */
  recognised: Array<{ name: string; as: string }>;
  /** Each graph input and output that was not, and why. */
  unrecognised: Array<{ name: string; why: string }>;
  /** What a person should know: decisions taken, limits, what is missing. */
  notes: string[];
}

export interface DeriveInput {
  /** The manifest id (the folder's name). */
  id: string;
  graph: OnnxGraph;
  /** The parsed config.json, if the folder has one. */
  config?: unknown;
  /** The parsed tokenizer.json. */
  tokenizer: unknown;
  /** Relative paths inside the model folder, as the manifest will name them. */
  onnxFile: string;
  tokenizerFile: string;
  fileBytes?: number;
  /** The ONNX external-data file, when the weights are stored beside the graph. */
  externalData?: string;
  /** An SPDX licence identifier, when the person adding the model knows it. */
  license?: string;
}

const INTEGER_TYPES: readonly string[] = ['int64', 'int32'];
const IGNORED_TYPES: readonly string[] = ['float32', 'int64', 'int32'];
const LENGTHS = { tokens: 'T', source: 'S', target: 'T' } as const;
type SequenceId = keyof typeof LENGTHS;
const quote = (names: readonly string[]) => (names.length ? names.map((n) => `"${n}"`).join(', ') : 'none');
const fixed = (d: OnnxDim | undefined) => (typeof d === 'number' && d > 0 ? d : undefined);
const FLOAT_TYPES = /^(float|bfloat)/;

/** Derives a manifest from a Hugging Face export; throws LensError('model-invalid') when none can be made. */
export function deriveManifest(input: DeriveInput): DerivedManifest {
  const { graph, onnxFile } = input;
  const fail = (message: string) => new LensError('model-invalid', `${onnxFile}: ${message}`);
  const config: Json = isObject(input.config) ? input.config : {};
  const tokenizer = prepare(input.tokenizer, input.tokenizerFile);
  const recognised: DerivedManifest['recognised'] = [];
  const unrecognised: DerivedManifest['unrecognised'] = [];
  const notes: string[] = [];
  if (!isObject(input.config)) notes.push('No config.json: sizes come from the graph alone, and nothing says whether the model is a decoder or an encoder.');

  // Graph inputs that initializers feed (older exporters list the weights as inputs) need no feed.
  const weights = new Set(graph.initializers.map((t) => t.name));
  const fed = graph.inputs.filter((v) => !weights.has(v.name));
  if (fed.length < graph.inputs.length) notes.push(`${graph.inputs.length - fed.length} weights are listed as graph inputs (an older exporter's habit); they need no feed.`);
  for (const v of fed) {
    const rule = UNSUPPORTED_INPUTS.find((r) => r.fatal && r.pattern.test(v.name));
    if (rule) throw fail(`input "${v.name}" is ${rule.why}.`);
  }
  const inputNames = new Set(fed.map((v) => v.name));
  if (!inputNames.has('input_ids')) {
    throw fail(`no graph input "input_ids" (the token ids every model reads), found inputs ${quote([...inputNames])}. Export the model with its token ids as input (see the README, "Bring your own model").`);
  }
  const encoderDecoder = inputNames.has('decoder_input_ids');
  const sequenceOf = (side: Side): SequenceId => (encoderDecoder ? (side === 'first' ? 'source' : 'target') : 'tokens');
  const primary: SequenceId = encoderDecoder ? 'target' : 'tokens';

  // Decoder or encoder: the first rule of the table that holds.
  const facts = { config, inputs: inputNames, outputs: new Set(graph.outputs.map((v) => v.name)) };
  let direction: { structure: 'causal' | 'bidirectional'; why: string } = SELF_ATTENTION_DEFAULT;
  for (const rule of SELF_ATTENTION_RULES) {
    const why = rule.test(facts);
    if (why) {
      direction = { structure: rule.structure, why };
      break;
    }
  }
  const maskedLM = !encoderDecoder && direction.structure === 'bidirectional';
  if (!encoderDecoder) {
    const what = maskedLM ? 'an encoder (bidirectional self-attention; logits score each token itself, as a masked language model)' : 'a decoder (causal self-attention; logits score the next token)';
    notes.push(`Taken as ${what}: ${direction.why}.`);
  }

  // Sequences: the tokenizer's post-processor ([CLS] … [SEP], … </s>) runs when it has one.
  const addSpecialTokens = tokenizer.config.post_processor != null;
  const sequences: Record<string, SequenceSpec> = encoderDecoder
    ? { source: { length: 'S', label: 'Source', addSpecialTokens }, target: { length: 'T', label: 'Target' } }
    : { tokens: { length: 'T', addSpecialTokens } };
  const tokenOf = tokenLookup(tokenizer.model, tokenizer.added);
  if (encoderDecoder) {
    const start = config.decoder_start_token_id;
    const token = typeof start === 'number' ? tokenOf(start) : undefined;
    if (token !== undefined) {
      sequences.target.prefix = [token];
      notes.push(`Taken as an encoder–decoder (it takes decoder_input_ids): the source is the text${addSpecialTokens ? ' with the tokenizer\'s special tokens' : ''}, the target is the text after ${JSON.stringify(token)} (config.json decoder_start_token_id ${start}).`);
    } else notes.push(`config.json gives no decoder_start_token_id the tokenizer knows (found ${JSON.stringify(start ?? null)}): the target starts with the text's first token.`);
  }

  // Inputs, in graph order.
  const inputs: InputSpec[] = [];
  const headDim = () => configNumber(config, 'headDim')?.value ?? divide(configNumber(config, 'width')?.value, configNumber(config, 'heads')?.value);
  let caches = 0;
  for (const v of fed) {
    const rule = INPUT_RULES.find((r) => r.pattern.test(v.name));
    const no = (why: string) => unrecognised.push({ name: v.name, why });
    if (!rule) {
      const known = UNSUPPORTED_INPUTS.find((r) => r.pattern.test(v.name));
      no(known?.why ?? `no naming convention matches it (known: ${INPUT_RULES.map((r) => r.pattern.source.replace(/^\^|\$$/g, '')).join(', ')}), so nothing feeds it and onnxruntime will refuse to run the model without it`);
      continue;
    }
    if (rule.role === 'cache' || rule.role === 'cache-pair') {
      const pair = rule.role === 'cache-pair';
      const match = rule.pattern.exec(v.name)!;
      const shape = v.shape ?? new Array<OnnxDim>(pair ? 5 : 4).fill(null);
      const at = pair ? 1 : 0; // the batch axis; head, past and head size follow it
      const heads = fixed(shape[at + 1]) ?? configNumber(config, 'cacheHeads')?.value;
      const size = fixed(shape[at + 3]) ?? headDim();
      if (v.elemType !== 'float32') no(`a cache of ${v.elemType}: the engine feeds float32 caches`);
      else if (shape.length !== (pair ? 5 : 4)) no(`expected ${pair ? '5 axes [2, batch, head, past, head size]' : '4 axes [batch, head, past, head size]'}, found ${shape.length}`);
      else if (typeof shape[at + 2] === 'number' && shape[at + 2] !== 0) no(`the graph fixes its past length at ${shape[at + 2]}, so it cannot be fed empty`);
      else if (!heads || !size) no('the graph does not fix its head count and head size, and config.json does not give them: an empty cache needs both');
      else {
        const axes: AxisSpec[] = [{ name: 'batch' }, { name: 'head', size: heads }, { name: 'past', size: 0 }, { name: 'feature', size }];
        if (pair) axes.unshift({ name: 'state', size: fixed(shape[0]) ?? 2 });
        inputs.push({ name: v.name, role: 'empty_cache', dtype: 'float32', axes, description: 'Fed empty (a past of length 0): the model sees only the analysed text.' });
        recognised.push({ name: v.name, as: `cache, layer ${match[1]} ${match[2] ?? 'keys and values'} (fed empty)` });
        caches++;
      }
      continue;
    }
    if (rule.side === 'decoder' && !encoderDecoder) {
      no('a decoder input in a graph without decoder_input_ids');
      continue;
    }
    const ids = rule.role === 'input_ids';
    const shape = v.shape ?? [null, null];
    if (!INTEGER_TYPES.includes(v.elemType) || shape.length !== 2) {
      const why = !INTEGER_TYPES.includes(v.elemType) ? `its element type is ${v.elemType}; the engine feeds int64 or int32` : `expected 2 axes [batch, sequence], found ${shape.length}`;
      if (ids) throw fail(`input "${v.name}" (token ids): ${why}.`);
      no(why);
      continue;
    }
    const seq = sequenceOf(rule.side);
    inputs.push({ name: v.name, role: rule.role, dtype: v.elemType as Dtype, axes: [{ name: 'batch' }, sequenceAxis('position', seq, shape[1], v.name, notes)] });
    recognised.push({ name: v.name, as: `${rule.as} (${seq})` });
  }
  const blocked = unrecognised.map((u) => u.name);
  if (blocked.length) notes.push(`The model may not run: nothing feeds the input${blocked.length > 1 ? 's' : ''} ${quote(blocked)}.`);

  // Outputs, in graph order; per-layer families are checked for gaps before anything is kept.
  type Entry = { v: OnnxValueInfo; spec?: OutputSpec; as?: string; why?: string; family?: string };
  const entries: Entry[] = [];
  const wrongType: string[] = [];
  for (const v of graph.outputs) {
    const rule = OUTPUT_RULES.find((r) => r.pattern.test(v.name) && (r.encoderDecoder === undefined || r.encoderDecoder === encoderDecoder));
    if (!rule) {
      const other = OUTPUT_RULES.find((r) => r.pattern.test(v.name));
      const why = !other ? 'no naming convention matches it; not read' : encoderDecoder ? `ambiguous in an encoder–decoder graph (the ${other.label} of which stack?); not read` : 'a decoder output in a graph without decoder_input_ids; not read';
      entries.push({ v, why });
      continue;
    }
    if (rule.kind === 'cache') {
      // A decoder's present output seeds the cache input of the same layer and kind: occlusion reruns the text
      // after a replaced token from the cache of the tokens before it (occlusionPrefix.ts).
      const key = cacheKey(v.name);
      const fed = !encoderDecoder && key !== undefined ? inputs.find((i) => i.role === 'empty_cache' && cacheKey(i.name) === key) : undefined;
      if (fed && v.elemType === 'float32' && v.shape?.length === fed.axes.length) {
        fed.state = key;
        const axes = fed.axes.map((a): AxisSpec => (a.name === 'past' ? { name: 'position', size: sequences.tokens.length } : a));
        entries.push({ v, spec: { name: v.name, role: 'cache', dtype: 'float32', axes, state: key }, as: `cache output (seeds ${fed.name})` });
        continue;
      }
      const spec = IGNORED_TYPES.includes(v.elemType) && v.shape ? { name: v.name, role: 'ignored' as const, dtype: v.elemType as Dtype, axes: cacheAxes(v.shape) } : undefined;
      entries.push({ v, spec, as: 'cache output (ignored)' });
      continue;
    }
    if (v.elemType !== 'float32') {
      wrongType.push(`"${v.name}" is ${v.elemType}`);
      continue;
    }
    const read = readOutput(v, rule, { encoderDecoder, maskedLM, direction: direction.structure, primary, sequenceOf, config, notes });
    entries.push({ v, ...read, family: rule.layered ? rule.pattern.source : undefined });
  }
  if (wrongType.length) {
    const floats = wrongType.some((w) => FLOAT_TYPES.test(w.split(' is ')[1]));
    throw fail(`output ${wrongType.join(', ')}: only float32 outputs can be read${floats ? ' (float16 and bfloat16 exports are not supported: export in float32, e.g. without --fp16 / --dtype fp16)' : ''}.`);
  }
  for (const family of new Set(entries.map((e) => e.family).filter(Boolean))) {
    const members = entries.filter((e) => e.family === family && e.spec);
    const layers = members.map((e) => e.spec!.layer!).sort((a, b) => a - b);
    const first = family!.includes('hidden_states') ? layers[0] : 0;
    if (layers.some((l, i) => l !== first + i)) {
      for (const e of members) Object.assign(e, { spec: undefined, why: `its family has layers ${layers.join(', ')}, not ${first}..${first + layers.length - 1} without gaps; not read` });
    }
  }
  const outputs: OutputSpec[] = [];
  for (const e of entries) {
    if (e.spec) {
      outputs.push(e.spec);
      recognised.push({ name: e.v.name, as: e.as! });
    } else if (e.why) unrecognised.push({ name: e.v.name, why: e.why });
    else recognised.push({ name: e.v.name, as: e.as! });
  }
  const shown = outputs.filter((o) => o.role !== 'ignored');
  if (!shown.length) {
    throw fail(`no output it can show (logits, attentions.{i}, encoder_/decoder_/cross_attentions.{i}, hidden_states.{i}, last_hidden_state), found outputs ${quote(graph.outputs.map((v) => v.name))}.`);
  }
  if (!shown.some((o) => o.role === 'mixing' || o.role === 'cross_mixing')) {
    notes.push(`No attention outputs: the export has only ${quote(shown.map((o) => o.name))} (as Optimum exports by default). Attention needs a copy with the attention probabilities as outputs, found in the graph, or a re-export with attentions (see the README, "Bring your own model").`);
  }
  const seeded = inputs.filter((i) => i.role === 'empty_cache' && i.state !== undefined).length;
  if (caches) {
    const presents = seeded === caches ? 'the present.* outputs seed them only when occlusion reruns the text after a replaced token' : 'the present.* outputs are ignored';
    notes.push(`${caches} cache input${caches > 1 ? 's are' : ' is'} fed empty (a past of length 0) and ${presents}: the model sees only the analysed text.`);
  }
  const positions = configNumber(config, 'positions');
  if (positions) notes.push(`Its position embeddings cover ${positions.value} tokens (config.json ${positions.key}): analyse at most ${positions.value} tokens at a time, special tokens included.`);
  const vocabSize = tokenizerVocabSize(tokenizer.model, tokenizer.added);
  const logitsVocab = outputs.find((o) => o.role === 'logits')?.axes.find((a) => a.name === 'vocab')?.size;
  if (typeof logitsVocab === 'number' && logitsVocab !== vocabSize) notes.push(`The logits score ${logitsVocab} tokens but ${input.tokenizerFile} has ${vocabSize}: the tokenizer does not belong to this model.`);

  const manifest: ModelManifest = {
    schemaVersion: 2,
    id: input.id,
    displayName: input.id,
    architecture: typeof config.model_type === 'string' && config.model_type.trim() ? config.model_type : 'Hugging Face export',
    description: `Derived from the input and output names of ${onnxFile} (Hugging Face export conventions)${isObject(input.config) ? ' and config.json' : ''}; no manifest was written by hand.`,
    parameters: parameterCount(graph, input.fileBytes, notes),
    dimensions: dimensions(config, outputs, encoderDecoder, vocabSize),
    sequences,
    inputs,
    outputs,
    tokenizer: { file: input.tokenizerFile, type: tokenizer.type.toLowerCase(), ...specialTokens(config, tokenOf) },
    model: onnxFile,
    ...(input.externalData ? { externalData: input.externalData } : {}),
    license: input.license ?? 'NOASSERTION',
  };
  if (!input.license) notes.push('No licence is known (NOASSERTION): check the model card before sharing anything made with it.');
  const valid = validateManifest(manifest);
  if (!valid.ok) throw fail(`the manifest derived from it does not validate: ${valid.errors.join('; ')}.`);
  return { manifest: valid.manifest, recognised, unrecognised, notes };
}

interface ReadContext {
  encoderDecoder: boolean;
  maskedLM: boolean;
  direction: 'causal' | 'bidirectional';
  primary: SequenceId;
  sequenceOf: (side: Side) => SequenceId;
  config: Json;
  notes: string[];
}

/** The manifest entry for a logits, attention or hidden-state output, or why it cannot be read. */
function readOutput(v: OnnxValueInfo, rule: OutputRule, c: ReadContext): { spec?: OutputSpec; as?: string; why?: string } {
  const layer = rule.layered ? Number(rule.pattern.exec(v.name)![1]) : undefined;
  const rank = rule.kind === 'mixing' || rule.kind === 'cross_mixing' ? 4 : 3;
  const shape = v.shape ?? new Array<OnnxDim>(rank).fill(null);
  const expected = { logits: '[batch, sequence, vocab]', mixing: '[batch, head, query, key]', cross_mixing: '[batch, head, query, key]', hidden_states: '[batch, sequence, feature]', cache: '' }[rule.kind];
  if (shape.length !== rank) {
    const oneRow = rule.kind === 'logits' && shape.length === 2 ? ' (these score one position: a classifier or a last-token export)' : '';
    return { why: `expected ${rank} axes ${expected}, found ${shape.length}${oneRow}; not read` };
  }
  const base = { name: v.name, dtype: 'float32' as const };
  if (rule.kind === 'logits') {
    const seq = c.primary;
    const vocab = fixed(shape[2]) ?? configNumber(c.config, 'vocab')?.value;
    const axes: AxisSpec[] = [{ name: 'batch' }, sequenceAxis('position', seq, shape[1], v.name, c.notes), vocab ? { name: 'vocab', size: vocab } : { name: 'vocab' }];
    const spec: OutputSpec = { ...base, role: 'logits', predicts: c.maskedLM ? 'current' : 'next', axes };
    return { spec, as: c.maskedLM ? `logits of each token itself, masked LM (${seq})` : `logits of the next token (${seq})` };
  }
  if (rule.kind === 'hidden_states') {
    const seq = c.sequenceOf(rule.side);
    const width = fixed(shape[2]) ?? configNumber(c.config, 'width')?.value;
    const axes: AxisSpec[] = [{ name: 'batch' }, sequenceAxis('position', seq, shape[1], v.name, c.notes), width ? { name: 'feature', size: width } : { name: 'feature' }];
    const spec: OutputSpec = { ...base, role: 'hidden_states', group: rule.group, label: rule.label, axes, ...(layer === undefined ? {} : { layer }) };
    return { spec, as: `${rule.label}${layer === undefined ? '' : `, layer ${layer}`} (${seq})` };
  }
  const cross = rule.kind === 'cross_mixing';
  const query = c.sequenceOf(rule.side);
  const key = cross ? c.sequenceOf('first') : query;
  const heads = fixed(shape[1]) ?? configNumber(c.config, rule.side === 'decoder' ? 'decoderHeads' : 'heads')?.value;
  const axes: AxisSpec[] = [
    { name: 'batch' },
    heads ? { name: 'head', size: heads } : { name: 'head' },
    sequenceAxis('query', query, shape[2], v.name, c.notes),
    sequenceAxis('key', key, shape[3], v.name, c.notes),
  ];
  if (cross) return { spec: { ...base, role: 'cross_mixing', label: rule.label, layer, normalised: true, axes }, as: `${rule.label}, layer ${layer} (${query} to ${key})` };
  const structure = rule.structure ?? c.direction;
  const spec: OutputSpec = { ...base, role: 'mixing', structure, label: rule.label, layer, normalised: true, axes, ...(rule.group ? { group: rule.group } : {}) };
  return { spec, as: `${rule.label}, layer ${layer}, ${structure} (${query})` };
}

/** A sequence axis sized by the sequence's length symbol; a graph that fixes the length gets a note. */
function sequenceAxis(name: 'position' | 'query' | 'key', seq: SequenceId, dim: OnnxDim | undefined, tensor: string, notes: string[]): AxisSpec {
  if (typeof dim === 'number') {
    const note = `"${tensor}" has a fixed length of ${dim} in the graph (exported without a dynamic sequence axis): it runs only on exactly ${dim} tokens.`;
    if (!notes.includes(note)) notes.push(note);
  }
  return { name, size: LENGTHS[seq] };
}

/** Axes of an ignored cache output: [batch, head, past, feature], or the stacked [2, batch, head, past, feature]. */

function cacheAxes(shape: readonly OnnxDim[]): AxisSpec[] {
  const stacked = shape.length === 5;
  const rest = stacked ? shape.slice(1) : shape;
  const names: Array<AxisSpec['name']> = rest.length === 4 ? ['batch', 'head', 'past', 'feature'] : rest.map((_, i) => (i === 0 ? 'batch' : 'feature'));
  const sized = (name: AxisSpec['name'], d: OnnxDim | undefined): AxisSpec => (name === 'batch' || name === 'past' || fixed(d) === undefined ? { name } : { name, size: fixed(d) });
  return [...(stacked ? [sized('state', shape[0])] : []), ...rest.map((d, i) => sized(names[i], d))];
}

/** Weights: element counts of the floating-point initializers (the file size / 4 when the graph has none). */
function parameterCount(graph: OnnxGraph, fileBytes: number | undefined, notes: string[]): number {
  let n = 0;
  for (const t of graph.initializers) if (FLOAT_TYPES.test(t.elemType)) n += t.dims.reduce((a, b) => a * b, 1);
  if (n > 0) return n;
  notes.push('The graph holds no weights as initializers: the parameter count is estimated from the file size.');
  return Math.max(1, Math.round((fileBytes ?? 4) / 4));
}

function dimensions(config: Json, outputs: OutputSpec[], encoderDecoder: boolean, vocabSize: number): Record<string, number> {
  const d: Record<string, number> = {};
  const familySize = (group?: string) => outputs.filter((o) => o.role === 'mixing' && o.group === group).length || undefined;
  const layers = configNumber(config, 'layers')?.value;
  if (encoderDecoder) {
    const enc = familySize('source') ?? layers;
    const dec = familySize('target') ?? configNumber(config, 'decoderLayers')?.value ?? layers;
    if (enc) d.encoderLayers = enc;
    if (dec) d.decoderLayers = dec;
  } else {
    const l = familySize(undefined) ?? layers;
    if (l) d.layers = l;
  }
  const heads = outputs.find((o) => o.role === 'mixing')?.axes.find((a) => a.name === 'head')?.size ?? configNumber(config, 'heads')?.value;
  if (typeof heads === 'number') d.heads = heads;
  const width = configNumber(config, 'width')?.value;
  if (width) d.dModel = width;
  d.vocabSize = vocabSize;
  return d;
}

/** Token strings by id: added tokens first, then the model's vocabulary (an object or a Unigram list). */
function tokenLookup(model: Json, added: ReadonlyArray<{ id: number; content: string }>): (id: number) => string | undefined {
  let byId: Map<number, string> | undefined;
  return (id) => {
    if (!byId) {
      byId = new Map();
      const vocab = model.vocab;
      if (Array.isArray(vocab)) vocab.forEach((e, i) => byId!.set(i, String((e as unknown[])[0])));
      else if (isObject(vocab)) for (const [token, i] of Object.entries(vocab)) byId.set(i as number, token);
      for (const t of added) byId.set(t.id, t.content);
    }
    return byId.get(id);
  };
}

/** Largest id + 1, added tokens included (as the host's tokenizer check counts). */
function tokenizerVocabSize(model: Json, added: ReadonlyArray<{ id: number }>): number {
  const vocab = model.vocab;
  let max = Array.isArray(vocab) ? vocab.length - 1 : -1;
  if (isObject(vocab)) for (const id of Object.values(vocab)) max = Math.max(max, id as number);
  for (const t of added) max = Math.max(max, t.id);
  return max + 1;
}

/** The special tokens config.json names by id, as token strings. */
function specialTokens(config: Json, tokenOf: (id: number) => string | undefined): { specialTokens?: Record<string, string> } {
  const names: Array<[string, string]> = [['bos_token_id', 'beginningOfSequence'], ['eos_token_id', 'endOfSequence'], ['pad_token_id', 'pad'], ['decoder_start_token_id', 'decoderStart']];
  const out: Record<string, string> = {};
  for (const [key, name] of names) {
    const id = config[key];
    const token = typeof id === 'number' ? tokenOf(id) : undefined;
    if (token) out[name] = token;
  }
  return Object.keys(out).length ? { specialTokens: out } : {};
}

function divide(a: number | undefined, b: number | undefined): number | undefined {
  return a && b && a % b === 0 ? a / b : undefined;
}
