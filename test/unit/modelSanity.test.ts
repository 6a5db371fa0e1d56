// Validation before first use (issue 13, item 5, the run part): the check the webview's engine runs on a
// model's warm-up outputs. Every real model (bundled and test models, in onnxruntime-web on wasm) passes it;
// hand-made outputs that break each rule fail it with a message that names the model, the output, the rule,
// what was expected and what was found; and a real model whose manifest promises what its graph does not
// do fails to load in the engine, its session released.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import type { RunOutputs } from '../../src/core/engine';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { LensError } from '../../src/core/errors';
import type { ModelManifest, OutputSpec } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { assertSaneRun, runProblems } from '../../src/core/modelSanity';
import { LensTokenizer } from '../../src/core/tokenizer';
import { Engine } from '../../webview/engine';
import { CountingOrt, DiskFiles, descriptor, root } from './engineRig';

const fixtures = JSON.parse(readFileSync(path.join(root, 'test/fixtures/models.json'), 'utf8')) as { models: Array<{ id: string; folder?: string }> };

/** A one-sequence model with these outputs (validated, so every case is a manifest a user could write). */
function manifest(outputs: Array<Partial<OutputSpec> & { name: string; role: OutputSpec['role']; axes: OutputSpec['axes'] }>): ModelManifest {
  const result = validateManifest({
    schemaVersion: 2, id: 'broken', displayName: 'Broken', architecture: 'test', description: '', license: 'MIT', parameters: 1, dimensions: {},
    sequences: { tokens: { length: 'T' } }, tokenizer: { file: 'tokenizer.json' },
    inputs: [{ name: 'input_ids', role: 'input_ids', dtype: 'int64', axes: [{ name: 'batch' }, { name: 'position', size: 'T' }] }],
    outputs: outputs.map((o) => ({ dtype: 'float32', ...o })),
  });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.manifest;
}

const B = { name: 'batch' as const };
const mixingAxes = [B, { name: 'head' as const, size: 1 }, { name: 'query' as const, size: 'T' }, { name: 'key' as const, size: 'T' }];
const logitsAxes = [B, { name: 'position' as const, size: 'T' }, { name: 'vocab' as const, size: 3 }];
/** A per-layer [H = 1, 3, 3] attention tensor, and [3, 3] logits over a vocabulary of 3. */
const attention = (rows: number[][]) => ({ dims: [1, 3, 3], data: Float32Array.from(rows.flat()) });
const logits = (values = [0, 1, 2, 1, 0, 2, 2, 1, 0]) => ({ dims: [3, 3], data: Float32Array.from(values) });
const causalOk = [[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]];

function problems(m: ModelManifest, outputs: RunOutputs, vocab = 3): string[] {
  return runProblems(m, outputs, { tokens: 3 }, vocab);
}

