// Unit tests for the architecture comparison figures (src/core/compare.ts): distance profiles and half-lives
// from known matrices, and memory figures from known shapes (including the bundled manifests).

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import { contextMemory, distanceProfile, outputMemory, profileHalfLife } from '../../src/core/compare';
import type { ModelManifest } from '../../src/core/manifest';

const root = path.join(__dirname, '../..');
const manifest = (id: string) => JSON.parse(readFileSync(path.join(root, 'media/models', id, 'manifest.json'), 'utf8')) as ModelManifest;

/** W(t, k) = a^(t-k): a linear RNN's fixed geometric decay. */
function geometric(a: number, T: number): Float32Array {
  const w = new Float32Array(T * T);
  for (let t = 0; t < T; t++) for (let k = 0; k <= t; k++) w[t * T + k] = a ** (t - k);
  return w;
}

describe('architecture comparison figures', () => {
  it('gives the distance profile of a geometric decay', () => {
    const p = distanceProfile(geometric(0.5, 8), 8);
    for (let d = 0; d < 8; d++) assert.ok(Math.abs(p[d] - 0.5 ** d) < 1e-6, `d=${d}: ${p[d]}`);
  });

  it('averages each diagonal over the positions where it exists', () => {
    // T = 3: W(1,0) = 0.2, W(2,1) = 0.6, W(2,0) = 0.3; diagonal all 1.
    const w = Float32Array.from([1, 0, 0, 0.2, 1, 0, 0.3, 0.6, 1]);
    const p = distanceProfile(w, 3);
    assert.deepStrictEqual(Array.from(p, (x) => +x.toFixed(6)), [1, 0.4, 0.3]);
  });

  it('finds the half-life of geometric decays and says when there is none', () => {
    assert.ok(Math.abs(profileHalfLife(distanceProfile(geometric(0.5, 16), 16)) - 1) < 1e-4);
    const a = 2 ** (-1 / 6); // halves every 6 tokens
    assert.ok(Math.abs(profileHalfLife(distanceProfile(geometric(a, 40), 40)) - 6) < 1e-3);
    assert.strictEqual(profileHalfLife([1, 0.5, 0.5, 0.5]), Infinity);
    assert.ok(Number.isNaN(profileHalfLife([1, 0.5])));
  });

  it('computes memory from the bundled manifests’ shapes', () => {
    const T = 256;
    const transformer = outputMemory(manifest('transformer'), T);
    assert.strictEqual(transformer.find((f) => f.role === 'attention')!.bytes, 4 * 4 * 4 * T * T);
    assert.strictEqual(transformer.find((f) => f.role === 'logits')!.bytes, 4 * T * 4096);
    assert.deepStrictEqual(contextMemory(manifest('transformer'), T), { kind: 'attention', bytes: 4 * 4 * 4 * T * T });
    // LSTM: h and c, 2 layers × 256 units, whatever T is.
    assert.deepStrictEqual(contextMemory(manifest('lstm'), T), { kind: 'state', bytes: 2 * 2 * 256 * 4 });
    assert.deepStrictEqual(contextMemory(manifest('lstm'), 4 * T), { kind: 'state', bytes: 2 * 2 * 256 * 4 });
    assert.deepStrictEqual(contextMemory(manifest('gru'), T), { kind: 'state', bytes: 2 * 256 * 4 });
    assert.strictEqual(outputMemory(manifest('gru'), T).find((f) => f.role === 'gates')!.bytes, 4 * 2 * T * 3 * 256);
  });
});
