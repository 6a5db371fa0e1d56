// Why: a webview is a web page; a bug or a compromised script in it can post anything. The host therefore
// checks the params of every request and notification a webview sends (WebviewRequests and
// WebviewNotifications in protocol.ts) against one schema per method before any handler runs: types,
// ranges, lengths, and the relations between fields (start ≤ end, indices inside the token list, ordered
// offsets). Parsing returns a fresh copy holding only the declared fields, so handlers never see extra data.
// The schemas are typed against protocol.ts: a method without a schema, or a schema that admits values of
// the wrong type, does not compile. Checks that need the host's state (which document a panel analysed,
// whether offsets lie inside it) are made by the handlers, which reject with the same code.
// Small hand-written combinators instead of a schema library: the extension bundles no such dependency.

import { ERROR_CODES } from './errors';
import { INFLUENCE_METRICS, type InfluenceLink, type PackedInfluenceSummary, type TokenInfluence } from './influence';
import { ORT_BINARY_FILES } from './ortFiles';
import type { WebviewNotifications, WebviewRequests } from './protocol';

/** Longest URI a webview may name (the host's own URIs are far shorter). */
export const MAX_URI_LENGTH = 8192;
/** Longest selection text echoed back by a webview (UTF-16 units); also bounds offsets and lengths. */
export const MAX_TEXT_LENGTH = 64 * 1024 * 1024;
/** Most tokens an analysis reports: twice attentionLens.maxTokens' maximum (16,384), for special tokens. */
export const MAX_TOKENS = 32_768;
/** Most links per token in an influence summary (the panel sends 20; the hover shows at most 20). */
export const MAX_LINKS_PER_TOKEN = 32;
/** Most bytes of a model file one modelBytes request reads. */
export const MAX_MODEL_BYTES_PER_REQUEST = 64 * 1024 * 1024;
/** Longest suggested file name of an export. */
export const MAX_FILE_NAME_LENGTH = 128;
/** A PNG export: 64 MiB of base64 (48 MiB of PNG, far more than the largest canvas a view draws). */
export const MAX_SAVE_BASE64_LENGTH = 64 * 1024 * 1024;
/**
 * A JSON export: the views refuse exports above 24 million values (MAX_JSON_VALUES in the webview's
 * exporter), written with 6 decimals (at most ~12 characters each, separators included), plus the tokens.
 */
export const MAX_SAVE_UTF8_LENGTH = 320 * 1024 * 1024;

/** A parser: returns a checked copy of the value, or throws Invalid naming the path. */
export interface Schema<T> {
  parse(value: unknown, path: string): T;
}
interface OptionalSchema<T> extends Schema<T | undefined> {
  readonly optional: true;
}
type Infer<S> = S extends Schema<infer T> ? T : never;
type Shape = Record<string, Schema<unknown>>;
type OptionalKeys<S extends Shape> = { [K in keyof S]: S[K] extends OptionalSchema<unknown> ? K : never }[keyof S];
type ObjectOf<S extends Shape> = { [K in Exclude<keyof S, OptionalKeys<S>>]: Infer<S[K]> } & { [K in OptionalKeys<S>]?: Infer<S[K]> };

