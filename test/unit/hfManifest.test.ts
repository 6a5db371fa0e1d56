// Why: a Hugging Face export with no manifest of ours must be understood from its names alone and then run
// like any other model. Each of the six export-shaped fixtures of test/fixtures/hf (GPT-2, BERT and T5, each
// with attention outputs and as Optimum exports by default; written by training/hf_like_models.py) gets a
// derived manifest that validates and agrees with its graph, exactly the expected recognised/unrecognised
// lists, and a real run through onnxruntime-web and analyse() whose outputs equal PyTorch's within 1e-4.
// Hand-made graphs cover the quirks of real exports: int32 ids, past_{i} caches, float16 logits, no ids,
// unknown inputs, split decoders, beam search, gaps in layer numbering, and no config.json.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { type Analysis, analyse } from '../../src/core/analyze';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { LensError } from '../../src/core/errors';
import { type DerivedManifest, deriveManifest } from '../../src/core/hfManifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { occlusion } from '../../src/core/occlusion';
import { type OcclusionRunner, prefixPlan, runnerOcclusion } from '../../src/core/occlusionPrefix';
import { type OnnxGraph, type OnnxValueInfo, readOnnxGraph } from '../../src/core/onnxGraph';
import { familyRollout, mixingMatrices, sequenceTokens } from '../../src/core/roleData';
import { LensTokenizer } from '../../src/core/tokenizer';
import { graphProblems } from '../../src/modelContents';

const root = path.join(__dirname, '../..');
const hf = path.join(root, 'test/fixtures/hf');
const readJson = (file: string): unknown => JSON.parse(readFileSync(file, 'utf8'));
type Nested = number | Nested[];
interface Reference { text: string; inputs: Record<string, number[]>; logits: number[][]; outputs?: Record<string, Nested> }
const reference = (readJson(path.join(hf, 'reference.json')) as { models: Record<string, Reference> }).models;
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const ids = (seq: string) => [`input_ids: token ids (${seq})`, `attention_mask: attention mask of ones (${seq})`];
const layers = (name: string, as: (i: number) => string) => [0, 1].map((i) => `${name}.${i}: ${as(i)}`);
const cache = [0, 1].flatMap((i) => ['key', 'value'].map((kv) => `past_key_values.${i}.${kv}: cache, layer ${i} ${kv} (fed empty)`));
const present = [0, 1].flatMap((i) => ['key', 'value'].map((kv) => `present.${i}.${kv}: cache output (seeds past_key_values.${i}.${kv})`));
const NEXT = 'logits: logits of the next token (tokens)';
const MASKED = 'logits: logits of each token itself, masked LM (tokens)';
const T5_IN = [...ids('source'), 'decoder_input_ids: token ids (target)'];
const T5_LOGITS = 'logits: logits of the next token (target)';

/** Per fixture: what each graph input and output is taken as (in graph order), and the mixing families expected. */
const FIXTURES: Record<string, { recognised: string[]; families: string[]; attentions: boolean }> = {
  'gpt2-attn': { recognised: [...ids('tokens'), 'position_ids: positions 0, 1, … (tokens)', NEXT, ...layers('attentions', (i) => `attention, layer ${i}, causal (tokens)`)], families: ['mixing/mixing causal'], attentions: true },
  'gpt2-plain': { recognised: [...ids('tokens'), 'position_ids: positions 0, 1, … (tokens)', ...cache, NEXT, ...present], families: [], attentions: false },
  'bert-attn': {
    recognised: [...ids('tokens'), 'token_type_ids: segment ids of zeros (tokens)', MASKED, ...layers('attentions', (i) => `attention, layer ${i}, bidirectional (tokens)`), 'last_hidden_state: last hidden state (tokens)'],
    families: ['mixing/mixing bidirectional'],
    attentions: true,
  },
  'bert-plain': { recognised: [...ids('tokens'), 'token_type_ids: segment ids of zeros (tokens)', MASKED], families: [], attentions: false },
  't5-attn': {
    recognised: [
      ...T5_IN,
      T5_LOGITS,
      ...layers('encoder_attentions', (i) => `encoder self-attention, layer ${i}, bidirectional (source)`),
      ...layers('decoder_attentions', (i) => `decoder self-attention, layer ${i}, causal (target)`),
      ...layers('cross_attentions', (i) => `cross-attention, layer ${i} (target to source)`),
    ],
    families: ['mixing/source bidirectional', 'mixing/target causal', 'cross_mixing/cross_mixing cross'],
    attentions: true,
  },
  't5-plain': { recognised: [...T5_IN, 'decoder_attention_mask: attention mask of ones (target)', T5_LOGITS], families: [], attentions: false },
};

