// npm run bench: speed figures measured side by side in one run, printed as ratios (never asserted in
// tests). The webview's engine (onnxruntime-web, wasm, 1 thread, through the same ModelRunner) against
// onnxruntime-node (CPU, 1 thread) for the same model and tokens at several lengths, plus the cost of the
// derived views (surprisal, top-5, rollout) computed in core, one rollout row and column on demand against
// the full rollout (where it is still computed), and occlusion (whole perturbed copies; for the recurrent
// models also against reusing the unchanged prefix), then GPT-2-small-shaped models at up to 2,048 tokens
// (scale.ts; BENCH_SCALE_LENGTHS=0 skips them). In Node, onnxruntime-web runs
// ort-wasm-simd-threaded.wasm, the binary the webview's wasm backend runs (onnxruntime-web/wasm; the
// WebGPU build's larger asyncify binary serves only the WebGPU backend).

import { readFileSync, readdirSync } from 'fs';
import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import * as path from 'path';
import { layeredFromTensor, rollout, rowLogSumExp, surprisal, tensor, topPredictions } from '../../src/core/analysis';
import { ModelRunner, OrtModule } from '../../src/core/engine';
import { validateManifest } from '../../src/core/manifestValidator';
import { occlusion } from '../../src/core/occlusion';
import { type OcclusionRunner, prefixPlan, runnerOcclusion } from '../../src/core/occlusionPrefix';
import { looksAhead, modelStructure } from '../../src/core/modelStructure';
import { RolloutRows } from '../../src/core/rolloutRow';
import { seededRandom } from '../../src/core/seededRandom';
import { LensTokenizer } from '../../src/core/tokenizer';
import { scaleSection } from './scale';
import { median } from './stats';

const root = path.join(__dirname, '../..');
const LENGTHS = (process.env.BENCH_LENGTHS ?? '64,256,1024').split(',').map(Number);
const MODELS = (process.env.BENCH_MODELS ?? 'transformer,lstm,gru').split(',');
const ROLLOUT_LENGTHS = (process.env.BENCH_ROLLOUT_LENGTHS ?? '512,1024,2048').split(',').map(Number);
/** The full O(L·T³) rollout is timed up to this length only (the panel computes it up to 512). */
const FULL_ROLLOUT_MAX = 1024;