class Invalid extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path} ${reason}`);
  }
}

/** A short, single-line description of a value for an error message (never the whole value). */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value).replace(/[\u2028\u2029]/g, ' ');
    return value.length > 40 ? `${shown} (${value.length} characters)` : shown;
  }
  if (typeof value === 'number') return String(value);
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (ArrayBuffer.isView(value)) return `${Object.prototype.toString.call(value).slice(8, -1)} of ${(value as unknown as ArrayLike<number>).length ?? value.byteLength}`;
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : typeof value;
}

const fail = (path: string, reason: string, value: unknown): never => {
  throw new Invalid(path, `${reason}, got ${describeValue(value)}`);
};

function str(max: number, pattern?: RegExp, what?: string): Schema<string> {
  return {
    parse: (v, path) => {
      if (typeof v !== 'string') return fail(path, `must be ${what ?? 'a string'}`, v);
      if (v.length > max) throw new Invalid(path, `must be at most ${max} characters, got ${v.length}`);
      if (pattern && !pattern.test(v)) return fail(path, `must be ${what ?? `a string matching ${pattern}`}`, v);
      return v;
    },
  };
}

function oneOf<const T extends string>(values: readonly T[]): Schema<T> {
  return { parse: (v, path) => ((values as readonly unknown[]).includes(v) ? (v as T) : fail(path, `must be one of ${values.map((x) => `"${x}"`).join(', ')}`, v)) };
}

function int(min: number, max: number): Schema<number> {
  return { parse: (v, path) => (Number.isSafeInteger(v) && (v as number) >= min && (v as number) <= max ? (v as number) : fail(path, `must be an integer from ${min} to ${max}`, v)) };
}

function num(min: number, max = Number.MAX_VALUE): Schema<number> {
  return { parse: (v, path) => (typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max ? v : fail(path, `must be a finite number from ${min} to ${max}`, v)) };
}

/** A number that JSON turned into null when it was NaN: null becomes NaN again. */
function numOrNaN(): Schema<number> {
  return { parse: (v, path) => (v === null ? NaN : typeof v === 'number' && Number.isFinite(v) ? v : fail(path, 'must be a finite number or null', v)) };
}

const bool: Schema<boolean> = { parse: (v, path) => (typeof v === 'boolean' ? v : fail(path, 'must be true or false', v)) };

function nullable<T>(schema: Schema<T>): Schema<T | null> {
  return { parse: (v, path) => (v === null ? null : schema.parse(v, path)) };
}

function optional<T>(schema: Schema<T>): OptionalSchema<T> {
  return { optional: true, parse: (v, path) => (v === undefined ? undefined : schema.parse(v, path)) };
}

function arr<T>(item: Schema<T>, max: number, min = 0): Schema<T[]> {
  return {
    parse: (v, path) => {
      if (!Array.isArray(v)) return fail(path, 'must be an array', v);
      if (v.length > max || v.length < min) throw new Invalid(path, `must hold ${min} to ${max} items, got ${v.length}`);
      return v.map((x, i) => item.parse(x, `${path}[${i}]`));
    },
  };
}

/** A typed array of one kind (structured clone and VS Code's webview transport keep the kind), copied. */
function typed<A extends Int32Array | Float64Array>(kind: { new (values: ArrayLike<number>): A; readonly name: string }, max: number): Schema<A> {
  return {
    parse: (v, path) => {
      if (!ArrayBuffer.isView(v) || Object.prototype.toString.call(v) !== `[object ${kind.name}]`) return fail(path, `must be ${/^[AEIOU]/.test(kind.name) ? 'an' : 'a'} ${kind.name}`, v);
      const values = v as unknown as A;
      if (values.length > max) throw new Invalid(path, `must hold at most ${max} values, got ${values.length}`);
      return new kind(values);
    },
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const own = (o: object, key: string) => Object.prototype.hasOwnProperty.call(o, key);

function obj<S extends Shape>(shape: S): Schema<ObjectOf<S>> {
  return {
    parse: (v, path) => {
      if (!isPlainObject(v)) return fail(path, 'must be an object', v);
      const out: Record<string, unknown> = {};
      for (const [key, schema] of Object.entries(shape)) {
        const value = own(v, key) ? v[key] : undefined;
        if (value === undefined && !('optional' in schema)) throw new Invalid(`${path}.${key}`, 'is missing');
        const parsed = schema.parse(value, `${path}.${key}`);
        if (parsed !== undefined) out[key] = parsed;
      }
      return out as ObjectOf<S>;
    },
  };
}

function record<T>(key: Schema<string>, value: Schema<T>, maxEntries: number): Schema<Record<string, T>> {
  return {
    parse: (v, path) => {
      if (!isPlainObject(v)) return fail(path, 'must be an object', v);
      const entries = Object.entries(v);
      if (entries.length === 0 || entries.length > maxEntries) throw new Invalid(path, `must hold 1 to ${maxEntries} entries, got ${entries.length}`);
      // fromEntries defines own properties: a "__proto__" key stays a key, never a prototype.
      return Object.fromEntries(entries.map(([k, x]) => [key.parse(k, `${path} key`), value.parse(x, `${path}[${JSON.stringify(k)}]`)]));
    },
  };
}

/** Adds a check of relations between fields; `check` returns [path suffix, reason] when they do not hold. */
function refine<T>(schema: Schema<T>, check: (value: T) => [string, string] | null): Schema<T> {
  return {
    parse: (v, path) => {
      const value = schema.parse(v, path);
      const problem = check(value);
      if (problem) throw new Invalid(`${path}${problem[0]}`, problem[1]);
      return value;
    },
  };
}

// ---- Building blocks --------------------------------------------------------------------------------

const URI = str(MAX_URI_LENGTH, /^[a-zA-Z][a-zA-Z0-9+.-]*:[^\s\p{Cc}]*$/u, 'a URI (scheme:…, no spaces or control characters)');
const OFFSET = int(0, MAX_TEXT_LENGTH);
const VERSION = int(0, Number.MAX_SAFE_INTEGER);
const COUNT = int(0, 2 ** 31 - 1);
const MS = num(0, 1e9);
const MODEL_ID = str(128, /^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a model id (letters, digits, ".", "_", "-")');
const BACKEND = oneOf(['webgpu', 'wasm']);
const ERROR_CODE = oneOf(ERROR_CODES);
/** Any text shown or logged (never interpreted): no length beyond `max`. */
const text = (max: number) => str(max);
/** A plain file name: no separators, no leading dot (so neither "." nor ".."), nothing Windows forbids. */
const FILE_NAME = refine(
  str(MAX_FILE_NAME_LENGTH, /^(?!\.)(?!(?:con|prn|aux|nul|com\d|lpt\d)(?:\.|$))[^\\/:*?"<>|\p{Cc}]+(?<![. ])$/iu, 'a plain file name (no path separators, no leading "." or "..", no control characters)'),
  (name) => (name.includes('..') ? ['', `must not contain "..", got ${describeValue(name)}`] : null),
);
const EXTENSION = str(16, /^[A-Za-z0-9]+$/, 'a file extension without a dot');
const POSITION = obj({ line: OFFSET, character: OFFSET });
const TRUNCATED = nullable(refine(obj({ totalTokens: COUNT, keptTokens: COUNT }), (t) => (t.keptTokens > t.totalTokens ? ['.keptTokens', 'must not exceed totalTokens'] : null)));

const SELECTION = refine(
  obj({
    uri: URI,
    fileName: text(4096),
    languageId: text(256),
    version: VERSION,
    start: POSITION,
    end: POSITION,
    startOffset: OFFSET,
    text: str(MAX_TEXT_LENGTH),
    length: OFFSET,
    codePoints: OFFSET,
    lineCount: OFFSET,
  }),
  (s) => (s.length !== s.text.length ? ['.length', `must equal the text's length (${s.text.length})`] : s.startOffset + s.length > MAX_TEXT_LENGTH ? ['.startOffset', 'ends past the largest document accepted'] : null),
);

