// roleData read by role on small hand-made analyses (a manifest, its outputs as numbers, no model run), each
// expectation computed by hand: per-layer state tensors stacked by state, the hidden states of the primary
// sequence only, retention from a decay output (keep = decay, write = 1 − decay), and rollout of mixing
// declared not normalised (|W| row-normalised first, and labelled so).

import * as assert from 'assert';
import { type Tensor, layeredFromTensor, rowNormalisedAbs } from '../../src/core/analysis';
import type { Analysis } from '../../src/core/analyze';
import { influenceMatrix } from '../../src/core/influenceMatrix';
import type { AxisSpec, InputSpec, ModelManifest, OutputSpec, SequenceSpec } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { modelStructure } from '../../src/core/modelStructure';
import { familyRollout, hiddenStateData, layerCount, retentionData, stateData } from '../../src/core/roleData';

const B: AxisSpec = { name: 'batch' };
const axis = (name: AxisSpec['name'], size?: number | string): AxisSpec => ({ name, size });
const ids = (name: string, length: string): InputSpec => ({ name, role: 'input_ids', dtype: 'int64', axes: [B, axis('position', length)] });
const t = (dims: number[], values: number[]): Tensor => ({ dims, data: Float32Array.from(values) });
const close = (got: ArrayLike<number>, want: number[]) => {
  assert.strictEqual(got.length, want.length, `length ${got.length} != ${want.length}`);
  want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) < 1e-6, `[${i}] ${got[i]} != ${w} (got ${Array.from(got).join(', ')})`));
};

/** A validated manifest and an analysis over `outputs` (batch removed), T tokens of the primary sequence. */
function analysisOf(outputs: OutputSpec[], values: Record<string, Tensor>, T: number, sequences: Record<string, SequenceSpec> = { tokens: { length: 'T' } }, inputs: InputSpec[] = [ids('ids', 'T')]): Analysis {
  const m = { schemaVersion: 2, id: 'hand', displayName: 'Hand', architecture: 'test', description: '', parameters: 1, dimensions: {}, sequences, inputs, outputs, tokenizer: { file: 'tokenizer.json' }, license: 'MIT' };
  const result = validateManifest(m);
  assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
  const manifest: ModelManifest = result.manifest;
  const tokens = Array.from({ length: T }, (_, i) => ({ id: i, text: `t${i}`, start: i, end: i + 1, partial: false, special: false }));
  return { manifest, structure: modelStructure(manifest), outputs: values, tokens, sequences: [], surprisal: new Float32Array(T) } as unknown as Analysis;
}

