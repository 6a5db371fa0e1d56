// Why: a Hugging Face export (Optimum, transformers.onnx, torch.onnx with HF models) says what its tensors are
// only by their names and by config.json. This file is that knowledge as data, one table per question, so
// that hfManifest.ts derives a manifest from names and fields alone and a new convention is a new row here,
// never a branch on an architecture. Everything is matched on whole names (anchored patterns).

import type { InputRole } from './manifest';

/** Which token sequence an input or output indexes: the only / encoder one ("first"), or the decoder's. */
export type Side = 'first' | 'decoder';

/**
 * Graph inputs by name. `cache` inputs are one key or value tensor [batch, head, past, head_dim]
 * (Optimum: past_key_values.{i}.key/.value); `cache-pair` is the older stacked [2, batch, head, past, head_dim]
 * (past_{i}). Both are fed empty (a past of length 0), so the model sees only the analysed text.
 */
export interface InputRule {
  pattern: RegExp;
  role: InputRole | 'cache' | 'cache-pair';
  side: Side;
  /** What the input is taken as, for people ("attention mask of ones"). */
  as: string;
}

export const INPUT_RULES: readonly InputRule[] = [
  { pattern: /^input_ids$/, role: 'input_ids', side: 'first', as: 'token ids' },
  { pattern: /^decoder_input_ids$/, role: 'input_ids', side: 'decoder', as: 'token ids' },
  { pattern: /^attention_mask$/, role: 'attention_mask', side: 'first', as: 'attention mask of ones' },
  { pattern: /^decoder_attention_mask$/, role: 'attention_mask', side: 'decoder', as: 'attention mask of ones' },
  { pattern: /^position_ids$/, role: 'position_ids', side: 'first', as: 'positions 0, 1, …' },
  { pattern: /^decoder_position_ids$/, role: 'position_ids', side: 'decoder', as: 'positions 0, 1, …' },
  { pattern: /^token_type_ids$/, role: 'token_type_ids', side: 'first', as: 'segment ids of zeros' },
  { pattern: /^past_key_values\.(\d+)\.(key|value)$/, role: 'cache', side: 'first', as: 'cache' },
  { pattern: /^past_(\d+)$/, role: 'cache-pair', side: 'first', as: 'cache, keys and values' },
];

/** Inputs that are known but cannot be fed: `fatal` ones mean no manifest can be made (the message says why). */
export const UNSUPPORTED_INPUTS: ReadonlyArray<{ pattern: RegExp; why: string; fatal: boolean }> = [
  {
    pattern: /^encoder_hidden_states$/,
    why: 'the encoder\'s output: this graph is the decoder half of a split encoder–decoder export (Optimum\'s decoder_model.onnx), which needs encoder_model.onnx run first. Export encoder and decoder as one graph (see the README, "Bring your own model")',
    fatal: true,
  },
  {
    pattern: /^(num_beams|max_length|min_length|num_return_sequences|length_penalty|repetition_penalty)$/,
    why: 'a generation setting: the graph wraps the whole decoder in one beam-search operator, whose attention cannot be read. Export the model itself, without generation',
    fatal: true,
  },
  { pattern: /^inputs_embeds$/, why: 'embeddings instead of token ids: export the model with input_ids', fatal: true },
  { pattern: /^use_cache_branch$/, why: 'the switch of Optimum\'s merged decoder (a boolean, no role feeds it): export with --no-post-process, or with attentions (see the README)', fatal: false },
];

/** What a graph output is read as. */
export type OutputKind = 'logits' | 'mixing' | 'cross_mixing' | 'hidden_states' | 'cache';

/**
 * Graph outputs by name. `layered` rules carry the layer index in the name's first group (attentions.3).
 * `side` says which sequence the rows index: for `self` attention and hidden states of a model with one
 * sequence, "first" is that sequence; attentions.{i} in an encoder–decoder graph is ambiguous and not read.
 * The structure of `attentions.{i}` comes from SELF_ATTENTION_RULES; encoder and decoder families are fixed.
 */
export interface OutputRule {
  pattern: RegExp;
  kind: OutputKind;
  side: Side;
  /** A family name (the manifest's `group`) when a model may export several of this kind. */
  group?: string;
  label: string;
  layered: boolean;
  /** For mixing: fixed by the name (encoder: bidirectional, decoder: causal); absent means decided by rule. */
  structure?: 'causal' | 'bidirectional';
  /** Only meaningful in a graph with (`true`) or without (`false`) decoder inputs. */
  encoderDecoder?: boolean;
}

