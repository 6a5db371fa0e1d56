// Why: the encoder and the two encoder–decoders are only worth showing if what the views draw is what the model
// computes. Each test runs a bundled model in real onnxruntime-web (wasm, in Node) on its reference inputs and
// checks exported tensors against each other: the Bahdanau model's context vectors are the alignment-weighted
// sums of its encoder states, its alignment rows are distributions, its decoder gates lie in their ranges and
// reproduce its states; the Transformers' attentions hold their masks (full in the encoders, causal in the
// decoder) and sum to 1, and their declared readout turns the last hidden state of the scored sequence into
// the logits (the logit lens). Their tokenizers map the added special tokens. Fidelity to PyTorch is models.test.ts.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { ModelRunner, OrtModule, RunOutputs } from '../../src/core/engine';
import { readoutLogits } from '../../src/core/logitLens';
import { canonicalTensor, modelStructure } from '../../src/core/modelStructure';
import { readoutWeights } from '../../src/core/onnxWeights';
import { LensTokenizer } from '../../src/core/tokenizer';
import { loadBundled } from './bundledModel';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
/** onnxruntime's float32 tanh/sigmoid may overshoot their bounds by about one unit in the last place. */
const EPS = 1e-6;


async function runAll(id: string): Promise<Array<{ name: string; out: RunOutputs }>> {
  const { manifest, bytes, reference } = loadBundled(id);
  const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
  try {
    const runs = [];
    for (const text of reference.texts) runs.push({ name: text.name, out: await runner.run(text.sequences ?? text.inputIds) });
    return runs;
  } finally {
    await runner.release();
  }
}

/**
 * Checks an attention [L, H, Q, K] (batch removed): non-negative rows summing to 1; `mask` "full": in every
 * layer, every query but the last gives later keys some weight (in at least one head: a trained head may
 * underflow to exact zeros far away); "causal": nothing above the diagonal.
 */
function checkAttention(label: string, dims: readonly number[], data: Float32Array, mask: 'full' | 'causal' | 'cross'): void {
  const [L, H, Q, K] = dims;
  for (let l = 0; l < L; l++) {
    const ahead = new Float64Array(Q);
    for (let h = 0; h < H; h++) {
      const m = l * H + h;
      for (let q = 0; q < Q; q++) {
        let sum = 0;
        for (let k = 0; k < K; k++) {
          const w = data[(m * Q + q) * K + k];
          assert.ok(w >= 0, `${label}: negative weight ${w}`);
          if (mask === 'causal' && k > q) assert.strictEqual(w, 0, `${label}: weight above the diagonal at ${m},${q},${k}`);
          if (k > q) ahead[q] += w;
          sum += w;
        }
        assert.ok(Math.abs(sum - 1) < 1e-5, `${label}: row ${q} of matrix ${m} sums to ${sum}`);
      }
    }
    if (mask === 'full') for (let q = 0; q + 1 < Q; q++) assert.ok(ahead[q] > 0, `${label}: layer ${l}, query ${q} gives no later key any weight`);
  }
}

