// A long text run in chunks from the model's key/value cache (src/core/cacheChunks.ts, ModelRunner.run) must
// give the outputs of one run: on the bundled Transformer (ALiBi), the sliding-window Transformer and a Hugging
// Face GPT-2 export (learned positions: position ids continue the cache), every output within 1e-5, attention
// rows summing to 1 and the masks holding across chunk borders. Which models can is read from roles.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { analyse } from '../../src/core/analyze';
import { CHUNK_MIXING_BYTES, ChunkJoiner, MIN_CHUNK_TOKENS, chunkPlan, chunkTokens } from '../../src/core/cacheChunks';
import { LowerTriangleTensor } from '../../src/core/lowerTriangle';
import { releaseBuffer } from '../../src/core/releaseBuffer';
import { RELEASE_BEFORE_RUN_BYTES, halfPrecisionNote, heldBytes } from '../../src/core/memoryEstimate';
import { assertSaneRun } from '../../src/core/modelSanity';
import { familyRollout, mixingMatrices } from '../../src/core/roleData';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { deriveManifest } from '../../src/core/hfManifest';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { readOnnxGraph } from '../../src/core/onnxGraph';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

function bundled(id: string): { manifest: ModelManifest; bytes: Uint8Array; tokenizer: LensTokenizer } {
  const dir = path.join(root, 'media/models', id);
  const parsed = validateManifest(readJson(path.join(dir, 'manifest.json')));
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return { manifest: parsed.manifest, bytes: readFileSync(path.join(dir, 'model.onnx')), tokenizer: new LensTokenizer(readJson(path.join(dir, 'tokenizer.json'))) };
}

function gpt2(): { manifest: ModelManifest; bytes: Uint8Array; tokenizer: LensTokenizer } {
  const dir = path.join(root, 'test/fixtures/hf/gpt2-plain');
  const bytes = readFileSync(path.join(dir, 'model.onnx'));
  const tokenizer = readJson(path.join(dir, 'tokenizer.json'));
  const derived = deriveManifest({ id: 'gpt2-plain', graph: readOnnxGraph(bytes), config: readJson(path.join(dir, 'config.json')), tokenizer, onnxFile: 'model.onnx', tokenizerFile: 'tokenizer.json' });
  return { manifest: derived.manifest, bytes, tokenizer: new LensTokenizer(tokenizer) };
}

const sample = readFileSync(path.join(root, 'test/fixtures/workspace/sample.ts'), 'utf8');

