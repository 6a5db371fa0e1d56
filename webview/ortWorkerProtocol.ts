// Why: onnxruntime runs in a dedicated worker (ortWorker.ts), so that a session's creation and a run of
// seconds never hold the webview's main thread; these are the messages between the page (ortClient.ts) and
// that worker, carried by the same typed request endpoint as the host protocol (src/core/rpc.ts).

import type { PrefixCopies } from '../src/core/keptTensor';
import type { RowsOf } from '../src/core/logitRows';

export type OrtBackendName = 'webgpu' | 'wasm';
export type WireTensorType = 'int64' | 'int32' | 'float32' | 'float16' | 'uint16';
export type WireData = BigInt64Array | Int32Array | Float32Array | Uint16Array;

/** A tensor as it crosses to or from the worker (its buffer is transferred from the worker, copied to it). */
export interface WireTensor {
  type: WireTensorType;
  data: WireData;
  dims: number[];
}

/** A feed the worker builds from a tensor it keeps (keptTensor.ts): `copies` of its prefix, with the feed's dims. */
export interface WireKeptFeed {
  kept: number;
  copies: PrefixCopies;
  dims: number[];
}

export type WireFeed = WireTensor | WireKeptFeed;

/** The session options the engine gives (all structured-cloneable). */
export interface WireSessionOptions {
  executionProviders?: string[];
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  externalData?: Array<{ path: string; data: Uint8Array }>;
}

/** What the page asks of the worker. */
export interface OrtWorkerRequests {
  /** onnxruntime-web's version. */
  version: { params: Record<string, never>; result: string };
  /**
   * Creates a session on a backend; wasmBinary (the build's binary: inflated on the way when it came through the
   * file server, else gzipped as the extension ships it) or wasmUrl (the file server's URL of it, which the worker
   * streams into the compilation: the browser keeps the answer and, from a published path, the compiled code for later
   * pages) when the build has not instantiated its binary yet: the worker inflates gzipped bytes, not the page's main
   * thread. With holdBinary (the binary's file name), the worker holds the binary once compiled (raw: inflated when
   * it came gzipped) until keepBinary keeps it for later windows (binaryCache.ts): the page neither copies 14 MB
   * before handing it over nor digests and stores it on its thread. binaryFailed: the URL gave no binary (nothing was
   * started: the page sends the bytes instead).
   */
  create: {
    params: { backend: OrtBackendName; model: Uint8Array; options: WireSessionOptions; wasmBinary?: Uint8Array; wasmUrl?: string; holdBinary?: string };
    result: { session: number; inputNames: string[]; outputNames: string[] } | { binaryFailed: string };
  };
  /** Keeps the binary held under this file name in Cache Storage, if it has the build's digest, and frees it here; answers whether it was kept. */
  keepBinary: { params: { file: string }; result: boolean };
  /** Keeps a small model file fetched by the page, with the digest its manifest declares, in Cache Storage (keptModelFiles.ts); bytes are moved here. */
  keepModelFile: { params: { sha256: string; bytes: Uint8Array; what: string }; result: null };
  /**
   * fetches: the outputs to return (default every output); rowsOf: of that output, only item b's row rows[b], as
   * [batch, 1, …] (the rest is freed here: src/core/logitRows.ts).
   */
  run: { params: { session: number; feeds: Record<string, WireFeed>; fetches?: string[]; rowsOf?: RowsOf }; result: Record<string, WireTensor> };
  release: { params: { session: number }; result: null };
  /** Keeps a copy of a tensor (dims without batch) for later runs' WireKeptFeeds; answers its number. */
  keep: { params: { data: Float32Array; dims: number[] }; result: number };
  /** Frees a kept tensor. */
  drop: { params: { tensor: number }; result: null };
  /** The port on which the logits worker moves back each occlusion batch's logits once summed, to be freed here. */
  spentLogits: { params: { port: MessagePort }; result: null };
}

export type OrtWorkerNotifications = Record<string, never>;
