// A kept tensor's feed (src/core/keptTensor.ts): the first `length` entries along one axis, repeated once per
// batch item along a batch axis inserted anywhere, checked element by element against the definition on
// random data, for a batch axis before, at and after the cut axis; impossible requests are refused with the
// numbers; the engine's local path (an onnxruntime module that cannot keep a tensor: onnxruntime-web in Node)
// feeds each cache input the bundled Transformer's cache prefix once per item, and refuses a feed of other dims.

import * as assert from 'assert';
import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { cacheSeeds } from '../../src/core/cacheChunks';
import type { OrtModule } from '../../src/core/engine';
import { KeptCaches, type KeptTensor, cachePrefixFeed, keepCaches, prefixCopies, prefixCopiesDims } from '../../src/core/keptTensor';
import { validateManifest } from '../../src/core/manifestValidator';
import { seededRandom } from '../../src/core/seededRandom';

/** out[..., b, ..., p, ...] = data[..., p, ...] for p < length: the definition, one index at a time. */
function byDefinition(data: Float32Array, dims: number[], axis: number, length: number, batchAxis: number, items: number): Float32Array {
  const outDims = dims.map((d, i) => (i === axis ? length : d));
  outDims.splice(batchAxis, 0, items);
  const total = outDims.reduce((a, b) => a * b, 1);
  const out = new Float32Array(total);
  for (let flat = 0; flat < total; flat++) {
    const index: number[] = [];
    let rest = flat;
    for (let i = outDims.length - 1; i >= 0; i--) {
      index.unshift(rest % outDims[i]);
      rest = Math.floor(rest / outDims[i]);
    }
    index.splice(batchAxis, 1); // the item does not matter
    let source = 0;
    for (let i = 0; i < dims.length; i++) source = source * dims[i] + index[i];
    out[flat] = data[source];
  }
  return out;
}

describe('kept tensors (keptTensor.ts)', () => {
  const random = seededRandom(7);
  const dims = [3, 2, 5, 4]; // layer, head, position, feature
  const data = Float32Array.from({ length: 120 }, () => random());

  it('feeds the prefix along any axis, copied along a batch axis before, at or after it', () => {
    for (let axis = 0; axis < dims.length; axis++) {
      for (let batchAxis = 0; batchAxis <= dims.length; batchAxis++) {
        for (const length of [0, 1, dims[axis]]) {
          for (const items of [1, 3]) {
            const got = prefixCopies(data, dims, { axis, length, batchAxis, items });
            assert.deepStrictEqual(got, byDefinition(data, dims, axis, length, batchAxis, items), `axis ${axis}, batch at ${batchAxis}, ${length} entries, ${items} items`);
          }
        }
      }
    }
    assert.deepStrictEqual(prefixCopiesDims([4, 2, 256, 32], { axis: 2, length: 100, batchAxis: 1, items: 8 }), [4, 8, 2, 100, 32]);
  });

  it('refuses a request that does not fit, saying what was asked of what', () => {
    assert.throws(() => prefixCopies(data, dims, { axis: 2, length: 6, batchAxis: 1, items: 2 }), /6 entries were asked of axis 2, which has 5/);
    assert.throws(() => prefixCopies(data, dims, { axis: 4, length: 1, batchAxis: 1, items: 2 }), /axis 4 is not one of the 4 axes of a tensor of \[3, 2, 5, 4\]/);
    assert.throws(() => prefixCopies(data, dims, { axis: 2, length: 1, batchAxis: 5, items: 2 }), /a batch axis cannot go at index 5/);
    assert.throws(() => prefixCopies(data, dims, { axis: 2, length: 1, batchAxis: 1, items: 0 }), /0 copies were asked/);
    assert.throws(() => prefixCopies(data.subarray(1), dims, { axis: 2, length: 1, batchAxis: 1, items: 1 }), /A kept tensor of \[3, 2, 5, 4\] has 119 values/);
  });

  it('keeps a real manifest\'s caches on this thread when the module cannot, and feeds each cache input its prefix once per item', async () => {
    const validated = validateManifest(JSON.parse(readFileSync(path.join(__dirname, '../../media/models/transformer/manifest.json'), 'utf8')));
    if (!validated.ok) throw new Error(validated.errors.join('\n'));
    const manifest = validated.manifest;
    const T = 7;
    const outputs = Object.fromEntries(
      manifest.outputs
        .filter((o) => o.role === 'cache')
        .map((o) => {
          const dims = o.axes.filter((a) => a.name !== 'batch').map((a) => (a.name === 'position' ? T : (a.size as number)));
          return [o.name, { dims, data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random()) }];
        }),
    );
    const caches = await keepCaches(ort as unknown as OrtModule, cacheSeeds(manifest)!, outputs);
    const k = 4;
    const items = 3;
    for (const input of manifest.inputs.filter((i) => i.role === 'empty_cache')) {
      const output = manifest.outputs.find((o) => o.role === 'cache' && o.state === input.state)!;
      const source = outputs[output.name];
      const dims = input.axes.map((a) => (a.name === 'batch' ? items : a.name === 'past' ? k : (a.size as number)));
      const feed = cachePrefixFeed(input, caches.after(k)[input.state!], items, dims);
      const axis = output.axes.filter((a) => a.name !== 'batch').findIndex((a) => a.name === 'position');
      assert.deepStrictEqual([...feed.dims], dims);
      assert.deepStrictEqual(feed.data, byDefinition(source.data, source.dims, axis, k, input.axes.findIndex((a) => a.name === 'batch'), items), input.name);
      assert.throws(() => cachePrefixFeed(input, caches.after(k)[input.state!], items, dims.map((d, i) => (i === 0 ? d + 1 : d))), /cannot give/);
    }
    await caches.release();
  });

  it('hands out prefixes until released, and releases each tensor once', async () => {
    const released: string[] = [];
    const tensor = (name: string): KeptTensor => ({ dims, feed: () => assert.fail('not fed here'), release: async () => void released.push(name) });
    const caches = new KeptCaches(new Map([['keys', tensor('keys')], ['values', tensor('values')]]));
    const after = caches.after(3);
    assert.deepStrictEqual(Object.keys(after), ['keys', 'values']);
    assert.strictEqual(after.keys.tokens, 3);
    await caches.release();
    await caches.release();
    assert.deepStrictEqual(released, ['keys', 'values']);
    assert.throws(() => caches.after(1), /released/);
  });
});
