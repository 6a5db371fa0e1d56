// Why: the page's side of the tokenizer worker (tokenizerWorker.ts). Started with the page: started on the
// first model load instead, its script's fetch (466 ms in a cold command in code-server, bench:vscode) came
// after the model's files, when the selection waited for it.

import { LensError } from '../src/core/errors';
import type { TokenSpan, TokenizeOptions } from '../src/core/tokenizer';
import type { OffThreadTokenizers } from './engine';
import type { TokenizerWorkerNotifications, TokenizerWorkerRequests } from './tokenizerWorkerProtocol';
import { type StartedWorker, startWorker } from './workerScript';

/** A whole file's tokenization takes well under a second; past this the page tokenizes by itself. */
const TOKENIZE_TIMEOUT_MS = 60_000;

export class TokenizerWorkerClient implements OffThreadTokenizers {
  private started: Promise<StartedWorker<TokenizerWorkerRequests, TokenizerWorkerNotifications>> | undefined;
  private disposed = false;

  constructor(private readonly scriptUri: string) {
    void this.start();
  }

  private start(): Promise<StartedWorker<TokenizerWorkerRequests, TokenizerWorkerNotifications>> {
    if (this.disposed) return Promise.reject(new LensError('disposed', 'The tokenizer worker was stopped.'));
    if (!this.started) {
      this.started = startWorker<TokenizerWorkerRequests, TokenizerWorkerNotifications>(this.scriptUri, 'tokenizer', TOKENIZE_TIMEOUT_MS);
      this.started.catch(() => undefined); // reported by each request
    }
    return this.started;
  }

  private async request<K extends keyof TokenizerWorkerRequests & string>(method: K, params: TokenizerWorkerRequests[K]['params'], transfer: Transferable[] = []): Promise<TokenizerWorkerRequests[K]['result']> {
    const started = await this.start();
    started.transferNext = transfer;
    const answer = started.endpoint.request(method, params);
    started.transferNext = [];
    try {
      return await answer;
    } catch (err) {
      if (started.failure) throw new LensError('backend-unavailable', `The tokenizer worker failed: ${started.failure}`);
      throw err;
    }
  }

  /** The bytes move to the worker (the caller's array is empty afterwards when it owned its whole buffer). */
  load(key: string, file: string, bytes: Uint8Array): void {
    const owned = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
    this.request('load', { key, file, bytes }, owned ? [bytes.buffer] : []).catch(() => undefined); // a failed load fails the key's tokenize requests
  }

  tokenize(key: string, text: string, options: TokenizeOptions): Promise<TokenSpan[]> {
    return this.request('tokenize', { key, text, options: { ...options, ...(options.prefix ? { prefix: [...options.prefix] } : {}) } });
  }

  unload(key: string): void {
    if (this.started) this.request('unload', { key }).catch(() => undefined);
  }

  dispose(): void {
    this.disposed = true;
    void this.started?.then((s) => {
      s.endpoint.dispose();
      s.worker.terminate();
    }, () => undefined);
  }
}
