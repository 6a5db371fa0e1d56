// Large models (issue 13, item 6): the memory a run's outputs take, against figures computed by hand for the
// bundled Transformer and a GPT-2-small-shaped manifest (12 layers × 12 heads, vocabulary 50,257, exported
// the Hugging Face way); the longest window within a budget; the token counts the panel checks, against
// what analyse() really feeds; and weights in an ONNX external-data file, loaded by onnxruntime-web (wasm,
// in Node) through the session option externalData, read by the webview's fetcher with progress over both
// files, and giving exactly the outputs of the same model with its weights inside.

import * as assert from 'assert';
import { readFileSync, statSync } from 'fs';
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { analyse } from '../../src/core/analyze';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import type { ModelManifest, OutputSpec } from '../../src/core/manifest';
import type { ModelBytesParams } from '../../src/core/protocol';
import { validateManifest } from '../../src/core/manifestValidator';
import { chunkPlan, chunkTokens } from '../../src/core/cacheChunks';
import { HALF_PRECISION_FROM_BYTES } from '../../src/core/lowerTriangle';
import { DEFAULT_MEMORY_BUDGET, GiB, maxTokensWithin, memoryBudget, overBudgetMessage, runMemory, selectionLengths } from '../../src/core/memoryEstimate';
import { LensTokenizer } from '../../src/core/tokenizer';
import { Engine, externalDataOption } from '../../webview/engine';
import { ModelFetcher, type ModelFileSource } from '../../webview/modelFetcher';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const root = path.join(__dirname, '../..');
const ortModule = ort as unknown as OrtModule;

