// Why: tokenizing a long selection takes the tokenizer library 70–130 ms (2,000 tokens of code, measured in
// bench:profile), one task too long for a main thread that must answer the next frame; the tokenizer worker
// (tokenizerWorker.ts) does it instead. These are the messages between the page (tokenizerClient.ts) and it,
// carried by the typed request endpoint of src/core/rpc.ts.

import type { TokenSpan, TokenizeOptions } from '../src/core/tokenizer';
import type { PackedTokenizer } from '../src/core/tokenizerPacked';

export interface TokenizerWorkerRequests {
  /**
   * Loads a tokenizer.json (its bytes, moved to the worker) under a key, replacing one loaded before; with pack,
   * answers the parts it built, packed, from which the page makes its own copy without parsing the file
   * (tokenizerPacked.ts), before it builds the library's tokenizer (left for the first tokenize); else null.
   */
  load: { params: { key: string; file: string; bytes: Uint8Array; pack: boolean }; result: PackedTokenizer | null };
  /** LensTokenizer.tokenize of the tokenizer loaded under key (a load that failed rejects with its error). */
  tokenize: { params: { key: string; text: string; options: TokenizeOptions }; result: TokenSpan[] };
  /** Forgets the tokenizer loaded under key. */
  unload: { params: { key: string }; result: null };
}

export type TokenizerWorkerNotifications = Record<string, never>;
