// Errors that cross the host/webview boundary travel as plain {code, message} objects;
// this file defines the codes and the conversions so neither side ever sends an Error instance.
// Why the sanitising helpers live here too: an answer's error must not carry a stack trace or an absolute
// path of the machine (wireError), and text a webview sends must not reach the log as more than one
// bounded line (forLog), whoever logs it.

/** Every error code either side may report. */
export const ERROR_CODES = [
  'timeout',
  'disposed',
  'cancelled',
  'unknown-method',
  'bad-message',
  'bad-request',
  'empty-selection',
  'no-editor',
  'backend-unavailable',
  'model-invalid',
  'download-failed',
  /** A run would take more memory than the webview may use; the panel offers a shorter window. */
  'over-budget',
  'internal',
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

/** The wire form of an error. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  /** Stack trace of the side that raised it, for its own log only; answers never carry it (see wireError). */
  stack?: string;
}

/**
 * Marks every LensError, whichever copy of this module made it: the panel's starter (webview/panelStart.ts) and the
 * panel's script are separate bundles, each with its own copy of the class, and the script checks the errors of the
 * backend the starter made.
 */
const LENS_ERROR = Symbol.for('attentionLens.LensError');

/** An Error that carries a protocol code. */
export class LensError extends Error {
  readonly [LENS_ERROR] = true;

  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LensError';
  }

  /** `x instanceof LensError` holds for a LensError of any copy of this module (a subclass checks as usual). */
  static override [Symbol.hasInstance](value: unknown): value is LensError {
    if (this !== LensError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return typeof value === 'object' && value !== null && (value as { [LENS_ERROR]?: unknown })[LENS_ERROR] === true;
  }
}

/** Converts anything thrown into the wire form. */
export function toErrorPayload(err: unknown): ErrorPayload {
  if (err instanceof LensError) {
    return { code: err.code, message: err.message, stack: err.stack };
  }
  if (err instanceof Error) {
    return { code: 'internal', message: err.message || err.name, stack: err.stack };
  }
  if (isErrorPayload(err)) {
    return err;
  }
  return { code: 'internal', message: String(err) };
}

/** What an answer carries of an error: its code and its message without paths; never a stack trace. */
export function wireError(err: unknown): ErrorPayload {
  const { code, message } = toErrorPayload(err);
  return { code: isErrorCode(code) ? code : 'internal', message: redactPaths(String(message)) };
}

/** Rebuilds a throwable error from the wire form. */
export function fromErrorPayload(payload: ErrorPayload): LensError {
  const err = new LensError(payload.code, payload.message);
  if (payload.stack) {
    err.stack = payload.stack;
  }
  return err;
}

export function isErrorPayload(value: unknown): value is ErrorPayload {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as ErrorPayload).code === 'string' &&
    typeof (value as ErrorPayload).message === 'string'
  );
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return (ERROR_CODES as readonly unknown[]).includes(value);
}

/** Characters that end a path or URI inside a sentence. */
const END = `\\s'"\`<>()\\[\\]{},;`;
const FILE_URI = new RegExp(`\\bfile:\\/\\/[^${END}]*`, 'gi');
/** An absolute POSIX path of two or more segments, not part of a URL or a word ("bits/byte", "https://x/y"). */
const POSIX_PATH = new RegExp(`(?<![\\w.:/~\\\\-])(?:~|\\/[^${END}/:]+)(?:\\/[^${END}/:]*)+`, 'g');
/** A Windows drive or UNC path. */
const WINDOWS_PATH = new RegExp(`(?<![\\w])(?:[a-zA-Z]:|\\\\\\\\[^${END}\\\\]+)(?:\\\\[^${END}\\\\]*)+`, 'g');

/** Replaces absolute paths and file URIs in a message by "…/" and their last segment. */
export function redactPaths(message: string): string {
  const keepName = (path: string) => {
    const name = path.split(/[\\/]/).filter(Boolean).pop() ?? '';
    return `…/${decodeSafely(name)}`;
  };
  return message.replace(FILE_URI, keepName).replace(WINDOWS_PATH, keepName).replace(POSIX_PATH, keepName);
}

function decodeSafely(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Longest text from a webview that one log line shows. */
export const LOG_TEXT_LIMIT = 2000;

const LINE_BREAKERS = /[\p{Cc}\u2028\u2029]/gu;

/**
 * Text from a webview as one bounded log line: control characters and line separators escaped (so it cannot
 * forge a line), cut at `limit` characters with a note of how many more there were.
 */
export function forLog(text: unknown, limit = LOG_TEXT_LIMIT): string {
  const raw = typeof text === 'string' ? text : String(text);
  let cut = raw.length > limit ? raw.slice(0, limit) : raw;
  if (cut.length < raw.length && /[\ud800-\udbff]$/.test(cut)) cut = cut.slice(0, -1); // never half a character
  const escaped = cut.replace(LINE_BREAKERS, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      default:
        return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
    }
  });
  return cut.length < raw.length ? `${escaped}… (${raw.length - cut.length} more characters)` : escaped;
}
