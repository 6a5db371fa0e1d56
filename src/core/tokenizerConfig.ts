// Why: tokenizer.json files come from many tools and versions; this file checks one before the tokenizer
// library sees it (so a broken file is reported with its name, the field, what was expected and what was
// found) and fills in what older or hand-made files lack: model.type, WordPiece defaults, and the old
// Metaspace setting add_prefix_space, which the library no longer reads. It also splits text at added
// tokens exactly as the library does, so that src/core/tokenizer.ts can replay the library's pipeline.

import { LensError } from './errors';

export interface AddedTokenConfig {
  id: number;
  content: string;
  special?: boolean;
  normalized?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
}
export type Json = Record<string, unknown>;
export type ModelType = 'BPE' | 'WordPiece' | 'Unigram';
export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const found = (v: unknown): string => (v === undefined ? 'it is missing' : `found ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'string' ? JSON.stringify(v.slice(0, 40)) : typeof v}`);

/** Every node of a component tree (Sequence members included). */
export function nodes(node: unknown): Json[] {
  if (!isObject(node)) return [];
  const children = [node.pretokenizers, node.normalizers, node.decoders, node.processors].flatMap((c) => (Array.isArray(c) ? c : []));
  return [node, ...children.flatMap(nodes)];
}

/** Checks a tokenizer.json and fills what the library needs but older or hand-made files lack. */
export function prepare(json: unknown, file: string): { config: Json; model: Json; type: ModelType; added: AddedTokenConfig[] } {
  const fail = (field: string, expected: string, value: unknown) => new LensError('model-invalid', `${file}: "${field}" should be ${expected}, but ${found(value)}.`);
  if (!isObject(json)) throw fail('(the file)', 'a JSON object (a Hugging Face tokenizer.json)', json);
  if (!isObject(json.model)) throw fail('model', 'an object', json.model);
  const model: Json = { ...json.model };
  const vocab = model.vocab;
  let type = model.type;
  if (type === undefined) {
    if (Array.isArray(vocab)) type = 'Unigram';
    else if (isObject(vocab) && model.merges !== undefined) type = 'BPE';
    else if (isObject(vocab) && ('continuing_subword_prefix' in model || 'max_input_chars_per_word' in model)) type = 'WordPiece';
    else throw fail('model.type', 'one of "BPE", "WordPiece", "Unigram" (or model.vocab and model.merges, from which the type is inferred)', type);
    model.type = type;
  }
  if (type !== 'BPE' && type !== 'WordPiece' && type !== 'Unigram') throw fail('model.type', 'one of "BPE", "WordPiece", "Unigram"', type);
  if (type === 'Unigram') {
    if (!Array.isArray(vocab)) throw fail('model.vocab', 'an array of [piece, score] pairs (Unigram)', vocab);
    const bad = vocab.findIndex((e) => !Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number');
    if (bad >= 0) throw fail(`model.vocab[${bad}]`, 'a [piece, score] pair', vocab[bad]);
    if (model.unk_id != null && !(Number.isInteger(model.unk_id) && (model.unk_id as number) < vocab.length)) throw fail('model.unk_id', `an index into model.vocab (0 to ${vocab.length - 1}) or null`, model.unk_id);
  } else {
    if (!isObject(vocab)) throw fail('model.vocab', `an object mapping tokens to ids (${type})`, vocab);
    // A loop rather than Object.entries: no array of 50,000 pairs for a GPT-2-sized vocabulary.
    for (const piece in vocab) {
      const id = vocab[piece];
      if (!Number.isInteger(id) || (id as number) < 0) throw fail(`model.vocab[${JSON.stringify(piece)}]`, 'a non-negative integer id', id);
    }
  }
  if (type === 'BPE' && !Array.isArray(model.merges)) throw fail('model.merges', 'an array of merges ("a b" or ["a", "b"])', model.merges);
  if (type === 'WordPiece') {
    model.continuing_subword_prefix ??= '##';
    model.unk_token ??= '[UNK]';
  }
  const addedTokens = json.added_tokens ?? [];
  if (!Array.isArray(addedTokens)) throw fail('added_tokens', 'an array', addedTokens);
  addedTokens.forEach((t, i) => {
    if (!isObject(t) || !Number.isInteger(t.id) || (t.id as number) < 0 || typeof t.content !== 'string') throw fail(`added_tokens[${i}]`, 'an object with a non-negative integer "id" and a string "content"', t);
  });
  // Old Metaspace files say add_prefix_space; the library reads only prepend_scheme.
  const fix = (node: unknown) => {
    const copy: unknown = node == null ? null : JSON.parse(JSON.stringify(node));
    for (const n of nodes(copy)) if (n.type === 'Metaspace' && n.prepend_scheme === undefined) n.prepend_scheme = n.add_prefix_space === false ? 'never' : 'always';
    return copy;
  };
  const config: Json = { ...json, model, added_tokens: addedTokens, normalizer: json.normalizer ?? null, post_processor: json.post_processor ?? null, pre_tokenizer: fix(json.pre_tokenizer), decoder: fix(json.decoder) };
  return { config, model, type, added: addedTokens as AddedTokenConfig[] };
}

/** Added tokens' contents by their first UTF-16 unit, for splitting a text at them. */
export type Contents = Map<string, string[]>;
export function byFirstUnit(contents: readonly string[]): Contents {
  const map: Contents = new Map();
  for (const c of contents) if (c) map.set(c[0], [...(map.get(c[0]) ?? []), c]);
  return map;
}

/** Longest-match splitting of a text at added tokens (as the library does). */
export function splitAtTokens(text: string, contents: Contents): Array<{ start: number; end: number }> {
  const parts: Array<{ start: number; end: number }> = [];
  let last = 0;
  for (let i = 0; i < text.length; ) {
    let best = 0;
    for (const c of contents.get(text[i]) ?? []) if (c.length > best && text.startsWith(c, i)) best = c.length;
    if (!best) {
      i++;
      continue;
    }
    if (i > last) parts.push({ start: last, end: i });
    parts.push({ start: i, end: i + best });
    i = last = i + best;
  }
  if (last < text.length) parts.push({ start: last, end: text.length });
  return parts;
}

/** Applies added tokens' lstrip/rstrip to their neighbours (whitespace they swallow is dropped). */
export function stripAround(text: string, parts: Array<{ start: number; end: number }>, added: Map<string, AddedTokenConfig>): void {
  parts.forEach((p, i) => {
    const token = added.get(text.slice(p.start, p.end));
    if (token?.lstrip && i > 0) parts[i - 1].end = parts[i - 1].start + text.slice(parts[i - 1].start, parts[i - 1].end).trimEnd().length;
    if (token?.rstrip && i < parts.length - 1) {
      const n = parts[i + 1];
      n.start = n.end - text.slice(n.start, n.end).trimStart().length;
    }
  });
}
