// Why: the worker that tokenizes for the page (see tokenizerWorkerProtocol.ts): the same LensTokenizer as the
// page's own, loaded from the same tokenizer.json bytes, so its spans are the ones the page would compute. It
// sends the page the parts it built, from which the page makes its own copy (src/core/tokenizerPacked.ts).

import { LensError } from '../src/core/errors';
import { type Envelope, Endpoint } from '../src/core/rpc';
import { finish } from '../src/core/timeSlices';
import { LensTokenizer } from '../src/core/tokenizer';
import { type TokenizerParts, tokenizerSteps } from '../src/core/tokenizerBuild';
import { type PackedTokenizer, packTokenizer, packedBuffers } from '../src/core/tokenizerPacked';
import type { TokenizerWorkerNotifications, TokenizerWorkerRequests } from './tokenizerWorkerProtocol';
import { workerTransport } from './workerScript';

/** The large tables of the packed tokenizer a load answers with move to the page rather than being copied. */
function transferables(message: Envelope): Transferable[] {
  const result = message.kind === 'response' ? message.result : undefined;
  return typeof result === 'object' && result !== null && 'pieceEnds' in result ? packedBuffers(result as PackedTokenizer) : [];
}

const page = new Endpoint<Record<string, never>, Record<string, never>, TokenizerWorkerRequests, TokenizerWorkerNotifications>(
  workerTransport(transferables),
  { peer: 'page' },
);

/** By key: the tokenizer, or why its file could not be loaded. */
const loaded = new Map<string, LensTokenizer | Error>();

page.onRequest('load', ({ key, file, bytes, pack }) => {
  let parts: TokenizerParts;
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    // Packed for the page, the parts go before the library's tokenizer is built (the one long step, 55–92 ms for
    // GPT-2's vocabulary): the first tokenize builds it.
    parts = finish(tokenizerSteps(json, file, pack));
    loaded.set(key, new LensTokenizer(json, file, parts));
  } catch (err) {
    const failure = err instanceof Error ? err : new Error(String(err));
    loaded.set(key, failure);
    throw failure; // the page builds its own copy from the file, which says what is wrong with it
  }
  if (!pack) return null;
  return packTokenizer(parts); // a failure here leaves the worker's tokenizer in place
});

page.onRequest('tokenize', ({ key, text, options }) => {
  const tokenizer = loaded.get(key);
  if (!tokenizer) throw new LensError('internal', `No tokenizer is loaded for "${key}" in the tokenizer worker.`);
  if (tokenizer instanceof Error) throw tokenizer;
  return tokenizer.tokenize(text, options);
});

page.onRequest('unload', ({ key }) => {
  loaded.delete(key);
  return null;
});
