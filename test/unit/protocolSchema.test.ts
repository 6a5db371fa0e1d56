// Unit tests for the host's check of every message a webview sends (src/core/protocolSchema.ts): valid
// params of every method pass (as a copy without undeclared fields); seeded forgeries — wrong types,
// missing fields, out-of-range numbers, oversized strings and lists, forged URIs and file names, indices
// outside the token list — are all rejected with a message naming the method and the field, and none
// reaches a handler or lets a TypeError escape when fed through a real Endpoint.

import * as assert from 'assert';
import { ERROR_CODES, type ErrorPayload } from '../../src/core/errors';
import { type InfluenceSummary, packInfluence, unpackInfluence } from '../../src/core/influence';
import type { WebviewNotifications, WebviewRequests } from '../../src/core/protocol';
import {
  MAX_FILE_NAME_LENGTH,
  MAX_MODEL_BYTES_PER_REQUEST,
  MAX_LINKS_PER_TOKEN,
  MAX_SAVE_BASE64_LENGTH,
  MAX_TOKENS,
  MAX_URI_LENGTH,
  WEBVIEW_NOTIFICATION_SCHEMAS,
  WEBVIEW_REQUEST_SCHEMAS,
  checkInfluenceAt,
  checkWebviewMessage,
} from '../../src/core/protocolSchema';
import { Endpoint, type Envelope } from '../../src/core/rpc';
import { seededRandom as rng } from './seeded';

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)];

const URI = 'file:///project/sample.py';
const selection = { uri: URI, fileName: 'sample.py', languageId: 'python', version: 3, start: { line: 1, character: 0 }, end: { line: 1, character: 5 }, startOffset: 10, text: 'class', length: 5, codePoints: 5, lineCount: 1 };

/** A valid influence summary of n tokens (ordered, non-overlapping, links into the list), packed as the panel posts it. */
function summary(r: () => number, n: number) {
  return packInfluence(unpackedSummary(r, n));
}

function unpackedSummary(r: () => number, n: number): InfluenceSummary {
  let at = 0;
  const tokens = Array.from({ length: n }, () => {
    const start = at + Math.floor(r() * 2);
    at = start + Math.floor(r() * 6);
    return { start, end: at, text: pick(r, ['·self', '·||', '`x`', '[a](b)', '', '\u{1F600}']), from: [] as Array<{ index: number; weight: number }>, to: [] as Array<{ index: number; weight: number }> };
  });
  for (const t of tokens) {
    for (let k = Math.floor(r() * 6); k > 0; k--) t.from.push({ index: Math.floor(r() * n), weight: r() });
    for (let k = Math.floor(r() * 3); k > 0; k--) t.to.push({ index: Math.floor(r() * n), weight: r() * 3 });
  }
  return { uri: URI, version: 3, modelId: 'transformer', modelName: 'Transformer', metric: 'rollout', metricLabel: 'attention rollout', tokens };
}