function manifestOf(folder: string, edit?: (m: Record<string, unknown>) => void): ModelManifest {
  const json = JSON.parse(readFileSync(path.join(root, folder, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  edit?.(json);
  const result = validateManifest(json);
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.manifest;
}

const seq = (size = 'T') => ({ name: 'position' as const, size });
/** GPT-2 small as Optimum exports it with attentions: per-layer attentions and hidden states, present.* caches (ignored). */
function gpt2(): ModelManifest {
  const outputs: OutputSpec[] = [{ name: 'logits', role: 'logits', dtype: 'float32', axes: [{ name: 'batch' }, seq(), { name: 'vocab', size: 50257 }] }];
  for (let l = 0; l < 12; l++) {
    outputs.push({ name: `attentions.${l}`, role: 'mixing', structure: 'causal', layer: l, dtype: 'float32', axes: [{ name: 'batch' }, { name: 'head', size: 12 }, { name: 'query', size: 'T' }, { name: 'key', size: 'T' }] });
  }
  for (let l = 0; l <= 12; l++) outputs.push({ name: `hidden_states.${l}`, role: 'hidden_states', layer: l, dtype: 'float32', axes: [{ name: 'batch' }, seq(), { name: 'feature', size: 768 }] });
  for (let l = 0; l < 12; l++) {
    for (const kv of ['key', 'value']) outputs.push({ name: `present.${l}.${kv}`, role: 'ignored', dtype: 'float32', axes: [{ name: 'batch' }, { name: 'head', size: 12 }, seq(), { name: 'feature', size: 64 }] });
  }
  const input = (name: string, role: string) => ({ name, role, dtype: 'int64', axes: [{ name: 'batch' }, seq()] });
  const result = validateManifest({
    schemaVersion: 2, id: 'gpt2', displayName: 'GPT-2 small', architecture: 'decoder-only Transformer', description: '', license: 'MIT', parameters: 124439808,
    dimensions: { layers: 12, heads: 12 }, sequences: { tokens: { length: 'T' } }, inputs: [input('input_ids', 'input_ids'), input('attention_mask', 'attention_mask')], outputs, tokenizer: { file: 'tokenizer.json' },
  });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.manifest;
}

describe('memory estimate of a run', () => {
  const transformer = manifestOf('media/models/transformer');

  it('bundled transformer: every output by its axes, computed by hand (T = 100 and T = 2,048)', () => {
    const at100 = runMemory(transformer, 100);
    // logits 100 × 4,096 floats; attention 4 × 4 × 100²; hidden states 5 × 100 × 128; keys and values 4 × 4 × 100 × 32 each.
    assert.deepStrictEqual(at100.outputs.map((o) => [o.name, o.bytes]), [['logits', 1_638_400], ['attention', 640_000], ['hidden_states', 256_000], ['present_keys', 204_800], ['present_values', 204_800]]);
    assert.strictEqual(at100.outputBytes, 2_944_000);
    assert.strictEqual(at100.bytes, 7_360_000, 'working set: 2.5 × the outputs');
    assert.deepStrictEqual(at100.largest, { text: 'logits of 100 tokens × 4,096 vocabulary entries', bytes: 1_638_400 });
    const at2048 = runMemory(transformer, 2048);
    assert.strictEqual(at2048.outputBytes, 268_435_456 + 33_554_432 + 5_242_880 + 2 * 4_194_304);
    assert.deepStrictEqual(at2048.largest, { text: 'attention of 4 layers × 4 heads at 2,048 tokens', bytes: 268_435_456 });
    // Past 1,024 tokens it runs in chunks from its cache (64 MiB of attention rows each): the heap holds a
    // chunk's share of the outputs, 512 / 2,048 here, and the attention is kept as lower triangles, 2,049 / 4,096
    // of its 268,435,456 bytes; the views' 0.5 × and the copy in JavaScript count what is kept.
    const held = at2048.outputBytes - 268_435_456 * (1 - 2049 / 4096);
    assert.strictEqual(at2048.bytes, 1.5 * held + at2048.outputBytes / 4);
    // At 4,096 tokens the triangles (16 × 4,096 × 4,097 / 2 floats) pass HALF_PRECISION_FROM_BYTES: half of that again.
    const at4096 = runMemory(transformer, 4096);
    const attention4096 = 16 * 4096 * 4096 * 4;
    const triangles = (attention4096 * 4097) / 8192;
    assert.ok(triangles > HALF_PRECISION_FROM_BYTES && runMemory(transformer, 4000).bytes > at4096.bytes, "4,000 tokens in float32 take more than 4,096 in half precision");
    const held4096 = at4096.outputBytes - attention4096 + triangles / 2;
    assert.strictEqual(at4096.bytes, 1.5 * held4096 + (at4096.outputBytes * chunkTokens(chunkPlan(transformer)!, 4096)) / 4096);
    assert.strictEqual(maxTokensWithin(transformer, DEFAULT_MEMORY_BUDGET), 12569);
  });

  it('GPT-2 small: 12 × 12 attention, 50,257 logits, 13 hidden states and the caches, computed by hand', () => {
    const m = gpt2();
    const at1024 = runMemory(m, 1024);
    const sum = (prefix: string) => at1024.outputs.filter((o) => o.name.startsWith(prefix)).reduce((n, o) => n + o.bytes, 0);
    assert.strictEqual(sum('attentions.'), 603_979_776); // 12 × 12 × 1,024² × 4
    assert.strictEqual(sum('logits'), 205_852_672); // 1,024 × 50,257 × 4
    assert.strictEqual(sum('hidden_states.'), 40_894_464); // 13 × 1,024 × 768 × 4
    assert.strictEqual(sum('present.'), 75_497_472); // 24 × 12 × 1,024 × 64 × 4: returned by the session, so counted
    assert.strictEqual(at1024.outputBytes, 926_224_384);
    assert.strictEqual(at1024.bytes, 2_315_560_960);
    const at4096 = runMemory(m, 4096);
    assert.deepStrictEqual(at4096.largest, { text: 'attention of 12 layers × 12 heads at 4,096 tokens', bytes: 9_663_676_416 });
    // 2.5 × (576 T² + 314,692 T) ≤ 4 GiB: T = 1,475 (1,476 takes 4,298,362,920 bytes).
    const fit = maxTokensWithin(m, DEFAULT_MEMORY_BUDGET);
    assert.strictEqual(fit, 1475);
    assert.ok(runMemory(m, fit).bytes <= 4 * GiB && runMemory(m, fit + 1).bytes > 4 * GiB);
    assert.strictEqual(
      overBudgetMessage(m, at4096, DEFAULT_MEMORY_BUDGET, fit),
      'GPT-2 small: attention of 12 layers × 12 heads at 4,096 tokens takes 9.7 GB; with the other outputs, held by onnxruntime and by the views (× 2.5), ' +
        'the analysis would need about 27.4 GB, more than the 4.3 GB one analysis may take in this panel; at most 1,475 tokens fit.',
    );
  });

  it('budget: 4 GiB of working set, less when big weights leave the 4 GiB heap less room; special tokens count', () => {
    assert.strictEqual(memoryBudget(0), 4 * GiB);
    assert.strictEqual(memoryBudget(GiB), 4 * GiB, '2.5 × (4 − 0.5 − 1) GiB is over the default');
    assert.strictEqual(memoryBudget(2 * GiB), 3.75 * GiB, '2.5 × (4 − 0.5 − 2) GiB');
    assert.strictEqual(memoryBudget(3 * GiB), 1.25 * GiB);
    assert.strictEqual(memoryBudget(5 * GiB), 0);
    const m = gpt2();
    assert.strictEqual(maxTokensWithin(m, 0), 0, 'not even one token');
    assert.strictEqual(maxTokensWithin(m, DEFAULT_MEMORY_BUDGET, { tokens: 2 }), 1473, 'two special tokens take two places');
  });

  it('counts the tokens each sequence reads as analyse() feeds them (special tokens and prefixes included)', async () => {
    const text = 'def push(self, item):\n    self.items.append(item)\n';
    for (const folder of ['test/fixtures/models/toy-encoder', 'test/fixtures/models/toy-encoder-decoder', 'media/models/transformer']) {
      const manifest = manifestOf(folder);
      const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(root, folder, manifest.tokenizer.file), 'utf8')), manifest.tokenizer.file);
      const runner = await ModelRunner.create(ortModule, manifest, readFileSync(path.join(root, folder, 'model.onnx')), { executionProviders: ['wasm'] });
      try {
        for (const maxTokens of [4096, 7]) {
          const counted = await selectionLengths(manifest, (t, o) => tokenizer.tokenize(t, o), text, maxTokens);
          const analysis = await analyse(tokenizer, runner, text, 0, { maxTokens });
          assert.deepStrictEqual(counted.lengths, Object.fromEntries(analysis.sequences.map((s) => [s.id, s.tokens.length])), `${folder}, at most ${maxTokens}`);
        }
      } finally {
        await runner.release();
      }
    }
  });
});

