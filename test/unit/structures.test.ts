// The W(t, k) math for every mixing structure, end to end on small hand-computed cases: causal (a decoder),
// windowed (sliding window with an always-visible first token), bidirectional (an encoder) and cross
// (target × source, rectangular). Attention given as one tensor [L, H, R, C] and as one tensor per layer
// must give identical results; rollout rows sum to 1; influence lists and signed distance profiles follow
// the structure.

import * as assert from 'assert';
import { type LayeredMatrices, type Tensor, layeredFromLayers, layeredFromTensor, maxOverHeads, meanOverHeads, rollout, tensor } from '../../src/core/analysis';
import { distanceProfile, distanceRatio, profileHalfLife, profileSide, rowShares, signedDistanceProfile } from '../../src/core/compare';
import { topInfluences } from '../../src/core/influence';

function closeAll(actual: ArrayLike<number>, expected: number[], eps = 1e-6) {
  assert.strictEqual(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= eps, `[${i}] ${actual[i]} != ${expected[i]}`);
}

/** The same attention as one tensor and as per-layer tensors with a batch axis ([1, H, R, C], as Hugging Face exports it). */
function bothForms(layers: number[][][][]): [LayeredMatrices, LayeredMatrices] {
  const L = layers.length, H = layers[0].length, R = layers[0][0].length, C = layers[0][0][0].length;
  const whole: Tensor = tensor([L, H, R, C], Float32Array.from(layers.flat(3)));
  const perLayer = layers.map((heads) => tensor([1, H, R, C], Float32Array.from(heads.flat(2))));
  return [layeredFromTensor(whole), layeredFromLayers(perLayer)];
}

function rowSums(w: Float32Array, T: number): number[] {
  return Array.from({ length: T }, (_, t) => w.slice(t * T, (t + 1) * T).reduce((a, b) => a + b, 0));
}

const indices = (lists: Array<Array<{ index: number }>>) => lists.map((l) => l.map((x) => x.index));

