// Why: @huggingface/tokenizers gives token strings but no offsets, and its normalizers and pre-tokenizers
// change the text (lowercasing, accents, NFKC, ▁ for spaces, bytes). This file tracks where every unit of
// the normalized text came from in the original, and where every pre-token and token lies in it, so that
// src/core/tokenizer.ts can give each token its exact editor range.

/** A string derived from a slice of the original text: for each UTF-16 unit, the original range it came from. */
export interface Derived {
  text: string;
  /** Original range [lo[u], hi[u]) of unit u; lo === hi for an inserted unit (placed at lo). */
  lo: Int32Array;
  hi: Int32Array;
  /** Original offset of the slice's end (where an empty derived string sits). */
  end: number;
}

/** The part of a library normalizer (or sub-normalizer) used here. */
export interface NormalizerLike {
  config?: { type?: string; prepend?: string; content?: string; strip_left?: boolean; strip_right?: boolean };
  normalizers?: Array<NormalizerLike | null>;
  pattern?: RegExp | null;
  normalize(text: string): string;
}

/** The slice [start, end) of the original text, unchanged. */
export function identity(text: string, start: number): Derived {
  const lo = new Int32Array(text.length);
  const hi = new Int32Array(text.length);
  for (let u = 0; u < text.length; u++) {
    lo[u] = start + u;
    hi[u] = start + u + 1;
  }
  // A surrogate pair is one character: both halves map to the whole pair.
  for (let u = 0; u + 1 < text.length; u++) {
    if (isPair(text, u)) {
      hi[u] = start + u + 2;
      lo[u + 1] = start + u;
      u++;
    }
  }
  return { text, lo, hi, end: start + text.length };
}

function isPair(text: string, u: number): boolean {
  return (text.charCodeAt(u) & 0xfc00) === 0xd800 && (text.charCodeAt(u + 1) & 0xfc00) === 0xdc00;
}

/** Original range of the input units [a, b): the union of their non-empty ranges, or the empty place of the first. */
function rangeOf(d: Derived, a: number, b: number): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let u = a; u < b; u++) {
    if (d.hi[u] > d.lo[u]) {
      lo = Math.min(lo, d.lo[u]);
      hi = Math.max(hi, d.hi[u]);
    }
  }
  if (hi < lo) {
    const at = a < d.text.length ? d.lo[a] : d.end;
    return [at, at];
  }
  return [lo, hi];
}

/** Builds a Derived from groups: input units [a, b) became `out` (possibly empty, possibly inserted when a === b). */
class Builder {
  private text = '';
  private lo: number[] = [];
  private hi: number[] = [];
  constructor(private readonly input: Derived) {}
  add(a: number, b: number, out: string): void {
    if (!out) return;
    const [lo, hi] = rangeOf(this.input, a, b);
    this.text += out;
    for (let k = 0; k < out.length; k++) {
      this.lo.push(lo);
      this.hi.push(hi);
    }
  }
  done(): Derived {
    return { text: this.text, lo: Int32Array.from(this.lo), hi: Int32Array.from(this.hi), end: this.input.end };
  }
}

/** Applies a library normalizer to a Derived string, keeping track of where every output unit came from. */
export function alignNormalizer(norm: NormalizerLike | null | undefined, input: Derived): Derived {
  if (!norm || !input.text) return input;
  const type = norm.config?.type;
  if (type === 'Sequence' && Array.isArray(norm.normalizers)) {
    return norm.normalizers.reduce<Derived>((d, n) => alignNormalizer(n, d), input);
  }
  const out = norm.normalize(input.text);
  if (out === input.text) return input;
  const b = new Builder(input);
  const n = input.text.length;
  if (type === 'Prepend' && out === (norm.config?.prepend ?? '') + input.text) {
    b.add(0, 0, out.slice(0, out.length - n));
    for (let u = 0; u < n; u++) b.add(u, u + 1, input.text[u]);
    return b.done();
  }
  if (type === 'Strip') {
    const left = norm.config?.strip_left ? n - input.text.trimStart().length : 0;
    if (input.text.slice(left, left + out.length) === out) {
      for (let u = left; u < left + out.length; u++) b.add(u, u + 1, input.text[u]);
      return b.done();
    }
  }
  if (type === 'Replace' && norm.pattern instanceof RegExp) {
    const aligned = alignReplace(norm.pattern, norm.config?.content ?? '', input, out);
    if (aligned) return aligned;
  }
  return alignLocal((s) => norm.normalize(s), input, out);
}

