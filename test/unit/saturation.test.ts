// Unit tests for saturation (webview/views/saturation.ts): the share of units within 5% (of the range's
// width) of a bound of a declared range per token, tanh [-1, 1] and sigmoid [0, 1], the rule and the
// sentence the Gates and State tabs write ("38% of units saturated at this token"), and nothing without
// a range.

import * as assert from 'assert';
import { SATURATION_MARGIN, saturationRule, saturationSentence, saturationSeries, saturationThresholds, seriesMean } from '../../webview/views/saturation';

/** A tokens × units matrix from rows. */
function matrix(rows: number[][], range?: [number, number], rangeDeclared = true) {
  return { T: rows.length, H: rows[0].length, data: Float32Array.from(rows.flat()), symbol: 'h', range, rangeDeclared };
}

describe('saturation', () => {
  it('counts units within 5% of the range width of either bound, per token', () => {
    assert.strictEqual(SATURATION_MARGIN, 0.05);
    assert.deepStrictEqual(saturationThresholds([-1, 1]), [-0.9, 0.9]);
    assert.deepStrictEqual(saturationThresholds([0, 1]), [0.05, 0.95]);
    const tanh = matrix([
      [0.95, -0.91, 0.2, 0.89],
      [1, -1, 0.9, -0.9],
      [0, 0.1, -0.5, 0.5],
    ], [-1, 1]);
    assert.deepStrictEqual(Array.from(saturationSeries(tanh)), [0.5, 1, 0]);
    const sigmoid = matrix([
      [0.01, 0.5, 0.96, 0.05],
      [0.5, 0.5, 0.5, 0.94],
    ], [0, 1]);
    assert.deepStrictEqual(Array.from(saturationSeries(sigmoid)), [0.75, 0]);
  });

  it('gives nothing without a range', () => {
    assert.deepStrictEqual(Array.from(saturationSeries(matrix([[1, -1]]))), [0]);
    assert.strictEqual(saturationSentence(matrix([[1, -1]]), new Float32Array(1), 0, '#0'), '');
  });

  it('words the rule for symmetric and one-sided ranges', () => {
    assert.strictEqual(saturationRule([-1, 1], 'h'), '|h| ≥ 0.90');
    assert.strictEqual(saturationRule([0, 1], 'f'), 'f ≤ 0.05 or f ≥ 0.95');
  });

  it('says how many units are saturated at the token, and on average over the layer', () => {
    const m = matrix([
      [0.95, -0.91, 0.2, 0.89, 0.1, 0, 0, 0],
      [1, -1, 0.9, -0.9, 0.99, 0.1, 0.2, 0.3],
    ], [-1, 1]);
    const share = saturationSeries(m);
    assert.strictEqual(seriesMean(share), 0.4375);
    assert.strictEqual(
      saturationSentence(m, share, 1, '#1 “x”'),
      "63% of units saturated at this token (#1 “x”): |h| ≥ 0.90, within 5% of a bound of the declared range [-1, 1]; 44% on average over the layer's 2 tokens.",
    );
    assert.strictEqual(
      saturationSentence({ ...m, rangeDeclared: false }, share, null, ''),
      "On average over the layer's 2 tokens, 44% of units are saturated (|h| ≥ 0.90, within 5% of a bound of values that stay within ±1); hover or pin a token for its share.",
    );
  });
});
