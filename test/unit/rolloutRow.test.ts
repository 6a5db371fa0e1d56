// Unit tests of rollout rows and columns on demand (src/core/rolloutRow.ts): on hand-built matrices (causal,
// windowed, bidirectional, unnormalised with signs and all-zero rows) and on the real bundled Transformer,
// sliding-window Transformer, encoder and selective state-space model run in onnxruntime-web, every row and
// column equals the full rollout's (familyRollout, O(L·T³)) within 1e-6, and every row sums to 1. Past
// MAX_ROLLOUT_TOKENS, where influenceMatrix gives last-layer attention, rolloutOnDemand names the family and
// a late token's links from its row and column are the full rollout's top links.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { type LayeredMatrices, type MixingMask, layeredFromTensor, rollout, rowNormalisedAbs, tensor } from '../../src/core/analysis';
import type { Analysis } from '../../src/core/analyze';
import { linksAt, topInfluences } from '../../src/core/influence';
import { MAX_ROLLOUT_TOKENS, influenceMatrix, prepareInfluenceMatrix, rolloutOnDemand } from '../../src/core/influenceMatrix';
import { familyRollout, familyRolloutInSlices, mainMixing, mixingMatrices } from '../../src/core/roleData';
import { RolloutRows } from '../../src/core/rolloutRow';
import { analysedByBundled } from './bundledModel';
import { seededRandom } from './seeded';

const root = path.join(__dirname, '../..');
const TOLERANCE = 1e-6;
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** Checks every row and column of `rows` against the full rollout R [T, T]; returns the largest difference. */
function compareAll(rows: RolloutRows, full: Float32Array, T: number, what: string): number {
  let worst = 0;
  for (let t = 0; t < T; t++) {
    const row = rows.row(t);
    let sum = 0;
    for (let k = 0; k < T; k++) {
      worst = Math.max(worst, Math.abs(row[k] - full[t * T + k]));
      sum += row[k];
    }
    assert.ok(Math.abs(sum - 1) < TOLERANCE, `${what}: row ${t} sums to ${sum}`);
  }
  for (let k = 0; k < T; k++) {
    const column = rows.column(k);
    for (let t = 0; t < T; t++) worst = Math.max(worst, Math.abs(column[t] - full[t * T + k]));
  }
  assert.ok(worst < TOLERANCE, `${what}: rows and columns differ from the full rollout by up to ${worst}`);
  return worst;
}

/** Random attention [L, H, T, T] whose rows are probabilities over the keys the mask lets them see. */
function randomAttention(L: number, H: number, T: number, mask: MixingMask, seed: number, window = 3): LayeredMatrices {
  const random = seededRandom(seed);
  const data = new Float32Array(L * H * T * T);
  for (let r = 0; r < L * H * T; r++) {
    const t = r % T;
    const visible = (k: number) => (mask === 'bidirectional' ? true : mask === 'windowed' ? k === 0 || (k <= t && t - k < window) : k <= t);
    let sum = 0;
    for (let k = 0; k < T; k++) if (visible(k)) sum += data[r * T + k] = random() + 0.01;
    for (let k = 0; k < T; k++) data[r * T + k] /= sum;
  }
  return layeredFromTensor(tensor([L, H, T, T], data));
}

