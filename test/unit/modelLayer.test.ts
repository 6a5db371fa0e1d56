// The model layer end to end, in real onnxruntime-web (wasm, in Node): every model of test/fixtures/models.json
// (the bundled ones and the tiny test models of test/fixtures/models/) is analysed through analyse() and read
// by role only. Whatever the architecture: each sequence's tokens tile the text (special tokens have no
// range), each mixing family's rows sum to 1 and hold its declared mask, rollout rows sum to 1, cross-mixing
// is target × source, gates lie in [0, 1] where they are gates, retention is read from declared meanings,
// and the W(t, k) the hovers use exists. Expected facts per model are data in models.json ("layer").

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { type Analysis, analyse } from '../../src/core/analyze';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { influenceMatrix } from '../../src/core/influenceMatrix';
import { validateManifest } from '../../src/core/manifestValidator';
import { meanRetention } from '../../src/core/retention';
import { familyRollout, gateData, hiddenStateData, layerCount, mixingMatrices, retentionData, sequenceTokens, stateData } from '../../src/core/roleData';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');
interface LayerFacts {
  sequences: Record<string, number>;
  families: Array<{ key: string; mask: string; layers: number; heads: number; rows: string; cols: string }>;
  layers: number;
  metric: string | null;
  retention: boolean;
}
const fixtures = JSON.parse(readFileSync(path.join(root, 'test/fixtures/models.json'), 'utf8')) as { models: Array<{ id: string; folder?: string; layer?: LayerFacts }> };
const TEXT = 'class Stack:\n    """A last-in, first-out list."""\n    def push(self, item):\n        self.items.append(item)  # café 😀\n';
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

async function analyseWith(folder: string): Promise<Analysis> {
  const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const manifest = parsed.manifest;
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, manifest.tokenizer.file), 'utf8')), manifest.tokenizer.file);
  const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(folder, manifest.model ?? 'model.onnx')), { executionProviders: ['wasm'] });
  try {
    return await analyse(tokenizer, runner, TEXT, 100, { maxTokens: 4096 });
  } finally {
    await runner.release();
  }
}

describe('the model layer, read by role', function () {
  this.timeout(120_000);
  for (const entry of fixtures.models.filter((m) => m.layer)) {
    const facts = entry.layer!;
    describe(entry.id, () => {
      let a: Analysis;
      before(async () => {
        a = await analyseWith(path.join(root, entry.folder ?? path.join('media/models', entry.id)));
      });

      it('reads its declared sequences, special tokens without a range, the rest tiling the text in order', () => {
        assert.deepStrictEqual(Object.fromEntries(a.sequences.map((s) => [s.id, s.tokens.filter((t) => t.special).length])), facts.sequences);
        for (const s of a.sequences) {
          let at = 100;
          for (const t of s.tokens) {
            if (t.special) {
              assert.strictEqual(t.start, t.end, `${s.id}: special token ${t.text} has a range`);
              continue;
            }
            assert.ok(t.start >= at && t.end >= t.start && t.end <= 100 + TEXT.length, `${s.id}: ${t.text} [${t.start}, ${t.end}) after ${at}`);
            at = t.end;
          }
        }
      });

      it('has the mixing families its roles declare, rows summing to 1 and masks holding', () => {
        assert.deepStrictEqual(
          a.structure.mixing.map((f) => {
            const m = mixingMatrices(a, f);
            const rows = sequenceTokens(a, f.query).length;
            const cols = sequenceTokens(a, f.keys).length;
            assert.strictEqual(m.rows, rows);
            assert.strictEqual(m.cols, cols);
            return { key: f.key, mask: f.mask, layers: m.layers, heads: m.heads, rows: f.query, cols: f.keys };
          }),
          facts.families,
        );
        for (const f of a.structure.mixing) {
          const m = mixingMatrices(a, f);
          let above = 0;
          for (let l = 0; l < m.layers; l++) {
            const data = m.layer(l);
            for (let h = 0; h < m.heads; h++) {
              for (let t = 0; t < m.rows; t++) {
                let sum = 0;
                for (let k = 0; k < m.cols; k++) {
                  const w = data[(h * m.rows + t) * m.cols + k];
                  if (!f.signed) assert.ok(w >= 0, `${f.key}: negative weight`);
                  if (k > t) above += Math.abs(w);
                  sum += w;
                }
                // Only probabilities sum to 1 (a selective scan's hidden attention is signed and unnormalised).
                if (f.normalised) assert.ok(Math.abs(sum - 1) < 1e-5, `${f.key} layer ${l} head ${h} row ${t} sums to ${sum}`);
              }
            }
          }
          if (f.mask === 'causal' || f.mask === 'windowed') assert.strictEqual(above, 0, `${f.key} is causal`);
          if (f.mask === 'bidirectional' || f.mask === 'cross') assert.ok(above > 0, `${f.key} looks ahead`);
          const r = familyRollout(a, f);
          if (f.role === 'cross_mixing') assert.strictEqual(r, null);
          else {
            for (let t = 0; t < m.rows; t++) {
              let sum = 0;
              for (let k = 0; k < m.rows; k++) sum += r![t * m.rows + k];
              assert.ok(Math.abs(sum - 1) < 1e-4, `${f.key} rollout row ${t} sums to ${sum}`);
            }
          }
        }
      });

      it('offers a layer picker, gates in range, retention from declared meanings and a W(t, k) for hovers', () => {
        assert.strictEqual(layerCount(a), facts.layers);
        const gates = gateData(a);
        if (gates) assert.strictEqual(gates.retention.ok, facts.retention);
        assert.strictEqual(retentionData(a) !== undefined, facts.retention);
        if (gates) {
          const [L, T, G, U] = gates.tensor.dims;
          assert.strictEqual(T, a.tokens.length);
          for (let g = 0; g < G; g++) {
            if (gates.gates[g].meaning === 'candidate') continue;
            for (let l = 0; l < L; l++) for (let t = 0; t < T; t++) for (let u = 0; u < U; u++) {
              const v = gates.tensor.data[((l * T + t) * G + g) * U + u];
              assert.ok(v >= -1e-6 && v <= 1 + 1e-6, `${gates.gates[g].name} = ${v}`);
            }
          }
          if (gates.retention.ok) {
            const w = meanRetention(gates.tensor, L - 1, gates.retention.gates);
            for (let t = 0; t < T; t++) for (let k = t + 1; k < T; k++) assert.strictEqual(w[t * T + k], 0);
          }
          assert.ok(stateData(a).length > 0, 'a gated model exports its states');
        }
        for (const s of stateData(a)) assert.deepStrictEqual(s.tensor.dims.slice(0, 2), [layerCount(a), a.tokens.length], `state ${s.family.state} is [L, T, U]`);
        const hidden = hiddenStateData(a);
        if (hidden) assert.strictEqual(hidden.dims[1], a.tokens.length, 'hidden states index the primary sequence');
        const matrix = influenceMatrix(a, 'rollout');
        assert.strictEqual(matrix?.metric ?? null, facts.metric);
        if (matrix) assert.strictEqual(matrix.w.length, a.tokens.length ** 2);
      });

      it('scores its primary sequence: surprisal NaN exactly where nothing predicts a token', () => {
        const predictsNext = a.structure.predictsNext;
        a.tokens.forEach((t, i) => {
          const unscored = t.special || (predictsNext && i === 0) || !a.structure.logits;
          assert.strictEqual(Number.isNaN(a.surprisal[i]), unscored, `token ${i} ${t.text}: ${a.surprisal[i]}`);
        });
      });
    });
  }
});
