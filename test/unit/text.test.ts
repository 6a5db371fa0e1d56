// Unit tests for the pure text measurements in src/core/text.ts.

import * as assert from 'assert';
import { countCodePoints, countLines, formatCount, formatMs, isBlank } from '../../src/core/text';

describe('text measurements', () => {
  const cases: Array<[string, number, number]> = [
    ['', 0, 1],
    ['abc', 3, 1],
    ['a\nb', 3, 2],
    ['a\r\nb\r\n', 6, 3],
    ['a\rb', 3, 2],
    ['😀x', 2, 1],
    ['e\u0301', 2, 1],
    ['中文\n字', 4, 2],
    ['\ud800x', 2, 1],
    ['x\udc00', 2, 1],
  ];
  for (const [text, codePoints, lines] of cases) {
    it(`counts ${JSON.stringify(text)}: ${codePoints} code points, ${lines} lines`, () => {
      assert.strictEqual(countCodePoints(text), codePoints);
      assert.strictEqual(countCodePoints(text), [...text].length);
      assert.strictEqual(countLines(text), lines);
    });
  }
  it('knows blank text', () => {
    assert.strictEqual(isBlank(' \t\r\n'), true);
    assert.strictEqual(isBlank(''), true);
    assert.strictEqual(isBlank(' x '), false);
  });

  it('formatCount writes a number as toLocaleString("en-US") does', () => {
    const values = [0, -0, 1, -1, 7, 12, 999, 1000, -1000, 1234, 99_999, 100_000, 123_456, 1_000_000, -9_876_543, 2_147_483_648, 10 ** 15, Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    for (let digits = 1; digits <= 16; digits++) values.push(Number('9'.repeat(digits)), 10 ** (digits - 1));
    // Not safe integers: the browser's formatting, unchanged.
    values.push(0.5, 1234.5678, -0.25, 2 ** 60, 1e21, NaN, Infinity, -Infinity);
    for (const v of values) assert.strictEqual(formatCount(v), v.toLocaleString('en-US'), `formatCount(${v})`);
  });

  it('formatMs rounds to whole milliseconds and groups them', () => {
    assert.strictEqual(formatMs(0.4), '0 ms');
    assert.strictEqual(formatMs(14.5), '15 ms');
    assert.strictEqual(formatMs(12_345.6), '12,346 ms');
  });
});