describe('rollout rows and columns on demand', () => {
  for (const mask of ['causal', 'windowed', 'bidirectional'] as const) {
    it(`equals the full rollout on random ${mask} attention (4 layers × 3 heads, 40 tokens)`, () => {
      const m = randomAttention(4, 3, 40, mask, 7);
      compareAll(new RolloutRows(m, { mask, normalised: true }), rollout(m, mask !== 'bidirectional'), 40, mask);
    });

    // Rows and columns are summed four factor rows at a time: lengths 1–7 and 41 leave every remainder.
    it(`equals the full rollout on random ${mask} attention of 1 to 7 and 41 tokens`, () => {
      for (const T of [1, 2, 3, 4, 5, 6, 7, 41]) {
        const m = randomAttention(3, 2, T, mask, T);
        compareAll(new RolloutRows(m, { mask, normalised: true }), rollout(m, mask !== 'bidirectional'), T, `${mask}, ${T} tokens`);
      }
    });
  }

  it('matches a hand-computed two-layer rollout of one head', () => {
    // Â = ½(A + I); R = Â_2 Â_1 for T = 2, worked out by hand.
    const m = layeredFromTensor(tensor([2, 1, 2, 2], Float32Array.from([1, 0, 0.5, 0.5, 1, 0, 0.2, 0.8])));
    const rows = new RolloutRows(m, { mask: 'causal', normalised: true });
    // Â_1 = [[1, 0], [0.25, 0.75]], Â_2 = [[1, 0], [0.1, 0.9]]; row 1 of Â_2 Â_1 = [0.1 + 0.225, 0.675].
    assert.deepStrictEqual(Array.from(rows.row(1), (x) => +x.toFixed(6)), [0.325, 0.675]);
    assert.deepStrictEqual(Array.from(rows.column(0), (x) => +x.toFixed(6)), [1, 0.325]);
  });

  it('normalises |W| per head first for unnormalised, signed mixing, an all-zero row drawing on itself', () => {
    const random = seededRandom(11);
    const [L, H, T] = [3, 2, 24];
    const data = new Float32Array(L * H * T * T);
    for (let r = 0; r < L * H * T; r++) {
      const t = r % T;
      if (r % 17 === 5) continue; // an all-zero row
      for (let k = 0; k <= t; k++) data[r * T + k] = (random() - 0.4) * 3;
    }
    const m = layeredFromTensor(tensor([L, H, T, T], data));
    const full = rollout(rowNormalisedAbs(m), true);
    compareAll(new RolloutRows(m, { mask: 'causal', normalised: false }), full, T, 'signed');
  });

  it('caches each layer\'s factor on first use, and refuses cross-mixing and indices outside the rows', () => {
    const m = randomAttention(2, 2, 8, 'causal', 3);
    const rows = new RolloutRows(m, { mask: 'causal', normalised: true });
    assert.strictEqual(rows.cachedLayers, 0);
    rows.row(3);
    assert.strictEqual(rows.cachedLayers, 2);
    assert.throws(() => rows.row(8), /rollout row 8 is outside 0\.\.7/);
    assert.throws(() => rows.column(-1), /rollout column -1 is outside 0\.\.7/);
    assert.throws(() => new RolloutRows(m, { mask: 'cross', normalised: true }), /cross-mixing/);
  });

  for (const mask of ['causal', 'bidirectional'] as const) {
    it(`builds the ${mask} factors in slices of rows (idle time) to the same rows and columns, finishing a layer a row needs at once`, () => {
      const m = randomAttention(3, 2, 17, mask, 5);
      const whole = new RolloutRows(m, { mask, normalised: true });
      const sliced = new RolloutRows(m, { mask, normalised: true });
      // Five rows per slice: layer 0 in four slices, and a row asked for while layer 1 is half built.
      const slice = () => {
        let left = 5;
        return sliced.prepareSlice(() => --left > 0);
      };
      let slices = 0;
      while (sliced.cachedLayers < 1) {
        assert.ok(slice());
        slices++;
      }
      assert.strictEqual(slices, 4, 'layer 0 (17 rows) takes four slices of five');
      assert.ok(slice(), 'layer 1 is half built');
      assert.strictEqual(sliced.cachedLayers, 1);
      assert.deepStrictEqual(Array.from(sliced.row(16)), Array.from(whole.row(16)), 'a row needs every layer: layer 1 is finished from where the slices stopped');
      assert.strictEqual(sliced.cachedLayers, 3);
      assert.strictEqual(sliced.prepareSlice(() => true), false, 'nothing is left to build');
      for (let t = 0; t < 17; t++) {
        assert.deepStrictEqual(Array.from(sliced.row(t)), Array.from(whole.row(t)));
        assert.deepStrictEqual(Array.from(sliced.column(t)), Array.from(whole.column(t)));
      }
    });
  }

  describe('bundled models in onnxruntime-web', function () {
    this.timeout(300_000);
    const text = readFileSync(path.join(root, 'test/fixtures/workspace/sample.ts'), 'utf8').repeat(6);

    const analysed = (id: string, maxTokens: number): Promise<Analysis> => analysedByBundled(id, text, maxTokens);

    const cases: Array<[id: string, maxTokens: number, mask: MixingMask]> = [
      ['transformer', 512, 'causal'],
      ['window', 300, 'windowed'],
      ['encoder', 300, 'bidirectional'],
      ['mamba', 160, 'causal'],
    ];
    for (const [id, maxTokens, mask] of cases) {
      it(`${id}: every row and column equals the full rollout's (${mask})`, async () => {
        const a = await analysed(id, maxTokens);
        const family = mainMixing(a)!;
        assert.strictEqual(family.mask, mask);
        const m = mixingMatrices(a, family);
        const T = m.rows;
        assert.ok(T >= maxTokens - 2 && T <= 512, `${id}: ${T} tokens`);
        const full = familyRollout(a, family)!;
        compareAll(new RolloutRows(m, { mask: family.mask, normalised: family.normalised }), full, T, id);
      });
    }

    it('transformer: the rollout computed in slices is the full rollout, and influenceMatrix then uses it', async () => {
      const a = await analysed('transformer', 300);
      const family = mainMixing(a)!;
      const whole = rollout(mixingMatrices(a, family), true);
      let pauses = 0;
      await prepareInfluenceMatrix(a, 'rollout', { pause: async () => void pauses++, sliceMs: 1 });
      assert.ok(pauses > 3, `paused ${pauses} times`);
      const w = influenceMatrix(a, 'rollout')!;
      assert.strictEqual(w.metric, 'rollout');
      assert.deepStrictEqual(w.w, whole);
      assert.strictEqual(familyRollout(a, family), w.w, 'kept, not computed again');
      assert.strictEqual(await familyRolloutInSlices(a, family, { pause: async () => assert.fail('no pause: already computed') }), w.w);
      // Nothing to prepare for the metrics that need no rollout, nor past MAX_ROLLOUT_TOKENS.
      const b = await analysed('transformer', 80);
      await prepareInfluenceMatrix(b, 'attention', { pause: async () => assert.fail('attention needs no rollout') });
      assert.strictEqual(influenceMatrix(b, 'attention')!.metric, 'attention');
    });

    it(`transformer past ${MAX_ROLLOUT_TOKENS} tokens: late tokens' rollout links on demand are the full rollout's`, async () => {
      const a = await analysed('transformer', 640);
      const T = a.tokens.length;
      assert.ok(T > MAX_ROLLOUT_TOKENS, `${T} tokens`);
      assert.strictEqual(influenceMatrix(a, 'rollout')!.metric, 'attention', 'the whole matrix falls back to attention');
      const family = rolloutOnDemand(a, 'rollout')!;
      assert.strictEqual(family, mainMixing(a));
      assert.strictEqual(rolloutOnDemand(a, 'attention'), null);
      const m = mixingMatrices(a, family);
      const full = rollout(m, true);
      const whole = topInfluences(full, T, T, 10, 'causal');
      const rows = new RolloutRows(m, { mask: family.mask, normalised: family.normalised });
      for (const t of [T - 1, T - 2, T - 100, 600, 520]) {
        const one = linksAt(rows.row(t), rows.column(t), t, 10, 'causal');
        for (const side of ['from', 'to'] as const) {
          assert.strictEqual(one[side].length, whole[side][t].length, `token ${t} ${side}`);
          one[side].forEach((l, j) => assert.ok(Math.abs(l.weight - whole[side][t][j].weight) < TOLERANCE, `token ${t} ${side}[${j}]: ${l.weight} vs ${whole[side][t][j].weight}`));
        }
        assert.ok(one.from.length === 10 && one.from[0].weight > 0);
      }
    });
  });
});