/** Median wall time of fn after warm-up runs; interleaving is done by the caller. */
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function main(): Promise<void> {
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.logLevel = 'error';
  const heldout = JSON.parse(readFileSync(path.join(root, 'test/fixtures/heldout-tokens.json'), 'utf8')) as { joinedIds: number[] };
  console.log(`Attention Lens benchmark — node ${process.version}, onnxruntime-web ${ortWeb.env.versions.web}, onnxruntime-node, 1 thread each; median ms`);
  console.log('model        T   web-wasm  node-cpu  web/node');
  for (const id of MODELS) {
    const folder = path.join(root, 'media/models', id);
    const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const bytes = readFileSync(path.join(folder, 'model.onnx'));
    const web = await ModelRunner.create(ortWeb as unknown as OrtModule, parsed.manifest, bytes, { executionProviders: ['wasm'] });
    const node = await ModelRunner.create(ortNode as unknown as OrtModule, parsed.manifest, bytes, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    } as never);
    for (const T of LENGTHS) {
      const ids = heldout.joinedIds.slice(1000, 1000 + T);
      const chunk = { chunkSize: T };
      const reps = T >= 1024 ? 5 : T >= 256 ? 9 : 21;
      for (let i = 0; i < 3; i++) {
        await web.run(ids, chunk);
        await node.run(ids, chunk);
      }
      const w: number[] = [];
      const n: number[] = [];
      for (let i = 0; i < reps; i++) {
        w.push(await time(() => web.run(ids, chunk)));
        n.push(await time(() => node.run(ids, chunk)));
      }
      const mw = median(w);
      const mn = median(n);
      console.log(`${id.padEnd(11)} ${String(T).padStart(4)} ${mw.toFixed(1).padStart(9)} ${mn.toFixed(1).padStart(9)} ${(mw / mn).toFixed(2).padStart(9)}`);
    }
    await web.release();
    await node.release();
  }

  // Derived views, computed in core (pure TypeScript) from the Transformer's outputs.
  const folder = path.join(root, 'media/models/transformer');
  const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const runner = await ModelRunner.create(ortWeb as unknown as OrtModule, parsed.manifest, readFileSync(path.join(folder, 'model.onnx')), { executionProviders: ['wasm'] });
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, 'tokenizer.json'), 'utf8')));
  console.log('\nderived views (transformer)     T  surprisal+top5  rollout');
  for (const T of LENGTHS) {
    const ids = heldout.joinedIds.slice(1000, 1000 + T);
    const out = await runner.run(ids);
    const logits = tensor(out.logits.dims, out.logits.data);
    // As analyse() does: one log-sum-exp per row, shared; median of 7 after 2 warm-up runs.
    const views = async () => {
      const lse = rowLogSumExp(logits);
      surprisal(logits, ids, lse);
      topPredictions(logits, 5, lse);
    };
    const samples: number[] = [];
    for (let i = 0; i < 9; i++) samples.push(await time(views));
    const s = median(samples.slice(2));
    const r = await time(async () => rollout(out.attention));
    console.log(`${''.padEnd(31)} ${String(T).padStart(4)} ${s.toFixed(1).padStart(15)} ${r.toFixed(1).padStart(8)}`);
  }
  // Rollout on demand: random token ids (seeded; rollout's cost depends on T only, not on the text). The
  // first row builds the per-layer factors; a hover's row and column are then timed at the last tokens
  // (the longest rows) and the first (the longest columns); the full rollout once, up to FULL_ROLLOUT_MAX.
  console.log('\nrollout on demand (transformer, random ids)   T  factors  row(T-1)  column(0)  full rollout  full/row');
  const random = seededRandom(2048);
  const vocab = parsed.manifest.dimensions.vocabSize ?? 4096;
  for (const T of ROLLOUT_LENGTHS) {
    const ids = Array.from({ length: T }, () => Math.floor(random() * vocab));
    const out = await runner.run(ids);
    const attention = layeredFromTensor(tensor(out.attention.dims, out.attention.data));
    const rows = new RolloutRows(attention, { mask: 'causal', normalised: true });
    const factors = await time(async () => rows.prepare());
    const rowMs: number[] = [];
    const columnMs: number[] = [];
    for (let i = 0; i < 7; i++) {
      rowMs.push(await time(async () => rows.row(T - 1 - i)));
      columnMs.push(await time(async () => rows.column(i)));
    }
    const row = median(rowMs);
    const full = T <= FULL_ROLLOUT_MAX ? await time(async () => rollout(attention, true)) : NaN;
    const fullText = Number.isNaN(full) ? 'not computed' : full.toFixed(1);
    const ratio = Number.isNaN(full) ? '—' : `${(full / row).toFixed(0)}×`;
    console.log(`${''.padEnd(45)} ${String(T).padStart(4)} ${factors.toFixed(1).padStart(8)} ${row.toFixed(1).padStart(9)} ${median(columnMs).toFixed(1).padStart(10)} ${fullText.padStart(13)} ${ratio.padStart(9)}`);
  }
  // Occlusion: T perturbed sequences per input, batched; one run each (it takes seconds).
  const OCCLUSION_LENGTHS = (process.env.BENCH_OCCLUSION ?? '256').split(',').map(Number);
  console.log('\nocclusion (web-wasm, batched)   T  ms total  ms/position');
  for (const id of MODELS) {
    const folder2 = path.join(root, 'media/models', id);
    const m = validateManifest(JSON.parse(readFileSync(path.join(folder2, 'manifest.json'), 'utf8')));
    if (!m.ok) throw new Error(m.errors.join('\n'));
    const r = await ModelRunner.create(ortWeb as unknown as OrtModule, m.manifest, readFileSync(path.join(folder2, 'model.onnx')), { executionProviders: ['wasm'] });
    for (const T of OCCLUSION_LENGTHS) {
      const ids = heldout.joinedIds.slice(1000, 1000 + T);
      const ms = await time(() => occlusion((batch) => r.runBatchLogits(batch), { tokens: ids }, { occluded: 'tokens', observed: 'tokens', causal: true, replacementId: tokenizer.encode(' ')[0] }));
      console.log(`${id.padEnd(31)} ${String(T).padStart(4)} ${ms.toFixed(0).padStart(9)} ${(ms / T).toFixed(1).padStart(12)}`);
    }
    await r.release();
  }

  await occlusionPrefixSection(heldout.joinedIds);

  const text = readFileSync(path.join(root, 'test/fixtures/workspace/sample.ts'), 'utf8').repeat(20);
  const tok = median(await Promise.all([0, 1, 2, 3, 4].map(() => time(async () => tokenizer.tokenize(text)))));
  console.log(`\ntokenize with exact ranges: ${text.length} characters in ${tok.toFixed(1)} ms`);
  await runner.release();
  if (process.env.BENCH_SCALE_LENGTHS !== '0') await scaleSection();
}

