// Unit tests of webview/startedBackend.ts, the hand-over between the panel's inline starter and its script: the
// script takes what the starter started, once; a starter that runs after the script looked starts nothing (the
// script has started its own backend by then, and a second one would be a second onnxruntime worker).

import * as assert from 'assert';
import type { StartedBackend } from '../../webview/startedBackend';
import { startForPanel, takeStarted } from '../../webview/startedBackend';

const KEY = Symbol.for('attentionLens.startedBackend');
const fake = (label: string): StartedBackend<string> => ({ ort: label, info: new Promise(() => undefined) });

describe('startedBackend (the panel starter hands its backend over)', () => {
  afterEach(() => delete (globalThis as Record<symbol, unknown>)[KEY]);

  it('hands what the starter started to the script, once', () => {
    const started = fake('a');
    startForPanel(() => started);
    assert.strictEqual(takeStarted(), started);
    assert.strictEqual(takeStarted(), undefined, 'taken');
  });

  it('starts nothing once the script has looked (it started its own backend)', () => {
    assert.strictEqual(takeStarted(), undefined, 'no starter ran');
    let calls = 0;
    startForPanel(() => (calls++, fake('late')));
    assert.strictEqual(calls, 0);
    assert.strictEqual(takeStarted(), undefined);
  });

  it('leaves nothing when the starter could not start', () => {
    startForPanel(() => undefined);
    assert.strictEqual(takeStarted(), undefined);
  });
});