/** A link's weight may be negative only in a summary declared signed (checked with the tokens, below). */
const LINK: Schema<InfluenceLink> = obj({ index: int(0, MAX_TOKENS - 1), weight: num(-Number.MAX_VALUE) });
const TOKEN_INFLUENCE: Schema<TokenInfluence> = obj({
  start: OFFSET,
  end: OFFSET,
  text: text(4096),
  from: arr(LINK, MAX_LINKS_PER_TOKEN),
  to: arr(LINK, MAX_LINKS_PER_TOKEN),
});
const PACKED_LINKS = obj({ index: typed(Int32Array, MAX_TOKENS * MAX_LINKS_PER_TOKEN), weight: typed(Float64Array, MAX_TOKENS * MAX_LINKS_PER_TOKEN) });

/** Most tokens a fill reports (the original span's tokens, or what the model generated; far above its maxNewTokens). */
export const MAX_INFILL_TOKENS = 4096;
/** Most filled tokens listed per context token in an infillAttention notification (the Fill panel sends 3). */
export const MAX_LOOKED_AT_BY = 8;

const INFILL_CONTEXT = obj({
  start: OFFSET,
  end: OFFSET,
  lookedAtBy: arr(obj({ text: text(4096), index: int(0, MAX_INFILL_TOKENS - 1), weight: num(-Number.MAX_VALUE) }), MAX_LOOKED_AT_BY),
});

