// Why: the worker that owns onnxruntime-web (both builds: WebGPU and plain wasm) and every session, so that
// creating a session and running a model happen off the webview's main thread, which keeps drawing, hovering
// and cancelling. It answers the requests of ortWorkerProtocol.ts; outputs go back by transferring their
// buffers (no copy). A dedicated worker made from a blob cannot fetch webview resources, so every byte it
// needs (model, external data, onnxruntime's binary) arrives in a request, but for a binary the extension's file
// server serves: that one it streams into the compilation itself, so that the browser keeps the compiled code. It also keeps the page's copies for later
// windows in Cache Storage (binaryCache.ts, keptModelFiles.ts): digesting and storing them on the page took 57 ms of
// its main thread's samples just after its first paint (bench:profile --cold).

import * as ortWebGpu from 'onnxruntime-web/webgpu';
import * as ortWasm from 'onnxruntime-web/wasm';
import type { InferenceSession, Tensor } from 'onnxruntime-web';
import { prefixCopies } from '../src/core/keptTensor';
import { pickRows } from '../src/core/logitRows';
import { releaseBuffer } from '../src/core/releaseBuffer';
import { type Envelope, Endpoint } from '../src/core/rpc';
import { BinaryCache } from './binaryCache';
import { inflate, isGzip } from './inflate';
import { KeptModelFiles } from './keptModelFiles';
import { LoaderModules, servedModule } from './servedBinary';
import type { OrtBackendName, OrtWorkerNotifications, OrtWorkerRequests, WireFeed, WireTensor } from './ortWorkerProtocol';
import { workerTransport } from './workerScript';

type OrtBuild = typeof ortWasm;
const builds: Record<OrtBackendName, OrtBuild> = { webgpu: ortWebGpu as OrtBuild, wasm: ortWasm };
for (const ort of Object.values(builds)) {
  ort.env.wasm.numThreads = 1; // webviews are not cross-origin isolated: no SharedArrayBuffer
  ort.env.wasm.proxy = false;
  ort.env.logLevel = 'error';
}

/** The buffers of a response's tensors, to transfer rather than copy. */
function transferables(message: Envelope): Transferable[] {
  if (message.kind !== 'response' || !message.result || typeof message.result !== 'object') return [];
  const buffers = new Set<ArrayBuffer>();
  for (const value of Object.values(message.result as Record<string, unknown>)) {
    const data = (value as Partial<WireTensor> | null)?.data;
    if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) buffers.add(data.buffer);
  }
  return [...buffers];
}

const transport = workerTransport(transferables);
const page = new Endpoint<Record<string, never>, Record<string, never>, OrtWorkerRequests, OrtWorkerNotifications>(transport, { peer: 'page' });

const sessions = new Map<number, { ort: OrtBuild; session: InferenceSession }>();
let nextSession = 1;
/** Tensors kept for later runs' feeds (keptTensor.ts), by number. */
const kept = new Map<number, { data: Float32Array; dims: number[] }>();
let nextKept = 1;
/** Binaries held once their build started, by file name, until keepBinary keeps them (or the worker ends). */
const heldBinaries = new Map<string, Uint8Array>();
const binaryCache = new BinaryCache();
const modelFiles = new KeptModelFiles();
const loaderModules = new LoaderModules();

page.onRequest('version', () => ortWasm.env.versions.web ?? 'unknown');

// A buffer this worker received is freed once used rather than at its next garbage collection, which may not
// come for minutes: nothing else allocates here, so a 343 MiB model's bytes stayed resident beside the weights
// that onnxruntime copied out of them.

page.onRequest('create', async ({ backend, model, options, wasmBinary, wasmUrl, holdBinary }) => {
  const ort = builds[backend];
  if (!ort) throw new Error(`unknown backend "${String(backend)}"`);
  let session: InferenceSession | undefined;
  let binary: Uint8Array | undefined;
  try {
    if (typeof wasmUrl === 'string') {
      // Checked before onnxruntime starts: a build whose start failed cannot start again in this worker.
      const compiled = await servedModule(wasmUrl);
      if (typeof compiled === 'string') return { binaryFailed: compiled };
      ort.env.wasm.wasmPaths = { wasm: wasmUrl };
      session = await loaderModules.during(wasmUrl, compiled, () => ort.InferenceSession.create(model, options as InferenceSession.SessionOptions));
    } else {
      binary = wasmBinary && (isGzip(wasmBinary) ? await inflate(wasmBinary, "onnxruntime's WebAssembly binary") : wasmBinary);
      ort.env.wasm.wasmBinary = binary;
      session = await ort.InferenceSession.create(model, options as InferenceSession.SessionOptions);
    }
  } finally {
    ort.env.wasm.wasmBinary = undefined; // used once, when the build starts
    ort.env.wasm.wasmPaths = undefined;
    // The model is in onnxruntime's heap now (or was refused, or the binary could not be inflated): its bytes and
    // the binary (compiling copied it), all this worker's, are not needed here. The binary is held when asked for.
    const held = session && holdBinary && binary ? binary : undefined;
    if (held) heldBinaries.set(holdBinary!, held);
    const received = [model, ...(options.externalData ?? []).map((d) => d.data), wasmBinary, binary];
    for (const bytes of new Set(received)) if (bytes && bytes.buffer !== held?.buffer && bytes.buffer.byteLength > 0) releaseBuffer(bytes, true); // the whole buffer is this worker's
  }
  const id = nextSession++;
  sessions.set(id, { ort, session });
  return { session: id, inputNames: [...session.inputNames], outputNames: [...session.outputNames] };
});

