// The analysis view prepares its first view's data in slices before building it (registry.ts `prepare`,
// webview/views/matrixSource.ts MatrixSource.prepare): on real analyses of the bundled causal Transformer (its
// attention held in full and as lower triangles) and bidirectional encoder, the matrix a view then gets is the one
// get() computes at once, bit for bit, kept by prepare rather than computed again; a layer the family lacks
// prepares nothing.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import type { Analysis } from '../../src/core/analyze';
import { LowerTriangleTensor } from '../../src/core/lowerTriangle';
import { mainMixing } from '../../src/core/roleData';
import { Lens } from '../../webview/views/lens';
import { MatrixSource } from '../../webview/views/matrixSource';
import { analysedByBundled } from './bundledModel';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const text = readFileSync(path.join(__dirname, '../fixtures/workspace/sample.ts'), 'utf8').repeat(3);
const analysed = (id: string, maxTokens: number): Promise<Analysis> => analysedByBundled(id, text, maxTokens);

const lensOf = (analysis: Analysis) => new Lens(analysis, { reveal: () => undefined, persist: () => undefined });

/** The same analysis with its causal attention held as lower triangles in blocks of 7 rows, as a long run holds it. */
function asTriangles(analysis: Analysis): Analysis {
  const name = mainMixing(analysis)!.outputs[0].name;
  const full = analysis.outputs[name] as { dims: readonly number[]; data: Float32Array };
  const T = full.dims.at(-1)!;
  const packed = new LowerTriangleTensor([...full.dims], false, 7);
  for (let o = 0; o < full.data.length / (T * T); o++) for (let t = 0; t < T; t++) packed.setRow(o, t, full.data.subarray((o * T + t) * T, (o * T + t + 1) * T));
  return { ...analysis, outputs: { ...analysis.outputs, [name]: packed } as Analysis['outputs'] };
}

describe('a view\'s data prepared in slices before it is built (MatrixSource.prepare)', function () {
  this.timeout(300_000);
  const cases = [
    ['transformer', 'held in full', (a: Analysis) => a],
    ['transformer', 'held as lower triangles', asTriangles],
    ['encoder', 'held in full', (a: Analysis) => a],
  ] as const;
  for (const [id, held, hold] of cases) {
    it(`${id}, attention ${held}: the mean and a head, as get() gives them at once, kept for the view`, async () => {
      const analysis = hold(await analysed(id, 300));
      const triangles = held === 'held as lower triangles';
      const lens = lensOf(analysis);
      const attention = lens.attention!;
      assert.ok(attention, `${id} has self-attention`);
      assert.strictEqual(attention.triangle !== undefined, triangles, `${id}: attention held as lower triangles: ${triangles}`);
      const layer = attention.layers - 1;
      for (const head of ['mean', 1] as const) {
        const prepared = new MatrixSource(lens);
        assert.ok(!prepared.isKept(head, layer), `${id} ${head}: nothing kept yet`);
        await prepared.prepare(head, layer);
        assert.ok(prepared.isKept(head, layer), `${id} ${head}: kept by prepare, before any get()`);
        const kept = prepared.get(head, layer);
        const atOnce = new MatrixSource(lens).get(head, layer);
        assert.ok(kept && atOnce, `${id} ${head}: a matrix`);
        assert.deepStrictEqual(kept, atOnce, `${id} ${head}: the same numbers and colour scale`);
        assert.strictEqual(prepared.get(head, layer), kept, `${id} ${head}: kept, not computed again`);
        await prepared.prepare(head, layer); // prepared already: nothing to do, the same matrix stays
        assert.strictEqual(prepared.get(head, layer), kept, `${id} ${head}: a second prepare keeps it`);
        prepared.dispose();
      }
      const beyond = new MatrixSource(lens);
      await beyond.prepare('mean', attention.layers);
      assert.strictEqual(beyond.get('mean', attention.layers), null, 'a layer the family lacks has no matrix');
    });
  }
});
