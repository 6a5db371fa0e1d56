// A single-file model is handed to onnxruntime as its graph plus its own bytes as external data
// (src/core/onnxExternalData.ts, webview/engine.ts sessionInputs), so that its heap holds each weight once:
// every bundled model and a Hugging Face export give bit-identical outputs either way, a model whose weights
// are external already is left alone, and bytes that are not a model are refused with where they break.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { deriveManifest } from '../../src/core/hfManifest';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { EXTERNAL_MIN_BYTES, externaliseWeights } from '../../src/core/onnxExternalData';
import { readOnnxGraph } from '../../src/core/onnxGraph';
import { LensTokenizer } from '../../src/core/tokenizer';
import { sessionInputs } from '../../webview/engine';

const root = path.join(__dirname, '../..');
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const ortModule = ort as unknown as OrtModule;
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));
const text = 'def push(self, item):\n    self.items.append(item)\n    return len(self.items)\n';

function bundled(id: string): { manifest: ModelManifest; bytes: Uint8Array; tokenizer: LensTokenizer } {
  const dir = path.join(root, 'media/models', id);
  const parsed = validateManifest(readJson(path.join(dir, 'manifest.json')));
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return { manifest: parsed.manifest, bytes: new Uint8Array(readFileSync(path.join(dir, 'model.onnx'))), tokenizer: new LensTokenizer(readJson(path.join(dir, 'tokenizer.json'))) };
}

function gpt2(): { manifest: ModelManifest; bytes: Uint8Array; tokenizer: LensTokenizer } {
  const dir = path.join(root, 'test/fixtures/hf/gpt2-attn');
  const bytes = new Uint8Array(readFileSync(path.join(dir, 'model.onnx')));
  const tokenizer = readJson(path.join(dir, 'tokenizer.json'));
  const derived = deriveManifest({ id: 'gpt2-attn', graph: readOnnxGraph(bytes), config: readJson(path.join(dir, 'config.json')), tokenizer, onnxFile: 'model.onnx', tokenizerFile: 'tokenizer.json' });
  return { manifest: derived.manifest, bytes, tokenizer: new LensTokenizer(tokenizer) };
}

describe('weights handed to onnxruntime as external data from the model file itself', function () {
  this.timeout(120_000);

  const cases: Array<[string, () => ReturnType<typeof bundled>]> = [
    ...['transformer', 'window', 'lstm', 'gru', 'elman', 'linear', 'mamba', 'encoder', 't5', 'bahdanau'].map((id): [string, () => ReturnType<typeof bundled>] => [id, () => bundled(id)]),
    ['a Hugging Face GPT-2 export', gpt2],
  ];
  for (const [name, load] of cases) {
    it(`${name}: the same outputs, bit for bit, from a graph of a few kB and the file's own bytes`, async () => {
      const { manifest, bytes, tokenizer } = load();
      const split = externaliseWeights(bytes, 'model.onnx');
      assert.ok(split, 'weights moved');
      assert.ok(split.graph.length < bytes.length / 10 && split.movedBytes > bytes.length * 0.8, `graph ${split.graph.length} of ${bytes.length} bytes, ${split.movedBytes} moved`);
      const inputs = sessionInputs(manifest, bytes, undefined);
      assert.deepStrictEqual(inputs.model, split.graph);
      assert.strictEqual(inputs.externalData?.[0].data, bytes, 'the model file itself, not a copy');
      const whole = await ModelRunner.create(ortModule, manifest, bytes, { executionProviders: ['wasm'] });
      const external = await ModelRunner.create(ortModule, manifest, inputs.model, { executionProviders: ['wasm'], externalData: inputs.externalData });
      try {
        const ids = Object.fromEntries(whole.structure.sequences.map((s) => [s.id, tokenizer.encode(text).slice(0, 24)]));
        const [a, b] = [await whole.run(ids), await external.run(ids)];
        assert.deepStrictEqual(Object.keys(b), Object.keys(a));
        for (const output of Object.keys(a)) {
          assert.deepStrictEqual(b[output].dims, a[output].dims, output);
          assert.ok(a[output].data.every((x, i) => Object.is(x, b[output].data[i])), `${output} differs`);
        }
      } finally {
        await Promise.all([whole.release(), external.release()]);
      }
    });
  }

  it('leaves alone weights that are external already, small ones, and a manifest that names its external data', () => {
    const fixture = path.join(root, 'test/fixtures/onnx/external-data');
    assert.strictEqual(externaliseWeights(new Uint8Array(readFileSync(path.join(fixture, 'model.onnx'))), 'model.onnx'), undefined);
    const { bytes, manifest } = bundled('elman');
    assert.strictEqual(externaliseWeights(bytes, 'model.onnx', bytes.length), undefined, 'no weight is that large');
    assert.ok(EXTERNAL_MIN_BYTES <= 4096);
    const data = new Uint8Array(8);
    const declared = sessionInputs({ ...manifest, externalData: 'weights.data' }, bytes, data);
    assert.strictEqual(declared.model, bytes);
    assert.deepStrictEqual(declared.externalData, [{ path: 'weights.data', data }]);
  });

  it('refuses bytes that are not a model, saying where they break; the engine then hands them to onnxruntime as they are', () => {
    const { bytes, manifest } = bundled('transformer');
    const cut = bytes.subarray(0, 5000);
    assert.throws(() => externaliseWeights(cut, 'model.onnx'), /field 7 at byte \d+ runs past its message \(\d+ > 5000\)/);
    assert.deepStrictEqual(sessionInputs(manifest, cut, undefined), { model: cut });
  });
});
