// Why: a run that reads only the logits goes through a copy of the graph that computes nothing else
// (onnxPrune.ts, logitsSession.ts); occlusion's numbers come from it, so it must give the model's own logits, on
// every bundled model (subgraphs included: the RNNs' and the state-space model's loops), and the runner must fall
// back to its own session, and release both, on every path.

import * as assert from 'assert';
import * as ort from 'onnxruntime-web';
import type { InferenceSession } from 'onnxruntime-web';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { LOGITS_SESSION_MAX_BYTES, LogitsOnlySession } from '../../src/core/logitsSession';
import { pruneToOutputs } from '../../src/core/onnxPrune';
import { type ModelMsg, schema } from '../../src/core/onnxProto';
import { loadBundled } from './bundledModel';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

const CAUSAL = ['transformer', 'window', 'linear', 'mamba', 'elman', 'gru', 'lstm'];
const WASM = { executionProviders: ['wasm'] };

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.strictEqual(a.length, b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
};

/** An onnxruntime module that counts sessions made and released, and refuses to make more than `allow`. */
function counting(allow = Infinity) {
  const made: InferenceSession[] = [];
  let released = 0;
  const module = {
    ...ort,
    InferenceSession: {
      create: async (bytes: Uint8Array, options: InferenceSession.SessionOptions) => {
        if (made.length >= allow) throw new Error('no more sessions here');
        const session = await ort.InferenceSession.create(bytes, options);
        made.push(session);
        const release = session.release.bind(session);
        Object.defineProperty(session, 'release', { value: async () => ((released += 1), release()) });
        return session;
      },
    },
  } as unknown as OrtModule;
  return { module, made, released: () => released };
}

describe('a copy of a graph that computes only the logits', () => {
  for (const id of CAUSAL) {
    it(`${id}: has the model's inputs, only the logits as output, fewer nodes, and gives the same logits`, async () => {
      const { manifest, bytes, reference } = loadBundled(id);
      const logits = manifest.outputs.find((o) => o.role === 'logits')!.name;
      const pruned = pruneToOutputs(bytes, [logits]);
      assert.ok(pruned.nodes[1] < pruned.nodes[0], `nodes ${pruned.nodes.join(' → ')}`);
      assert.deepStrictEqual(pruned.outputs, [manifest.outputs.length, 1]);
      const full = await ort.InferenceSession.create(bytes, WASM);
      const small = await ort.InferenceSession.create(pruned.bytes, WASM);
      try {
        assert.deepStrictEqual(small.outputNames, [logits]);
        assert.deepStrictEqual([...small.inputNames].sort(), [...full.inputNames].sort());
        const ids = reference.texts[0].inputIds;
        const feeds: Record<string, ort.Tensor> = {};
        for (const input of manifest.inputs) {
          const dims = input.axes.map((a) => (a.name === 'batch' ? 1 : a.name === 'position' ? ids.length : typeof a.size === 'number' ? a.size : 0));
          feeds[input.name] = input.role === 'input_ids' ? new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), dims) : new ort.Tensor('float32', new Float32Array(dims.reduce((n, d) => n * d, 1)), dims);
        }
        const [a, b] = [await full.run(feeds, [logits]), await small.run(feeds)];
        assert.ok(maxAbsDiff(a[logits].data as Float32Array, b[logits].data as Float32Array) <= 1e-6);
      } finally {
        await Promise.all([full.release(), small.release()]);
      }
    });
  }

  it('keeps every entry it does not drop byte for byte, and refuses an output the graph does not have or bytes that are not a model', () => {
    const { bytes } = loadBundled('elman');
    const all = pruneToOutputs(bytes, ['logits', 'hidden', 'h_n']);
    assert.deepStrictEqual(Buffer.compare(Buffer.from(all.bytes), Buffer.from(bytes)), 0, 'keeping every output changes nothing');
    assert.throws(() => pruneToOutputs(bytes, ['logits', 'attention']), /^LensError: The graph has no output "attention" to keep\.$/);
    assert.throws(() => pruneToOutputs(new TextEncoder().encode('{"not": "onnx"}'), ['logits']), /^LensError: The file is not an ONNX model \(/);
  });

  it('keeps what a subgraph reads from outside, also a value a branch returns as it is', () => {
    // y = If(c) then x (an outer value, returned by a branch without nodes) else Neg(a); x = Relu(a); z = Abs(a).
    const branch = (name: string, nodes: object[]) => ({ name, node: nodes, output: [{ name: name === 'then' ? 'x' : 'nx' }] });
    const model = {
      irVersion: 8,
      graph: {
        name: 'g',
        input: [{ name: 'a' }, { name: 'c' }],
        output: [{ name: 'y' }, { name: 'z' }],
        node: [
          { opType: 'Relu', input: ['a'], output: ['x'] },
          { opType: 'If', input: ['c'], output: ['y'], attribute: [{ name: 'then_branch', g: branch('then', []) }, { name: 'else_branch', g: branch('else', [{ opType: 'Neg', input: ['a'], output: ['nx'] }]) }] },
          { opType: 'Abs', input: ['a'], output: ['z'] },
        ],
      },
    };
    const { model: type } = schema();
    const pruned = pruneToOutputs(type.encode(type.fromObject(model)).finish(), ['y']);
    const kept = (type.decode(pruned.bytes) as unknown as ModelMsg).graph!;
    assert.deepStrictEqual(kept.node!.map((n) => n.opType), ['Relu', 'If']);
    assert.deepStrictEqual(kept.output!.map((o) => o.name), ['y']);
    assert.deepStrictEqual(pruned.nodes, [3, 2]);
  });
});

