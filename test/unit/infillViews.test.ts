// Unit tests for the decisions behind the Fill panel's views (src/core/infillViews.ts): which family is the
// filling's cross-attention, which target rows produced the filled tokens, the matrices of only those rows
// (checked against the real toy encoder–decoder's cross-attention in onnxruntime-web), the label, the top
// filled tokens per context token, the lines a line view keeps, the shared colour scale and the scores.

import * as assert from 'assert';
import { existsSync, readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { layeredFromTensor, tensor } from '../../src/core/analysis';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { runInfill } from '../../src/core/infill';
import {
  bitsPerToken,
  contextLines,
  contextLookedAtBy,
  crossLabel,
  crossMatrix,
  fillCrossFamily,
  fillingCross,
  fillingMatch,
  fillingOffset,
  lineEdges,
  lookedAtBy,
  producingRows,
  rowsOf,
  sharedMax,
  surprisalTint,
} from '../../src/core/infillViews';
import { validateManifest } from '../../src/core/manifestValidator';
import { canonicalTensor, modelStructure } from '../../src/core/modelStructure';
import { mixingMatrices } from '../../src/core/roleData';
import { LensTokenizer } from '../../src/core/tokenizer';
import { Engine } from '../../webview/engine';
import { CountingOrt, DiskFiles, descriptor } from './engineRig';
import { requestFor } from './infillRequest';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
const root = path.join(__dirname, '../..');


/** Attention [L, H, R, C] whose value at (l, h, r, c) is 1000l + 100h + 10r + c, so every copy is traceable. */
function traceable(L: number, H: number, R: number, C: number) {
  const t = tensor([L, H, R, C]);
  for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) t.data[((l * H + h) * R + r) * C + c] = 1000 * l + 100 * h + 10 * r + c;
  return layeredFromTensor(t);
}