function derive(name: string): { derived: DerivedManifest; graph: OnnxGraph } {
  const folder = path.join(hf, name);
  const graph = readOnnxGraph(readFileSync(path.join(folder, 'model.onnx')));
  const derived = deriveManifest({ id: name, graph, config: readJson(path.join(folder, 'config.json')), tokenizer: readJson(path.join(folder, 'tokenizer.json')), onnxFile: 'model.onnx', tokenizerFile: 'tokenizer.json' });
  return { derived, graph };
}

/** The largest difference between a reference (nested lists) and a flat tensor read in the same order. */
function maxDifference(expected: Nested, actual: ArrayLike<number>, stride?: { row: number; cols: number }): number {
  if (stride) return Math.max(...(expected as number[][]).flatMap((row, t) => row.map((v, j) => Math.abs(v - actual[t * stride.row + j]))));
  const flat = [expected].flat(Infinity as 1) as number[];
  assert.strictEqual(flat.length, actual.length, 'reference and output sizes');
  return Math.max(...flat.map((v, i) => Math.abs(v - actual[i])));
}

describe('manifests derived from Hugging Face exports', function () {
  this.timeout(120_000);
  for (const [name, facts] of Object.entries(FIXTURES)) {
    describe(name, () => {
      let derived: DerivedManifest;
      let graph: OnnxGraph;
      let a: Analysis;
      before(async () => {
        ({ derived, graph } = derive(name));
        const folder = path.join(hf, name);
        const tokenizer = new LensTokenizer(readJson(path.join(folder, 'tokenizer.json')), 'tokenizer.json');
        const runner = await ModelRunner.create(ort as unknown as OrtModule, derived.manifest, readFileSync(path.join(folder, 'model.onnx')), { executionProviders: ['wasm'] });
        try {
          a = await analyse(tokenizer, runner, reference[name].text, 0, { maxTokens: 512 });
        } finally {
          await runner.release();
        }
      });

      it('derives a manifest that validates and agrees with the graph', () => {
        assert.deepStrictEqual(validateManifest(JSON.parse(JSON.stringify(derived.manifest))).ok, true);
        assert.deepStrictEqual(graphProblems(derived.manifest, graph), []);
        assert.strictEqual(derived.manifest.id, name);
        assert.strictEqual(derived.manifest.parameters, graph.initializers.filter((t) => t.elemType === 'float32').reduce((n, t) => n + t.dims.reduce((x, y) => x * y, 1), 0));
      });

      it('recognises every input and output by its export name, and nothing else', () => {
        assert.deepStrictEqual(derived.recognised.map((r) => `${r.name}: ${r.as}`), facts.recognised);
        assert.deepStrictEqual(derived.unrecognised, []);
        const noAttention = derived.notes.filter((n) => n.startsWith('No attention outputs:'));
        assert.strictEqual(noAttention.length, facts.attentions ? 0 : 1, derived.notes.join('\n'));
      });

      it('reads the same token ids as the PyTorch reference, and its outputs equal PyTorch within 1e-4', () => {
        const ref = reference[name];
        const seqIds = (id: string) => sequenceTokens(a, id).map((t) => t.id);
        const primary = a.structure.primary;
        assert.deepStrictEqual(seqIds(primary), ref.inputs.decoder_input_ids ?? ref.inputs.input_ids);
        if (ref.inputs.decoder_input_ids) assert.deepStrictEqual(seqIds('source'), ref.inputs.input_ids);
        const logits = a.outputs.logits;
        assert.ok(maxDifference(ref.logits, logits.data, { row: logits.dims[1], cols: 16 }) < 1e-4, 'logits');
        for (const [output, expected] of Object.entries(ref.outputs ?? {})) assert.ok(maxDifference(expected, a.outputs[output].data) < 1e-4, output);
      });

      it('runs through the engine and analysis: rows sum to 1, masks hold, cross-attention is target × source', () => {
        assert.deepStrictEqual(a.structure.mixing.map((f) => `${f.key} ${f.mask}`), facts.families);
        for (const f of a.structure.mixing) {
          const m = mixingMatrices(a, f);
          assert.strictEqual(m.layers, 2);
          assert.strictEqual(m.heads, 2);
          assert.strictEqual(m.rows, sequenceTokens(a, f.query).length);
          assert.strictEqual(m.cols, sequenceTokens(a, f.keys).length);
          let above = 0;
          for (let l = 0; l < m.layers; l++) {
            const data = m.layer(l);
            for (let h = 0; h < m.heads; h++) {
              for (let t = 0; t < m.rows; t++) {
                let sum = 0;
                for (let k = 0; k < m.cols; k++) {
                  const w = data[(h * m.rows + t) * m.cols + k];
                  if (k > t) above += w;
                  sum += w;
                }
                assert.ok(Math.abs(sum - 1) < 1e-5, `${f.key} layer ${l} head ${h} row ${t} sums to ${sum}`);
              }
            }
          }
          if (f.mask === 'causal') assert.strictEqual(above, 0, `${f.key} is causal`);
          else assert.ok(above > 0.1, `${f.key} looks ahead`);
          if (f.role === 'mixing') assert.ok(familyRollout(a, f));
        }
        if (name.startsWith('t5')) assert.deepStrictEqual(a.sequences.map((s) => s.id), ['source', 'target']);
        assert.strictEqual(a.structure.predictsNext, !name.startsWith('bert'));
      });
    });
  }
});