/**
 * Occlusion reusing the unchanged prefix (occlusionPrefix.ts) against whole re-runs (occlusion()), side by side
 * for every bundled causal one-sequence model whose roles allow it, at BENCH_OCCLUSION_PREFIX tokens (256), in
 * batches of the panel's 12 MB of logits: one run each on the same tokens after a warm-up of both, the tokens each
 * ran (base run included) and the largest difference between the two matrices. The other causal models only
 * re-run whole copies (named, not timed: the sections above time them).
 */
async function occlusionPrefixSection(joinedIds: number[]): Promise<void> {
  const T = Number(process.env.BENCH_OCCLUSION_PREFIX ?? 256);
  const maxBatchBytes = 12 * 2 ** 20;
  const wholeOnly: string[] = [];
  console.log('\nocclusion reusing the prefix (web-wasm)   T  full re-run ms  prefix reuse ms  full/prefix  tokens run (full, prefix)  max |diff| bits');
  for (const id of readdirSync(path.join(root, 'media/models')).sort()) {
    const folder = path.join(root, 'media/models', id);
    const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const manifest = parsed.manifest;
    const sequences = Object.keys(manifest.sequences);
    const causal = sequences.length === 1 && !looksAhead(modelStructure(manifest));
    if (!causal) continue;
    const target = { occluded: sequences[0], observed: sequences[0], causal };
    if (!prefixPlan(manifest, target)) {
      wholeOnly.push(id);
      continue;
    }
    const runner = await ModelRunner.create(ortWeb as unknown as OrtModule, manifest, readFileSync(path.join(folder, 'model.onnx')), { executionProviders: ['wasm'] });
    const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, 'tokenizer.json'), 'utf8')));
    const options = { ...target, replacementId: tokenizer.encode(' ')[0], maxBatchBytes };
    const input = { [sequences[0]]: joinedIds.slice(1000, 1000 + T) };
    // Warm-up: both paths once on a short text (compiles the KL loops and the run shapes' kernels).
    const short = { [sequences[0]]: joinedIds.slice(0, 16) };
    await occlusion((batch) => runner.runBatchLogits(batch), short, options);
    await runnerOcclusion(runner, short, options);
    const tokens = { full: 0, prefix: 0 };
    let counter: keyof typeof tokens = 'full';
    const counted: OcclusionRunner = {
      manifest,
      run: (ids, runOptions) => ((tokens[counter] += T), runner.run(ids, runOptions)),
      keepCaches: (outputs) => runner.keepCaches(outputs),
      runBatchLogits: (batch, state) => ((tokens[counter] += batch.length * Object.values(batch[0])[0].length), runner.runBatchLogits(batch, state)),
    };
    let full: Float32Array = new Float32Array();
    let reused: Float32Array = new Float32Array();
    const fullMs = await time(async () => (full = await occlusion((batch) => counted.runBatchLogits(batch), input, options)));
    counter = 'prefix';
    const prefixMs = await time(async () => (reused = await runnerOcclusion(counted, input, options)));
    let diff = 0;
    full.forEach((x, i) => (diff = Math.max(diff, Math.abs(x - reused[i]))));
    const cells = `${fullMs.toFixed(0).padStart(14)} ${prefixMs.toFixed(0).padStart(16)} ${`${(fullMs / prefixMs).toFixed(2)}×`.padStart(12)}`;
    console.log(`${id.padEnd(37)} ${String(T).padStart(4)} ${cells} ${`${tokens.full}, ${tokens.prefix}`.padStart(26)} ${diff.toExponential(1).padStart(16)}`);
    await runner.release();
  }
  if (wholeOnly.length) console.log(`(whole re-runs only, no state or cache input to start from: ${wholeOnly.join(', ')})`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