page.onRequest('keepBinary', async ({ file }) => {
  const bytes = heldBinaries.get(file);
  heldBinaries.delete(file);
  if (!bytes) return false;
  try {
    return await binaryCache.write(file, bytes);
  } finally {
    releaseBuffer(bytes, true); // stored (Cache Storage copied it) or refused: not needed here
  }
});

page.onRequest('keepModelFile', async ({ sha256, bytes, what }) => {
  if (typeof sha256 !== 'string' || !(bytes instanceof Uint8Array) || typeof what !== 'string') throw new Error('a model file to keep needs its digest, its bytes and its name');
  try {
    await modelFiles.keepNow(sha256, bytes, what);
  } finally {
    releaseBuffer(bytes, true); // received: the whole buffer is this worker's
  }
  return null;
});

page.onRequest('run', async ({ session: id, feeds, fetches, rowsOf }) => {
  const entry = sessions.get(id);
  if (!entry) throw new Error(`no session ${id} (released?)`);
  const inputs: Record<string, Tensor> = {};
  const built: Float32Array[] = []; // feeds made here from kept tensors, freed once the run has read them
  for (const [name, t] of Object.entries(feeds)) {
    if (!('kept' in t)) inputs[name] = new entry.ort.Tensor(t.type as 'float32', t.data as Float32Array, t.dims);
    else built.push((inputs[name] = keptFeed(entry.ort, name, t)).data as Float32Array);
  }
  let results: InferenceSession.OnnxValueMapType;
  try {
    results = await (fetches ? entry.session.run(inputs, fetches) : entry.session.run(inputs));
  } finally {
    for (const data of built) releaseBuffer(data, true); // a batch's copies of a cache: megabytes each, every batch
  }
  const out: Record<string, WireTensor> = {};
  for (const [name, t] of Object.entries(results)) {
    if (rowsOf?.output === name && t.type === 'float32') {
      // Only these rows go to the page; the whole output, a fresh array of onnxruntime's, is freed here.
      const picked = pickRows(t.data as Float32Array, t.dims, rowsOf.rows);
      releaseBuffer(t.data as Float32Array);
      out[name] = { type: 'float32', data: picked.data, dims: picked.dims };
      continue;
    }
    let data = t.data as WireTensor['data'];
    // A view into a larger buffer (or onnxruntime's heap) is copied: only a buffer of its own can be transferred.
    if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength || !(data.buffer instanceof ArrayBuffer)) data = data.slice() as WireTensor['data'];
    out[name] = { type: t.type as WireTensor['type'], data, dims: [...t.dims] };
  }
  return out;
});

/** Builds a feed from a kept tensor, as the engine would on the page (prefixCopies). */
function keptFeed(ort: OrtBuild, name: string, feed: Extract<WireFeed, { kept: number }>): Tensor {
  const source = kept.get(feed.kept);
  if (!source) throw new Error(`feed "${name}": no kept tensor ${feed.kept} (released?)`);
  try {
    return new ort.Tensor('float32', prefixCopies(source.data, source.dims, feed.copies, feed.dims), feed.dims);
  } catch (err) {
    throw new Error(`feed "${name}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

page.onRequest('keep', ({ data, dims }) => {
  if (!Array.isArray(dims) || !dims.every((d) => Number.isInteger(d) && d >= 0)) throw new Error(`a tensor to keep needs whole, non-negative dims, got ${JSON.stringify(dims)}`);
  if (!(data instanceof Float32Array)) throw new Error('a tensor to keep must be a Float32Array');
  if (data.length !== dims.reduce((a, b) => a * b, 1)) throw new Error(`a tensor to keep of [${dims.join(', ')}] has ${data.length} values`);
  const id = nextKept++;
  kept.set(id, { data, dims: [...dims] });
  return id;
});

page.onRequest('drop', ({ tensor }) => {
  const entry = kept.get(tensor);
  kept.delete(tensor);
  if (entry) releaseBuffer(entry.data, true); // received: the whole buffer is this worker's
  return null;
});

// An occlusion batch's logits come back here from the logits worker, to be freed on the thread whose
// onnxruntime made them rather than where they were last read. Freed in the logits worker, an occlusion's
// outputs (12 MiB each, about 550 MiB for the Elman RNN at 256 tokens) left that thread's CPU with the free
// pages, and this one's next outputs often took pages the system had handed back to its host: onnxruntime's copy
// of its outputs then took 1.8 s instead of 0.3 s of a 2 s occlusion, in the kernel clearing pages, and stayed
// slow for the window's later occlusions.
page.onRequest('spentLogits', ({ port }) => {
  port.onmessage = ({ data }: MessageEvent<unknown>) => {
    if (data instanceof Float32Array) releaseBuffer(data, true); // received: the whole buffer is this worker's
  };
  return null;
});

page.onRequest('release', async ({ session: id }) => {
  const entry = sessions.get(id);
  sessions.delete(id);
  await entry?.session.release();
  return null;
});