// ---------------------------------------------------------------------------------------------------------
// Quirks, on hand-made graphs (what readOnnxGraph returns for such files).

const wordpiece = readJson(path.join(root, 'test/fixtures/tokenizers/wordpiece.json'));
const tensor = (name: string, elemType: string, shape: OnnxValueInfo['shape']): OnnxValueInfo => ({ name, elemType, shape });
const ids64 = (name: string, type = 'int64') => tensor(name, type, ['batch_size', 'sequence_length']);
const LOGITS = tensor('logits', 'float32', ['batch_size', 'sequence_length', 1000]);
const weights = [{ name: 'embed.weight', elemType: 'float32', dims: [1000, 8], nanCount: 0 }];
const graphOf = (inputs: OnnxValueInfo[], outputs: OnnxValueInfo[]): OnnxGraph => ({ irVersion: 8, inputs, outputs, initializers: weights });
const CAUSAL = { architectures: ['TinyForCausalLM'], n_head: 2, n_embd: 32, vocab_size: 1000 };
const deriveGraph = (graph: OnnxGraph, config: unknown = CAUSAL) => deriveManifest({ id: 'quirk', graph, config, tokenizer: wordpiece, onnxFile: 'model.onnx', tokenizerFile: 'tokenizer.json' });
const refuses = (graph: OnnxGraph, ...parts: RegExp[]) =>
  assert.throws(() => deriveGraph(graph), (err: unknown) => {
    assert.ok(err instanceof LensError && err.code === 'model-invalid', String(err));
    assert.match(err.message, /^model\.onnx: /);
    for (const p of parts) assert.match(err.message, p);
    return true;
  });

