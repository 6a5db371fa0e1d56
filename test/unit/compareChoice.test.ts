// Unit tests for the Compare view's choice of models (webview/compare/choice.ts): every causal language
// model (logits that predict the next token) is compared by default, a masked language model and a model
// without logits are not; the user's decisions are kept by id, only where they differ from the default,
// so a model installed later follows the default; and a saved choice is read back defensively.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as path from 'path';
import type { ModelManifest } from '../../src/core/manifest';
import { choiceSummary, comparedModels, isCausalLanguageModel, isCompared, parseChoice, withDecision } from '../../webview/compare/choice';

const root = path.join(__dirname, '../..');
const manifest = (id: string) => JSON.parse(readFileSync(path.join(root, 'media/models', id, 'manifest.json'), 'utf8')) as ModelManifest;

/** A masked language model: the Transformer's manifest with logits that score the current token. */
function encoder(): ModelManifest {
  const m = structuredClone(manifest('transformer'));
  m.id = 'encoder';
  Object.assign(m.outputs.find((o) => o.role === 'logits')!, { predicts: 'current' });
  return m;
}

/** A model without logits (an encoder export of hidden states only). */
function noLogits(): ModelManifest {
  const m = structuredClone(manifest('transformer'));
  m.id = 'features';
  m.outputs = m.outputs.filter((o) => o.role !== 'logits');
  return m;
}

describe('the Compare view’s choice of models', () => {
  const models = [manifest('transformer'), manifest('lstm'), manifest('gru'), encoder(), noLogits()].map((m) => ({ manifest: m }));
  const ids = (list: Array<{ manifest: ModelManifest }>) => list.map((m) => m.manifest.id);

  it('compares every causal language model by default, and nothing else', () => {
    assert.deepStrictEqual(models.map((m) => isCausalLanguageModel(m.manifest)), [true, true, true, false, false]);
    assert.deepStrictEqual(ids(comparedModels(models, undefined)), ['transformer', 'lstm', 'gru']);
  });

  it('does not compare an encoder–decoder by default: its target’s next-token scores have read the text as its source', () => {
    const toy = JSON.parse(readFileSync(path.join(root, 'test/fixtures/models/toy-encoder-decoder/manifest.json'), 'utf8')) as ModelManifest;
    assert.strictEqual(isCausalLanguageModel(toy), false);
    assert.strictEqual(isCompared(toy, undefined), false);
    assert.strictEqual(isCompared(toy, { checked: [toy.id], unchecked: [] }), true);
  });

  it('keeps the user’s decisions, only where they differ from the default', () => {
    let choice = withDecision(undefined, manifest('lstm'), false);
    assert.deepStrictEqual(choice, { checked: [], unchecked: ['lstm'] });
    choice = withDecision(choice, encoder(), true);
    assert.deepStrictEqual(choice, { checked: ['encoder'], unchecked: ['lstm'] });
    assert.deepStrictEqual(ids(comparedModels(models, choice)), ['transformer', 'gru', 'encoder']);
    // Checking the LSTM again is its default: no decision is kept for it.
    choice = withDecision(choice, manifest('lstm'), true);
    assert.deepStrictEqual(choice, { checked: ['encoder'], unchecked: [] });
    assert.ok(isCompared(manifest('lstm'), choice));
    // A model installed later follows the default.
    const later = structuredClone(manifest('gru'));
    later.id = 'installed-later';
    assert.ok(isCompared(later, choice));
  });

  it('reads a saved choice back defensively', () => {
    assert.strictEqual(parseChoice(undefined), undefined);
    assert.strictEqual(parseChoice('lstm'), undefined);
    assert.deepStrictEqual(parseChoice({ checked: ['encoder', 3, '', 'x'.repeat(200)], unchecked: 'lstm' }), { checked: ['encoder'], unchecked: [] });
    assert.deepStrictEqual(parseChoice({ checked: Array.from({ length: 300 }, (_, i) => `m${i}`), unchecked: [] })!.checked.length, 256);
  });

  it('says how many models are compared, and why one or none is no comparison', () => {
    assert.strictEqual(choiceSummary(3, 5), 'Models compared: 3 of 5');
    assert.strictEqual(choiceSummary(1, 5), 'Models compared: 1 of 5: choose another to compare it with');
    assert.strictEqual(choiceSummary(0, 5), 'Models compared: 0 of 5: choose at least one');
  });
});