describe('runs that read only the logits', () => {
  it('go through the copy, made on the first such run, give the same occlusion logits, and are released with the model', async () => {
    const { manifest, bytes, reference } = loadBundled('linear');
    const { module, made, released } = counting();
    const runner = await ModelRunner.create(module, manifest, bytes, WASM);
    assert.strictEqual(made.length, 1, 'the copy waits for its first run');
    const ids = reference.texts[0].inputIds;
    const batch = [{ tokens: ids }, { tokens: ids.map((id, i) => (i === 3 ? 220 : id)) }];
    const viaCopy = await runner.runBatchLogits(batch);
    assert.strictEqual(made.length, 2);
    assert.deepStrictEqual(made[1].outputNames, ['logits']);
    const own = await runner.runBatch(batch);
    const ownLogits = own.flatMap((o) => [...o.logits.data]);
    assert.ok(maxAbsDiff(viaCopy.data, ownLogits) <= 1e-6);
    await runner.runBatchLogits(batch);
    assert.strictEqual(made.length, 2, 'made once');
    await runner.release();
    assert.strictEqual(released(), 2);
  });

  it("fall back to the model's own session when the copy cannot be made, and say why", async () => {
    const { manifest, bytes, reference } = loadBundled('mamba');
    const { module, made, released } = counting(1);
    const runner = await ModelRunner.create(module, manifest, bytes, WASM);
    const ids = reference.texts[0].inputIds;
    const logits = await runner.runBatchLogits([{ tokens: ids }]);
    assert.strictEqual(logits.dims.join(), `1,${ids.length},4096`);
    assert.strictEqual(runner.logitsOnlyRefused, 'no more sessions here');
    assert.strictEqual(made.length, 1);
    await runner.release();
    assert.strictEqual(released(), 1);
  });

  it('release a copy still being made, once it is', async () => {
    const { manifest, bytes, reference } = loadBundled('gru');
    const { module, made, released } = counting();
    const runner = await ModelRunner.create(module, manifest, bytes, WASM);
    const run = runner.runBatchLogits([{ tokens: reference.texts[0].inputIds }]).catch((err: unknown) => err);
    await runner.release();
    await run;
    assert.strictEqual(made.length, released(), `made ${made.length}, released ${released()}`);
  });

  it('are left to the model’s own session for a model over the size limit or with external data', () => {
    const { manifest } = loadBundled('transformer');
    const module = ort as unknown as OrtModule;
    assert.strictEqual(LogitsOnlySession.of(module, manifest, new Uint8Array(LOGITS_SESSION_MAX_BYTES + 1), WASM), undefined);
    assert.strictEqual(LogitsOnlySession.of(module, manifest, new Uint8Array(16), { ...WASM, externalData: [{ path: 'model.onnx_data', data: new Uint8Array(4) }] }), undefined);
    assert.ok(LogitsOnlySession.of(module, manifest, new Uint8Array(16), WASM));
  });
});