describe('occlusion of a Hugging Face decoder export with a cache (gpt2-plain)', function () {
  this.timeout(120_000);

  // Its present.{i}.key/value outputs seed past_key_values.{i}.key/value: each replaced token's run starts from the
  // cache of the tokens before it, with position ids and the attention mask continuing them.
  it('reruns only the tokens from each replaced one on, equal to whole re-runs within 1e-5', async () => {
    const { derived } = derive('gpt2-plain');
    const folder = path.join(hf, 'gpt2-plain');
    const tokenizer = new LensTokenizer(readJson(path.join(folder, 'tokenizer.json')), 'tokenizer.json');
    const ids = { tokens: tokenizer.encode(reference['gpt2-plain'].text) };
    const T = ids.tokens.length;
    const target = { occluded: 'tokens', observed: 'tokens', causal: true, replacementId: ids.tokens[0] };
    assert.deepStrictEqual(prefixPlan(derived.manifest, target)?.caches.map((c) => c.output.name), ['present.0.key', 'present.0.value', 'present.1.key', 'present.1.value']);
    const runner = await ModelRunner.create(ort as unknown as OrtModule, derived.manifest, readFileSync(path.join(folder, 'model.onnx')), { executionProviders: ['wasm'] });
    try {
      const lengths: number[] = [];
      const recording: OcclusionRunner = { manifest: runner.manifest, run: (i, o) => runner.run(i, o), keepCaches: (o) => runner.keepCaches(o), runBatchLogits: (batch, state) => (lengths.push(Object.values(batch[0])[0].length), runner.runBatchLogits(batch, state)) };
      const reused = await runnerOcclusion(recording, ids, target);
      const whole = await occlusion((batch) => runner.runBatchLogits(batch), ids, target);
      assert.ok(T > 8 && reused.some((x) => x > 0));
      assert.ok(reused.every((x, i) => Math.abs(x - whole[i]) <= 1e-5), 'the same matrix');
      assert.deepStrictEqual(lengths, [4, ...Array.from({ length: T }, (_, k) => T - k)], 'the check, then one suffix per replaced token');
    } finally {
      await runner.release();
    }
  });
});