/** Context tokens in document order without overlaps, each with start ≤ end. */
function infillContextProblems(context: ReadonlyArray<{ start: number; end: number }>): [string, string] | null {
  for (let i = 0; i < context.length; i++) {
    const t = context[i];
    if (t.start > t.end) return [`.context[${i}].end`, `must not be before start (${t.start}), got ${t.end}`];
    if (i > 0 && t.start < context[i - 1].end) return [`.context[${i}].start`, `must not be before the previous token's end (${context[i - 1].end}), got ${t.start}`];
  }
  return null;
}

/** Tokens in document order without overlaps (their links: packedLinkProblems). */
function tokenProblems(tokens: ReadonlyArray<{ start: number; end: number }>): [string, string] | null {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.start > t.end) return [`.tokens[${i}].end`, `must not be before start (${t.start}), got ${t.end}`];
    if (i > 0 && t.start < tokens[i - 1].end) return [`.tokens[${i}].start`, `must not be before the previous token's end (${tokens[i - 1].end}), got ${t.start}`];
  }
  return null;
}

/**
 * A packed summary's links (PackedInfluenceSummary): linksPerToken slots per token and side, each an index of
 * another token with a finite weight (not negative unless the summary is signed), or -1 from where the token's
 * list ends.
 */
function packedLinkProblems(s: PackedInfluenceSummary): [string, string] | null {
  const T = s.tokens.length;
  const K = s.linksPerToken;
  for (const side of ['from', 'to'] as const) {
    const { index, weight } = s[side];
    for (const [name, values] of [['index', index], ['weight', weight]] as const) {
      if (values.length !== T * K) return [`.${side}.${name}`, `must hold ${T * K} values (${T} tokens × ${K} links), got ${values.length}`];
    }
    for (let j = 0; j < index.length; j++) {
      const at = `(token ${Math.floor(j / K)}, link ${j % K})`;
      const i = index[j];
      if (i === -1) continue;
      if (i < -1 || i >= T) return [`.${side}.index[${j}]`, `${at} must be -1 or an index below the number of tokens (${T}), got ${i}`];
      if (j % K > 0 && index[j - 1] === -1) return [`.${side}.index[${j}]`, `${at} must be -1 after the end of the token's list, got ${i}`];
      const w = weight[j];
      if (!Number.isFinite(w)) return [`.${side}.weight[${j}]`, `${at} must be a finite number, got ${w}`];
      if (w < 0 && !s.signed) return [`.${side}.weight[${j}]`, `${at} must not be negative in a summary that is not signed, got ${w}`];
    }
  }
  return null;
}

// ---- One schema per method ----------------------------------------------------------------------------

