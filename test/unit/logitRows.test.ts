// Masked predictions read one row of each masked copy's logits; src/core/logitRows.ts picks those rows where the run
// happens. The pick must be exactly those rows, refuse rows that are not there, and give ModelRunner's
// runBatchLogitRows the same numbers whether the session picked them (onnxruntime's worker) or the runner did.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { type RowsOf, pickRows } from '../../src/core/logitRows';
import { validateManifest } from '../../src/core/manifestValidator';

const root = path.resolve(__dirname, '../..');

describe('rows of an output', () => {
  it("picks item b's row rows[b] of [B, T, …] as [B, 1, …]", () => {
    const dims = [3, 4, 2, 5]; // B, T, and two inner axes
    const data = Float32Array.from({ length: 3 * 4 * 10 }, (_, i) => i);
    const picked = pickRows(data, dims, [2, 0, 3]);
    assert.deepStrictEqual(picked.dims, [3, 1, 2, 5]);
    const expected = [2, 0, 3].flatMap((row, b) => Array.from({ length: 10 }, (_, j) => (b * 4 + row) * 10 + j));
    assert.deepStrictEqual(Array.from(picked.data), expected);
  });

  it('refuses a row count other than the batch, a row outside the positions, or values that do not fill the dims', () => {
    const data = new Float32Array(2 * 3 * 4);
    assert.throws(() => pickRows(data, [2, 3, 4], [0]), /1 rows for \[2, 3, 4\]/);
    assert.throws(() => pickRows(data, [2, 3, 4], [0, 3]), /row 3 of item 1 is not a position of \[2, 3, 4\]/);
    assert.throws(() => pickRows(data, [2, 3, 4], [0, 1.5]), /row 1.5 of item 1/);
    assert.throws(() => pickRows(data, [2, 3, 5], [0, 1]), /24 values for \[2, 3, 5\]/);
  });

  it("gives runBatchLogitRows the rows of runBatchLogits, picked by the session or by the runner", async () => {
    const folder = path.join(root, 'media/models/encoder');
    const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const bytes = readFileSync(path.join(folder, 'model.onnx'));
    const plain = await ModelRunner.create(ort as unknown as OrtModule, parsed.manifest, bytes, { executionProviders: ['wasm'] });
    // As onnxruntime's worker does: a session that honours the rowsOf option itself (and says what it was asked).
    const asked: RowsOf[] = [];
    const picking: OrtModule = {
      ...(ort as unknown as OrtModule),
      InferenceSession: {
        create: async (model, options) => {
          const session = await ort.InferenceSession.create(model as Uint8Array, options as ort.InferenceSession.SessionOptions);
          const run = session.run.bind(session) as (...args: unknown[]) => Promise<Record<string, ort.Tensor>>;
          return Object.assign(Object.create(session) as ort.InferenceSession, {
            run: async (feeds: ort.InferenceSession.FeedsType, fetches: string[], options: { rowsOf?: RowsOf }) => {
              const results = await run(feeds, fetches, options);
              const rowsOf = options?.rowsOf;
              if (!rowsOf) return results;
              asked.push(rowsOf);
              const t = results[rowsOf.output];
              const picked = pickRows(t.data as Float32Array, t.dims, rowsOf.rows);
              return { ...results, [rowsOf.output]: new ort.Tensor('float32', picked.data, picked.dims) };
            },
          });
        },
      },
    } as OrtModule;
    const bySession = await ModelRunner.create(picking, parsed.manifest, bytes, { executionProviders: ['wasm'] });
    try {
      const sequence = plain.structure.primary;
      const batch = [0, 1, 2].map((b) => ({ [sequence]: [2, 40 + b, 41, 42, 43, 3] }));
      const rows = [1, 4, 2];
      const whole = await plain.runBatchLogits(batch);
      const [, T, V] = whole.dims;
      const expected = rows.flatMap((row, b) => Array.from(whole.data.subarray((b * T + row) * V, (b * T + row + 1) * V)));
      for (const runner of [plain, bySession]) {
        const picked = await runner.runBatchLogitRows(batch, rows);
        assert.deepStrictEqual(picked.dims, [3, 1, V]);
        assert.deepStrictEqual(Array.from(picked.data), expected);
      }
      // The runner asks for the rows in its run options (the worker client forwards them), once per run.
      assert.deepStrictEqual(asked, [{ output: plain.structure.logits!.name, rows }]);
      await assert.rejects(plain.runBatchLogitRows(batch, [1, 2]), /2 rows of logits asked for a batch of 3/);
    } finally {
      await plain.release();
      await bySession.release();
    }
  });
});