type Valid = { [K in keyof WebviewRequests]: WebviewRequests[K]['params'] } & { [K in keyof WebviewNotifications]: WebviewNotifications[K] };
function validParams(): { requests: Partial<Valid>; notifications: Partial<Valid> } {
  return {
    requests: {
      ready: { view: 'panel' },
      revealRange: { uri: URI, start: 3, end: 9 },
      saveFile: { suggestedName: 'attention-layer1-head2.png', filters: { 'PNG image': ['png'] }, data: 'iVBORw0KGgo=', encoding: 'base64' },
      openInPanel: { selection, modelId: 'lstm' },
      panelRun: { uri: URI, version: 3, startOffset: 10, text: 'class', maxTokens: 256 },
      modelBytes: { modelId: 'gpt2-bench-768', file: 'model', start: 33_554_432, length: 33_554_432 },
      likelyFirstModel: {},
    },
    notifications: {
      error: { code: 'internal', message: 'x is undefined', source: 'panel' },
      backendReady: { backend: 'wasm', requested: 'auto', ortVersion: '1.30.0', initMs: 12.5 },
      binaryKept: { file: 'ort-wasm-simd-threaded.wasm', kept: true },
      analysisDone: { uri: URI, version: 3, modelId: 'gru', backend: 'webgpu', tokenCount: 12, truncated: { totalTokens: 40, keptTokens: 12 }, timings: { loadMs: 1, tokenizeMs: 2, runMs: 3, analyseMs: 4, renderMs: 5 } },
      influence: summary(rng(1), 12),
      analysisFailed: { code: 'model-invalid', message: 'bad manifest', uri: URI, version: 3, modelId: '' },
      comparisonDone: {
        uri: URI,
        version: 3,
        startOffset: 10,
        length: 5,
        tokenCount: 2,
        truncated: false,
        models: [{ modelId: 'lstm', backend: 'wasm', reused: false, runMs: 5, bitsPerByte: 2.5, halfLife: null }],
        sentences: ['The LSTM forgets geometrically.'],
      },
      infillDone: {
        uri: URI,
        version: 3,
        modelId: 't5',
        backend: 'wasm',
        sourceTokenCount: 120,
        original: { text: 'a + b', tokens: [{ text: 'a', probability: 0.5, surprisal: 1 }, { text: '·+', probability: 0.25, surprisal: 2 }], bitsPerToken: 1.5 },
        filling: { text: 'a - b', tokenCount: 3, matchesOriginal: false },
        timings: { loadMs: 1, scoreMs: 2, generateMs: 3, renderMs: 4 },
      },
      infillAttention: {
        uri: URI,
        version: 3,
        modelId: 't5',
        label: 'cross-attention, mean of 4 heads, layer 2',
        context: [
          { start: 0, end: 5, lookedAtBy: [{ text: '`x`', index: 1, weight: 0.41 }, { text: '(', index: 0, weight: 0.22 }] },
          { start: 5, end: 5, lookedAtBy: [] },
          { start: 9, end: 12, lookedAtBy: [{ text: '[a](b)', index: 2, weight: 0.1 }] },
        ],
      },
      infillFailed: { code: 'cancelled', message: 'The fill was cancelled.', uri: URI, version: 3, modelId: 't5' },
    },
  };
}

const METHODS = { request: Object.keys(WEBVIEW_REQUEST_SCHEMAS), notification: Object.keys(WEBVIEW_NOTIFICATION_SCHEMAS) } as const;
const clone = <T>(v: T): T => structuredClone(v); // keeps typed arrays (a packed influence summary's links)

/** Every path inside a value, in the schema's notation (.key, [index], ["record key"] under filters). */
function paths(value: unknown, path = 'params', recordKeys = false): string[] {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return []; // a typed array is forged whole
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const p = Array.isArray(value) ? `${path}[${k}]` : recordKeys ? `${path}[${JSON.stringify(k)}]` : `${path}.${k}`;
    out.push(p, ...paths(v, p, k === 'filters'));
  }
  return out;
}