describe('model check before first use', function () {
  this.timeout(120_000);

  describe('every real model passes it after a run on a few tokens (onnxruntime-web)', () => {
    ort.env.wasm.numThreads = 1;
    ort.env.logLevel = 'error';
    for (const entry of fixtures.models) {
      it(entry.id, async () => {
        const folder = path.join(root, entry.folder ?? path.join('media/models', entry.id));
        const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
        if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
        const m = parsed.manifest;
        const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, m.tokenizer.file), 'utf8')), m.tokenizer.file);
        const runner = await ModelRunner.create(ort as unknown as OrtModule, m, readFileSync(path.join(folder, m.model ?? 'model.onnx')), { executionProviders: ['wasm'] });
        try {
          const ids = tokenizer.encode('function f(a) {\n  return a + 1;\n}');
          const outputs = await runner.run(Object.fromEntries(runner.structure.sequences.map((s) => [s.id, ids])));
          assert.deepStrictEqual(runProblems(m, outputs, Object.fromEntries(runner.structure.sequences.map((s) => [s.id, ids.length])), tokenizer.vocabSize), []);
        } finally {
          await runner.release();
        }
      });
    }
  });

  describe('hand-made outputs that break a rule', () => {
    const causal = manifest([{ name: 'logits', role: 'logits', axes: logitsAxes }, { name: 'attentions.0', role: 'mixing', structure: 'causal', layer: 0, axes: mixingAxes }]);

    it('passes outputs that keep every promise', () => {
      assert.deepStrictEqual(problems(causal, { logits: logits(), 'attentions.0': attention(causalOk) }), []);
    });

    it('a normalised row that does not sum to 1', () => {
      const out = problems(causal, { logits: logits(), 'attentions.0': attention([[1, 0, 0], [0.5, 0.5, 0], [0.07, 0.1, 0.2]]) });
      assert.deepStrictEqual(out, ['output "attentions.0": rows must sum to 1 (a softmax), but row 2 sums to 0.37']);
    });

    it('a negative weight, and a NaN row', () => {
      const out = problems(causal, { logits: logits(), 'attentions.0': attention([[1, 0, 0], [1.2, -0.2, 0], [NaN, 0.5, 0.5]]) });
      assert.deepStrictEqual(out, [
        'output "attentions.0": rows must sum to 1 (a softmax), but row 2 sums to NaN',
        'output "attentions.0": weights must not be negative (probabilities), but row 1 gives key 1 the weight -0.2',
      ]);
    });

    it('a causal family that looks ahead (normalised or not), with the count of other rows', () => {
      const leaky = attention([[0.9, 0.1, 0], [0.5, 0.25, 0.25], [0.2, 0.3, 0.5]]);
      const rule = 'structure "causal": weights above the diagonal must be 0 (a token sees no later token)';
      assert.deepStrictEqual(problems(causal, { logits: logits(), 'attentions.0': leaky }), [`output "attentions.0": ${rule}, but row 0 gives key 1 the weight 0.1 (and 1 more rows)`]);
      const linear = manifest([{ name: 'w', role: 'mixing', structure: 'causal', normalised: false, axes: [{ name: 'layer', size: 1 }, ...mixingAxes] }]);
      const unnormalised = { dims: [1, 1, 3, 3], data: Float32Array.from([2, 0, 0, -1, 3, 0, 0.5, 0.5, 7]) };
      assert.deepStrictEqual(problems(linear, { w: unnormalised }), [], 'rows of an unnormalised W may sum to anything, and be negative');
      unnormalised.data[5] = 0.4;
      assert.deepStrictEqual(problems(linear, { w: unnormalised }), [`output "w": ${rule}, but row 1 (layer 0) gives key 2 the weight 0.4`]);
    });

    it('a windowed family that weighs a key outside its window', () => {
      const windowed = manifest([{ name: 'a', role: 'mixing', structure: 'windowed', window: 2, layer: 0, axes: mixingAxes }]);
      assert.deepStrictEqual(problems(windowed, { a: attention([[1, 0, 0], [0.5, 0.5, 0], [0, 0.5, 0.5]]) }), []);
      assert.deepStrictEqual(problems(windowed, { a: attention([[1, 0, 0], [0.5, 0.5, 0], [0.1, 0.4, 0.5]]) }), [
        'output "a": structure "windowed" (window 2): a token may weigh only itself, the 1 before it; the rest must be 0, but row 2 gives key 0 the weight 0.1',
      ]);
    });

    it('gates other than candidates outside [0, 1]; candidates may be negative', () => {
      const gated = manifest([
        {
          name: 'gates', role: 'gates', axes: [{ name: 'layer', size: 1 }, B, { name: 'position', size: 'T' }, { name: 'gate', size: 3 }, { name: 'unit', size: 1 }],
          gates: [{ name: 'f', meaning: 'keep' }, { name: 'g', meaning: 'candidate' }, { name: 'o', meaning: 'output' }],
        },
      ]);
      const values = (f: number, o: number) => ({ dims: [1, 3, 3, 1], data: Float32Array.from([0.5, -0.9, 0.5, 0.5, 0.9, 0.5, f, -1, o]) });
      assert.deepStrictEqual(problems(gated, { gates: values(1 + 1e-6, -1e-6) }), [], 'within 1e-5 of [0, 1]');
      assert.deepStrictEqual(problems(gated, { gates: values(1.7, -0.3) }), [
        'output "gates": gate "f" (keep) must lie in [0, 1] (a sigmoid), but layer 0, token 2, unit 0 is 1.7',
        'output "gates": gate "o" (output) must lie in [0, 1] (a sigmoid), but layer 0, token 2, unit 0 is -0.3',
      ]);
    });

    it('decay factors outside [0, 1]', () => {
      const decaying = manifest([{ name: 'decay', role: 'decay', axes: [{ name: 'layer', size: 1 }, B, { name: 'position', size: 'T' }, { name: 'unit', size: 1 }] }]);
      assert.deepStrictEqual(problems(decaying, { decay: { dims: [1, 3, 1], data: Float32Array.from([0.9, 1.5, 2]) } }), [
        'output "decay": decay factors must lie in [0, 1] (the share of a state kept), but value 1 is 1.5 (and 1 more values)',
      ]);
    });

    it('logits that are not finite, and a vocabulary that is not the tokenizer\'s', () => {
      const only = manifest([{ name: 'logits', role: 'logits', axes: logitsAxes }]);
      assert.deepStrictEqual(problems(only, { logits: logits([0, 1, 2, Infinity, 0, 2, 2, NaN, 0]) }), ['output "logits": logits must be finite numbers, but token 1, vocabulary entry 0 is Infinity (and 1 more values)']);
      const wide = manifest([{ name: 'logits', role: 'logits', axes: [B, { name: 'position', size: 'T' }, { name: 'vocab' }] }]);
      assert.deepStrictEqual(problems(wide, { logits: logits() }, 4), [
        'output "logits": vocab axis: expected 4 entries, one per token of tokenizer.json, found 3 (the model and the tokenizer must share one vocabulary)',
      ]);
    });

    it('an output whose shape is not the declared one, and the error that makes the load fail', () => {
      const out = problems(causal, { logits: logits(), 'attentions.0': { dims: [1, 3, 4], data: new Float32Array(12) } });
      assert.deepStrictEqual(out, ['output "attentions.0": axes: expected [head=1, query=3, key=3] (the manifest\'s axes, batch removed, on a run of 3 tokens), found [1, 3, 4]']);
      assert.throws(
        () => assertSaneRun(causal, { logits: logits(), 'attentions.0': attention([[1, 0, 0], [0.5, 0.5, 0], [0.07, 0.1, 0.2]]) }, { tokens: 3 }, 3),
        (err: unknown) => err instanceof LensError && err.code === 'model-invalid' && err.message === 'broken: output "attentions.0": rows must sum to 1 (a softmax), but row 2 sums to 0.37.',
      );
    });
  });

  describe('in the engine: a real model that breaks a promise fails to load, its session released', () => {
    const expectInvalid = (pattern: RegExp) => (err: unknown) => err instanceof LensError && err.code === 'model-invalid' && pattern.test(err.message);

    it('an encoder declared causal (its attention sees ahead), then the same model declared right', async () => {
      const ort = new CountingOrt();
      const engine = new Engine({ provider: 'wasm', ort, files: new DiskFiles() });
      const wrong = descriptor('test/fixtures/models/toy-encoder', (m) => ({ ...m, outputs: m.outputs.map((o) => (o.role === 'mixing' ? { ...o, structure: 'causal' } : o)) }));
      await assert.rejects(engine.analyse(wrong, 'let a = 1;', 0, 2048), expectInvalid(/^toy-encoder: output "attentions\.0": structure "causal": weights above the diagonal must be 0 .*, but row 0 \(head 0\) gives key 1 the weight /));
      assert.strictEqual(ort.live, 0, 'the failed load released its session');
      await assert.rejects(engine.analyse(wrong, 'let a = 1;', 0, 2048), expectInvalid(/structure "causal"/), 'a retry checks again');
      assert.strictEqual(ort.live, 0);
      assert.ok((await engine.analyse(descriptor('test/fixtures/models/toy-encoder'), 'let a = 1;', 0, 2048)).tokens.length > 0);
      await engine.dispose();
      assert.strictEqual(ort.released, ort.created);
      assert.deepStrictEqual(ort.violations, []);
    });

    it('a tanh candidate declared an output gate', async () => {
      const ort = new CountingOrt();
      const engine = new Engine({ provider: 'wasm', ort, files: new DiskFiles() });
      const wrong = descriptor('test/fixtures/models/toy-recurrent', (m) => ({
        ...m,
        outputs: m.outputs.map((o) => (o.role === 'gates' ? { ...o, gates: o.gates!.map((g) => (g.meaning === 'candidate' ? { ...g, meaning: 'output' as const } : g)) } : o)),
      }));
      await assert.rejects(engine.analyse(wrong, 'let a = 1;', 0, 2048), expectInvalid(/^toy-recurrent: output "gates": gate "draft" \(output\) must lie in \[0, 1\] \(a sigmoid\), but layer \d, token \d+, unit \d is -/));
      await engine.dispose();
      assert.strictEqual(ort.live, 0);
      assert.deepStrictEqual(ort.violations, []);
    });
  });
});
