// Unit tests for influence summaries (src/core/influence.ts): top-k lists from a known W(t, k) matrix, and
// the offset-to-token lookup the hover uses.

import * as assert from 'assert';
import { tokenAt, topInfluences } from '../../src/core/influence';

describe('influence summaries', () => {
  // T = 4, lower-triangular W; row t = query.
  const W = Float32Array.from([
    1, 0, 0, 0,
    0.3, 0.7, 0, 0,
    0.5, 0.2, 0.3, 0,
    0.1, 0.6, 0.25, 0.05,
  ]);

  it('lists the strongest earlier tokens for each token, self excluded', () => {
    const { from } = topInfluences(W, 4, 2);
    assert.deepStrictEqual(from.map((l) => l.map((x) => x.index)), [[], [0], [0, 1], [1, 2]]);
    assert.ok(Math.abs(from[3][0].weight - 0.6) < 1e-7);
  });

  it('lists the later tokens each token influences most', () => {
    const { to } = topInfluences(W, 4, 2);
    assert.deepStrictEqual(to.map((l) => l.map((x) => x.index)), [[2, 1], [3, 2], [3], []]);
  });

  it('skips zero weights and respects k', () => {
    const { from } = topInfluences(new Float32Array(9), 3, 5);
    assert.deepStrictEqual(from, [[], [], []]);
    assert.strictEqual(topInfluences(W, 4, 1).from[3].length, 1);
  });

  it('finds the token under an offset', () => {
    const tokens = [{ start: 10, end: 13 }, { start: 13, end: 13 }, { start: 13, end: 20 }, { start: 20, end: 21 }];
    assert.strictEqual(tokenAt(tokens, 9), -1);
    assert.strictEqual(tokenAt(tokens, 10), 0);
    assert.strictEqual(tokenAt(tokens, 12), 0);
    assert.strictEqual(tokenAt(tokens, 13), 2); // the empty token owns nothing
    assert.strictEqual(tokenAt(tokens, 20), 3);
    assert.strictEqual(tokenAt(tokens, 21), -1);
  });
});
