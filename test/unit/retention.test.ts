// Retention W(t, k) computed from the exported gates must reproduce the recurrent state exactly, whatever the
// gates are called: the gates are found by their declared meaning (keep, write, candidate). Hand-computed
// LSTM, GRU and renamed-gate cases; the identity s_t = Σ_k W(t, k) candidate_k + (Π keep) s_init on random
// gates; the bundled LSTM and GRU run through onnxruntime-web with a random initial state; half-lives.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { type Tensor, tensor } from '../../src/core/analysis';
import { type DeclaredGate, type RetentionGates, halfLives, initialStateRetention, meanRetention, retentionGates, retentionRow } from '../../src/core/retention';

const root = path.join(__dirname, '../..');

const LSTM: DeclaredGate[] = [
  { name: 'i', meaning: 'write' },
  { name: 'f', meaning: 'keep' },
  { name: 'g', meaning: 'candidate' },
  { name: 'o', meaning: 'output' },
];
const GRU: DeclaredGate[] = [
  { name: 'r', meaning: 'reset' },
  { name: 'z', meaning: 'keep', complementWrites: true },
  { name: 'n', meaning: 'candidate' },
];
/** A cell whose authors call its gates something else entirely, in another order. */
const RENAMED: DeclaredGate[] = [
  { name: 'proposal', meaning: 'candidate' },
  { name: 'admit', meaning: 'write' },
  { name: 'retain', meaning: 'keep' },
];

function spec(gates: DeclaredGate[]): RetentionGates {
  const found = retentionGates(gates);
  if (!found.ok) throw new Error(found.reason);
  return found.gates;
}

/** Deterministic numbers in (lo, hi). */
function random(seed: number, lo = 0.05, hi = 0.95) {
  return () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return lo + (hi - lo) * (seed / 2 ** 32);
  };
}

function close(a: number, b: number, eps: number, what: string) {
  assert.ok(Math.abs(a - b) <= eps, `${what}: ${a} != ${b}`);
}

