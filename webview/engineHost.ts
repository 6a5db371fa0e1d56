// Why: a webview page that runs models needs the same few steps around its Engine: start onnxruntime-web
// for the backend setting (probe, badge, the host told), hand runs an engine that may not exist yet (a run
// waits on the slot of the backend it started with), start afresh when the setting changes (the old engine
// disposed, its waiting runs cancelled), and remember which models the engine has loaded. The Fill page uses
// this class; the analysis panel shares its engine slot and paint helpers.

import { LensError } from '../src/core/errors';
import type { BackendInfo, BackendPreference } from '../src/core/protocol';
import { OrtBackends } from './backend';
import { Engine } from './engine';
import type { FileRoutes } from './fileRoutes';
import type { ModelFetcher } from './modelFetcher';

/** The engine of one backend start: runs wait on it; a new backend setting gets a new slot. */
export interface EngineSlot {
  promise: Promise<Engine>;
  resolve(e: Engine): void;
  reject(err: unknown): void;
  engine?: Engine;
  /** Models this engine has loaded (their load time is 0 from then on). */
  loaded: Set<string>;
}

export function newEngineSlot(): EngineSlot {
  let resolve!: (e: Engine) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<Engine>((res, rej) => ((resolve = res), (reject = rej)));
  promise.catch(() => undefined); // awaited by each run, which reports the failure itself
  return { promise, resolve, reject, loaded: new Set() };
}

/** Resolves after the next frame has been painted. */
export const nextPaint = (): Promise<void> => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

export interface EngineHostEvents {
  /** The backend is starting ('loading'), ready, or failed. */
  status(state: BackendInfo | 'loading' | Error): void;
  /** A setting change replaced the engine: runs on the old one were cancelled; rerun what is shown. */
  restarted(): void;
}

export class EngineHost {
  private readonly ort: OrtBackends;
  private requested: BackendPreference | undefined;
  /** The current engine slot; runs take it when they start. */
  slot = newEngineSlot();
  /** The backend in use, once ready. */
  backend: BackendInfo | null = null;

  constructor(
    ortBaseUri: string,
    private readonly probeModelUri: string,
    private readonly files: ModelFetcher,
    routes: FileRoutes,
    private readonly events: EngineHostEvents,
  ) {
    this.ort = new OrtBackends(ortBaseUri, routes);
  }

  /** Starts (or, when the preference changed, restarts) the backend; a repeated preference does nothing. */
  async start(preference: BackendPreference): Promise<void> {
    if (this.requested === preference) return;
    const firstStart = this.requested === undefined;
    this.requested = preference;
    this.backend = null;
    if (!firstStart) {
      const old = this.slot;
      this.slot = newEngineSlot();
      void old.engine?.dispose();
      old.reject(new LensError('cancelled', 'The backend setting changed.'));
    }
    this.events.status('loading');
    if (!firstStart) this.events.restarted();
    try {
      const info = await this.ort.init(preference, this.probeModelUri);
      if (this.requested !== preference) return; // a newer setting superseded this start
      this.backend = info;
      this.events.status(info);
      this.slot.engine = new Engine({ provider: info.backend, ort: this.ort.module(info.backend), files: this.files, tokenizers: this.ort.tokenizers, klSums: () => this.ort.logits.sums(), predictRows: this.ort.logits.predictRows });
      this.slot.resolve(this.slot.engine);
      void this.ort.keepFetchedBinaries(); // for the next pages and windows (binaryCache.ts)
      void this.files.keepFetched(this.ort.modelFileWriter); // and the models' small files, as they are fetched (keptModelFiles.ts)
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err));
      this.events.status(error);
      this.slot.reject(error);
    }
  }

  /** Releases the engine's sessions and stops onnxruntime's worker (the page is going away). */
  dispose(): void {
    void Promise.resolve(this.slot.engine?.dispose()).finally(() => this.ort.dispose()); // sessions, then their worker
  }
}
