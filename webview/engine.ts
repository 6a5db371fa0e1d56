// The webview's inference engine: loads a model's ONNX bytes and tokenizer through webview URIs (with
// byte progress), creates one onnxruntime-web session per model on the chosen backend, warms it up, runs
// analyses (a newer request cancels the older one), and releases every session when the view closes.

import * as ort from 'onnxruntime-web/webgpu';
import { Analysis, analyse } from '../src/core/analyze';
import { ModelRunner, OrtModule } from '../src/core/engine';
import { LensError } from '../src/core/errors';
import { LatestOnly } from '../src/core/latest';
import type { BackendInfo, ModelDescriptor } from '../src/core/protocol';
import { LensTokenizer } from '../src/core/tokenizer';

export interface LoadProgress {
  modelId: string;
  loaded: number;
  total: number;
}

interface LoadedModel {
  runner: ModelRunner;
  tokenizer: LensTokenizer;
  loadMs: number;
}

/** Fetches a webview resource, reporting bytes as they arrive. */
async function fetchBytes(uri: string, expected: number, onProgress?: (loaded: number, total: number) => void): Promise<Uint8Array> {
  const response = await fetch(uri);
  if (!response.ok || !response.body) {
    throw new LensError('model-invalid', `Could not read ${uri.split('/').slice(-2).join('/')} (${response.status} ${response.statusText}).`);
  }
  const total = Number(response.headers.get('content-length')) || expected;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onProgress?.(loaded, total);
  }
  const bytes = new Uint8Array(loaded);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}

export class Engine {
  private readonly loaded = new Map<string, Promise<LoadedModel>>();
  /** One analysis at a time; a newer one cancels the older. */
  private readonly latest = new LatestOnly();
  private disposed = false;

  constructor(private readonly backend: BackendInfo) {}

  /** Loads (once) and warms up a model. */
  load(model: ModelDescriptor, onProgress?: (p: LoadProgress) => void): Promise<LoadedModel> {
    const id = model.manifest.id;
    let entry = this.loaded.get(id);
    if (!entry) {
      entry = this.create(model, onProgress);
      this.loaded.set(id, entry);
      entry.catch(() => this.loaded.delete(id)); // a failed load may be retried
    }
    return entry;
  }

  /** Analyses a text; an analysis still running is cancelled first, so only the latest completes. */
  async analyse(model: ModelDescriptor, text: string, startOffset: number, maxTokens: number, onProgress?: (p: LoadProgress) => void): Promise<Analysis & { loadMs: number }> {
    return this.latest.run(async (signal) => {
      const { runner, tokenizer, loadMs } = await this.load(model, onProgress);
      if (signal.aborted) throw new LensError('cancelled', 'The analysis was cancelled by a newer one.');
      const result = await analyse(tokenizer, runner, text, startOffset, { maxTokens, signal, now: () => performance.now() });
      return { ...result, loadMs };
    });
  }

  /** Releases every session. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.latest.cancel();
    const entries = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.allSettled(entries.map(async (e) => (await e).runner.release()));
  }

  private async create(model: ModelDescriptor, onProgress?: (p: LoadProgress) => void): Promise<LoadedModel> {
    const started = performance.now();
    const id = model.manifest.id;
    const [modelBytes, tokenizerJson] = await Promise.all([
      fetchBytes(model.modelUri, model.modelBytes, (loaded, total) => onProgress?.({ modelId: id, loaded, total })),
      fetchBytes(model.tokenizerUri, 0).then((b) => JSON.parse(new TextDecoder().decode(b)) as unknown),
    ]);
    const tokenizer = new LensTokenizer(tokenizerJson);
    const runner = await ModelRunner.create(ort as unknown as OrtModule, model.manifest, modelBytes, {
      executionProviders: [this.backend.backend],
      graphOptimizationLevel: 'all',
    });
    if (this.disposed) {
      await runner.release();
      throw new LensError('disposed', 'The view closed while the model was loading.');
    }
    await runner.run(tokenizer.encode('function warmUp() {\n  return 1;\n}')); // first runs compile kernels
    return { runner, tokenizer, loadMs: performance.now() - started };
  }
}
