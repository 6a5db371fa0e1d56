// Unit tests for the colour-scale mapping every W and state view shares (src/core/colourScale.ts, re-exported
// by webview/views/colors.ts): unsigned values on a sequential scale from 0, signed ones on a diverging
// scale centred on 0 and symmetric around the largest |value| shown (0 in the middle, ±max at the ends,
// clipped beyond, the square root keeping the sign), and the hover's text bars for signed weights.

import * as assert from 'assert';
import {
  divergingLegend,
  divergingScale,
  divergingTextBar,
  largestMagnitude,
  positionOf,
  scaleEnds,
  scaleFor,
  scalePosition,
  sequentialScale,
  signedValue,
} from '../../src/core/colourScale';

const close = (a: number, b: number, what = '') => assert.ok(Math.abs(a - b) < 1e-9, `${what}: ${a} ≠ ${b}`);

describe('colour scales', () => {
  it('maps unsigned values from 0 to the top, clipped, optionally square-rooted', () => {
    const s = sequentialScale(2);
    close(scalePosition(0, s), 0, '0');
    close(scalePosition(1, s), 0.5, '1');
    close(scalePosition(2, s), 1, 'top');
    close(scalePosition(5, s), 1, 'clipped above');
    close(scalePosition(-1, s), 0, 'clipped below');
    close(scalePosition(0.5, sequentialScale(2, true)), 0.5, '√(0.25)');
    assert.deepStrictEqual(scaleEnds(s), [0, 2]);
  });

  it('centres a signed scale on 0, symmetric around the largest |value| shown', () => {
    const values = Float32Array.from([0.1, -0.4, 0.25, NaN, 0]);
    const s = divergingScale(values);
    assert.deepStrictEqual(s, { kind: 'diverging', max: largestMagnitude(values), sqrt: false });
    close(s.max, 0.4000000059604645, 'max |v|');
    close(scalePosition(0, s), 0.5, 'zero in the middle');
    close(scalePosition(-0.4000000059604645, s), 0, '−max at the bottom');
    close(scalePosition(0.4000000059604645, s), 1, '+max at the top');
    close(scalePosition(0.2000000029802322, s) - 0.5, 0.5 - scalePosition(-0.2000000029802322, s), 'symmetric');
    close(scalePosition(3, s), 1, 'clipped');
    close(scalePosition(-3, s), 0, 'clipped');
    assert.ok(Number.isNaN(positionOf(s)(NaN)));
    assert.deepStrictEqual(scaleEnds(s), [-s.max, s.max]);
  });

  it('keeps the sign under the square root and puts everything at 0 for a scale of nothing', () => {
    const s = divergingScale(4, true);
    close(scalePosition(-1, s), 0.25, '−√(1/4)');
    close(scalePosition(1, s), 0.75, '+√(1/4)');
    close(scalePosition(0.7, divergingScale(0)), 0.5, 'max 0: the middle');
    close(scalePosition(0.7, sequentialScale(0)), 0, 'max 0: the bottom');
  });

  it('picks the scale from whether the values are signed', () => {
    const values = Float32Array.from([-3, 1, 2]);
    assert.deepStrictEqual(scaleFor(true, values), { kind: 'diverging', max: 3, sqrt: false });
    assert.deepStrictEqual(scaleFor(false, values), { kind: 'sequential', max: 2, sqrt: false });
    assert.deepStrictEqual(scaleFor(false, values, { top: 1.5, sqrt: true }), { kind: 'sequential', max: 1.5, sqrt: true });
  });

  it('words the legend and the signed values', () => {
    assert.strictEqual(signedValue(0.42), '+0.420');
    assert.strictEqual(signedValue(-0.42), '−0.420');
    assert.strictEqual(signedValue(0), '0');
    assert.strictEqual(divergingLegend(0.42, '|W|'), 'diverging, centred on 0 (blue below, red above), symmetric around the largest |W| shown: ±0.420');
  });

  it('draws text bars for signed weights on both sides of a centre line', () => {
    assert.strictEqual(divergingTextBar(-0.4, 1), '░░░██│░░░░░');
    assert.strictEqual(divergingTextBar(1, 1), '░░░░░│█████');
    assert.strictEqual(divergingTextBar(-2, 1), '█████│░░░░░', 'clipped at the end');
    assert.strictEqual(divergingTextBar(0.001, 1), '░░░░░│█░░░░', 'any non-zero weight shows');
    assert.strictEqual(divergingTextBar(0, 1), '░░░░░│░░░░░');
    assert.strictEqual(divergingTextBar(NaN, 1), '░░░░░│░░░░░');
  });
});