describe('runs from the key/value cache in chunks', function () {
  this.timeout(120_000);

  const cases: Array<[string, () => ReturnType<typeof bundled>, number, number]> = [
    ['the bundled Transformer', () => bundled('transformer'), 150, 64],
    ['the sliding-window Transformer (window 64, one global token)', () => bundled('window'), 150, 40],
    ['a Hugging Face GPT-2 export (position ids continue the cache)', gpt2, 40, 16],
  ];
  for (const [name, load, T, chunk] of cases) {
    it(`${name}: ${T} tokens in chunks of ${chunk} give the outputs of one run within 1e-5`, async () => {
      const { manifest, bytes, tokenizer } = load();
      const ids = tokenizer.encode(sample).slice(0, T);
      assert.strictEqual(ids.length, T);
      const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
      try {
        const whole = await runner.run(ids);
        const chunked = await runner.run(ids, { cacheChunk: chunk });
        assert.deepStrictEqual(Object.keys(chunked).sort(), Object.keys(whole).sort());
        // Joined while the next chunk runs, yielding between slices as on the webview's thread: the same outputs.
        const yielded = await runner.run(ids, { cacheChunk: chunk, yieldControl: () => new Promise((resolve) => setTimeout(resolve, 0)) });
        for (const output of Object.keys(chunked)) assert.deepStrictEqual(yielded[output].data, chunked[output].data, output);
        for (const [output, value] of Object.entries(whole)) {
          assert.deepStrictEqual(chunked[output].dims, value.dims, output);
          let diff = 0;
          const got = chunked[output].data; // decoded once when held as lower triangles
          value.data.forEach((x, i) => (diff = Math.max(diff, Math.abs(x - got[i]))));
          assert.ok(diff <= 1e-5, `${output}: largest difference ${diff}`);
        }
        for (const spec of manifest.outputs.filter((o) => o.role === 'mixing')) {
          const { data } = chunked[spec.name];
          for (let row = 0; row < data.length / T; row++) {
            const t = row % T;
            const values = data.subarray(row * T, (row + 1) * T);
            assert.ok(Math.abs(values.reduce((a, b) => a + b, 0) - 1) < 1e-5, `${spec.name} row ${row} sums to 1`);
            assert.ok(values.subarray(t + 1).every((x) => x === 0), `${spec.name} row ${row} is causal`);
          }
        }
      } finally {
        await runner.release();
      }
    });
  }

  it('frees the buffers of a chunk it copied once joined, when asked, and keeps the caches it holds', async () => {
    const { manifest, bytes, tokenizer } = bundled('transformer');
    const plan = chunkPlan(manifest)!;
    const ids = tokenizer.encode(sample).slice(0, 40);
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
    try {
      const out = await runner.run(ids);
      const copies = Object.fromEntries(Object.entries(out).map(([name, t]) => [name, Float32Array.from(t.data)]));
      const joiner = new ChunkJoiner(manifest, plan, ids.length);
      await joiner.add(out, ids.length, undefined, true);
      const joined = joiner.result();
      for (const [name, join] of Object.entries(plan.joins)) {
        assert.deepStrictEqual(Float32Array.from(joined[name].data), copies[name], `${name} joined as it was`);
        if (join === 'last') assert.strictEqual(out[name].data.length, copies[name].length, `${name}: kept, not freed`);
        else assert.strictEqual(out[name].data.buffer.byteLength, 0, `${name}: copied, then freed`);
      }
      assert.ok(Object.values(plan.joins).includes('rows') && Object.values(plan.joins).includes('last'));
      // A view into a larger buffer is never freed: the rest of the buffer may be someone else's.
      const shared = new Float32Array(8);
      releaseBuffer(shared.subarray(2));
      assert.strictEqual(shared.length, 8);
      // Unless the caller owns the whole buffer (the worker, with the model bytes it received).
      releaseBuffer(shared.subarray(2), true);
      assert.strictEqual(shared.length, 0);
    } finally {
      await runner.release();
    }
  });

  it('holds the triangles in half precision past HALF_PRECISION_FROM_BYTES: each weight within 2⁻¹¹ of one run, the run check passes', async () => {
    const { manifest, bytes, tokenizer } = bundled('transformer');
    const T = 150;
    const ids = tokenizer.encode(sample).slice(0, T);
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
    try {
      const whole = await runner.run(ids);
      const half = await runner.run(ids, { cacheChunk: 64, halfPrecisionFromBytes: 0 });
      const held = half.attention;
      assert.ok(held instanceof LowerTriangleTensor && held.half && held.byteLength === 16 * T * (T + 1));
      let worst = 0;
      whole.attention.data.forEach((x, i) => {
        const got = held.data[i];
        assert.ok(Math.abs(got - x) <= 2 ** -11 * x + 2 ** -25, `entry ${i}: ${got} for ${x}`);
        if (x >= 2 ** -14) worst = Math.max(worst, Math.abs(got - x) / x);
      });
      assert.ok(worst > 0, 'rounded: not float32');
      for (const name of ['logits', 'hidden_states']) half[name].data.forEach((x, i) => assert.ok(Math.abs(x - whole[name].data[i]) <= 1e-5, name));
      assertSaneRun(manifest, half, { tokens: T }, 4096);
      // What the panel says (a 4,096-token run of a 12 × 12 model says it of its attention).
      assert.strictEqual(
        halfPrecisionNote(half),
        'Long input: attention is held in half precision (362.4 kB instead of 724.8 kB in float32), so each weight shown is within 0.05% of the model\'s value (3·10⁻⁸ below 6·10⁻⁵; rows sum to 1 within 0.1%).',
      );
      assert.strictEqual(halfPrecisionNote(whole), undefined);
    } finally {
      await runner.release();
    }
  });

  it('holds causal attention as lower triangles past 1,024 tokens (Transformer): the analysis and rollout read layers, never the whole tensor', async () => {
    const { manifest, bytes, tokenizer } = bundled('transformer');
    const text = sample.repeat(20);
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
    try {
      const a = await analyse(tokenizer, runner, text, 0, { maxTokens: 1500 });
      const T = a.outputs.logits.dims[0];
      assert.strictEqual(T, 1500);
      const held = a.outputs.attention;
      assert.ok(held instanceof LowerTriangleTensor, 'held as lower triangles');
      assert.strictEqual(held.byteLength, ((16 * T * (T + 1)) / 2) * 4);
      const family = a.structure.mixing[0];
      const m = mixingMatrices(a, family);
      const rollout = familyRollout(a, family);
      assert.ok(rollout);
      const whole = await runner.run(tokenizer.encode(text).slice(0, T), { cacheChunk: T });
      for (let l = 0; l < m.layers; l++) {
        const layer = m.layer(l);
        const expected = whole.attention.data.subarray(l * layer.length, (l + 1) * layer.length);
        let diff = 0;
        layer.forEach((x, i) => (diff = Math.max(diff, Math.abs(x - expected[i]))));
        assert.ok(diff <= 1e-5, `layer ${l}: largest difference ${diff}`);
      }
      assert.strictEqual(m.layer(3), m.layer(3), 'a layer read again is the one decoded');
      // The webview's engine checks every run: rows sum to 1, masks hold (one matrix decoded at a time).
      assertSaneRun(manifest, a.outputs, { tokens: T }, 4096);
      // What the panel weighs before the next run (a shown analysis over RELEASE_BEFORE_RUN_BYTES is closed first).
      const others = Object.entries(a.outputs).filter(([name]) => name !== 'attention');
      assert.strictEqual(heldBytes(a.outputs), held.byteLength + others.reduce((n, [, t]) => n + t.data.byteLength, 0));
      assert.ok(heldBytes(a.outputs) > RELEASE_BEFORE_RUN_BYTES / 4 && held.byteLength < (16 * T * T * 4) / 1.9, 'about half of the full attention');
      assert.strictEqual(held.decodedInFull, false, 'nothing decoded the whole tensor');
    } finally {
      await runner.release();
    }
  });

  it('is planned from roles: models with a cache, not recurrent models or encoders; chunks keep their W rows within the bound', () => {
    const plan = chunkPlan(bundled('transformer').manifest)!;
    assert.deepStrictEqual(plan.joins, { logits: 'position', attention: 'rows', hidden_states: 'position', present_keys: 'last', present_values: 'last' });
    // 4 layers × 4 heads × T keys × 4 bytes a row: whole up to 1,024 tokens (16 × 1,024² × 4 = 64 MiB), then 64 MiB of rows.
    assert.strictEqual(CHUNK_MIXING_BYTES, 64 * 2 ** 20);
    assert.strictEqual(chunkTokens(plan, 1024), 1024);
    assert.strictEqual(chunkTokens(plan, 1025), 1023);
    assert.strictEqual(chunkTokens(plan, 4096), Math.floor(CHUNK_MIXING_BYTES / (16 * 4096 * 4)));
    assert.strictEqual(chunkTokens(plan, 100_000), MIN_CHUNK_TOKENS);
    assert.ok(chunkPlan(gpt2().manifest));
    for (const id of ['lstm', 'gru', 'elman', 'linear', 'mamba', 'encoder', 't5', 'bahdanau']) assert.strictEqual(chunkPlan(bundled(id).manifest), undefined, id);
  });
});
