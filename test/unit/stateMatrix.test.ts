// Unit tests for the State matrix tab's data (webview/views/stateMatrixData.ts): which states it draws (two
// or more axes of their own besides layer, batch and position), how their declared axes are read back out
// of the canonical tensor's folded last axis (checked against canonicalTensor itself, whatever the declared
// order), panels per leading axis, and the sentence on what the state costs against attention's T × T.

import * as assert from 'assert';
import type { Analysis } from '../../src/core/analyze';
import type { OutputSpec } from '../../src/core/manifest';
import { canonicalTensor } from '../../src/core/modelStructure';
import { layerPeak, matrixStates, ownAxes, panelName, sizeFormula, stateAt, stateCost, stateLayout } from '../../webview/views/stateMatrixData';

const axis = (name: string, size?: number | string) => ({ name, ...(size === undefined ? {} : { size }) }) as OutputSpec['axes'][number];
const spec = (axes: OutputSpec['axes'], extra: Partial<OutputSpec> = {}): OutputSpec => ({ name: 'state', role: 'state', dtype: 'float32', axes, state: 's', ...extra });

/** A tensor (batch removed) whose every value encodes its index along each axis, as digits: 1000·a + 100·b + …. */
function encoded(dims: number[]): { dims: number[]; data: Float32Array } {
  const n = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  const index = new Array<number>(dims.length).fill(0);
  for (let i = 0; i < n; i++) {
    data[i] = index.reduce((v, x) => v * 10 + x, 0);
    for (let d = dims.length - 1; d >= 0; d--) {
      if (++index[d] < dims[d]) break;
      index[d] = 0;
    }
  }
  return { dims, data };
}

describe('the State matrix data', () => {
  it('reads linear attention’s S_t [layer, batch, position, head, state, feature] as one panel per head', () => {
    const s = spec([axis('layer', 2), axis('batch'), axis('position', 'T'), axis('head', 2), axis('state', 3), axis('feature', 4)]);
    const canonical = canonicalTensor(s, encoded([2, 5, 2, 3, 4])); // [L, T, U] with U = 2·3·4
    assert.deepStrictEqual(canonical.dims, [2, 5, 24]);
    const layout = stateLayout(s, 24)!;
    assert.deepStrictEqual([layout.panels, layout.rows, layout.cols, layout.size], [2, 3, 4, 24]);
    assert.deepStrictEqual(layout.panelAxes.map((a) => a.name), ['head']);
    const values = stateAt(canonical, layout, 1, 4);
    // Entry (head 1, state 2, feature 3) of layer 1 at token 4 is the value encoded 1·10⁴ + 4·10³ + 1·10² + 2·10 + 3.
    assert.strictEqual(values[(1 * 3 + 2) * 4 + 3], 14123);
    assert.strictEqual(values[0], 14000);
    assert.strictEqual(panelName(layout, 1), 'head 2');
    assert.strictEqual(sizeFormula(layout), '2 × 3 × 4 = 24');
  });

  it('reads a state-space model’s h_t [layer, batch, position, unit, state] as one units × states panel', () => {
    const s = spec([axis('layer', 1), axis('batch'), axis('position', 'T'), axis('unit', 3), axis('state', 2)]);
    const canonical = canonicalTensor(s, encoded([1, 2, 3, 2]));
    const layout = stateLayout(s, canonical.dims[2])!;
    assert.deepStrictEqual([layout.panels, layout.rows, layout.cols], [1, 3, 2]);
    assert.deepStrictEqual(Array.from(stateAt(canonical, layout, 0, 1)), [100, 101, 110, 111, 120, 121]);
  });

  it('follows the declared order when it differs from the fold (the unit axis is folded first)', () => {
    // Declared [state, unit]: canonicalTensor folds unit first; the picture keeps state as rows.
    const s = spec([axis('layer', 1), axis('batch'), axis('position', 'T'), axis('state', 2), axis('unit', 3)]);
    const canonical = canonicalTensor(s, encoded([1, 1, 2, 3]));
    const layout = stateLayout(s, 6)!;
    assert.deepStrictEqual([layout.rows, layout.cols], [2, 3]);
    assert.deepStrictEqual(Array.from(stateAt(canonical, layout, 0, 0)), [0, 1, 2, 10, 11, 12]);
  });

  it('reads a per-layer state (no layer axis), and one symbolic size from the values', () => {
    const s = spec([axis('batch'), axis('position', 'T'), axis('head', 2), axis('feature', 'F')], { layer: 0 });
    const layout = stateLayout(s, 10)!;
    assert.deepStrictEqual(layout.axes.map((a) => [a.name, a.size]), [['head', 2], ['feature', 5]]);
    assert.strictEqual(stateLayout(s, 7), null, 'sizes that do not divide the values');
    assert.strictEqual(stateLayout(spec([axis('position', 'T'), axis('head', 'H'), axis('feature', 'F')]), 8), null, 'two unknown sizes');
    assert.strictEqual(stateLayout(spec([axis('layer', 2), axis('position', 'T'), axis('head', 2), axis('feature', 4)]), 9), null, 'a product that differs');
  });

  it('draws only states with two or more axes of their own', () => {
    const matrix = spec([axis('layer', 2), axis('batch'), axis('position', 'T'), axis('unit', 4), axis('state', 2)]);
    const vector = spec([axis('layer', 2), axis('batch'), axis('position', 'T'), axis('unit', 4)], { state: 'c' });
    assert.deepStrictEqual(ownAxes(vector).map((a) => a.name), ['unit']);
    const family = (output: OutputSpec) => ({ output, outputs: [output], perLayer: false, state: output.state!, label: `state ${output.state}` });
    const analysis = { structure: { states: [family(vector), family(matrix)] } } as unknown as Analysis;
    assert.deepStrictEqual(matrixStates(analysis).map((f) => f.state), ['s']);
  });

  it('says what the state costs against attention’s T × T, and finds a layer’s largest |value|', () => {
    const s = spec([axis('layer', 1), axis('batch'), axis('position', 'T'), axis('head', 4), axis('state', 32), axis('feature', 32)]);
    const layout = stateLayout(s, 4096)!;
    assert.strictEqual(
      stateCost(layout, 37),
      "Constant size: 4 × 32 × 32 = 4,096 numbers per layer at every token, however long the text. Attention's W at this length is T × T = 37 × 37 = 1,369 numbers per head and layer, growing as T²; it is larger than this state from 65 tokens on.",
    );
    assert.match(stateCost(layout, 512), /T × T = 512 × 512 = 262,144 numbers per head and layer, growing as T²; it is already larger than this state\.$/);
    const t = { dims: [2, 2, 2], data: Float32Array.from([1, -2, 0.5, 0, 3, -7, 0, 1]) };
    assert.strictEqual(layerPeak(t, 0), 2);
    assert.strictEqual(layerPeak(t, 1), 7);
  });
});
