// Why: the engine tests (engineInterleaving, engineSessions) drive the webview's Engine in Node, on real
// onnxruntime-web (wasm) and real models. This rig hands the engine model files read from disk instead of
// webview URIs, and wraps the real onnxruntime module to count what it does: sessions created and released,
// inferences in flight per session and in all, and anything done to a session out of turn. Hooks let a test
// act at the moment a session creation or an inference starts (to close the view there).

import { readFileSync, statSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import type { OrtModule } from '../../src/core/engine';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import type { ModelDescriptor } from '../../src/core/protocol';
import type { ModelFileSource, ModelFiles } from '../../webview/modelFetcher';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

export const root = path.join(__dirname, '../..');

/** A model folder as the webview gets it; `edit` may damage the manifest (e.g. declare a wrong shape). */
export function descriptor(folder: string, edit?: (manifest: ModelManifest) => ModelManifest): ModelDescriptor {
  const dir = path.join(root, folder);
  const result = validateManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
  if (!result.ok) throw new Error(result.errors.join('\n'));
  const manifest = edit ? edit(result.manifest) : result.manifest;
  const modelPath = path.join(dir, manifest.model ?? 'model.onnx');
  return { manifest, modelUri: modelPath, tokenizerUri: path.join(dir, manifest.tokenizer.file), modelBytes: statSync(modelPath).size };
}

/** Model files from disk (the paths in a descriptor's URIs); `before` may hold or fail a read. */
export class DiskFiles implements ModelFileSource {
  reads = 0;
  before?: (model: ModelDescriptor) => Promise<void>;

  async files(model: ModelDescriptor, onProgress: (loaded: number, total: number) => void): Promise<ModelFiles> {
    this.reads++;
    await this.before?.(model);
    const modelBytes = new Uint8Array(readFileSync(model.modelUri));
    onProgress(modelBytes.length, modelBytes.length);
    const tokenizerBytes = new Uint8Array(readFileSync(model.tokenizerUri));
    return { modelBytes, tokenizerBytes };
  }
}

type Session = Awaited<ReturnType<typeof ort.InferenceSession.create>>;

/** The real onnxruntime-web module, counting sessions and inferences. */
export class CountingOrt implements OrtModule {
  created = 0;
  released = 0;
  runs = 0;
  inFlight = 0;
  maxInFlight = 0;
  maxPerSession = 0;
  /** Anything done to a session out of turn: a release during an inference, a run after release, a double release. */
  readonly violations: string[] = [];
  /** Called as a session creation starts, and as each inference starts (with its number, from 1). */
  onCreate?: () => void;
  onRun?: (n: number) => void;

  readonly Tensor = ort.Tensor as unknown as OrtModule['Tensor'];
  readonly InferenceSession = { create: (bytes: Uint8Array, options?: ort.InferenceSession.SessionOptions) => this.create(bytes, options) };

  /** Sessions created and not released. */
  get live(): number {
    return this.created - this.released;
  }

  private async create(bytes: Uint8Array, options?: ort.InferenceSession.SessionOptions): Promise<Session> {
    this.onCreate?.();
    const session = await ort.InferenceSession.create(bytes, options);
    this.created++;
    const run = session.run.bind(session) as (feeds: ort.InferenceSession.FeedsType) => Promise<ort.InferenceSession.ReturnType>;
    const release = session.release.bind(session);
    let running = 0;
    let released = false;
    Object.assign(session, {
      run: async (feeds: ort.InferenceSession.FeedsType) => {
        if (released) this.violations.push('an inference on a released session');
        running++;
        this.inFlight++;
        this.maxPerSession = Math.max(this.maxPerSession, running);
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        this.runs++;
        this.onRun?.(this.runs);
        try {
          return await run(feeds);
        } finally {
          running--;
          this.inFlight--;
        }
      },
      release: async () => {
        if (released) this.violations.push('a session released twice');
        if (running > 0) this.violations.push('a session released while an inference ran on it');
        released = true;
        await release();
        this.released++;
      },
    });
    return session;
  }
}

/** Resolves with `work`'s outcome, or with "stuck" after `ms`. */
export function within<T>(work: Promise<T>, ms: number): Promise<T | 'stuck'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'stuck'>((resolve) => (timer = setTimeout(() => resolve('stuck'), ms)));
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The seeded generator, so a failing interleaving can be replayed. */
export { seededRandom as random } from './seeded';