describe('role data read from hand-made analyses', () => {
  it('stacks per-layer state tensors of one state into [L, T, U], in layer order', () => {
    const per = (layer: number): OutputSpec => ({ name: `h.${layer}`, role: 'state', state: 'h', layer, dtype: 'float32', axes: [B, axis('position', 'T'), axis('unit', 2)] });
    // Declared layer 1 first: the stack follows the indices, not the manifest order.
    const a = analysisOf([per(1), per(0)], { 'h.0': t([3, 2], [1, 2, 3, 4, 5, 6]), 'h.1': t([3, 2], [7, 8, 9, 10, 11, 12]) }, 3);
    const states = stateData(a);
    assert.strictEqual(states.length, 1);
    assert.deepStrictEqual(states[0].family.outputs.map((o) => o.name), ['h.0', 'h.1']);
    assert.deepStrictEqual(states[0].tensor.dims, [2, 3, 2]);
    close(states[0].tensor.data, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.strictEqual(layerCount(a), 2);
  });

  it('reads the hidden states of the primary sequence only, not the encoder ones listed first', () => {
    const sequences = { source: { length: 'S' }, target: { length: 'T' } };
    const inputs = [ids('src', 'S'), ids('tgt', 'T')];
    const outputs: OutputSpec[] = [
      { name: 'logits', role: 'logits', dtype: 'float32', axes: [B, axis('position', 'T'), axis('vocab', 3)] },
      { name: 'enc', role: 'hidden_states', group: 'encoder', dtype: 'float32', axes: [axis('layer', 2), B, axis('position', 'S'), axis('feature', 1)] },
      { name: 'dec.1', role: 'hidden_states', group: 'decoder', layer: 1, dtype: 'float32', axes: [B, axis('position', 'T'), axis('feature', 1)] },
      { name: 'dec.0', role: 'hidden_states', group: 'decoder', layer: 0, dtype: 'float32', axes: [B, axis('position', 'T'), axis('feature', 1)] },
    ];
    const values = { logits: t([2, 3], [0, 0, 0, 0, 0, 0]), enc: t([2, 3, 1], [1, 2, 3, 4, 5, 6]), 'dec.0': t([2, 1], [10, 11]), 'dec.1': t([2, 1], [20, 21]) };
    const a = analysisOf(outputs, values, 2, sequences, inputs);
    assert.deepStrictEqual(a.structure.hiddenStates.map((o) => o.name), ['dec.0', 'dec.1']);
    const hidden = hiddenStateData(a)!;
    assert.deepStrictEqual(hidden.dims, [2, 2, 1]);
    close(hidden.data, [10, 11, 20, 21]);
  });

  it('reads retention from a decay output: keep = decay, write = 1 − decay', () => {
    const decay: OutputSpec = { name: 'decay', role: 'decay', dtype: 'float32', axes: [axis('layer', 1), B, axis('position', 'T'), axis('unit', 1)] };
    const a = analysisOf([decay], { decay: t([1, 3, 1], [0.2, 0.5, 0.8]) }, 3);
    const r = retentionData(a)!;
    assert.strictEqual(r.source, 'decay');
    assert.deepStrictEqual(r.tensor.dims, [1, 3, 1, 1]);
    assert.deepStrictEqual(r.spec, { keep: 0, write: 0, writeIsComplement: true });
    const m = influenceMatrix(a, 'rollout')!;
    assert.strictEqual(m.metric, 'retention');
    assert.strictEqual(m.label, 'decay retention, layer 1, mean over units');
    // W(t, k) = (d_{k+1} ⋯ d_t)(1 − d_k): W(1, 0) = 0.5 · 0.8, W(2, 0) = 0.8 · 0.5 · 0.8, W(2, 1) = 0.8 · 0.5.
    close(m.w, [0.8, 0, 0, 0.4, 0.5, 0, 0.32, 0.4, 0.2]);
    assert.strictEqual(layerCount(a), 1);
  });

  it('reads decay per head as units, averaged', () => {
    const decay: OutputSpec = { name: 'decay', role: 'decay', label: 'head decay', dtype: 'float32', axes: [axis('layer', 1), B, axis('position', 'T'), axis('head', 2)] };
    // Head 0 as above; head 1 decays to 0 at once (W = 1 on the diagonal, 0 before it).
    const a = analysisOf([decay], { decay: t([1, 3, 2], [0.2, 0, 0.5, 0, 0.8, 0]) }, 3);
    const m = influenceMatrix(a, 'retention')!;
    assert.strictEqual(m.label, 'head decay retention, layer 1, mean over units');
    close(m.w, [0.9, 0, 0, 0.2, 0.75, 0, 0.16, 0.2, 0.6]);
  });

  it('prefers declared keep and write gates over a decay output', () => {
    const gates: OutputSpec = {
      name: 'gates', role: 'gates', state: 'h', dtype: 'float32',
      axes: [axis('layer', 1), B, axis('position', 'T'), axis('gate', 2), axis('unit', 1)],
      gates: [{ name: 'k', meaning: 'keep' }, { name: 'w', meaning: 'write' }],
    };
    const decay: OutputSpec = { name: 'decay', role: 'decay', dtype: 'float32', axes: [axis('layer', 1), B, axis('position', 'T'), axis('unit', 1)] };
    const a = analysisOf([gates, decay], { gates: t([1, 2, 2, 1], [0.5, 1, 0.5, 1]), decay: t([1, 2, 1], [0, 0]) }, 2);
    assert.strictEqual(retentionData(a)!.source, 'gates');
    const m = influenceMatrix(a, 'retention')!;
    assert.strictEqual(m.label, 'state h retention, layer 1, mean over units');
    close(m.w, [1, 0, 0.5, 1]);
  });

  it('rolls out mixing declared not normalised from |W| row-normalised per head, and says so', () => {
    const mixing = (normalised: boolean): OutputSpec => ({
      name: 'mix', role: 'mixing', structure: 'causal', normalised, dtype: 'float32',
      axes: [axis('layer', 1), B, axis('head', 2), axis('query', 'T'), axis('key', 'T')],
    });
    // Head 0 [[2, 0], [-1, 3]] → [[1, 0], [0.25, 0.75]]; head 1 [[0, 0], [1, 1]] → [[1, 0], [0.5, 0.5]] (a zero
    // row keeps only itself). Mean [[1, 0], [0.375, 0.625]]; rollout ½(mean + I) = [[1, 0], [0.1875, 0.8125]].
    const values = { mix: t([1, 2, 2, 2], [2, 0, -1, 3, 0, 0, 1, 1]) };
    const raw = analysisOf([mixing(false)], values, 2);
    assert.strictEqual(raw.structure.mixing[0].normalised, false);
    close(familyRollout(raw, raw.structure.mixing[0])!, [1, 0, 0.1875, 0.8125]);
    const m = influenceMatrix(raw, 'rollout')!;
    assert.strictEqual(m.label, 'attention rollout over all layers (rows normalised)');
    assert.strictEqual(m.normalised, true);
    const attention = influenceMatrix(raw, 'attention')!;
    assert.strictEqual(attention.normalised, false);
    // Declared normalised, the same numbers are taken as they are: mean [[1, 0], [0, 2]], ½(mean + I) = [[1, 0], [0, 1.5]].
    const declared = analysisOf([mixing(true)], values, 2);
    close(familyRollout(declared, declared.structure.mixing[0])!, [1, 0, 0, 1.5]);
    assert.strictEqual(influenceMatrix(declared, 'rollout')!.label, 'attention rollout over all layers');
  });

  it('folds the state axis of a decay and a state [layer, batch, position, unit, state] into units, unit-major', () => {
    // A selective scan's exp(Δ A) and h_t: D = 2 units × N = 2 states become 4 units, (unit, state) in that order.
    const decay: OutputSpec = { name: 'decay', role: 'decay', dtype: 'float32', axes: [axis('layer', 1), B, axis('position', 'T'), axis('unit', 2), axis('state', 2)] };
    // The state exported state-major ([…, state, unit]) reads back unit-major like the decay.
    const h: OutputSpec = { name: 'h', role: 'state', state: 'h', dtype: 'float32', axes: [axis('layer', 1), B, axis('position', 'T'), axis('state', 2), axis('unit', 2)] };
    const values = { decay: t([1, 2, 2, 2], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]), h: t([1, 2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]) };
    const a = analysisOf([decay, h], values, 2);
    const r = retentionData(a)!;
    assert.deepStrictEqual(r.tensor.dims, [1, 2, 1, 4]);
    close(r.tensor.data, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]);
    // Mean over the 4 units: W(0, 0) = mean(1 − d_0) = 0.75, W(1, 0) = mean(d_1 (1 − d_0)) = 1.9 / 4, W(1, 1) = mean(1 − d_1) = 0.35.
    close(influenceMatrix(a, 'retention')!.w, [0.75, 0, 0.475, 0.35]);
    const [state] = stateData(a);
    assert.deepStrictEqual(state.tensor.dims, [1, 2, 4]);
    close(state.tensor.data, [1, 3, 2, 4, 5, 7, 6, 8]);
    assert.strictEqual(layerCount(a), 1);
  });

  it('keeps an all-zero row of rectangular mixing zero when row-normalising', () => {
    const m = rowNormalisedAbs(layeredFromTensor(t([1, 1, 2, 3], [0, 0, 0, -1, 1, 2])));
    close(m.layer(0), [0, 0, 0, 0.25, 0.25, 0.5]);
  });
});
