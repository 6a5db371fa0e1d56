// The bundled models run in real onnxruntime-web (wasm, in Node) through the same ModelRunner the webview
// uses. Every output must equal the stored PyTorch reference within 1e-4; attention rows sum to 1 and hold
// the declared mask (causal: zero above the diagonal; bidirectional: weight above it); gates lie in their ranges and reproduce the LSTM/GRU recurrences; chunked RNN runs equal one
// full run; damaged models fail with exact, actionable errors (test/fixtures/models.json).

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { ModelRunner, OrtModule, RunOutputs } from '../../src/core/engine';
import { type ModelManifest, axisIndex } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');
const modelDir = (id: string) => path.join(root, 'media/models', id);
const fixtures = JSON.parse(readFileSync(path.join(root, 'test/fixtures/models.json'), 'utf8')) as {
  models: Array<{ id: string; folder?: string; outputs?: Record<string, Array<string | number>> }>;
  broken: Array<{
    name: string;
    model: string;
    truncateTo?: number;
    replaceBytes?: string;
    renameOutput?: [string, string];
    manifestOf?: string;
    /** Drop the axis at this index from an output's declared axes: the graph then disagrees at run time. */
    dropAxis?: [string, number];
    error: string;
  }>;
};

interface RefTensor {
  shape: number[];
  data: number[];
  vocabSlice?: [number, number];
  argmax?: number[];
  logsumexp?: number[];
}
interface Reference {
  /**
   * inputIds: the whole text tokenized. sequences (optional): the ids fed per sequence of the manifest when they
   * differ from inputIds (an encoder's masked tokens, an encoder–decoder's source with a hole and its target).
   */
  texts: Array<{ name: string; text: string; inputIds: number[]; sequences?: Record<string, number[]>; outputs: Record<string, RefTensor> }>;
}

/** What a reference text feeds: its ids per sequence, or the one array of a one-sequence model. */
const fedIds = (ref: Reference['texts'][number]) => ref.sequences ?? ref.inputIds;

/** The length of every sequence's length symbol ("T", "S") for one reference text. */
function lengthsOf(manifest: ModelManifest, ref: Reference['texts'][number]): Record<string, number> {
  const lengths: Record<string, number> = {};
  for (const [id, seq] of Object.entries(manifest.sequences)) lengths[seq.length] = (ref.sequences?.[id] ?? ref.inputIds).length;
  return lengths;
}

const TOLERANCE = 1e-4;
/** onnxruntime's float32 tanh/sigmoid may overshoot their bounds by about one unit in the last place. */
const EPS = 1e-6;
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

function loadManifest(id: string): ModelManifest {
  const result = validateManifest(JSON.parse(readFileSync(path.join(modelDir(id), 'manifest.json'), 'utf8')));
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.manifest;
}

async function createRunner(manifest: ModelManifest, bytes?: Uint8Array): Promise<ModelRunner> {
  const modelBytes = bytes ?? readFileSync(path.join(modelDir(manifest.id), manifest.model ?? 'model.onnx'));
  return ModelRunner.create(ort as unknown as OrtModule, manifest, modelBytes, { executionProviders: ['wasm'] });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.strictEqual(a.length, b.length, 'length mismatch');
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}

/** Compares one output with its reference; logits are checked on the stored vocabulary slice plus argmax and logsumexp. */
function compareToReference(name: string, actual: RunOutputs[string], ref: RefTensor, batchAxis: number): number {
  const T = actual.dims[actual.dims.length - 2];
  if (ref.vocabSlice) {
    const V = actual.dims[actual.dims.length - 1];
    const [from, to] = ref.vocabSlice;
    const slice: number[] = [];
    const lse: number[] = [];
    const argmax: number[] = [];
    for (let t = 0; t < T; t++) {
      const row = actual.data.subarray(t * V, (t + 1) * V);
      for (let v = from; v < to; v++) slice.push(row[v]);
      let max = -Infinity;
      let best = 0;
      row.forEach((x, v) => (x > max ? ((max = x), (best = v)) : 0));
      let sum = 0;
      row.forEach((x) => (sum += Math.exp(x - max)));
      lse.push(max + Math.log(sum));
      argmax.push(best);
    }
    assert.deepStrictEqual(argmax, ref.argmax, `${name}: argmax differs`);
    return Math.max(maxAbsDiff(slice, ref.data), maxAbsDiff(lse, ref.logsumexp!));
  }
  assert.deepStrictEqual(actual.dims, ref.shape.filter((_, i) => i !== batchAxis), `${name}: shape`);
  return maxAbsDiff(actual.data, ref.data);
}