/** Steps from "params.a[0][\"b\"].c" to ["a", "0", "b", "c"]. */
function steps(path: string): string[] {
  return [...path.slice('params'.length).matchAll(/\.([^.[]+)|\[(\d+)\]|\["([^"]*)"\]/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** A value of another JSON type than `current` that the schema cannot accept there. */
function wrongValue(r: () => number, current: unknown): unknown {
  if (typeof current === 'string') return pick(r, [42, true, null, {}, [], ['x']]);
  if (typeof current === 'number') return pick(r, ['1', true, {}, [], NaN, Infinity, -Infinity]);
  if (typeof current === 'boolean') return pick(r, [1, 'true', null, {}, []]);
  if (Array.isArray(current)) return pick(r, ['x', 1, {}, true, null]);
  if (current === null) return pick(r, ['x', true, []]);
  return pick(r, ['x', 1, [], true]);
}

/** A forged copy of valid params: one field deleted or given a wrong type; returns it and the field's path. */
function forge(r: () => number, valid: unknown): { params: unknown; path: string } {
  const params = clone(valid);
  const fields = paths(params);
  if (fields.length === 0) return { params: pick(r, ['x', 1, null, [], true]), path: 'params' }; // params without fields: forged whole
  const path = pick(r, fields);
  const keys = steps(path);
  let parent = params as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) parent = parent[k] as Record<string, unknown>;
  const last = keys[keys.length - 1];
  if (!Array.isArray(parent) && r() < 0.25) {
    delete parent[last];
    if (path.endsWith(']')) return { params, path: path.slice(0, path.lastIndexOf('[')) }; // a record left empty
  } else {
    parent[last] = wrongValue(r, parent[last]);
  }
  return { params, path };
}

describe('protocol schemas: messages from a webview', () => {
  it('accepts valid params of every method and drops undeclared fields', () => {
    const { requests, notifications } = validParams();
    for (const [kind, samples] of [['request', requests], ['notification', notifications]] as const) {
      assert.deepStrictEqual(Object.keys(samples).sort(), [...METHODS[kind]].sort(), `a valid sample for every ${kind}`);
      for (const [method, params] of Object.entries(samples)) {
        const checked = checkWebviewMessage(kind, method, { ...params, injected: 'x'.repeat(100) });
        assert.ok(checked.ok, `${method}: ${checked.ok ? '' : checked.message}`);
        assert.deepStrictEqual(checked.params, params, `${method}: the checked copy`);
      }
    }
  });

  it('accepts the Fill panel\'s ready', () => {
    assert.deepStrictEqual(checkWebviewMessage('request', 'ready', { view: 'fill' }), { ok: true, params: { view: 'fill' } });
  });

  it('accepts 300 random valid influence summaries, packed, and gives back the same lists; and a NaN that JSON turned into null', () => {
    const r = rng(7);
    for (let i = 0; i < 300; i++) {
      const lists = unpackedSummary(r, 1 + Math.floor(r() * 40));
      const checked = checkWebviewMessage('notification', 'influence', packInfluence(lists));
      assert.ok(checked.ok, checked.ok ? '' : checked.message);
      assert.deepStrictEqual(unpackInfluence(checked.params as ReturnType<typeof packInfluence>), lists);
    }
    const done = clone(validParams().notifications.comparisonDone!) as unknown as { models: Array<{ bitsPerByte: unknown }> };
    done.models[0].bitsPerByte = null;
    const checked = checkWebviewMessage('notification', 'comparisonDone', done);
    assert.ok(checked.ok && Number.isNaN((checked.params as typeof done).models[0].bitsPerByte));
  });

  it('accepts negative weights only in a summary that declares itself signed, and keeps the flag', () => {
    const tokens = [
      { start: 0, end: 2, text: 'a', from: [], to: [{ index: 1, weight: -0.75 }] },
      { start: 2, end: 4, text: 'b', from: [{ index: 0, weight: -0.75 }], to: [] },
    ];
    const signed = packInfluence({ ...unpackedSummary(rng(4), 1), metric: 'attention', metricLabel: 'mean hidden attention over heads, layer 4 (signed)', signed: true, tokens });
    const checked = checkWebviewMessage('notification', 'influence', signed);
    assert.ok(checked.ok, checked.ok ? '' : checked.message);
    assert.deepStrictEqual(checked.params, signed, 'the checked copy keeps signed and the negative weights');
    assert.ok(!checkWebviewMessage('notification', 'influence', { ...signed, signed: undefined }).ok, 'without the flag the same weights are refused');
  });

  it('keeps a summary\'s on-demand metric, and checks the panel\'s influenceAt answers against the summary\'s tokens', () => {
    const withDemand = { ...summary(rng(9), 3), onDemand: { metric: 'rollout', metricLabel: 'attention rollout over all layers, computed for this token' } };
    const checked = checkWebviewMessage('notification', 'influence', withDemand);
    assert.ok(checked.ok, checked.ok ? '' : checked.message);
    assert.deepStrictEqual((checked.params as typeof withDemand).onDemand, withDemand.onDemand);
    assert.match((checkWebviewMessage('notification', 'influence', { ...withDemand, onDemand: { metric: 'exact', metricLabel: 'x' } }) as { message: string }).message, /params\.onDemand\.metric must be one of/);
    const answer = { start: 4, end: 6, text: 'b', from: [{ index: 0, weight: 0.5 }], to: [{ index: 2, weight: 0.25 }] };
    assert.deepStrictEqual(checkInfluenceAt({ ...answer, extra: 1 }, 3), { ok: true, value: answer });
    assert.deepStrictEqual(checkInfluenceAt(null, 3), { ok: true, value: null });
    assert.match((checkInfluenceAt(answer, 2) as { message: string }).message, /^"influenceAt": result\.to\[0\] must have a weight ≥ 0 and an index below 2, got 0\.25 at 2/);
    assert.match((checkInfluenceAt({ ...answer, from: [{ index: 0, weight: -0.5 }] }, 3) as { message: string }).message, /result\.from\[0\] must have a weight ≥ 0/);
    assert.match((checkInfluenceAt({ ...answer, from: 'all' }, 3) as { message: string }).message, /result\.from must be an array/);
  });

  it('rejects 1,500 seeded forgeries (wrong types, missing fields) naming the method and the field', () => {
    const r = rng(12);
    const { requests, notifications } = validParams();
    const all = [...Object.entries(requests).map(([m, p]) => ['request', m, p] as const), ...Object.entries(notifications).map(([m, p]) => ['notification', m, p] as const)];
    for (let i = 0; i < 1500; i++) {
      const [kind, method, valid] = pick(r, all);
      const { params, path } = forge(r, valid);
      const checked = checkWebviewMessage(kind, method, params);
      assert.ok(!checked.ok, `forgery ${i} of ${method} at ${path} passed: ${JSON.stringify(params).slice(0, 300)}`);
      assert.ok(checked.message.startsWith(`"${method}": `), checked.message);
      assert.ok(checked.message.includes(path), `forgery ${i}: "${checked.message}" should name ${path}`);
    }
  });

  const long = (n: number) => 'a'.repeat(n);
  const token = (start: number, end: number, from: unknown[] = []) => ({ start, end, text: 't', from, to: [] });
  const withTokens = (tokens: unknown[]) => packInfluence({ ...unpackedSummary(rng(2), 1), tokens } as InfluenceSummary);
  const forgeries: Array<[string, 'request' | 'notification', string, unknown, RegExp]> = [
    ['start after end', 'request', 'revealRange', { uri: URI, start: 9, end: 3 }, /params\.end/],
    ['negative offset', 'request', 'revealRange', { uri: URI, start: -1, end: 3 }, /params\.start/],
    ['fractional offset', 'request', 'revealRange', { uri: URI, start: 1.5, end: 3 }, /params\.start/],
    ['offset as a string', 'request', 'revealRange', { uri: URI, start: '0', end: 3 }, /params\.start/],
    ['URI with a newline', 'request', 'revealRange', { uri: 'file:///a\n/b', start: 0, end: 1 }, /params\.uri/],
    ['URI without a scheme', 'request', 'revealRange', { uri: '/etc/passwd', start: 0, end: 1 }, /params\.uri/],
    ['huge URI', 'request', 'revealRange', { uri: `file:///${long(MAX_URI_LENGTH)}`, start: 0, end: 1 }, /params\.uri/],
    ['name with ..', 'request', 'saveFile', { suggestedName: '../x.png', filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['name ..', 'request', 'saveFile', { suggestedName: '..', filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['name with a slash', 'request', 'saveFile', { suggestedName: 'a/b.png', filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['name with a backslash', 'request', 'saveFile', { suggestedName: 'a\\b.png', filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['absolute name', 'request', 'saveFile', { suggestedName: '/tmp/x.png', filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['drive name', 'request', 'saveFile', { suggestedName: 'C:x.png', filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['hidden name', 'request', 'saveFile', { suggestedName: '.bashrc', filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['device name', 'request', 'saveFile', { suggestedName: 'NUL.png', filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['long name', 'request', 'saveFile', { suggestedName: `${long(MAX_FILE_NAME_LENGTH)}.png`, filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['name not matching the filters', 'request', 'saveFile', { suggestedName: 'x.sh', filters: { PNG: ['png'] }, data: '', encoding: 'base64' }, /params\.suggestedName/],
    ['unknown encoding', 'request', 'saveFile', { suggestedName: 'x.png', filters: { PNG: ['png'] }, data: '', encoding: 'hex' }, /params\.encoding/],
    ['base64 that is not', 'request', 'saveFile', { suggestedName: 'x.png', filters: { PNG: ['png'] }, data: 'a$b=', encoding: 'base64' }, /params\.data/],
    ['data over the cap', 'request', 'saveFile', { suggestedName: 'x.png', filters: { PNG: ['png'] }, data: long(MAX_SAVE_BASE64_LENGTH + 4), encoding: 'base64' }, /params\.data/],
    ['no filters', 'request', 'saveFile', { suggestedName: 'x.png', filters: {}, data: '', encoding: 'base64' }, /params\.filters/],
    ['filter extension with a dot', 'request', 'saveFile', { suggestedName: 'x.png', filters: { PNG: ['.png'] }, data: '', encoding: 'base64' }, /params\.filters/],
    ['selection length not its text', 'request', 'openInPanel', { selection: { ...selection, length: 99 }, modelId: 'lstm' }, /params\.selection\.length/],
    ['model id with a slash', 'request', 'openInPanel', { selection, modelId: '../lstm' }, /params\.modelId/],
    ['maxTokens zero', 'request', 'panelRun', { uri: URI, version: 3, startOffset: 0, text: '', maxTokens: 0 }, /params\.maxTokens/],
    ['a file other than the model or its data', 'request', 'modelBytes', { modelId: 'lstm', file: 'tokenizer', start: 0, length: 10 }, /params\.file/],
    ['a path for a model id', 'request', 'modelBytes', { modelId: '../../etc', file: 'model', start: 0, length: 10 }, /params\.modelId/],
    ['a negative start', 'request', 'modelBytes', { modelId: 'lstm', file: 'model', start: -1, length: 10 }, /params\.start/],
    ['more than a request may read', 'request', 'modelBytes', { modelId: 'lstm', file: 'model', start: 0, length: MAX_MODEL_BYTES_PER_REQUEST + 1 }, /params\.length/],
    ['unknown view', 'request', 'ready', { view: 'editor' }, /params\.view/],
    ['index past the tokens', 'notification', 'influence', withTokens([token(0, 1, [{ index: 1, weight: 0.5 }])]), /params\.from\.index\[0\] \(token 0, link 0\) must be -1 or an index below the number of tokens \(1\), got 1/],
    ['negative index', 'notification', 'influence', withTokens([token(0, 1, [{ index: -2, weight: 0.5 }])]), /params\.from\.index\[0\]/],
    ['a link after the end of a list', 'notification', 'influence', withTokens([token(0, 1, [{ index: -1, weight: 0 }, { index: 0, weight: 0.5 }])]), /params\.from\.index\[1\] \(token 0, link 1\) must be -1 after the end/],
    ['NaN weight', 'notification', 'influence', withTokens([token(0, 1, [{ index: 0, weight: NaN }])]), /params\.from\.weight\[0\]/],
    ['infinite weight', 'notification', 'influence', withTokens([token(0, 1, [{ index: 0, weight: Infinity }])]), /params\.from\.weight\[0\]/],
    ['negative weight in a summary not signed', 'notification', 'influence', withTokens([token(0, 1, [{ index: 0, weight: -0.5 }])]), /params\.from\.weight\[0\]/],
    ['negative weight with signed: false', 'notification', 'influence', { ...withTokens([token(0, 1, [{ index: 0, weight: -0.5 }])]), signed: false }, /params\.from\.weight\[0\]/],
    ['links not tokens × linksPerToken', 'notification', 'influence', { ...withTokens([token(0, 1, [{ index: 0, weight: 0.5 }])]), linksPerToken: 2 }, /params\.from\.index must hold 2 values \(1 tokens × 2 links\), got 1/],
    ['links as plain arrays', 'notification', 'influence', { ...withTokens([token(0, 1, [{ index: 0, weight: 0.5 }])]), to: { index: [0], weight: [0.5] } }, /params\.to\.index must be an Int32Array, got an array of 1/],
    ['weights as float32', 'notification', 'influence', { ...withTokens([token(0, 1, [{ index: 0, weight: 0.5 }])]), to: { index: new Int32Array([0]), weight: new Float32Array([0.5]) } }, /params\.to\.weight must be a Float64Array, got Float32Array of 1/],
    ['signed that is not a boolean', 'notification', 'influence', { ...summary(rng(3), 2), signed: 'yes' }, /params\.signed/],
    ['signed summary with an infinite weight', 'notification', 'influence', { ...withTokens([token(0, 1, [{ index: 0, weight: -Infinity }])]), signed: true }, /weight/],
    ['token ending before it starts', 'notification', 'influence', withTokens([token(5, 1)]), /params\.tokens\[0\]\.end/],
    ['tokens out of order', 'notification', 'influence', withTokens([token(5, 8), token(2, 3)]), /params\.tokens\[1\]\.start/],
    ['too many links', 'notification', 'influence', withTokens([token(0, 1, Array.from({ length: MAX_LINKS_PER_TOKEN + 1 }, () => ({ index: 0, weight: 1 })))]), /params\.linksPerToken/],
    ['too many tokens', 'notification', 'influence', withTokens(Array.from({ length: MAX_TOKENS + 1 }, (_, i) => token(i, i))), /params\.tokens/],
    ['unknown metric', 'notification', 'influence', { ...summary(rng(3), 2), metric: 'saliency' }, /params\.metric/],
    ['model name over the cap', 'notification', 'influence', { ...summary(rng(3), 2), modelName: long(5000) }, /params\.modelName/],
    ['unknown error code', 'notification', 'error', { code: 'pwned', message: 'x', source: 's' }, /params\.code/],
    ['5 MB error message', 'notification', 'error', { code: 'internal', message: long(5_000_000), source: 's' }, /params\.message/],
    ['kept more than total', 'notification', 'analysisDone', { ...validParams().notifications.analysisDone, truncated: { totalTokens: 1, keptTokens: 2 } }, /keptTokens/],
    ['negative timing', 'notification', 'analysisDone', { ...validParams().notifications.analysisDone, timings: { loadMs: -1, tokenizeMs: 0, runMs: 0, analyseMs: 0, renderMs: 0 } }, /loadMs/],
    ['unknown backend', 'notification', 'backendReady', { backend: 'cuda', requested: 'auto', ortVersion: '1', initMs: 1 }, /params\.backend/],
    ['a binary the build does not ship', 'notification', 'binaryKept', { file: '../../etc/passwd', kept: true }, /params\.file/],
    ['kept as a string', 'notification', 'binaryKept', { file: 'ort-wasm-simd-threaded.wasm', kept: 'yes' }, /params\.kept/],
    ['failure with a forged code', 'notification', 'analysisFailed', { code: 'x'.repeat(10), message: 'm', uri: URI, version: 1, modelId: '' }, /params\.code/],
    ['fill view kind misspelt', 'request', 'ready', { view: 'Fill' }, /params\.view/],
    ['fill with a probability above 1', 'notification', 'infillDone', { ...validParams().notifications.infillDone, original: { text: 'a', tokens: [{ text: 'a', probability: 1.5, surprisal: 0 }], bitsPerToken: 0 } }, /params\.original\.tokens\[0\]\.probability/],
    ['fill with a negative surprisal', 'notification', 'infillDone', { ...validParams().notifications.infillDone, original: { text: 'a', tokens: [{ text: 'a', probability: 0.5, surprisal: -1 }], bitsPerToken: 0 } }, /params\.original\.tokens\[0\]\.surprisal/],
    ['fill written by a forged model id', 'notification', 'infillDone', { ...validParams().notifications.infillDone, modelId: '../t5' }, /params\.modelId/],
    ['fill with a negative token count', 'notification', 'infillDone', { ...validParams().notifications.infillDone, filling: { text: '', tokenCount: -1, matchesOriginal: false } }, /params\.filling\.tokenCount/],
    ['fill weights of a context token ending before it starts', 'notification', 'infillAttention', { ...validParams().notifications.infillAttention, context: [{ start: 4, end: 2, lookedAtBy: [] }] }, /params\.context\[0\]\.end/],
    ['fill weights of context tokens out of order', 'notification', 'infillAttention', { ...validParams().notifications.infillAttention, context: [{ start: 4, end: 6, lookedAtBy: [] }, { start: 5, end: 7, lookedAtBy: [] }] }, /params\.context\[1\]\.start/],
    ['fill weights with too many filled tokens per context token', 'notification', 'infillAttention', { ...validParams().notifications.infillAttention, context: [{ start: 0, end: 1, lookedAtBy: Array(9).fill({ text: 'a', index: 0, weight: 0.1 }) }] }, /params\.context\[0\]\.lookedAtBy/],
    ['fill weights with a NaN weight', 'notification', 'infillAttention', { ...validParams().notifications.infillAttention, context: [{ start: 0, end: 1, lookedAtBy: [{ text: 'a', index: 0, weight: NaN }] }] }, /weight/],
    ['fill weights with a filled token index past the limit', 'notification', 'infillAttention', { ...validParams().notifications.infillAttention, context: [{ start: 0, end: 1, lookedAtBy: [{ text: 'a', index: 5000, weight: 0.1 }] }] }, /index/],
    ['fill failure of a forged document', 'notification', 'infillFailed', { code: 'internal', message: 'm', uri: 'not a uri', version: 1, modelId: 't5' }, /params\.uri/],
    ['comparison with 65 models', 'notification', 'comparisonDone', { ...validParams().notifications.comparisonDone, models: Array(65).fill(validParams().notifications.comparisonDone!.models[0]) }, /params\.models/],
  ];
  for (const [name, kind, method, params, field] of forgeries) {
    it(`rejects ${method}: ${name}`, () => {
      const checked = checkWebviewMessage(kind, method, params);
      assert.ok(!checked.ok, `${name} passed`);
      assert.match(checked.message, new RegExp(`^"${method}": `));
      assert.match(checked.message, field);
      assert.ok(checked.message.length < 600 && !checked.message.includes('\n'), `one short line: ${checked.message.slice(0, 700)}`);
    });
  }

  it('rejects params that are not objects, and methods that are not in the protocol', () => {
    for (const method of [...METHODS.request, ...METHODS.notification]) {
      for (const params of [undefined, null, 0, 'x', [], [{}], true]) {
        const kind = (METHODS.request as readonly string[]).includes(method) ? 'request' : 'notification';
        const checked = checkWebviewMessage(kind, method, params);
        assert.ok(!checked.ok && checked.message.includes('params'), `${method} with ${JSON.stringify(params)}`);
      }
    }
    for (const method of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'showSelection', '']) {
      assert.ok(!checkWebviewMessage('request', method, {}).ok, method);
      assert.ok(!checkWebviewMessage('notification', method, {}).ok, method);
    }
  });

  it('answers every forged message through an Endpoint with "bad-request" before any handler runs', async () => {
    let deliver!: (m: unknown) => void;
    const posted: Envelope[] = [];
    const reported: ErrorPayload[] = [];
    const host = new Endpoint<Record<string, never>, Record<string, never>, WebviewRequests, WebviewNotifications>(
      { post: (m) => posted.push(m), listen: (h) => ((deliver = h), { dispose: () => undefined }) },
      { peer: 'webview', check: checkWebviewMessage, onError: (e) => reported.push(e) },
    );
    let handled = 0;
    // Handlers that would throw a TypeError on any malformed params, as the real ones would.
    host.onRequest('revealRange', (p) => void (handled += p.uri.length + p.start.toFixed().length));
    host.onRequest('saveFile', (p) => ((handled += p.suggestedName.length + p.data.length + Object.keys(p.filters).length), null));
    host.onRequest('openInPanel', (p) => void (handled += p.selection.text.length + p.selection.start.line));
    host.onRequest('panelRun', (p) => ((handled += p.text.length), null));
    host.onRequest('modelBytes', (p) => ((handled += p.modelId.length + p.file.length + p.start.toFixed().length), new Uint8Array(p.length)));
    host.onRequest('ready', (p) => ((handled += p.view.length), undefined as never));
    host.onRequest('likelyFirstModel', (p) => ((handled += Object.keys(p).length), null));
    for (const method of METHODS.notification) host.onNotification(method as keyof WebviewNotifications, (p: unknown) => void (handled += JSON.stringify(p).length));
    host.onNotification('influence', (s) => s.from.index.forEach((i) => (handled += i < 0 ? 0 : s.tokens[i].end)));

    const r = rng(99);
    const { requests, notifications } = validParams();
    const N = 600;
    for (let i = 0; i < N; i++) {
      const request = r() < 0.5;
      const [method, valid] = pick(r, Object.entries(request ? requests : notifications));
      const { params } = forge(r, valid);
      deliver(request ? { kind: 'request', id: i + 1, method, params } : { kind: 'notification', method, params });
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.strictEqual(handled, 0, 'no handler may run for a forged message');
    assert.strictEqual(reported.length, N, 'each forged message is reported once');
    assert.ok(reported.every((e) => e.code === 'bad-request' && !/TypeError|undefined/.test(e.message)), reported.find((e) => e.code !== 'bad-request')?.message);
    const answers = posted.filter((m) => m.kind === 'response');
    assert.ok(answers.length > N / 4);
    assert.ok(answers.every((m) => m.kind === 'response' && m.error?.code === 'bad-request' && m.error.stack === undefined));

    posted.length = 0;
    reported.length = 0;
    for (const [i, [method, params]] of Object.entries(requests).entries()) deliver({ kind: 'request', id: 10_000 + i, method, params });
    for (const [method, params] of Object.entries(notifications)) deliver({ kind: 'notification', method, params });
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.deepStrictEqual(reported, [], 'valid messages are not reported');
    assert.ok(handled > 0);
    assert.ok(posted.every((m) => m.kind === 'response' && !m.error));
    assert.ok(ERROR_CODES.includes('bad-request'));
  });
});
