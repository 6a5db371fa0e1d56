// Why: the Fill tests (infill, infillViews) build the same kind of request: a span of a document hidden, with
// some code on either side, as the host's Fill command would send it.

import * as assert from 'assert';
import type { InfillRequest } from '../../src/core/protocol';

/** A fill request hiding document[start, end), with `context` characters of code on either side. */
export function requestFor(doc: string, span: string, context: number, options: Partial<InfillRequest> = {}): InfillRequest {
  const start = doc.indexOf(span);
  assert.ok(start >= 0, `the sample has no ${JSON.stringify(span)}`);
  const end = start + span.length;
  const beforeStart = Math.max(0, start - context);
  const position = (offset: number) => ({ line: doc.slice(0, offset).split('\n').length - 1, character: offset - doc.lastIndexOf('\n', offset - 1) - 1 });
  return {
    uri: 'file:///sample.ts',
    fileName: 'sample.ts',
    languageId: 'typescript',
    version: 1,
    span: { startOffset: start, text: span, start: position(start), end: position(end) },
    before: { startOffset: beforeStart, text: doc.slice(beforeStart, start) },
    after: { startOffset: end, text: doc.slice(end, end + context) },
    beamWidth: 1,
    maxNewTokens: 8,
    ...options,
  };
}