export const WEBVIEW_REQUEST_SCHEMAS: { readonly [K in keyof WebviewRequests]: Schema<WebviewRequests[K]['params']> } = {
  ready: obj({ view: oneOf(['panel', 'sidebar', 'fill']) }),
  revealRange: refine(obj({ uri: URI, start: OFFSET, end: OFFSET }), (p) => (p.start > p.end ? ['.end', `must not be before start (${p.start}), got ${p.end}`] : null)),
  saveFile: refine(
    obj({
      suggestedName: FILE_NAME,
      filters: record(str(64, /^[^\p{Cc}]+$/u, 'a filter label'), arr(EXTENSION, 8, 1), 4),
      data: str(Math.max(MAX_SAVE_BASE64_LENGTH, MAX_SAVE_UTF8_LENGTH)),
      encoding: oneOf(['base64', 'utf8']),
    }),
    (p) => {
      if (p.encoding === 'base64' && p.data.length > MAX_SAVE_BASE64_LENGTH) return ['.data', `must be at most ${MAX_SAVE_BASE64_LENGTH} characters of base64, got ${p.data.length}`];
      if (p.encoding === 'base64' && (p.data.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(p.data))) return ['.data', 'must be base64 (A-Z, a-z, 0-9, +, /, padded with =)'];
      const extension = /\.([^.]+)$/.exec(p.suggestedName)?.[1]?.toLowerCase();
      const allowed = Object.values(p.filters).flat().map((e) => e.toLowerCase());
      if (!extension || !allowed.includes(extension)) return ['.suggestedName', `must end in one of the filters' extensions (${allowed.join(', ')}), got ${describeValue(p.suggestedName)}`];
      return null;
    },
  ),
  openInPanel: obj({ selection: SELECTION, modelId: MODEL_ID }),
  panelRun: obj({ uri: URI, version: VERSION, startOffset: OFFSET, text: str(MAX_TEXT_LENGTH), maxTokens: int(1, MAX_TOKENS) }),
  modelBytes: obj({ modelId: MODEL_ID, file: oneOf(['model', 'externalData']), start: int(0, Number.MAX_SAFE_INTEGER), length: int(1, MAX_MODEL_BYTES_PER_REQUEST) }),
  likelyFirstModel: obj({}),
};

export const WEBVIEW_NOTIFICATION_SCHEMAS: { readonly [K in keyof WebviewNotifications]: Schema<WebviewNotifications[K]> } = {
  error: obj({ code: ERROR_CODE, message: text(1024 * 1024), source: text(256), stack: optional(text(64 * 1024)) }),
  backendReady: obj({
    backend: BACKEND,
    requested: oneOf(['auto', 'webgpu', 'wasm']),
    ortVersion: text(64),
    adapter: optional(text(2000)),
    fallbackReason: optional(text(4000)),
    initMs: MS,
  }),
  binaryKept: obj({ file: oneOf(ORT_BINARY_FILES), kept: bool }),
  analysisDone: obj({
    uri: URI,
    version: VERSION,
    modelId: MODEL_ID,
    backend: BACKEND,
    tokenCount: int(0, MAX_TOKENS),
    truncated: TRUNCATED,
    timings: obj({ loadMs: MS, tokenizeMs: MS, runMs: MS, analyseMs: MS, renderMs: MS }),
  }),
  influence: refine(
    obj({
      uri: URI,
      version: VERSION,
      modelId: MODEL_ID,
      modelName: text(1000),
      metric: oneOf(INFLUENCE_METRICS),
      metricLabel: text(1000),
      signed: optional(bool),
      tokens: arr(obj({ start: OFFSET, end: OFFSET, text: text(4096) }), MAX_TOKENS),
      linksPerToken: int(0, MAX_LINKS_PER_TOKEN),
      from: PACKED_LINKS,
      to: PACKED_LINKS,
      onDemand: optional(obj({ metric: oneOf(INFLUENCE_METRICS), metricLabel: text(1000) })),
    }),
    (s) => tokenProblems(s.tokens) ?? packedLinkProblems(s),
  ),
  analysisFailed: obj({ code: ERROR_CODE, message: text(64 * 1024), uri: URI, version: VERSION, modelId: str(128, /^(?:[A-Za-z0-9][A-Za-z0-9._-]*)?$/, 'a model id or ""') }),
  comparisonDone: obj({
    uri: URI,
    version: VERSION,
    startOffset: OFFSET,
    length: OFFSET,
    tokenCount: int(0, MAX_TOKENS),
    truncated: bool,
    models: arr(obj({ modelId: MODEL_ID, backend: BACKEND, reused: bool, runMs: MS, bitsPerByte: numOrNaN(), halfLife: nullable(num(0)) }), 64),
    sentences: arr(text(4000), 64),
  }),
  infillDone: obj({
    uri: URI,
    version: VERSION,
    modelId: MODEL_ID,
    backend: BACKEND,
    sourceTokenCount: int(0, MAX_TOKENS),
    original: obj({
      text: str(MAX_TEXT_LENGTH),
      tokens: arr(obj({ text: text(4096), probability: num(0, 1), surprisal: num(0) }), MAX_INFILL_TOKENS),
      bitsPerToken: numOrNaN(),
    }),
    filling: obj({ text: str(MAX_TEXT_LENGTH), tokenCount: int(0, MAX_INFILL_TOKENS), matchesOriginal: bool }),
    timings: obj({ loadMs: MS, scoreMs: MS, generateMs: MS, renderMs: MS }),
  }),
  infillAttention: refine(
    obj({ uri: URI, version: VERSION, modelId: MODEL_ID, label: text(1000), context: arr(INFILL_CONTEXT, MAX_TOKENS) }),
    (a) => infillContextProblems(a.context),
  ),
  infillFailed: obj({ code: ERROR_CODE, message: text(64 * 1024), uri: URI, version: VERSION, modelId: str(128, /^(?:[A-Za-z0-9][A-Za-z0-9._-]*)?$/, 'a model id or ""') }),
};