describe('infill views', () => {
  it('finds the filling in the target and the rows that produced it', () => {
    assert.strictEqual(fillingOffset([4096, 4098, 7, 8, 9, 4099], [7, 8, 9], 2), 2);
    assert.strictEqual(fillingOffset([4096, 4098, 7, 7, 8], [7, 8], 2), 3, 'the first place where all follow one another');
    assert.strictEqual(fillingOffset([4096, 4098, 4099], [], 2), 2, 'an empty filling sits after the prefix');
    assert.throws(() => fillingOffset([4096, 4098, 7, 4099], [7, 8], 2), /expected ids \[7, 8\] in order from position 2, found \[4096, 4098, 7, 4099\]/);
    assert.deepStrictEqual(producingRows(2, 3, true), [1, 2, 3], 'a decoder: the step before each token generated it');
    assert.deepStrictEqual(producingRows(2, 3, false), [2, 3, 4]);
    assert.throws(() => producingRows(0, 1, true), /no earlier position/);
  });

  it('copies only the chosen rows of every layer and head', () => {
    const m = traceable(2, 3, 5, 4);
    const picked = rowsOf(m, [1, 3]);
    assert.deepStrictEqual([picked.layers, picked.heads, picked.rows, picked.cols], [2, 3, 2, 4]);
    const l1 = picked.layer(1);
    assert.strictEqual(l1.length, 3 * 2 * 4);
    assert.strictEqual(l1[(2 * 2 + 1) * 4 + 3], 1000 + 200 + 30 + 3, 'layer 1, head 2, picked row 1 (row 3), column 3');
    assert.strictEqual(picked.layer(1), l1, 'copied once per layer');
    assert.throws(() => rowsOf(m, [5]), /row 5 is outside 0..4/);
    const mean = crossMatrix(picked, 0, 'mean');
    assert.strictEqual(mean[1 * 4 + 2], 100 + 32, 'mean over heads 0, 1, 2 of 10·3 + 2 + 100h');
    assert.strictEqual(crossMatrix(picked, 0, 'max')[0], 200 + 10);
    assert.strictEqual(crossMatrix(picked, 1, 2)[0], 1000 + 200 + 10);
    assert.throws(() => crossMatrix(picked, 0, 3), /head 3 is outside 0..2/);
  });

  it('labels a matrix by its family, heads and layer, and an alignment by its label alone', () => {
    const family = { label: 'cross-attention' };
    assert.strictEqual(crossLabel(family, { layers: 2, heads: 4 }, 1, 'mean'), 'cross-attention, mean of 4 heads, layer 2 (last)');
    assert.strictEqual(crossLabel(family, { layers: 3, heads: 4 }, 0, 2), 'cross-attention, head 3 of 4, layer 1');
    assert.strictEqual(crossLabel({ label: 'alignment (Bahdanau attention)' }, { layers: 1, heads: 1 }, 0, 'mean'), 'alignment (Bahdanau attention)');
  });

  it('ranks the filled tokens that looked at each context token, largest first, at most k', () => {
    // 4 filled tokens × 3 context tokens.
    const m = Float32Array.from([0.1, 0.0, 0.5, 0.4, 0.0, 0.2, 0.3, 0.0, 0.9, 0.2, NaN, 0.2]);
    const top = lookedAtBy(m, 4, 3, 3);
    assert.deepStrictEqual(top[0].map((x) => x.index), [1, 2, 3]);
    assert.deepStrictEqual(top[1], [], 'zeros and NaN look at nothing');
    assert.deepStrictEqual(top[2].map((x) => x.index), [2, 0, 1], 'ties keep the earlier token first; only three');
    assert.ok(Math.abs(top[2][0].weight - 0.9) < 1e-6);
    assert.throws(() => lookedAtBy(m, 4, 4), /expected 4 × 4 = 16 values, found 12/);
  });

  it('names the filled tokens that looked at each context token with a range, and finds context lines', () => {
    const source = [
      { start: 0, end: 3, special: false },
      { start: 3, end: 3, special: true }, // the hole
      { start: 9, end: 12, special: false },
    ];
    // 2 filled tokens × 3 source tokens.
    const m = Float32Array.from([0.2, 0.5, 0.3, 0.6, 0.1, 0.3]);
    assert.deepStrictEqual(contextLookedAtBy(source, m, ['a', 'b'], 1), [
      { start: 0, end: 3, lookedAtBy: [{ text: 'b', index: 1, weight: Float32Array.from([0.6])[0] }] },
      { start: 9, end: 12, lookedAtBy: [{ text: 'a', index: 0, weight: Float32Array.from([0.3])[0] }] },
    ]);
    const request = {
      before: { startOffset: 100, text: 'a\nbc\n' },
      span: { startOffset: 105, text: 'x\ny', start: { line: 12, character: 0 }, end: { line: 13, character: 1 } },
      after: { startOffset: 108, text: ';\nz' },
    };
    assert.deepStrictEqual(contextLines(request, [100, 101, 102, 104, 105, 107, 108, 109, 110]), [10, 10, 11, 11, 12, 13, 13, 13, 14]);
  });

  it('keeps the lines legible: each row its strongest, a few more above a share, a bounded list of context tokens', () => {
    const rows = 3;
    const cols = 300;
    const m = new Float32Array(rows * cols).fill(0.0001);
    m[0 * cols + 10] = 0.5;
    m[0 * cols + 11] = 0.3;
    m[0 * cols + 250] = 0.04; // under 15% of the row's largest: not drawn
    m[1 * cols + 120] = 0.6;
    m[2 * cols + 299] = 0.2;
    m[2 * cols + 5] = 0.19;
    const choice = lineEdges(m, rows, cols);
    assert.deepStrictEqual(choice.columns, [5, 10, 11, 120, 299]);
    assert.deepStrictEqual(choice.edges.map((e) => [e.row, e.col]), [[0, 10], [0, 11], [1, 120], [2, 5], [2, 299]]);
    assert.ok(Math.abs(choice.edges.find((e) => e.col === 11)!.share - 0.3 / 0.5) < 1e-6);
    assert.ok(choice.drawnShare[1] > 0.6 / (0.6 + 299 * 0.0001) - 1e-6 && choice.drawnShare[1] <= 1);
    const bounded = lineEdges(m, rows, cols, { maxColumns: 3 });
    assert.deepStrictEqual(bounded.columns, [10, 120, 299], 'only each row’s strongest fits');
    const uniform = lineEdges(new Float32Array(2 * 400).fill(1 / 400), 2, 400);
    assert.ok(uniform.columns.length <= 48 && uniform.edges.length <= 12, 'a flat row draws a few lines, not 400');
    assert.deepStrictEqual(lineEdges(new Float32Array(4), 2, 2).edges, [], 'rows without weight draw nothing');
  });

  it('shares one colour scale, averages bits per token, tints and compares fillings', () => {
    assert.strictEqual(sharedMax([Float32Array.from([0.2, 0.7]), Float32Array.from([NaN, 0.9, Infinity]), []]), Float32Array.from([0.9])[0]);
    assert.strictEqual(sharedMax([]), 0);
    assert.strictEqual(bitsPerToken(Float32Array.from([NaN, 2, 4])), 3);
    assert.ok(Number.isNaN(bitsPerToken([NaN])));
    assert.deepStrictEqual([surprisalTint(NaN, 8), surprisalTint(2, 8), surprisalTint(20, 8), surprisalTint(0.5, 0.2)], [0, 0.25, 1, 0.5]);
    assert.strictEqual(fillingMatch('return x;', 'return x;'), 'exact');
    assert.strictEqual(fillingMatch('return  x;\n', 'return x;'), 'whitespace');
    assert.strictEqual(fillingMatch('return x;', 'return y;'), 'different');
  });

  it('reads the real cross-attention of an encoder–decoder for the filled rows only', async function () {
    this.timeout(120_000);
    const engine = new Engine({ provider: 'wasm', ort: new CountingOrt(), files: new DiskFiles() });
    try {
      const model = descriptor('test/fixtures/models/toy-encoder-decoder');
      const structure = modelStructure(model.manifest);
      const family = fillCrossFamily(structure, 'target', 'source');
      assert.ok(family, 'the toy declares a cross_mixing family from target to source');
      assert.strictEqual(family.role, 'cross_mixing');
      assert.strictEqual(fillCrossFamily(structure, 'source', 'target'), undefined, 'no family reads the other way');
      const analysis = await engine.analyse(model, 'def push(self, item):\n    return item', 0, 256);
      const target = analysis.sequences.find((s) => s.id === 'target')!;
      const ids = target.tokens.map((t) => t.id);
      // Pretend the last three target tokens were generated: they follow the <pad> prefix.
      const filling = ids.slice(-3);
      const cross = fillingCross(analysis, { source: 'source', target: 'target' }, filling)!;
      assert.deepStrictEqual(cross.rows, [ids.length - 4, ids.length - 3, ids.length - 2]);
      const all = mixingMatrices(analysis, cross.family);
      const S = analysis.sequences.find((s) => s.id === 'source')!.tokens.length;
      assert.deepStrictEqual([cross.matrices.rows, cross.matrices.cols, cross.matrices.heads], [3, S, all.heads]);
      const picked = cross.matrices.layer(0);
      for (let h = 0; h < all.heads; h++) {
        for (let i = 0; i < 3; i++) {
          const want = all.layer(0).subarray((h * all.rows + cross.rows[i]) * S, (h * all.rows + cross.rows[i] + 1) * S);
          assert.deepStrictEqual(Array.from(picked.subarray((h * 3 + i) * S, (h * 3 + i + 1) * S)), Array.from(want));
        }
      }
      const mean = crossMatrix(cross.matrices, 0, 'mean');
      for (let i = 0; i < 3; i++) {
        const sum = mean.subarray(i * S, (i + 1) * S).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - 1) < 1e-4, `row ${i} of a normalised cross-attention sums to 1 (${sum})`);
      }
      assert.throws(() => fillingCross(analysis, { source: 'source', target: 'target' }, [ids[ids.length - 1], -5]), /does not hold the generated tokens/);
    } finally {
      await engine.dispose();
    }
  });

  for (const id of ['t5', 'bahdanau']) {
    it(`${id}: the rows that produced each greedy token, its cross-attention over the source, and the hovers' lists`, async function () {
      this.timeout(300_000);
      const folder = path.join(root, 'media/models', id);
      if (!existsSync(path.join(folder, 'manifest.json'))) this.skip(); // a bundled model not installed in this checkout
      const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
      assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('\n'));
      const manifest = parsed.manifest;
      const infilling = manifest.infilling!;
      const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, manifest.tokenizer.file), 'utf8')));
      const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(folder, manifest.model ?? 'model.onnx')), { executionProviders: ['wasm'] });
      try {
        const sample = readFileSync(path.join(root, 'test/fixtures/workspace/sample.ts'), 'utf8');
        const request = requestFor(sample, sample.split('\n').find((line) => line.trim().startsWith('return'))!.trim(), 400, { maxNewTokens: 12 });
        const result = await runInfill(tokenizer, runner, request, { maxSourceTokens: 512 });
        const analysis = result.fillingAnalysis;
        const cross = fillingCross(analysis, infilling, result.filling.ids)!;
        assert.ok(cross, `${id} declares a cross-attention from its target to its source`);
        const n = result.filling.ids.length;
        assert.ok(n > 0, `${id} wrote something`);
        assert.deepStrictEqual([cross.matrices.rows, cross.matrices.cols], [n, result.source.length]);
        // Greedy decoding: each filled token is the argmax of the logits of the row said to produce it.
        const logits = canonicalTensor(analysis.structure.logits!, analysis.outputs[analysis.structure.logits!.name]);
        const V = logits.dims[1];
        cross.rows.forEach((row, i) => {
          let best = 0;
          for (let v = 1; v < V; v++) if (logits.data[row * V + v] > logits.data[row * V + best]) best = v;
          assert.strictEqual(best, result.filling.ids[i], `${id}: row ${row} produced filled token ${i}`);
        });
        const last = cross.matrices.layers - 1;
        const mean = crossMatrix(cross.matrices, last, 'mean');
        for (let i = 0; i < n; i++) {
          const sum = mean.subarray(i * result.source.length, (i + 1) * result.source.length).reduce((a, b) => a + b, 0);
          assert.ok(Math.abs(sum - 1) < 1e-3, `${id}: filled token ${i}'s attention over the source sums to 1 (${sum})`);
        }
        const label = crossLabel(cross.family, cross.matrices, last, 'mean');
        if (cross.matrices.heads === 1 && cross.matrices.layers === 1) assert.strictEqual(label, cross.family.label);
        else assert.match(label, new RegExp(`mean of ${cross.matrices.heads} heads, layer ${last + 1} \\(last\\)$`));
        const context = contextLookedAtBy(result.source, mean, result.filling.tokens, 3);
        assert.strictEqual(context.length, result.source.filter((t) => !t.special && t.end > t.start).length, 'every context token with text, not the hole');
        assert.ok(context.every((c) => c.lookedAtBy.length <= 3 && c.lookedAtBy.every((x, j, a) => x.weight > 0 && (j === 0 || a[j - 1].weight >= x.weight))));
        const lines = contextLines(request, result.source.map((t) => t.start));
        result.source.forEach((t, k) => {
          if (!t.special) assert.strictEqual(lines[k], sample.slice(0, t.start).split('\n').length - 1, `${id}: line of source token ${k}`);
        });
      } finally {
        await runner.release();
      }
    });
  }
});
