// Errors that cross the host/webview boundary travel as plain {code, message} objects;
// this file defines the codes and the conversions so neither side ever sends an Error instance.

/** Every error code either side may report. */
export type ErrorCode =
  | 'timeout'
  | 'disposed'
  | 'cancelled'
  | 'unknown-method'
  | 'bad-message'
  | 'empty-selection'
  | 'no-editor'
  | 'backend-unavailable'
  | 'model-invalid'
  | 'internal';

/** The wire form of an error. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  /** Stack trace of the side that raised it, for logs only; never shown as the message. */
  stack?: string;
}

/** An Error that carries a protocol code. */
export class LensError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LensError';
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