/** A Replace normalizer: matched spans become the content, the rest is kept. */
function alignReplace(pattern: RegExp, content: string, input: Derived, out: string): Derived | null {
  const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : pattern.flags + 'g');
  const b = new Builder(input);
  let u = 0;
  for (const m of input.text.matchAll(global)) {
    const at = m.index ?? 0;
    for (; u < at; u++) b.add(u, u + 1, input.text[u]);
    b.add(at, at + m[0].length, content);
    u = at + m[0].length;
  }
  for (; u < input.text.length; u++) b.add(u, u + 1, input.text[u]);
  const d = b.done();
  return d.text === out ? d : null;
}

/**
 * A normalizer that works character by character (case, accents, Unicode forms, BERT's cleaning): each input
 * character (or a short run of them, for compositions) is normalized alone and matched against the output.
 */
function alignLocal(f: (s: string) => string, input: Derived, out: string): Derived {
  const text = input.text;
  const cache = new Map<string, string>();
  const norm = (s: string): string => {
    let r = cache.get(s);
    if (r === undefined) {
      r = f(s);
      cache.set(s, r);
    }
    return r;
  };
  const next = (u: number): number => (u + 1 < text.length && isPair(text, u) ? u + 2 : u + 1);
  const b = new Builder(input);
  let pos = 0;
  let u = 0;
  while (u < text.length && pos < out.length) {
    let done = false;
    let v = u;
    for (let k = 0; k < 4 && v < text.length; k++) {
      v = next(v);
      const piece = norm(text.slice(u, v));
      if (out.startsWith(piece, pos)) {
        b.add(u, v, piece);
        pos += piece.length;
        u = v;
        done = true;
        break;
      }
    }
    if (!done) {
      // Context-dependent output (e.g. Greek final sigma): take as many units as this character gives alone.
      v = next(u);
      const take = Math.max(1, Math.min(norm(text.slice(u, v)).length, out.length - pos));
      b.add(u, v, out.slice(pos, pos + take));
      pos += take;
      u = v;
    }
  }
  // Output left over belongs to the last character; input left over was removed.
  if (pos < out.length) b.add(Math.max(0, text.length - 1), text.length, out.slice(pos));
  return b.done();
}