export const OUTPUT_RULES: readonly OutputRule[] = [
  { pattern: /^logits$/, kind: 'logits', side: 'first', label: 'logits', layered: false },
  { pattern: /^attentions\.(\d+)$/, kind: 'mixing', side: 'first', label: 'attention', layered: true, encoderDecoder: false },
  { pattern: /^encoder_attentions\.(\d+)$/, kind: 'mixing', side: 'first', group: 'source', label: 'encoder self-attention', layered: true, structure: 'bidirectional' },
  { pattern: /^decoder_attentions\.(\d+)$/, kind: 'mixing', side: 'decoder', group: 'target', label: 'decoder self-attention', layered: true, structure: 'causal', encoderDecoder: true },
  { pattern: /^cross_attentions\.(\d+)$/, kind: 'cross_mixing', side: 'decoder', group: 'cross', label: 'cross-attention', layered: true, encoderDecoder: true },
  { pattern: /^hidden_states\.(\d+)$/, kind: 'hidden_states', side: 'first', group: 'hidden_states', label: 'hidden states', layered: true, encoderDecoder: false },
  { pattern: /^encoder_hidden_states\.(\d+)$/, kind: 'hidden_states', side: 'first', group: 'encoder_hidden_states', label: 'encoder hidden states', layered: true },
  { pattern: /^decoder_hidden_states\.(\d+)$/, kind: 'hidden_states', side: 'decoder', group: 'decoder_hidden_states', label: 'decoder hidden states', layered: true, encoderDecoder: true },
  { pattern: /^last_hidden_state$/, kind: 'hidden_states', side: 'first', group: 'last_hidden_state', label: 'last hidden state', layered: false, encoderDecoder: false },
  { pattern: /^encoder_last_hidden_state$/, kind: 'hidden_states', side: 'first', group: 'encoder_last_hidden_state', label: 'encoder last hidden state', layered: false },
  { pattern: /^present(\.|_|\d)/, kind: 'cache', side: 'first', label: 'cache output', layered: false },
];

/** config.json fields, first present wins (GPT-2 spells n_layer, BERT num_hidden_layers, T5 num_layers, …). */
export const CONFIG_FIELDS = {
  layers: ['num_hidden_layers', 'n_layer', 'num_layers', 'encoder_layers'],
  decoderLayers: ['num_decoder_layers', 'decoder_layers'],
  heads: ['num_attention_heads', 'n_head', 'num_heads', 'encoder_attention_heads'],
  decoderHeads: ['decoder_attention_heads', 'num_heads', 'num_attention_heads'],
  cacheHeads: ['num_key_value_heads', 'num_attention_heads', 'n_head', 'num_heads', 'decoder_attention_heads'],
  width: ['hidden_size', 'd_model', 'n_embd'],
  headDim: ['head_dim', 'd_kv'],
  vocab: ['vocab_size'],
  positions: ['n_positions', 'max_position_embeddings'],
} as const;

/** A positive integer config field, by the first of its spellings present. */
export function configNumber(config: Record<string, unknown>, field: keyof typeof CONFIG_FIELDS): { value: number; key: string } | undefined {
  for (const key of CONFIG_FIELDS[field]) {
    const v = config[key];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return { value: v, key };
  }
  return undefined;
}

/** The facts the direction of `attentions.{i}` (and whether logits are a masked LM's) is decided from. */
export interface DirectionFacts {
  config: Record<string, unknown>;
  inputs: ReadonlySet<string>;
  outputs: ReadonlySet<string>;
}

const hasCache = (f: DirectionFacts) => [...f.inputs].some((n) => /^past(_key_values)?[._]/.test(n)) || [...f.outputs].some((n) => /^present(\.|_|\d)/.test(n));
const headSuffix = (f: DirectionFacts, suffixes: RegExp) => (Array.isArray(f.config.architectures) ? f.config.architectures : []).find((a) => typeof a === 'string' && suffixes.test(a)) as string | undefined;

/**
 * Whether self-attention of a model with one sequence is causal (a decoder) or bidirectional (an encoder):
 * the first rule whose test holds decides, and its `why` goes into the notes. Class names in config.json
 * "architectures" are read only by their task-head suffix (…ForCausalLM, …LMHeadModel, …ForMaskedLM).
 * `is_decoder: false` is not a rule: older configs wrote every default, causal language models included.
 */
export const SELF_ATTENTION_RULES: ReadonlyArray<{ structure: 'causal' | 'bidirectional'; test: (f: DirectionFacts) => string | undefined }> = [
  { structure: 'causal', test: (f) => (f.config.is_decoder === true ? 'config.json says "is_decoder": true' : undefined) },
  { structure: 'causal', test: (f) => (hasCache(f) ? 'the graph keeps a key/value cache (past_key_values / present), which only decoders do' : undefined) },
  { structure: 'causal', test: (f) => headSuffix(f, /(ForCausalLM|LMHeadModel)$/) && `config.json "architectures" names a causal language-model head (${headSuffix(f, /(ForCausalLM|LMHeadModel)$/)})` },
  { structure: 'bidirectional', test: (f) => headSuffix(f, /ForMaskedLM$/) && `config.json "architectures" names a masked language-model head (${headSuffix(f, /ForMaskedLM$/)})` },
  { structure: 'bidirectional', test: (f) => (f.inputs.has('token_type_ids') ? 'the graph takes token_type_ids (segment ids), which encoders read' : undefined) },
];

/** When no rule holds. */
export const SELF_ATTENTION_DEFAULT = {
  structure: 'causal' as const,
  why: 'nothing in the graph or config.json says whether it is a decoder or an encoder, so it is taken as a decoder (causal); for an encoder, name its head in config.json, e.g. "architectures": ["…ForMaskedLM"]',
};

/** The cache a cache input or a present output holds: "0.key" (past_key_values.0.key, present.0.key), "0" (past_0, present_0). */
export function cacheKey(name: string): string | undefined {
  const m = /^(?:past_key_values|present)\.(\d+)\.(key|value)$/.exec(name) ?? /^(?:past|present)_(\d+)$/.exec(name);
  return m ? (m[2] ? `${m[1]}.${m[2]}` : m[1]) : undefined;
}