describe('manifests derived from the quirks of real exports', () => {
  it('accepts int32 ids and masks, declared as int32', () => {
    const d = deriveGraph(graphOf([ids64('input_ids', 'int32'), ids64('attention_mask', 'int32')], [LOGITS]));
    assert.deepStrictEqual(d.manifest.inputs.map((i) => `${i.name} ${i.role} ${i.dtype}`), ['input_ids input_ids int32', 'attention_mask attention_mask int32']);
    assert.deepStrictEqual(graphProblems(d.manifest, graphOf([ids64('input_ids', 'int32'), ids64('attention_mask', 'int32')], [LOGITS])), []);
  });

  it('feeds older past_{i} caches [2, batch, head, past, head size] empty, seeded by present_{i}', () => {
    const past = [0, 1].map((i) => tensor(`past_${i}`, 'float32', [2, 'batch_size', 2, 'past_sequence_length', 16]));
    const presents = [0, 1].map((i) => tensor(`present_${i}`, 'float32', [2, 'batch_size', 2, 'total_sequence_length', 16]));
    const graph = graphOf([ids64('input_ids'), ...past], [LOGITS, ...presents]);
    const d = deriveGraph(graph, { n_head: 2, n_embd: 32 });
    assert.deepStrictEqual(d.manifest.inputs[1].axes, [{ name: 'state', size: 2 }, { name: 'batch' }, { name: 'head', size: 2 }, { name: 'past', size: 0 }, { name: 'feature', size: 16 }]);
    assert.deepStrictEqual(d.manifest.inputs.map((i) => i.role), ['input_ids', 'empty_cache', 'empty_cache']);
    assert.deepStrictEqual(d.recognised.map((r) => r.as).slice(1), ['cache, layer 0 keys and values (fed empty)', 'cache, layer 1 keys and values (fed empty)', 'logits of the next token (tokens)', 'cache output (seeds past_0)', 'cache output (seeds past_1)']);
    assert.deepStrictEqual(d.manifest.outputs.slice(1).map((o) => [o.role, o.state, o.axes.map((a) => a.name).join(',')]), [['cache', '0', 'state,batch,head,position,feature'], ['cache', '1', 'state,batch,head,position,feature']]);
    assert.ok(d.notes.some((n) => n.startsWith('Taken as a decoder') && n.includes('key/value cache')), d.notes.join('\n'));
    assert.deepStrictEqual(graphProblems(d.manifest, graph), []);
  });

  it('refuses float16 logits or attentions, naming each output', () => {
    refuses(graphOf([ids64('input_ids')], [tensor('logits', 'float16', ['batch_size', 'sequence_length', 1000]), tensor('attentions.0', 'float16', ['batch_size', 2, 'sequence_length', 'sequence_length'])]), /"logits" is float16/, /"attentions\.0" is float16/, /only float32/, /export in float32/);
  });

  it('refuses a graph without input_ids, listing the inputs it has', () => {
    refuses(graphOf([tensor('tokens', 'int64', ['batch', 'seq'])], [LOGITS]), /no graph input "input_ids"/, /found inputs "tokens"/);
  });

  it('lists an unknown extra input as unrecognised with the reason, and warns that the model may not run', () => {
    const d = deriveGraph(graphOf([ids64('input_ids'), tensor('langs', 'int64', ['batch_size', 'sequence_length'])], [LOGITS]));
    assert.deepStrictEqual(d.unrecognised.map((u) => u.name), ['langs']);
    assert.match(d.unrecognised[0].why, /no naming convention matches it .*onnxruntime will refuse to run the model without it/);
    assert.ok(d.notes.includes('The model may not run: nothing feeds the input "langs".'));
  });

  it('refuses split decoders and beam-search graphs, saying what to export instead', () => {
    refuses(graphOf([ids64('input_ids'), tensor('encoder_hidden_states', 'float32', ['batch_size', 'encoder_sequence_length', 32])], [LOGITS]), /decoder half of a split encoder–decoder export/, /one graph/);
    refuses(graphOf([ids64('input_ids'), tensor('num_beams', 'int32', [1])], [tensor('sequences', 'int32', ['batch_size', 1, 'max_length'])]), /beam-search operator/);
  });

  it('does not read a per-layer family with gaps, nor outputs without a convention', () => {
    const att = (i: number) => tensor(`attentions.${i}`, 'float32', ['batch_size', 2, 'sequence_length', 'sequence_length']);
    const d = deriveGraph(graphOf([ids64('input_ids')], [LOGITS, att(0), att(2), tensor('pooler_output', 'float32', ['batch_size', 32])]));
    assert.deepStrictEqual(d.unrecognised.map((u) => u.name), ['attentions.0', 'attentions.2', 'pooler_output']);
    assert.match(d.unrecognised[0].why, /layers 0, 2, not 0\.\.1 without gaps/);
    assert.ok(d.notes.some((n) => n.startsWith('No attention outputs:')));
  });

  it('without config.json, takes sizes from the graph and decides the direction from the inputs', () => {
    const att = tensor('attentions.0', 'float32', ['batch_size', 4, 'sequence_length', 'sequence_length']);
    const encoder = deriveGraph(graphOf([ids64('input_ids'), ids64('token_type_ids')], [LOGITS, att]), null);
    assert.strictEqual(encoder.manifest.outputs[1].structure, 'bidirectional');
    assert.strictEqual(encoder.manifest.outputs[0].predicts, 'current');
    assert.deepStrictEqual(encoder.manifest.outputs[1].axes[1], { name: 'head', size: 4 });
    assert.ok(encoder.notes[0].startsWith('No config.json'));
    const unknown = deriveGraph(graphOf([ids64('input_ids')], [LOGITS, att]), null);
    assert.strictEqual(unknown.manifest.outputs[1].structure, 'causal');
    assert.ok(unknown.notes.some((n) => n.includes('nothing in the graph or config.json says')), unknown.notes.join('\n'));
  });
});