describe('ONNX external data', function () {
  this.timeout(60_000);
  const fixture = path.join(root, 'test/fixtures/onnx/external-data');
  const withData = manifestOf('test/fixtures/models/toy-encoder', (m) => (m.externalData = 'model.onnx.data'));
  const ids = [2, 41, 57, 99, 3];

  it('the manifest names the file beside the model, inside the folder', () => {
    assert.strictEqual(withData.externalData, 'model.onnx.data');
    const errors = (externalData: unknown, model?: string) => {
      const result = validateManifest({ ...withData, externalData, ...(model ? { model } : {}) });
      return result.ok ? [] : result.errors;
    };
    assert.deepStrictEqual(errors('../weights.data'), ['externalData: expected a relative path inside the model folder, got "../weights.data"']);
    assert.deepStrictEqual(errors('weights/model.onnx.data'), [
      'externalData: expected a file beside the model file "model.onnx" (onnxruntime finds it by the name the graph gives, relative to that file), got "weights/model.onnx.data"',
    ]);
    assert.deepStrictEqual(errors('model.onnx'), ['externalData: expected the weights file, not the model file itself, got "model.onnx"']);
    assert.deepStrictEqual(errors('onnx/model.onnx.data', 'onnx/model.onnx'), []);
    assert.deepStrictEqual(externalDataOption({ ...withData, externalData: 'onnx/model.onnx.data' }, new Uint8Array(1)).externalData?.[0].path, 'model.onnx.data');
  });

  it('ModelRunner.create with the externalData option runs it, with the same outputs as the model with its weights inside', async () => {
    const data = new Uint8Array(readFileSync(path.join(fixture, 'model.onnx.data')));
    const external = await ModelRunner.create(ortModule, withData, readFileSync(path.join(fixture, 'model.onnx')), { executionProviders: ['wasm'], ...externalDataOption(withData, data) });
    const inline = await ModelRunner.create(ortModule, { ...withData, externalData: undefined }, readFileSync(path.join(fixture, 'inline.onnx')), { executionProviders: ['wasm'] });
    try {
      const [a, b] = [await external.run(ids), await inline.run(ids)];
      assert.deepStrictEqual(Object.keys(a), ['logits', 'attentions.0', 'attentions.1', 'last_hidden_state']);
      for (const name of Object.keys(b)) {
        assert.deepStrictEqual(a[name].dims, b[name].dims, name);
        assert.deepStrictEqual(Array.from(a[name].data), Array.from(b[name].data), `${name} differs`);
      }
    } finally {
      await Promise.all([external.release(), inline.release()]);
    }
    // Without its weights the graph does not load, and the message says so.
    await assert.rejects(ModelRunner.create(ortModule, withData, readFileSync(path.join(fixture, 'model.onnx')), { executionProviders: ['wasm'] }), /could not be loaded by onnxruntime/);
  });

  it('the webview fetches both files (progress counts both) and the engine loads and checks the model', async () => {
    const server: Server = createServer((req, res) => {
      const file = path.join(fixture, path.basename(req.url ?? ''));
      const name = path.basename(file);
      const body = readFileSync(name === 'tokenizer.json' ? path.join(root, 'test/fixtures/models/toy-encoder/tokenizer.json') : file);
      res.writeHead(200, { 'content-length': body.length });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const sizes = { model: statSync(path.join(fixture, 'model.onnx')).size, data: statSync(path.join(fixture, 'model.onnx.data')).size };
    const model = { manifest: withData, modelUri: `${base}/model.onnx`, tokenizerUri: `${base}/tokenizer.json`, modelBytes: sizes.model, externalDataUri: `${base}/model.onnx.data`, externalDataBytes: sizes.data };
    try {
      const progress: Array<[number, number]> = [];
      const files = await new ModelFetcher().files(model, (loaded, total) => progress.push([loaded, total]));
      assert.strictEqual(files.externalData?.length, sizes.data);
      assert.ok(progress.every(([, total]) => total === sizes.model + sizes.data), 'every report counts both files');
      assert.deepStrictEqual(progress[progress.length - 1], [sizes.model + sizes.data, sizes.model + sizes.data]);
      // Read through the host instead (modelBytes; here every file of any size, in 32 MiB pieces): the same bytes.
      const asked: string[] = [];
      const readRange = ({ file, start, length }: ModelBytesParams) => {
        asked.push(`${file} ${start}+${length}`);
        const whole = readFileSync(path.join(fixture, file === 'model' ? 'model.onnx' : 'model.onnx.data'));
        return Promise.resolve(new Uint8Array(whole.subarray(start, start + length)));
      };
      const hostProgress: Array<[number, number]> = [];
      const viaHost = await new ModelFetcher(readRange, 0).files(model, (loaded, total) => hostProgress.push([loaded, total]));
      assert.deepStrictEqual(asked.sort(), [`externalData 0+${sizes.data}`, `model 0+${sizes.model}`]);
      assert.deepStrictEqual(viaHost.modelBytes, files.modelBytes);
      assert.deepStrictEqual(viaHost.externalData, files.externalData);
      assert.deepStrictEqual(hostProgress[hostProgress.length - 1], [sizes.model + sizes.data, sizes.model + sizes.data]);
      // A host that cannot answer (or sends too few bytes): the resource URIs still serve the files.
      const refusing = await new ModelFetcher(() => Promise.reject(new Error('no handler for modelBytes')), 0).files(model, () => undefined);
      assert.deepStrictEqual(refusing.modelBytes, files.modelBytes);
      const short = await new ModelFetcher(() => Promise.resolve(new Uint8Array(3)), 0).files(model, () => undefined);
      assert.deepStrictEqual(short.externalData, files.externalData);
      const source: ModelFileSource = { files: () => Promise.resolve(files) };
      const engine = new Engine({ provider: 'wasm', ort: ortModule, files: source });
      try {
        const analysis = await engine.analyse(model, 'let answer = 42;', 0, 2048);
        assert.ok(analysis.tokens.length > 2 && analysis.outputs['attentions.1'].dims[0] === 2);
      } finally {
        await engine.dispose();
      }
    } finally {
      server.close();
    }
  });
});
