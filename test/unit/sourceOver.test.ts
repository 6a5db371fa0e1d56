// Unit tests for src/core/sourceOver.ts: the colour several lines make drawn one over another, which the head view
// draws once instead. Drawn over any background, the one colour must give what the lines one by one give.

import * as assert from 'assert';
import { type Rgb, SourceOver } from '../../src/core/sourceOver';
import { seededRandom } from './seeded';

/** What a canvas makes of colour at alpha drawn over an opaque pixel (source over). */
const over = (pixel: Rgb, colour: Rgb, alpha: number): Rgb => [0, 1, 2].map((i) => colour[i] * alpha + pixel[i] * (1 - alpha)) as unknown as Rgb;

/** The rgb() and alpha css() wrote. */
function parse(css: string): { rgb: Rgb; alpha: number } {
  const m = /^rgb\((\d+) (\d+) (\d+) \/ ([\d.]+)\)$/.exec(css);
  assert.ok(m, `css() wrote ${css}`);
  return { rgb: [Number(m[1]), Number(m[2]), Number(m[3])], alpha: Number(m[4]) };
}

describe('source-over compositing (head view lines)', () => {
  it('is nothing before anything is drawn, and one colour alone is itself', () => {
    const s = new SourceOver();
    assert.equal(s.css(), null);
    s.add([200, 100, 50], 0.25);
    assert.equal(s.css(), 'rgb(200 100 50 / 0.25)');
    s.reset();
    assert.equal(s.css(), null);
  });

  it('blends in order: half red under half blue is a blue-leaning purple at three quarters', () => {
    const s = new SourceOver();
    s.add([255, 0, 0], 0.5);
    s.add([0, 0, 255], 0.5);
    assert.equal(s.css(), 'rgb(85 0 170 / 0.75)');
    s.reset();
    s.add([0, 0, 255], 0.5);
    s.add([255, 0, 0], 0.5);
    assert.equal(s.css(), 'rgb(170 0 85 / 0.75)', 'the order of drawing counts');
    s.add([10, 20, 30], 1);
    assert.equal(s.css(), 'rgb(10 20 30 / 1)', 'an opaque line hides the lines under it');
  });

  it('drawn once over any background, gives what the lines drawn one by one give', () => {
    const random = seededRandom(17);
    const s = new SourceOver();
    for (let trial = 0; trial < 500; trial++) {
      const background: Rgb = [random() * 255, random() * 255, random() * 255];
      let oneByOne = background;
      s.reset();
      const lines = 1 + Math.floor(random() * 12);
      for (let i = 0; i < lines; i++) {
        const colour: Rgb = [Math.round(random() * 255), Math.round(random() * 255), Math.round(random() * 255)];
        const alpha = Math.max(1, Math.round(random() * 32)) / 64;
        s.add(colour, alpha);
        oneByOne = over(oneByOne, colour, alpha);
      }
      const once = parse(s.css()!);
      const drawn = over(background, once.rgb, once.alpha);
      // Rounding to whole channels and alpha to 1/256 moves a pixel by at most about one level.
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(drawn[c] - oneByOne[c]) <= 1.5, `trial ${trial}, channel ${c}: ${drawn[c]} ≠ ${oneByOne[c]}`);
    }
  });
});
