// Initialises onnxruntime-web for a webview page: WebGPU first (unless the user chose wasm), the
// one-thread wasm backend otherwise, and proves the choice by running a tiny probe model on it. The builds
// run in a dedicated worker (ortWorker.ts, reached through ortClient.ts), so no session and no run ever
// holds the page's main thread. Each backend gets its own onnxruntime-web build: the WebGPU build's wasm binary is compiled with
// Emscripten's asyncify and is twice the size (26.8 vs 14.2 MB): slower to load, compile and tier up, so
// the first sessions and runs after start are slower (steady-state runs are about as fast). The wasm
// backend uses the plain build, the binary onnxruntime-web runs in Node, which npm run bench measures.

import type { InferenceSession } from 'onnxruntime-web';
import type { OrtModule } from '../src/core/engine';
import { ORT_BINARY, type OrtBinaryFile, WORKER_SCRIPTS, binaryFileOf } from '../src/core/ortFiles';
import type { BackendInfo, BackendPreference } from '../src/core/protocol';
import { BinaryCache } from './binaryCache';
import { FileRoutes } from './fileRoutes';
import type { ModelFileWriter } from './keptModelFiles';
import { LogitsWorkerClient } from './logitsClient';
import { mark } from './marks';
import { type ResourceArrival, watchArrival } from './resourceArrival';
import { type BinarySource, OrtWorkerClient, ServedBinaryFailed } from './ortClient';
import { TokenizerWorkerClient } from './tokenizerClient';

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(): Promise<GpuAdapterLike | null>;
}

/** The build whose binary a page reads at once, and whether its HTML preloads that binary (webviewHtml.ts). */
export interface LikelyBuild {
  build: 'webgpu' | 'wasm';
  preloaded: boolean;
}

/** Describes an adapter in a line: vendor, architecture, device, description, fallback flag. */
export function describeAdapter(adapter: GpuAdapterLike): string {
  const info = adapter.info ?? {};
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((p): p is string => !!p && p.length > 0);
  const text = [...new Set(parts)].join(' ') || 'unnamed adapter';
  return info.isFallbackAdapter || adapter.isFallbackAdapter ? `${text} (software fallback adapter)` : text;
}

