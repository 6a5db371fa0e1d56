// Retention W(t, k) computed from the exported gates must reproduce the recurrent state exactly: for the
// bundled LSTM, c_t = Σ_k W(t, k) g_k; for the GRU, h_t = Σ_k W(t, k) n_k (zero initial state). Plus
// hand-computed cases, the unit average, and half-lives.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { tensor } from '../../src/core/analysis';
import { ModelRunner, OrtModule } from '../../src/core/engine';
import { validateManifest } from '../../src/core/manifest';
import { halfLives, meanRetention, retentionGates, retentionRow } from '../../src/core/retention';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');

describe('retention W(t, k) from gates', function () {
  this.timeout(60_000);

  it('matches a hand-computed LSTM example', () => {
    // L=1, T=3, G=4 (i,f,g,o), H=1.
    const i = [0.5, 0.2, 0.9];
    const f = [0.3, 0.8, 0.5];
    const gates = tensor([1, 3, 4, 1], Float32Array.from([0, 1, 2].flatMap((t) => [i[t], f[t], 0, 0])));
    const row = retentionRow(gates, 0, retentionGates(['i', 'f', 'g', 'o']), 2);
    const expected = [0.8 * 0.5 * 0.5, 0.5 * 0.2, 0.9];
    expected.forEach((v, k) => assert.ok(Math.abs(row[k] - v) < 1e-7, `W(2,${k}) = ${row[k]}, expected ${v}`));
  });

  it('matches a hand-computed GRU example', () => {
    const z = [0.25, 0.5, 0.1];
    const gates = tensor([1, 3, 3, 1], Float32Array.from([0, 1, 2].flatMap((t) => [0, z[t], 0])));
    const row = retentionRow(gates, 0, retentionGates(['r', 'z', 'n']), 2);
    const expected = [0.75 * 0.5 * 0.1, 0.5 * 0.1, 0.9];
    expected.forEach((v, k) => assert.ok(Math.abs(row[k] - v) < 1e-7, `W(2,${k}) = ${row[k]}, expected ${v}`));
  });

  it('gives half-lives of geometric forgetting', () => {
    const gates = tensor([1, 4, 4, 2], new Float32Array(32));
    for (let t = 0; t < 4; t++) {
      gates.data[(t * 4 + 1) * 2 + 0] = 0.5; // unit 0 halves every token
      gates.data[(t * 4 + 1) * 2 + 1] = 1; // unit 1 never forgets
    }
    const h = halfLives(gates, 0, retentionGates(['i', 'f', 'g', 'o']));
    assert.ok(Math.abs(h[0] - 1) < 1e-9);
    assert.strictEqual(h[1], Infinity);
  });

  for (const id of ['lstm', 'gru']) {
    it(`reproduces the bundled ${id}'s state from its exported gates`, async () => {
      const folder = path.join(root, 'media/models', id);
      const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
      assert.ok(parsed.ok);
      const manifest = parsed.manifest;
      const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, 'tokenizer.json'), 'utf8')));
      ort.env.wasm.numThreads = 1;
      const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(folder, 'model.onnx')), { executionProviders: ['wasm'] });
      try {
        const ids = tokenizer.encode(readFileSync(path.join(root, 'test/fixtures/workspace/sample.py'), 'utf8'));
        const out = await runner.run(ids);
        const gatesSpec = manifest.outputs.find((o) => o.role === 'gates')!;
        const order = gatesSpec.gateOrder!;
        const spec = retentionGates(order);
        const gates = out[gatesSpec.name];
        const [L, T, G, H] = gates.dims;
        const candidate = order.indexOf(id === 'lstm' ? 'g' : 'n');
        const state = out[manifest.outputs.find((o) => o.role === (id === 'lstm' ? 'cell_state' : 'hidden_state'))!.name];
        let worst = 0;
        for (let l = 0; l < L; l++) {
          for (const t of [0, 1, Math.floor(T / 2), T - 1]) {
            const row = retentionRow(gates, l, spec, t);
            for (let u = 0; u < H; u++) {
              let sum = 0;
              for (let k = 0; k <= t; k++) sum += row[k * H + u] * gates.data[((l * T + k) * G + candidate) * H + u];
              worst = Math.max(worst, Math.abs(sum - state.data[(l * T + t) * H + u]));
            }
          }
        }
        assert.ok(worst < 1e-4, `state reconstructed from retention differs by ${worst}`);
        // The unit average equals the mean of the per-unit rows.
        const mean = meanRetention(gates, 0, spec);
        const t = T - 1;
        const row = retentionRow(gates, 0, spec, t);
        for (let k = 0; k <= t; k++) {
          let s = 0;
          for (let u = 0; u < H; u++) s += row[k * H + u];
          assert.ok(Math.abs(mean[t * T + k] - s / H) < 1e-5);
        }
        for (let k = t + 1; k < T; k++) assert.strictEqual(mean[(t - 1) * T + k], 0);
        const lives = halfLives(gates, 0, spec);
        assert.ok(lives.every((x) => x > 0));
      } finally {
        await runner.release();
      }
    });
  }
});
