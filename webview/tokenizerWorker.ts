// Why: the worker that tokenizes for the page (see tokenizerWorkerProtocol.ts): the same LensTokenizer as the
// page's own, loaded from the same tokenizer.json bytes, so its spans are the ones the page would compute.

import { LensError } from '../src/core/errors';
import { Endpoint } from '../src/core/rpc';
import { LensTokenizer } from '../src/core/tokenizer';
import type { TokenizerWorkerNotifications, TokenizerWorkerRequests } from './tokenizerWorkerProtocol';
import { workerTransport } from './workerScript';

const page = new Endpoint<Record<string, never>, Record<string, never>, TokenizerWorkerRequests, TokenizerWorkerNotifications>(
  workerTransport(() => []),
  { peer: 'page' },
);

/** By key: the tokenizer, or why its file could not be loaded. */
const loaded = new Map<string, LensTokenizer | Error>();

page.onRequest('load', ({ key, file, bytes }) => {
  try {
    loaded.set(key, new LensTokenizer(JSON.parse(new TextDecoder().decode(bytes)) as unknown, file));
  } catch (err) {
    loaded.set(key, err instanceof Error ? err : new Error(String(err)));
  }
  return null;
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