/**
 * Checks the panel's answer to influenceAt (a host request: the answer comes from the webview) for a
 * summary of `tokenCount` tokens: null, or one token's links (never negative) pointing inside the summary.
 * Returns a checked copy, or why it was rejected.
 */
export function checkInfluenceAt(answer: unknown, tokenCount: number): { ok: true; value: TokenInfluence | null } | { ok: false; message: string } {
  try {
    const value = nullable(TOKEN_INFLUENCE).parse(answer, 'result');
    for (const side of ['from', 'to'] as const) {
      const j = value?.[side].findIndex((l) => l.weight < 0 || l.index >= tokenCount) ?? -1;
      if (value && j >= 0) throw new Invalid(`result.${side}[${j}]`, `must have a weight ≥ 0 and an index below ${tokenCount}, got ${value[side][j].weight} at ${value[side][j].index}`);
    }
    return { ok: true, value };
  } catch (err) {
    return { ok: false, message: `"influenceAt": ${err instanceof Invalid ? err.message : `the answer could not be checked (${String(err)})`}` };
  }
}

/** A checked message: a copy of its params with only the declared fields, or why it was rejected. */
export type Checked = { ok: true; params: unknown } | { ok: false; message: string };

/**
 * Checks the params of a request or notification from a webview. Never throws: a rejection's message
 * names the method and the field (e.g. `"saveFile": params.suggestedName must be a plain file name…`).
 */
export function checkWebviewMessage(kind: 'request' | 'notification', method: string, params: unknown): Checked {
  const schemas: Readonly<Record<string, Schema<unknown>>> = kind === 'request' ? WEBVIEW_REQUEST_SCHEMAS : WEBVIEW_NOTIFICATION_SCHEMAS;
  const name = JSON.stringify(method.length > 64 ? `${method.slice(0, 64)}…` : method);
  if (!own(schemas, method)) return { ok: false, message: `${name}: no ${kind} of that name is accepted from a webview` };
  try {
    return { ok: true, params: schemas[method].parse(params, 'params') };
  } catch (err) {
    return { ok: false, message: `${name}: ${err instanceof Invalid ? err.message : `params could not be checked (${String(err)})`}` };
  }
}
