// Tokenization with exact editor offsets. Wraps @huggingface/tokenizers (which loads the model's
// tokenizer.json) and maps every token back to the UTF-16 range it covers in the analysed text, so the
// token ranges tile the text exactly, even when a byte-level token splits a multi-byte character.

import { Tokenizer } from '@huggingface/tokenizers';
import { LensError } from './errors';

/** One token of an analysed text. Offsets are UTF-16 code units relative to the text's start. */
export interface TokenSpan {
  id: number;
  /** Start and end in UTF-16 units; end === start when the token holds only the tail bytes of a character. */
  start: number;
  end: number;
  /** Start and end in the text's UTF-8 bytes. */
  byteStart: number;
  byteEnd: number;
  /** True when the token begins or ends inside a multi-byte character. */
  partial: boolean;
}

/** GPT-2's byte-to-character table: printable bytes map to themselves, the rest to U+0100 and up. */
function byteLevelDecoder(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const map = new Map<string, number>();
  const taken = new Set(printable);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (taken.has(b)) {
      map.set(String.fromCharCode(b), b);
    } else {
      map.set(String.fromCharCode(256 + extra++), b);
    }
  }
  return map;
}

const BYTE_OF_CHAR = byteLevelDecoder();
const utf8 = new TextEncoder();

/** UTF-8 length of each UTF-16 unit's character start, as TextEncoder encodes it (lone surrogates → U+FFFD). */
export function utf8ByteOffsets(text: string): Uint32Array {
  // offsets[i] = byte offset where UTF-16 unit i starts; offsets[text.length] = total bytes.
  // The low half of a surrogate pair gets its pair's offset (it starts no character).
  const offsets = new Uint32Array(text.length + 1);
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    offsets[i] = bytes;
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      offsets[i + 1] = bytes;
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  offsets[text.length] = bytes;
  return offsets;
}

/** Is UTF-16 unit i the start of a character (not the low half of a pair)? */
function startsCharacter(text: string, i: number): boolean {
  return !((text.charCodeAt(i) & 0xfc00) === 0xdc00 && i > 0 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800);
}

/**
 * Maps token byte lengths onto the text. A character belongs to the token that holds its first byte,
 * so the ranges are contiguous, never overlap, and together cover the text exactly.
 */
export function spansFromByteLengths(text: string, ids: readonly number[], byteLengths: readonly number[]): TokenSpan[] {
  const offsets = utf8ByteOffsets(text);
  const totalBytes = offsets[text.length];
  const sum = byteLengths.reduce((a, b) => a + b, 0);
  if (sum !== totalBytes) {
    throw new LensError('model-invalid', `The tokenizer's tokens hold ${sum} bytes but the text has ${totalBytes}: the tokenizer changed the text (a normalizer?), so tokens cannot be mapped to the editor.`);
  }
  const spans: TokenSpan[] = [];
  let unit = 0; // first UTF-16 unit not yet assigned
  let byte = 0;
  for (let t = 0; t < ids.length; t++) {
    const byteStart = byte;
    const byteEnd = byte + byteLengths[t];
    const start = unit;
    // Take every character whose first byte lies inside this token.
    while (unit < text.length && offsets[unit] < byteEnd) {
      unit++;
      while (unit < text.length && !startsCharacter(text, unit)) unit++;
    }
    const startsClean = start < text.length ? offsets[start] === byteStart : byteStart === totalBytes;
    const endsClean = unit < text.length ? offsets[unit] === byteEnd : byteEnd === totalBytes;
    spans.push({ id: ids[t], start, end: unit, byteStart, byteEnd, partial: !startsClean || !endsClean || start === unit });
    byte = byteEnd;
  }
  return spans;
}

/** Makes whitespace visible for display: · for space, → for tab, ↵ for a line break (␍ for a lone CR). */
export function visibleWhitespace(text: string): string {
  return text.replace(/\r\n|\n/g, '↵').replace(/\r/g, '␍').replace(/\t/g, '→').replace(/ /g, '·');
}

/** A loaded tokenizer.json with byte-exact token spans. */
export class LensTokenizer {
  private readonly tokenizer: Tokenizer;
  private readonly tokenBytes: Uint8Array[] = [];
  private readonly specialIds = new Set<number>();

  constructor(json: unknown) {
    const config = json as { model?: { type?: string; vocab?: Record<string, number> }; added_tokens?: Array<{ id: number; content: string; special?: boolean }> };
    if (config?.model?.type !== 'BPE' || typeof config.model.vocab !== 'object') {
      throw new LensError('model-invalid', 'tokenizer.json: expected a byte-level BPE model with a vocabulary.');
    }
    this.tokenizer = new Tokenizer(json as object, {});
    for (const [piece, id] of Object.entries(config.model.vocab)) {
      const bytes = new Uint8Array(piece.length);
      for (let i = 0; i < piece.length; i++) {
        const b = BYTE_OF_CHAR.get(piece[i]);
        if (b === undefined) {
          throw new LensError('model-invalid', `tokenizer.json: token ${id} (${JSON.stringify(piece)}) is not byte-level.`);
        }
        bytes[i] = b;
      }
      this.tokenBytes[id] = bytes;
    }
    for (const added of config.added_tokens ?? []) {
      this.tokenBytes[added.id] = utf8.encode(added.content);
      if (added.special) this.specialIds.add(added.id);
    }
  }

  get vocabSize(): number {
    return this.tokenBytes.length;
  }

  /** Token ids of a text, without special tokens. */
  encode(text: string): number[] {
    return this.tokenizer.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode([...ids], { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  /** The raw bytes of a token. */
  bytesOf(id: number): Uint8Array {
    const bytes = this.tokenBytes[id];
    if (!bytes) throw new LensError('model-invalid', `Token id ${id} is outside the tokenizer's vocabulary.`);
    return bytes;
  }

  /** A token as display text (invalid UTF-8 pieces shown as U+FFFD), whitespace made visible. */
  display(id: number): string {
    return visibleWhitespace(new TextDecoder('utf-8').decode(this.bytesOf(id)));
  }

  /** Tokenizes a text and gives every token its exact UTF-16 range in it. */
  tokenize(text: string): TokenSpan[] {
    const ids = this.encode(text);
    return spansFromByteLengths(text, ids, ids.map((id) => this.bytesOf(id).length));
  }
}
