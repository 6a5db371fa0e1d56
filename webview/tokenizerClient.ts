// Why: the page's side of the tokenizer worker (tokenizerWorker.ts, started through workerScript.ts). Started
// with the page: started on the first model load instead, its script's fetch (466 ms in a cold command in
// code-server, bench:vscode) came after the model's files, when the selection waited for it.

import type { TokenSpan, TokenizeOptions } from '../src/core/tokenizer';
import type { PackedTokenizer } from '../src/core/tokenizerPacked';
import type { OffThreadTokenizers } from './tokenizeRoutes';
import type { TokenizerWorkerNotifications, TokenizerWorkerRequests } from './tokenizerWorkerProtocol';
import type { FileRoutes } from './fileRoutes';
import { WorkerConnection, wholeBuffer } from './workerScript';

/** A whole file's tokenization takes well under a second; past this the page tokenizes by itself. */
const TOKENIZE_TIMEOUT_MS = 60_000;
/** Building a 50,257-token tokenizer takes 0.2–0.3 s; past this the page builds its copy from the file itself. */
const LOAD_TIMEOUT_MS = 20_000;

export class TokenizerWorkerClient implements OffThreadTokenizers {
  private readonly connection: WorkerConnection<TokenizerWorkerRequests, TokenizerWorkerNotifications>;

  constructor(scriptUri: string, routes: FileRoutes) {
    this.connection = new WorkerConnection(scriptUri, 'tokenizer', TOKENIZE_TIMEOUT_MS, routes);
  }

  /**
   * The bytes move to the worker (the caller's array is empty afterwards when it owned its whole buffer); resolves
   * with the parts it built, packed, when asked to pack (else null). A failed load also fails the key's tokenize requests.
   */
  load(key: string, file: string, bytes: Uint8Array, pack: boolean): Promise<PackedTokenizer | null> {
    const owned = wholeBuffer(bytes);
    return this.connection.request('load', { key, file, bytes, pack }, owned ? [owned] : [], { timeoutMs: LOAD_TIMEOUT_MS });
  }

  tokenize(key: string, text: string, options: TokenizeOptions): Promise<TokenSpan[]> {
    return this.connection.request('tokenize', { key, text, options: { ...options, ...(options.prefix ? { prefix: [...options.prefix] } : {}) } });
  }

  unload(key: string): void {
    this.connection.request('unload', { key }).catch(() => undefined);
  }

  dispose(): void {
    this.connection.dispose();
  }
}