describe('mixing structures', () => {
  it('causal: lower-triangular rollout, earlier influencers, nothing ahead', () => {
    const [whole, perLayer] = bothForms([
      [[[1, 0, 0], [0.5, 0.5, 0], [0.2, 0.3, 0.5]]],
      [[[1, 0, 0], [0, 1, 0], [1 / 3, 1 / 3, 1 / 3]]],
    ]);
    // Â1 = [[1,0,0],[¼,¾,0],[.1,.15,.75]], Â2 = [[1,0,0],[0,1,0],[⅙,⅙,⅔]]; R = Â2·Â1.
    const expected = [1, 0, 0, 0.25, 0.75, 0, 11 / 40, 0.225, 0.5];
    const r = rollout(whole, true);
    closeAll(r, expected);
    closeAll(rollout(whole, false), expected);
    assert.deepStrictEqual(Array.from(rollout(perLayer, true)), Array.from(r));
    closeAll(rowSums(r, 3), [1, 1, 1]);
    const { from, to } = topInfluences(r, 3, 3, 2, 'causal');
    assert.deepStrictEqual(indices(from), [[], [0], [0, 1]]);
    assert.deepStrictEqual(indices(to), [[2, 1], [2], []]);
    // Signed profile: nothing at d < 0; d ≥ 0 is distanceProfile.
    const signed = signedDistanceProfile(r, 3);
    closeAll(signed, [0, 0, 0.75, 0.2375, 11 / 40]);
    assert.deepStrictEqual(Array.from(profileSide(signed, 'earlier')), Array.from(distanceProfile(r, 3)));
    assert.deepStrictEqual(Array.from(profileSide(signed, 'later')), [0.75, 0, 0]);
  });

  it('windowed: a window of 2 plus a sink token; influence still reaches outside the window through layers', () => {
    // Row t sees token 0 and t-1, t (uniformly). Two identical layers.
    const A = [[1, 0, 0, 0], [0.5, 0.5, 0, 0], [1 / 3, 1 / 3, 1 / 3, 0], [1 / 3, 0, 1 / 3, 1 / 3]];
    const [whole, perLayer] = bothForms([[A], [A]]);
    // Â = [[1,0,0,0],[¼,¾,0,0],[⅙,⅙,⅔,0],[⅙,0,⅙,⅔]]; R = Â·Â.
    const expected = [1, 0, 0, 0, 7 / 16, 9 / 16, 0, 0, 23 / 72, 17 / 72, 32 / 72, 0, 11 / 36, 1 / 36, 8 / 36, 16 / 36];
    const r = rollout(perLayer, true);
    closeAll(r, expected);
    closeAll(rollout(whole, false), expected);
    assert.deepStrictEqual(Array.from(rollout(whole, true)), Array.from(r));
    closeAll(rowSums(r, 4), [1, 1, 1, 1]);
    // One layer: token 1 is outside row 3's window, so it never ranks; after two layers it does (1/36).
    assert.deepStrictEqual(indices(topInfluences(meanOverHeads(whole, 0), 4, 4, 3, 'windowed').from), [[], [0], [0, 1], [0, 2]]);
    assert.deepStrictEqual(indices(topInfluences(r, 4, 4, 3, 'windowed').from), [[], [0], [0, 1], [0, 2, 1]]);
  });

  it('bidirectional: dense rollout whose rows sum to 1, influencers on both sides, a two-sided profile', () => {
    const [whole, perLayer] = bothForms([
      [
        [[0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
        [[0.5, 0, 0.5], [0.5, 0, 0.5], [0, 0, 1]],
      ],
      [
        [[1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]],
        [[1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]],
      ],
    ]);
    closeAll(meanOverHeads(perLayer, 0), [0.5, 0.25, 0.25, 0.5, 0, 0.5, 0, 0.25, 0.75]);
    closeAll(maxOverHeads(perLayer, 0), [0.5, 0.5, 0.5, 0.5, 0, 0.5, 0, 0.5, 1]);
    // Â1 = [[¾,⅛,⅛],[¼,½,¼],[0,⅛,⅞]], Â2 = ⅙(1 + 3I); R = Â2·Â1 = [[26,9,13],[14,18,16],[8,9,31]] / 48.
    const expected = [26, 9, 13, 14, 18, 16, 8, 9, 31].map((x) => x / 48);
    const r = rollout(whole, false);
    closeAll(r, expected);
    assert.deepStrictEqual(Array.from(rollout(perLayer, false)), Array.from(r));
    closeAll(rowSums(r, 3), [1, 1, 1]);
    const { from, to } = topInfluences(r, 3, 3, 2, 'bidirectional');
    assert.deepStrictEqual(indices(from), [[2, 1], [2, 0], [1, 0]]);
    assert.deepStrictEqual(indices(to)[0], [1, 2]);
    assert.deepStrictEqual(indices(to)[2], [1, 0]);
    // Signed profile, index d + 2 for d = t - k: d=-2 W(0,2); d=-1 mean of W(0,1), W(1,2); d=0 the diagonal; …
    const signed = signedDistanceProfile(r, 3);
    closeAll(signed, [13 / 48, 25 / 96, 25 / 48, 23 / 96, 8 / 48]);
    closeAll(profileSide(signed, 'later'), [25 / 48, 25 / 96, 13 / 48]);
    closeAll(profileSide(signed, 'earlier'), Array.from(distanceProfile(r, 3)));
    // Ratios against the adjacent token on each side: ahead W(0,2)/W(0,1), behind W(2,0)/W(2,1).
    assert.ok(Math.abs(distanceRatio(r, 3, -2) - 13 / 9) < 1e-6);
    assert.ok(Math.abs(distanceRatio(r, 3, 2) - 8 / 9) < 1e-6);
  });

  it('bidirectional: half-lives of each side of a two-sided geometric decay', () => {
    // W(t, k) = ½^|t-k| behind and ¼^|t-k| ahead: half-lives 1 and ½ token.
    const T = 16;
    const w = new Float32Array(T * T);
    for (let t = 0; t < T; t++) for (let k = 0; k < T; k++) w[t * T + k] = k <= t ? 0.5 ** (t - k) : 0.25 ** (k - t);
    const signed = signedDistanceProfile(w, T);
    assert.strictEqual(signed.length, 2 * T - 1);
    assert.ok(Math.abs(profileHalfLife(profileSide(signed, 'earlier')) - 1) < 1e-4);
    assert.ok(Math.abs(profileHalfLife(profileSide(signed, 'later')) - 0.5) < 1e-4);
    assert.ok(Math.abs(distanceRatio(w, T, 5) - 0.5 ** 4) < 1e-6);
    assert.ok(Math.abs(distanceRatio(w, T, -5) - 0.25 ** 4) < 1e-6);
    assert.strictEqual(profileSide(signedDistanceProfile(new Float32Array(0), 0), 'later').length, 0);
  });

  it('cross: rectangular target × source matrices, every source token a candidate, no rollout', () => {
    const uniform = [[1 / 3, 1 / 3, 1 / 3], [1 / 3, 1 / 3, 1 / 3]];
    const [whole, perLayer] = bothForms([
      [
        [[0.6, 0.2, 0.2], [0, 0.5, 0.5]],
        [[0.2, 0.2, 0.6], [0.4, 0.5, 0.1]],
      ],
      [uniform, uniform],
    ]);
    assert.deepStrictEqual([perLayer.rows, perLayer.cols], [2, 3]);
    const mean = meanOverHeads(whole, 0);
    closeAll(mean, [0.4, 0.2, 0.4, 0.2, 0.5, 0.3]);
    for (const l of [0, 1]) {
      assert.deepStrictEqual(Array.from(meanOverHeads(perLayer, l)), Array.from(meanOverHeads(whole, l)));
      assert.deepStrictEqual(Array.from(maxOverHeads(perLayer, l)), Array.from(maxOverHeads(whole, l)));
    }
    const max = maxOverHeads(whole, 0);
    closeAll(max, [0.6, 0.2, 0.6, 0.4, 0.5, 0.5]);
    closeAll(rowShares(max, 2, 3), [0.6 / 1.4, 0.2 / 1.4, 0.6 / 1.4, 0.4 / 1.4, 0.5 / 1.4, 0.5 / 1.4]);
    const { from, to } = topInfluences(mean, 2, 3, 2, 'cross');
    assert.deepStrictEqual(indices(from), [[0, 2], [1, 2]]);
    assert.deepStrictEqual(indices(to), [[0, 1], [1, 0], [0, 1]]);
    assert.throws(() => rollout(perLayer, false), /square/);
  });
});