/** Finds a WebGPU adapter, or says why there is none. */
async function findAdapter(): Promise<{ adapter?: GpuAdapterLike; reason?: string }> {
  const gpu = (navigator as Navigator & { gpu?: GpuLike }).gpu;
  if (!gpu) {
    return { reason: 'this webview does not expose WebGPU (navigator.gpu is missing)' };
  }
  try {
    const adapter = await gpu.requestAdapter();
    return adapter ? { adapter } : { reason: 'no WebGPU adapter is available (requestAdapter returned null)' };
  } catch (err) {
    return { reason: `requesting a WebGPU adapter failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The onnxruntime-web builds of one webview page, in one worker (onnxruntime's settings are global to a
 * page, so a page makes one), started by init() for a backend preference, as often as the setting changes;
 * and the page's tokenizer and logits workers, which its engines tokenize in and do the math over logits in.
 */
export class OrtBackends {
  /** Builds whose wasm binary is instantiated: onnxruntime does that once per build, so it is fetched once. */
  private readonly instantiated = new Set<'webgpu' | 'wasm'>();
  /** Binaries on their way (kept or fetched), each taken by the probe that instantiates its build. */
  private readonly binaries = new Map<'webgpu' | 'wasm', Promise<BinarySource>>();
  /** The binaries fetched from VS Code that the worker compiled and holds, until keepFetchedBinaries() has it keep them for later windows. */
  private readonly fetched = new Set<OrtBinaryFile>();
  /** Whether the page holds a kept copy of each binary it read (onBinaryKept). */
  private readonly kept = new Map<OrtBinaryFile, boolean>();
  private readonly keptListeners: Array<(file: OrtBinaryFile, kept: boolean) => void> = [];
  private binaryEnded: () => void = () => undefined;
  /**
   * Settles once the first probe's binary has arrived or failed (at once when its build needed none; one that
   * onnxruntime's worker streams, once the page's preload of it has ended, or else once the session that compiled
   * it is created: resourceArrival.ts): what the panel's starter waits for before it fetches the model's files
   * (earlyFetches.ts says why).
   */
  readonly binaryFetched = new Promise<void>((resolve) => (this.binaryEnded = resolve));
  private readonly worker: OrtWorkerClient;
  readonly tokenizers: TokenizerWorkerClient;
  /** Where the engines' analyses rank their predictions and their occlusions sum KL divergences. */
  readonly logits: LogitsWorkerClient;

  /**
   * routes: the page's faster routes to its files (the binaries, the probe model, the workers' scripts); the page
   * reads its other files through the same object, so that a failed served read sends them all to resource loading.
   */
  constructor(
    private readonly ortBaseUri: string,
    readonly routes: FileRoutes = new FileRoutes(),
    private readonly binaryCache = new BinaryCache(),
  ) {
    this.worker = new OrtWorkerClient(new URL(WORKER_SCRIPTS.onnxruntime, ortBaseUri).href, routes);
    this.tokenizers = new TokenizerWorkerClient(new URL(WORKER_SCRIPTS.tokenizer, ortBaseUri).href, routes);
    this.logits = new LogitsWorkerClient(new URL(WORKER_SCRIPTS.logits, ortBaseUri).href, routes);
    // Occlusion's logits go from the logits worker straight back to onnxruntime's, whose runs made them, to be
    // freed there (ortWorker.ts says why). Without onnxruntime's worker there are no logits; its end of the channel
    // is closed then, so that nothing sent to it waits on this page.
    const spent = new MessageChannel();
    this.worker.freeFrom(spent.port1).catch((err: unknown) => {
      spent.port1.close();
      console.warn(`Occlusion's logits are freed in the logits worker: onnxruntime's worker did not take them (${err instanceof Error ? err.message : String(err)}).`);
    });
    this.logits.spendTo(spent.port2).catch((err: unknown) => console.warn(`The logits worker frees occlusion's logits itself: ${err instanceof Error ? err.message : String(err)}`));
  }

  /** A started backend as the engine's OrtModule (sessions and runs in the worker). */
  module(backend: 'webgpu' | 'wasm'): OrtModule {
    return this.worker.module(backend);
  }

  /**
   * Writes a small model file's kept copy in onnxruntime's worker, off this thread (ModelFetcher.keepFetched). A
   * write that fails there is only said: the file is fetched again in the next window.
   */
  readonly modelFileWriter: ModelFileWriter = (sha256, bytes, what) =>
    this.worker.keepModelFile(sha256, bytes, what).catch((err: unknown) => console.warn(`${what} is fetched in each window: onnxruntime's worker did not keep it (${err instanceof Error ? err.message : String(err)}).`));

  /** Stops the workers, releasing every session. */
  dispose(): void {
    this.worker.dispose();
    this.tokenizers.dispose();
    this.logits.dispose();
  }

  /**
   * Chooses and verifies a backend. Never throws for a missing WebGPU; throws only if wasm fails too. likely: the
   * build whose binary to start reading at once (the host's guess for "auto": the build it chose last), before the
   * adapter is looked for, and whether the page's HTML preloads it (then it is on its way: the page takes it, and
   * does not look for a kept copy first).
   */
  async init(requested: BackendPreference, probeModelUri: string, likely?: LikelyBuild): Promise<BackendInfo> {
    const started = performance.now();
    const likelyBuild = likely?.build;
    if (likelyBuild && !this.instantiated.has(likelyBuild) && !this.binaries.has(likelyBuild)) {
      const binary = this.readBinary(likelyBuild, !likely.preloaded);
      binary.catch(() => undefined); // the probe that takes it reports a failure; an untaken one is dropped
      this.binaries.set(likelyBuild, binary);
    }
    // The probe model and the chosen build's binary download side by side.
    const modelBytes = this.routes.fetchBytes(probeModelUri, { what: 'the probe model', code: 'backend-unavailable' });
    modelBytes.catch(() => undefined); // awaited by probe()
    // The worker starts meanwhile (its script is fetched and parsed): the binary's download does not wait for it.
    const version = this.worker.version();
    version.then(() => mark('worker'), () => undefined); // awaited below
    const base = async () => ({ requested, ortVersion: await version });
    let fallbackReason: string | undefined;
    if (requested === 'wasm') {
      fallbackReason = 'the attentionLens.backend setting is "wasm"';
    } else {
      const { adapter, reason } = await findAdapter();
      const software = adapter && (adapter.info?.isFallbackAdapter || adapter.isFallbackAdapter);
      if (adapter && software && requested === 'auto') {
        // A software adapter (e.g. SwiftShader) runs these models tens of times slower than WebAssembly.
        fallbackReason = `only a software WebGPU adapter is available (${describeAdapter(adapter)}), which is slower than WebAssembly; set attentionLens.backend to "webgpu" to use it anyway`;
      } else if (adapter) {
        try {
          await this.probe(modelBytes, 'webgpu');
          return { ...(await base()), backend: 'webgpu', adapter: describeAdapter(adapter), initMs: performance.now() - started };
        } catch (err) {
          fallbackReason = `onnxruntime-web could not run on WebGPU: ${err instanceof Error ? err.message : String(err)}`;
        }
      } else {
        fallbackReason = reason;
      }
    }
    await this.probe(modelBytes, 'wasm');
    return { ...(await base()), backend: 'wasm', fallbackReason, initMs: performance.now() - started };
  }

  /**
   * Has onnxruntime's worker keep the binaries this page fetched and runs in the browser's Cache Storage
   * (binaryCache.ts), for later pages and windows to read from there. The panel calls it once it has shown its first
   * result, so that writing 14 MB does not slow a cold start; the other pages once their backend is ready.
   */
  async keepFetchedBinaries(): Promise<void> {
    const fetched = [...this.fetched]; // only builds that run hold their binary (probe)
    this.fetched.clear();
    for (const file of fetched) {
      const kept = await this.worker.keepBinary(file).catch((err: unknown) => (console.warn(`onnxruntime's binary is fetched in each window: its worker did not keep it (${err instanceof Error ? err.message : String(err)}).`), false));
      if (kept) this.keptNow(file, true);
    }
  }

  /**
   * Calls listener with whether the page holds a kept copy of each binary it has read, now and as that changes (the
   * panel tells its host, whose next panel's HTML then preloads the binary only when none is kept: src/panel.ts).
   */
  onBinaryKept(listener: (file: OrtBinaryFile, kept: boolean) => void): void {
    this.keptListeners.push(listener);
    for (const [file, kept] of this.kept) listener(file, kept);
  }

  private keptNow(file: OrtBinaryFile, kept: boolean): void {
    if (this.kept.get(file) === kept) return;
    this.kept.set(file, kept);
    for (const listener of this.keptListeners) listener(file, kept);
  }

  /** A build's binary, taken once (the probe that instantiates the build takes it); nothing once the build runs. */
  private takeBinary(backend: 'webgpu' | 'wasm'): Promise<BinarySource | undefined> {
    if (this.instantiated.has(backend)) return Promise.resolve(undefined);
    const binary = this.binaries.get(backend) ?? this.readBinary(backend);
    this.binaries.delete(backend);
    return binary;
  }

  /**
   * A build's wasm binary. Through the file server, its URL: onnxruntime's worker streams it into the compilation,
   * and the browser keeps the answer and the compiled code (the binaries' path there is fixed: src/fileServer.ts,
   * publish), so that later pages, in this window and the next, neither fetch nor compile it again. Otherwise the
   * copy a page kept, when it has the build's digest (binaryCache.ts), else its bytes from VS Code, so that they
   * arrive while other requests are under way (each webview request can take a while: it goes through VS Code's
   * resource loading).
   */
  private async readBinary(backend: 'webgpu' | 'wasm', lookForKept = true): Promise<BinarySource> {
    const uri = `${this.ortBaseUri}${ORT_BINARY[backend]}`;
    const url = this.routes.servedInflatedUrl(uri);
    if (url) return { url };
    const file = binaryFileOf(backend);
    const kept = lookForKept ? await this.binaryCache.read(file) : undefined;
    if (lookForKept) this.keptNow(file, !!kept);
    if (kept) {
      mark('binary');
      return kept;
    }
    // Shipped gzipped: through resource loading it comes as stored, and the worker inflates it (94 ms on the main
    // thread in a cold command). Read into one array of the size the build wrote down.
    const expectedBytes = typeof ORT_BINARY_BYTES === 'object' ? ORT_BINARY_BYTES[file] : undefined;
    const bytes = await this.routes.fetchGzipped(uri, { what: `onnxruntime's WebAssembly binary ${ORT_BINARY[backend]}`, code: 'backend-unavailable', ...(expectedBytes ? { expectedBytes } : {}) });
    mark('binary');
    return bytes;
  }

  /**
   * The probe's session, whose creation instantiates the build's binary (when it has not been). The worker takes
   * the binary itself and, when its bytes were fetched rather than read from a kept copy, holds it compiled (and
   * inflated) to keep for later windows: copying 14 MB first took 33 ms of a cold command's page task, and digesting
   * and storing it on the page 47 ms of main-thread samples after the first paint (bench:profile --cold). A binary
   * the worker could not stream from the file server is read through resource loading, as every file from then on.
   */
  private async instantiate(provider: 'webgpu' | 'wasm', bytes: Uint8Array, binary: BinarySource | undefined): Promise<InferenceSession> {
    const options = { executionProviders: [provider] };
    let wasm = binary;
    if (wasm && !(wasm instanceof Uint8Array)) {
      try {
        const session = await this.worker.createSession(provider, bytes, options, wasm);
        mark('binary');
        return session;
      } catch (err) {
        if (!(err instanceof ServedBinaryFailed)) throw err;
        this.routes.fail(err.message);
        wasm = await this.readBinary(provider);
      }
    }
    const file = binaryFileOf(provider);
    const hold = wasm instanceof Uint8Array && this.kept.get(file) !== true && this.binaryCache.enabled(file) ? file : undefined;
    const session = await this.worker.createSession(provider, bytes, options, wasm, false, hold);
    if (hold) this.fetched.add(hold);
    return session;
  }

  /**
   * Runs the probe model (softmax of a product) and checks that its output is a distribution. The first
   * session of a build instantiates its wasm binary, fetched here beside the probe model.
   */
  private async probe(modelBytes: Promise<Uint8Array>, provider: 'webgpu' | 'wasm'): Promise<void> {
    const binary = this.takeBinary(provider);
    // Its bytes have arrived once they are here; a binary the worker streams, once the page's preload of the same
    // URL has ended (the worker's fetch takes the preload's answer), at the latest once the session is created.
    let arrival: ResourceArrival | undefined;
    let ended = false; // the probe failed before its binary came: nothing to watch for
    void binary.then(
      (wasm) => {
        if (wasm instanceof Uint8Array || !wasm || ended) return this.binaryEnded();
        arrival = watchArrival(wasm.url);
        void arrival.arrived.then(() => this.binaryEnded());
      },
      () => this.binaryEnded(),
    );
    let session: InferenceSession;
    try {
      const [bytes, wasm] = await Promise.all([modelBytes, binary]);
      session = await this.instantiate(provider, bytes, wasm);
    } finally {
      ended = true;
      arrival?.stop();
      this.binaryEnded();
    }
    this.instantiated.add(provider);
    this.binaries.clear(); // a likely build's binary that the adapter overruled is not needed
    mark('instantiated');
    const ort = this.module(provider);
    try {
      const input = new ort.Tensor('float32', Float32Array.from([1, 2, 3, 4]), [1, 4]);
      const output = await session.run({ [session.inputNames[0]]: input });
      const values = output[session.outputNames[0]].data as Float32Array;
      const sum = values.reduce((a, b) => a + b, 0);
      if (values.length !== 4 || Math.abs(sum - 1) > 1e-4) {
        throw new Error(`the probe model returned ${Array.from(values).join(', ')} (expected a distribution)`);
      }
    } finally {
      await session.release();
    }
  }
}