describe('encoder and encoder–decoder models: exported tensors agree with each other', function () {
  this.timeout(180_000);

  it('Bahdanau attention: c_i = sum_j alpha(i, j) h_j, alpha rows are distributions, gates in range and reproducing s_i', async () => {
    for (const { name, out } of await runAll('bahdanau')) {
      const [, T, S] = out.alignment.dims; // [1, T, S]
      const D = out.encoder_states.dims[2]; // [1, S, 2He]
      const [, , G, U] = out.gates.dims; // [1, T, 3, Hd]
      assert.deepStrictEqual(out.context.dims, [1, T, D], `${name}: context [1, T, 2He]`);
      assert.deepStrictEqual(out.decoder_states.dims, [1, T, U], `${name}: decoder states [1, T, Hd]`);
      assert.strictEqual(G, 3);
      const alpha = out.alignment.data;
      const h = out.encoder_states.data;
      let contextDiff = 0;
      for (let i = 0; i < T; i++) {
        let sum = 0;
        for (let j = 0; j < S; j++) {
          assert.ok(alpha[i * S + j] >= 0, `${name}: negative alignment`);
          sum += alpha[i * S + j];
        }
        assert.ok(Math.abs(sum - 1) < 1e-5, `${name}: alignment row ${i} sums to ${sum}`);
        for (let d = 0; d < D; d++) {
          let c = 0;
          for (let j = 0; j < S; j++) c += alpha[i * S + j] * h[j * D + d];
          contextDiff = Math.max(contextDiff, Math.abs(c - out.context.data[i * D + d]));
        }
      }
      assert.ok(contextDiff < 1e-5, `${name}: the exported context differs from sum_j alpha h_j by ${contextDiff}`);

      const gate = (i: number, g: number) => out.gates.data.subarray((i * G + g) * U, (i * G + g + 1) * U);
      const state = (i: number) => out.decoder_states.data.subarray(i * U, (i + 1) * U);
      let recurrence = 0;
      for (let i = 0; i < T; i++) {
        const [r, z, n] = [0, 1, 2].map((g) => gate(i, g));
        for (let u = 0; u < U; u++) {
          assert.ok(r[u] >= -EPS && r[u] <= 1 + EPS, `${name}: reset gate ${r[u]}`);
          assert.ok(z[u] >= -EPS && z[u] <= 1 + EPS, `${name}: update gate ${z[u]}`);
          assert.ok(n[u] >= -1 - EPS && n[u] <= 1 + EPS, `${name}: candidate ${n[u]}`);
          // s_0 comes from the encoder and is not exported: the recurrence is checked from step 1 on.
          if (i > 0) recurrence = Math.max(recurrence, Math.abs((1 - z[u]) * n[u] + z[u] * state(i - 1)[u] - state(i)[u]));
        }
      }
      assert.ok(recurrence < 1e-5, `${name}: s_i = (1 - z) n + z s_(i-1) off by ${recurrence}`);
    }
  });

  it('encoder: attention is full (weight above the diagonal) and rows sum to 1', async () => {
    for (const { name, out } of await runAll('encoder')) checkAttention(`encoder ${name}`, out.attention.dims, out.attention.data, 'full');
  });

  it('T5-style: full encoder self-attention, causal decoder self-attention, cross-attention rows summing to 1', async () => {
    for (const { name, out } of await runAll('t5')) {
      checkAttention(`t5 ${name} encoder`, out.encoder_attentions.dims, out.encoder_attentions.data, 'full');
      checkAttention(`t5 ${name} decoder`, out.decoder_attentions.dims, out.decoder_attentions.data, 'causal');
      checkAttention(`t5 ${name} cross`, out.cross_attentions.dims, out.cross_attentions.data, 'cross');
      assert.strictEqual(out.cross_attentions.dims[3], out.encoder_attentions.dims[3], `${name}: cross-attention keys are the source tokens`);
    }
  });

  for (const id of ['encoder', 't5']) {
    it(`${id}: the declared readout of the last hidden state of the scored sequence gives the logits`, async () => {
      const { manifest, bytes } = loadBundled(id);
      const readout = readoutWeights(manifest, bytes);
      const structure = modelStructure(manifest);
      for (const { name, out } of await runAll(id)) {
        const hidden = canonicalTensor(structure.hiddenStates[0], out[structure.hiddenStates[0].name]);
        const logits = canonicalTensor(structure.logits!, out[structure.logits!.name]);
        const [L, T, F] = hidden.dims;
        const V = logits.dims[1];
        assert.strictEqual(T, logits.dims[0], `${name}: the hidden states index the scored sequence`);
        let worst = 0;
        for (let t = 0; t < T; t++) {
          const z = readoutLogits(readout, hidden.data.slice(((L - 1) * T + t) * F, ((L - 1) * T + t + 1) * F));
          for (let v = 0; v < V; v++) worst = Math.max(worst, Math.abs(z[v] - logits.data[t * V + v]));
        }
        assert.ok(worst <= 1e-4, `${name}: the readout differs from the logits by ${worst}`);
      }
    });
  }

  for (const id of ['encoder', 't5', 'bahdanau']) {
    it(`${id}: its tokenizer keeps the base ids and maps the added special tokens`, () => {
      const { manifest, dir } = loadBundled(id);
      const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(dir, manifest.tokenizer.file), 'utf8')), manifest.tokenizer.file);
      assert.strictEqual(tokenizer.vocabSize, 4100);
      const expected: Record<string, number> = { '<|endoftext|>': 4095, '<pad>': 4096, '<mask>': 4097, '<extra_id_0>': 4098, '<extra_id_1>': 4099 };
      for (const [token, id] of Object.entries(expected)) {
        assert.strictEqual(tokenizer.idOf(token), id, token);
        assert.ok(tokenizer.isSpecial(id), `${token} is special`);
      }
      for (const token of Object.values(manifest.tokenizer.specialTokens ?? {})) assert.ok(tokenizer.idOf(token) !== undefined, `declared ${token}`);
      const text = 'def f(x):\n    return x<extra_id_0> + 1\n';
      const ids = tokenizer.encode(text);
      assert.deepStrictEqual(ids.filter((i) => i >= 4096), [4098], 'the sentinel written in the text is one token');
      assert.strictEqual(tokenizer.decode(ids), text);
      const spans = tokenizer.tokenize('x = 1', { prefix: ['<pad>'] });
      assert.deepStrictEqual([spans[0].id, spans[0].start, spans[0].end, spans[0].special], [4096, 0, 0, true]);
    });
  }
});
