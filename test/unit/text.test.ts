// Unit tests for the pure text measurements in src/core/text.ts.

import * as assert from 'assert';
import { countCodePoints, countLines, isBlank } from '../../src/core/text';

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
});