/** GPT-2's byte-to-character table, reversed: printable bytes are themselves, the rest U+0100 and up. */
export const BYTE_OF_CHAR: ReadonlyMap<string, number> = (() => {
  const printable = new Set<number>();
  for (let b = 0x21; b <= 0x7e; b++) printable.add(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.add(b);
  for (let b = 0xae; b <= 0xff; b++) printable.add(b);
  const map = new Map<string, number>();
  let extra = 0;
  for (let b = 0; b < 256; b++) map.set(String.fromCharCode(printable.has(b) ? b : 256 + extra++), b);
  return map;
})();

/** UTF-8 offset of each UTF-16 unit (lone surrogates count as U+FFFD); offsets[text.length] = total bytes. */
export function utf8ByteOffsets(text: string): Uint32Array {
  // The low half of a surrogate pair gets its pair's offset (it starts no character).
  const offsets = new Uint32Array(text.length + 1);
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    offsets[i] = bytes;
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (i + 1 < text.length && isPair(text, i)) {
      offsets[i + 1] = bytes;
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  offsets[text.length] = bytes;
  return offsets;
}

/** How pieces and tokens spell the normalized text. */
export interface Spelling {
  /** Pieces and tokens are GPT-2 byte characters. */
  byteLevel: boolean;
  /** The Metaspace replacement character (stands for a space, may be inserted before a piece), or null. */
  meta: string | null;
  /** ByteLevel add_prefix_space: a piece may start with an inserted space. */
  prefixSpace: boolean;
}

/** Atom value of a Metaspace character; every other atom is one byte. */
export const META = -1;
const encoder = new TextEncoder();

/** The atoms of a piece or token string: its bytes, a Metaspace character as one META atom. */
export function atomsOf(s: string, sp: Spelling, out: number[] = []): number[] {
  if (sp.byteLevel) {
    for (const ch of s) {
      const b = BYTE_OF_CHAR.get(ch);
      if (b === undefined) for (const x of encoder.encode(ch)) out.push(x);
      else out.push(b);
    }
    return out;
  }
  for (const ch of s) {
    if (ch === sp.meta) out.push(META);
    else if (ch.length === 1 && ch.charCodeAt(0) < 0x80) out.push(ch.charCodeAt(0));
    else for (const x of encoder.encode(ch)) out.push(x);
  }
  return out;
}

/** The normalized text as bytes, with where characters start. */
export interface ByteText {
  bytes: Uint8Array;
  /** unitAt[b]: the first UTF-16 unit that starts a character at byte b or later (text.length at the end). */
  unitAt: Int32Array;
  /** starts[b] = 1 when byte b starts a character (or is the end). */
  starts: Uint8Array;
  /** space[b] = 1 when byte b starts a whitespace character. */
  space: Uint8Array;
}

export function byteText(text: string): ByteText {
  const bytes = encoder.encode(text);
  const offsets = utf8ByteOffsets(text);
  const unitAt = new Int32Array(bytes.length + 1).fill(text.length);
  const starts = new Uint8Array(bytes.length + 1);
  starts[bytes.length] = 1;
  const unitOfStart = new Int32Array(bytes.length + 1);
  const space = new Uint8Array(bytes.length + 1);
  for (let u = 0; u < text.length; u++) {
    if (u > 0 && isPair(text, u - 1)) continue; // the low half of a pair starts nothing
    starts[offsets[u]] = 1;
    unitOfStart[offsets[u]] = u;
    if (/\s/.test(text[u])) space[offsets[u]] = 1;
  }
  let next = text.length;
  for (let b = bytes.length - 1; b >= 0; b--) {
    if (starts[b]) next = unitOfStart[b];
    unitAt[b] = next;
  }
  return { bytes, unitAt, starts, space };
}

/**
 * Finds a piece's atoms in the normalized bytes at `from` or later (text before it was dropped by the
 * pre-tokenizer). A META atom matches a space or a literal Metaspace character, or nothing at a piece's start
 * (the pre-tokenizer inserted it); so does a leading space when ByteLevel adds one. Returns each atom's byte
 * range [start[k], end[k]), or null.
 */
export function findPiece(atoms: readonly number[], t: ByteText, from: number, sp: Spelling): { start: Int32Array; end: Int32Array } | null {
  const metaBytes = sp.meta ? encoder.encode(sp.meta) : new Uint8Array(0);
  const start = new Int32Array(atoms.length);
  const end = new Int32Array(atoms.length);
  const nb = t.bytes;
  const lengthsOf = (a: number, p: number, first: boolean): number[] => {
    const options: number[] = [];
    if (a === META) {
      if (nb[p] === 0x20) options.push(1);
      if (metaBytes.length && metaBytes.every((x, i) => nb[p + i] === x)) options.push(metaBytes.length);
      if (first) options.push(0);
    } else {
      if (nb[p] === a) options.push(1);
      if (first && a === 0x20 && sp.prefixSpace) options.push(0);
    }
    return options;
  };
  const matchRest = (p: number): boolean => {
    for (let k = 1; k < atoms.length; k++) {
      const [n] = lengthsOf(atoms[k], p, false);
      if (n === undefined) return false;
      start[k] = p;
      end[k] = p += n;
    }
    return true;
  };
  // The earliest match wins; but first, over the whitespace ahead (which the pre-tokenizer may have dropped),
  // a real match of a leading ▁ (a literal ▁, a space) is preferred to an inserted one.
  for (const strict of [atoms[0] === META, false]) {
    for (let p = from; p <= nb.length; p++) {
      if (!t.starts[p]) continue;
      if (!atoms.length) return { start, end };
      for (const n of lengthsOf(atoms[0], p, true)) {
        if (strict && n === 0 && t.space[p]) continue;
        start[0] = p;
        end[0] = p + n;
        if (matchRest(p + n)) return { start, end };
      }
      if (strict && !t.space[p]) break;
    }
  }
  return null;
}

/** A token placed in the normalized text: its bytes [b0, b1) there. */
export interface Placed {
  b0: number;
  b1: number;
}

/** A token's range in the original text. */
export interface Ranged {
  start: number;
  end: number;
  partial: boolean;
}

/**
 * Maps tokens placed in a normalized text back to the original. A character belongs to the token holding its
 * first byte, and an original character that became several normalized ones belongs to the first token that
 * holds any of them; later tokens get an empty range after it (and are partial). `covered` is where the
 * previous token ended, so ranges never overlap.
 */
export function rangesOf(d: Derived, t: ByteText, placed: readonly Placed[], covered: number): Ranged[] {
  const out: Ranged[] = [];
  const clamped: boolean[] = [];
  for (const { b0, b1 } of placed) {
    const u0 = t.unitAt[b0];
    const u1 = Math.max(u0, t.unitAt[b1]);
    let lo = Infinity;
    let hi = -Infinity;
    for (let u = u0; u < u1; u++) {
      if (d.hi[u] > d.lo[u]) {
        lo = Math.min(lo, d.lo[u]);
        hi = Math.max(hi, d.hi[u]);
      }
    }
    let start: number;
    let end: number;
    if (hi < lo) {
      start = end = Math.max(covered, u0 < d.text.length ? d.lo[u0] : d.end);
      clamped.push(false);
    } else {
      clamped.push(lo < covered);
      start = Math.max(covered, lo);
      end = Math.max(start, hi);
    }
    out.push({ start, end, partial: !t.starts[b0] || !t.starts[b1] || lo < covered });
    covered = end;
  }
  // A token is partial too when the next one had to start after it inside a character it holds.
  for (let i = 0; i + 1 < out.length; i++) if (clamped[i + 1]) out[i].partial = true;
  return out;
}