function gateSlice(out: RunOutputs, gates: string, l: number, t: number, g: number, G: number, H: number): Float32Array {
  const T = out[gates].dims[1];
  const base = (((l * T + t) * G + g) * H);
  return out[gates].data.subarray(base, base + H);
}

describe('bundled models in onnxruntime-web', function () {
  this.timeout(120_000);

  for (const entry of fixtures.models.filter((m) => m.outputs)) {
    describe(entry.id, () => {
      let manifest: ModelManifest;
      let runner: ModelRunner;
      let reference: Reference;
      let tokenizer: LensTokenizer;

      before(async () => {
        manifest = loadManifest(entry.id);
        reference = JSON.parse(readFileSync(path.join(root, 'test/fixtures/reference', `${entry.id}.json`), 'utf8')) as Reference;
        tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(modelDir(entry.id), manifest.tokenizer.file), 'utf8')));
        runner = await createRunner(manifest);
      });
      after(async () => runner?.release());

      it('has reference texts of code and prose', () => {
        assert.ok(reference.texts.length >= 3);
      });

      it('tokenizes the reference texts exactly as Python did', () => {
        for (const ref of reference.texts) assert.deepStrictEqual(tokenizer.encode(ref.text), ref.inputIds, ref.name);
      });

      it('feeds each sequence the manifest declares', () => {
        for (const ref of reference.texts) assert.deepStrictEqual(Object.keys(ref.sequences ?? { [Object.keys(manifest.sequences)[0]]: [] }).sort(), Object.keys(manifest.sequences).sort(), ref.name);
      });

      it(`matches every PyTorch output within ${TOLERANCE} and has the expected shapes`, async () => {
        for (const ref of reference.texts) {
          const out = await runner.run(fedIds(ref));
          const lengths = lengthsOf(manifest, ref);
          for (const [name, shape] of Object.entries(entry.outputs!)) {
            assert.deepStrictEqual(out[name].dims, shape.map((d) => (typeof d === 'string' ? lengths[d] : d)), `${ref.name}: ${name} shape`);
          }
          for (const [name, refTensor] of Object.entries(ref.outputs)) {
            const spec = manifest.outputs.find((o) => o.name === name);
            assert.ok(spec, `the manifest has no output ${name}`);
            const diff = compareToReference(name, out[name], refTensor, axisIndex(spec, 'batch'));
            assert.ok(diff <= TOLERANCE, `${ref.name}: ${name} differs from PyTorch by ${diff}`);
          }
        }
      });

      if (entry.outputs!.attention) {
        it('gives attention rows that sum to 1 and hold the declared mask', async () => {
          const structure = manifest.outputs.find((o) => o.name === 'attention')!.structure;
          const causal = structure === 'causal' || structure === 'windowed';
          for (const ref of reference.texts) {
            const { dims, data } = (await runner.run(fedIds(ref))).attention;
            const [L, H, T] = dims;
            let above = 0;
            for (let m = 0; m < L * H; m++) {
              for (let t = 0; t < T; t++) {
                let sum = 0;
                for (let k = 0; k < T; k++) {
                  const w = data[(m * T + t) * T + k];
                  if (k > t && causal) assert.strictEqual(w, 0, `attention above the diagonal at ${m},${t},${k}`);
                  if (k > t) above += w;
                  assert.ok(w >= 0);
                  sum += w;
                }
                assert.ok(Math.abs(sum - 1) < 1e-5, `row sum ${sum}`);
              }
            }
            if (structure === 'bidirectional') assert.ok(above > 0.1 * L * H, `${ref.name}: a bidirectional attention looks ahead (weight above the diagonal ${above})`);
          }
        });
      }

      // An encoder–decoder's decoder gates are checked in seq2seqModels.test.ts.
      if (entry.outputs!.gates && entry.outputs!.hidden) {
        it('gives gates in range whose recurrence reproduces the exported states', async () => {
          const declared = manifest.outputs.find((o) => o.role === 'gates')!.gates!;
          const order = declared.map((g) => g.name);
          const G = order.length;
          for (const ref of reference.texts) {
            const out = await runner.run(ref.inputIds);
            const [L, T, , H] = out.gates.dims;
            for (let g = 0; g < G; g++) {
              const [lo, hi] = declared[g].meaning === 'candidate' ? [-1, 1] : [0, 1];
              for (let l = 0; l < L; l++) for (let t = 0; t < T; t++) for (const v of gateSlice(out, 'gates', l, t, g, G, H)) assert.ok(v >= lo - EPS && v <= hi + EPS, `${order[g]} = ${v}`);
            }
            let worst = 0;
            for (let l = 0; l < L; l++) {
              const prev = new Float32Array(H); // c (LSTM) or h (GRU) before the first token: zeros
              for (let t = 0; t < T; t++) {
                const state = (manifest.architecture === 'lstm' ? out.cell : out.hidden).data.subarray((l * T + t) * H, (l * T + t + 1) * H);
                if (manifest.architecture === 'lstm') {
                  const [i, f, gg, o] = [0, 1, 2, 3].map((k) => gateSlice(out, 'gates', l, t, k, G, H));
                  const h = out.hidden.data.subarray((l * T + t) * H, (l * T + t + 1) * H);
                  for (let u = 0; u < H; u++) {
                    worst = Math.max(worst, Math.abs(f[u] * prev[u] + i[u] * gg[u] - state[u]), Math.abs(o[u] * Math.tanh(state[u]) - h[u]));
                  }
                } else {
                  const [, z, n] = [0, 1, 2].map((k) => gateSlice(out, 'gates', l, t, k, G, H));
                  for (let u = 0; u < H; u++) worst = Math.max(worst, Math.abs((1 - z[u]) * n[u] + z[u] * prev[u] - state[u]));
                }
                prev.set(state);
              }
            }
            assert.ok(worst < 1e-5, `${ref.name}: recurrence off by ${worst}`);
          }
        });

        it('gives the same outputs in chunks (state carried) as in one run', async () => {
          const ids = reference.texts.flatMap((r) => r.inputIds);
          const full = await runner.run(ids, { chunkSize: ids.length });
          for (const chunkSize of [1, 7, 64]) {
            const chunked = await runner.run(ids, { chunkSize });
            for (const name of Object.keys(full)) {
              assert.deepStrictEqual(chunked[name].dims, full[name].dims);
              const diff = maxAbsDiff(chunked[name].data, full[name].data);
              assert.ok(diff <= 1e-5, `chunk ${chunkSize}: ${name} differs by ${diff}`);
            }
          }
        });
      }
    });
  }

  describe('damaged models fail clearly', () => {
    for (const c of fixtures.broken) {
      it(c.name, async () => {
        let manifest = loadManifest(c.model);
        let bytes: Uint8Array = readFileSync(path.join(modelDir(c.model), 'model.onnx'));
        if (c.truncateTo) bytes = bytes.subarray(0, c.truncateTo);
        if (c.replaceBytes) bytes = new TextEncoder().encode(c.replaceBytes);
        if (c.renameOutput) {
          const [from, to] = c.renameOutput;
          manifest = { ...manifest, outputs: manifest.outputs.map((o) => (o.name === from ? { ...o, name: to } : o)) };
        }
        if (c.manifestOf) manifest = loadManifest(c.manifestOf);
        if (c.dropAxis) {
          const [name, axis] = c.dropAxis;
          manifest = { ...manifest, outputs: manifest.outputs.map((o) => (o.name === name ? { ...o, axes: o.axes.filter((_, i) => i !== axis) } : o)) };
        }
        const attempt = async () => {
          const runner = await createRunner(manifest, bytes);
          try {
            await runner.run([1, 2, 3]);
          } finally {
            await runner.release();
          }
        };
        await assert.rejects(attempt(), (err: Error & { code?: string }) => {
          assert.strictEqual(err.code, 'model-invalid');
          assert.ok(err.message.startsWith(c.error), `got: ${err.message}`);
          return true;
        });
      });
    }
  });
});