describe('retention W(t, k) from gates', function () {
  this.timeout(60_000);

  it('finds keep and write gates by meaning', () => {
    assert.deepStrictEqual(retentionGates(LSTM), { ok: true, gates: { keep: 1, write: 0, writeIsComplement: false } });
    assert.deepStrictEqual(retentionGates(GRU), { ok: true, gates: { keep: 1, write: 1, writeIsComplement: true } });
    assert.deepStrictEqual(retentionGates(RENAMED), { ok: true, gates: { keep: 2, write: 1, writeIsComplement: false } });
    // A write gate wins over a complement declaration; meanings ignore case and spaces.
    assert.deepStrictEqual(retentionGates([{ name: 'a', meaning: ' Keep', complementWrites: true }, { name: 'b', meaning: 'WRITE' }]), {
      ok: true,
      gates: { keep: 0, write: 1, writeIsComplement: false },
    });
  });

  it('says why a gate set has no retention', () => {
    assert.deepStrictEqual(retentionGates([{ name: 'f', meaning: 'write' }]), { ok: false, reason: 'no gate with meaning "keep"' });
    const noWrite = retentionGates([{ name: 'z', meaning: 'keep' }, { name: 'n', meaning: 'candidate' }]);
    assert.ok(!noWrite.ok && /no gate with meaning "write".*"z" does not declare complementWrites/.test(noWrite.reason));
    const twice = retentionGates([{ name: 'a', meaning: 'keep' }, { name: 'b', meaning: 'keep' }]);
    assert.ok(!twice.ok && twice.reason === 'gates "a" and "b" both mean "keep"');
    assert.deepStrictEqual(retentionGates([]), { ok: false, reason: 'no gate with meaning "keep"' });
  });

  it('matches a hand-computed LSTM example', () => {
    // L=1, T=3, G=4 (write, keep, candidate, output), H=1.
    const i = [0.5, 0.2, 0.9];
    const f = [0.3, 0.8, 0.5];
    const gates = tensor([1, 3, 4, 1], Float32Array.from([0, 1, 2].flatMap((t) => [i[t], f[t], 0, 0])));
    const row = retentionRow(gates, 0, spec(LSTM), 2);
    const expected = [0.8 * 0.5 * 0.5, 0.5 * 0.2, 0.9];
    expected.forEach((v, k) => close(row[k], v, 1e-7, `W(2,${k})`));
    close(initialStateRetention(gates, 0, spec(LSTM), 2)[0], 0.3 * 0.8 * 0.5, 1e-7, 'initial');
  });

  it('matches a hand-computed GRU example (write = 1 - keep)', () => {
    const z = [0.25, 0.5, 0.1];
    const gates = tensor([1, 3, 3, 1], Float32Array.from([0, 1, 2].flatMap((t) => [0, z[t], 0])));
    const row = retentionRow(gates, 0, spec(GRU), 2);
    const expected = [0.75 * 0.5 * 0.1, 0.5 * 0.1, 0.9];
    expected.forEach((v, k) => close(row[k], v, 1e-7, `W(2,${k})`));
  });

  it('matches a hand-computed example with renamed gates', () => {
    // Gate axis: proposal, admit, retain. W(1, 0) = retain_1 · admit_0, W(1, 1) = admit_1.
    const gates = tensor([1, 2, 3, 1], Float32Array.from([9, 0.4, 0.7, 9, 0.6, 0.25]));
    const row = retentionRow(gates, 0, spec(RENAMED), 1);
    close(row[0], 0.25 * 0.4, 1e-7, 'W(1,0)');
    close(row[1], 0.6, 1e-7, 'W(1,1)');
  });

  for (const [label, declared] of [['LSTM', LSTM], ['GRU', GRU], ['renamed', RENAMED]] as const) {
    it(`reconstructs the state exactly from random ${label} gates and a random initial state`, () => {
      const L = 2, T = 7, G = declared.length, H = 3;
      const rand = random(label.length * 97 + 5);
      const gates = tensor([L, T, G, H], Float32Array.from({ length: L * T * G * H }, rand));
      const s = spec(declared);
      const candidate = declared.findIndex((g) => g.meaning === 'candidate');
      const at = (l: number, t: number, g: number, u: number) => gates.data[((l * T + t) * G + g) * H + u];
      for (let l = 0; l < L; l++) {
        for (let u = 0; u < H; u++) {
          // Run the recurrence s_t = keep_t s_{t-1} + write_t candidate_t from a random initial state.
          const init = rand() * 4 - 2;
          let state = init;
          for (let t = 0; t < T; t++) {
            const keep = at(l, t, s.keep, u);
            const write = declared === GRU ? 1 - keep : at(l, t, s.write, u);
            state = keep * state + write * at(l, t, candidate, u);
            const row = retentionRow(gates, l, s, t);
            let sum = initialStateRetention(gates, l, s, t)[u] * init;
            for (let k = 0; k <= t; k++) sum += row[k * H + u] * at(l, k, candidate, u);
            close(sum, state, 1e-6, `layer ${l} unit ${u} step ${t}`);
            for (let k = t + 1; k < T; k++) assert.strictEqual(row[k * H + u], 0);
          }
        }
      }
    });
  }

  it('gives half-lives of geometric forgetting', () => {
    const gates = tensor([1, 4, 4, 2], new Float32Array(32));
    for (let t = 0; t < 4; t++) {
      gates.data[(t * 4 + 1) * 2 + 0] = 0.5; // unit 0 halves every token
      gates.data[(t * 4 + 1) * 2 + 1] = 1; // unit 1 never forgets
    }
    const h = halfLives(gates, 0, spec(LSTM));
    assert.ok(Math.abs(h[0] - 1) < 1e-9);
    assert.strictEqual(h[1], Infinity);
  });

  // The bundled models export gates [L, B, T, G, H] and states [L, B, T, H], and take an initial state
  // [L, B, H] per state; run directly in onnxruntime-web with a random initial state.
  for (const [id, declared, stateOutput] of [['lstm', LSTM, 'cell'], ['gru', GRU, 'hidden']] as const) {
    it(`reproduces the bundled ${id}'s state from its exported gates and initial state`, async () => {
      ort.env.wasm.numThreads = 1;
      const session = await ort.InferenceSession.create(readFileSync(path.join(root, 'media/models', id, 'model.onnx')), { executionProviders: ['wasm'] });
      try {
        const L = 2, H = 256;
        const rand = random(3, -1, 1);
        const ids = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 4000);
        const T = ids.length;
        const init = Float32Array.from({ length: L * H }, rand);
        const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, T]) };
        feeds.h0 = new ort.Tensor('float32', id === 'lstm' ? new Float32Array(L * H) : init, [L, 1, H]);
        if (id === 'lstm') feeds.c0 = new ort.Tensor('float32', init, [L, 1, H]);
        const out = await session.run(feeds);
        const gates: Tensor = tensor(out.gates.dims as number[], out.gates.data as Float32Array);
        const state = out[stateOutput].data as Float32Array;
        const G = declared.length;
        assert.deepStrictEqual(gates.dims, [L, 1, T, G, H]);
        const s = spec(declared);
        const candidate = declared.findIndex((g) => g.meaning === 'candidate');
        let worst = 0;
        for (let l = 0; l < L; l++) {
          for (const t of [0, 1, Math.floor(T / 2), T - 1]) {
            const row = retentionRow(gates, l, s, t);
            const kept = initialStateRetention(gates, l, s, t);
            for (let u = 0; u < H; u++) {
              let sum = kept[u] * init[l * H + u];
              for (let k = 0; k <= t; k++) sum += row[k * H + u] * gates.data[((l * T + k) * G + candidate) * H + u];
              worst = Math.max(worst, Math.abs(sum - state[(l * T + t) * H + u]));
            }
          }
        }
        assert.ok(worst < 1e-4, `state reconstructed from retention differs by ${worst}`);
        // The unit average equals the mean of the per-unit rows, and nothing lies above the diagonal.
        const mean = meanRetention(gates, 0, s);
        const t = T - 1;
        const row = retentionRow(gates, 0, s, t);
        for (let k = 0; k <= t; k++) {
          let sum = 0;
          for (let u = 0; u < H; u++) sum += row[k * H + u];
          close(mean[t * T + k], sum / H, 1e-5, `mean W(${t},${k})`);
        }
        for (let k = t; k < T; k++) assert.strictEqual(mean[(t - 1) * T + k], 0);
        assert.ok(halfLives(gates, 0, s).every((x) => x > 0));
      } finally {
        await session.release();
      }
    });
  }
});
