// Why: issue 17's scale figures for GPT-2-small-shaped models (gpt2Model.ts: 12 × 12, 96 and 768 wide,
// random weights), in the webview's engine (onnxruntime-web, wasm, 1 thread, through the same ModelRunner):
// per length, the session's creation, the run, what the outputs and the analysis's working set take, the
// peak memory of the process (the wasm heap, which never shrinks, and the outputs' JavaScript copies, as in
// the webview's renderer), what the panel's memory check says, and a hover's rollout row. Each model and
// length runs in a child process of its own, so that every peak is that run's. Printed, never asserted.
// Run by npm run bench (scaleSection); BENCH_SCALE_LENGTHS (256,512,1024,2048) and BENCH_SCALE_MODELS
// (96-concat,96,96-half,96-past,768,768-past) choose what runs.

import { spawnSync } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import * as ortWeb from 'onnxruntime-web';
import * as path from 'path';
import { layeredFromLayers, layeredFromTensor } from '../../src/core/analysis';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import { validateManifest } from '../../src/core/manifestValidator';
import { formatBytes, heldBytes, memoryBudget, runMemory } from '../../src/core/memoryEstimate';
import { modelStructure } from '../../src/core/modelStructure';
import { RolloutRows } from '../../src/core/rolloutRow';
import { seededRandom } from '../../src/core/seededRandom';
import { type BenchModelSpec, benchModelId, benchSpec, writeBenchModel } from './gpt2Model';

const root = path.join(__dirname, '../..');
const OUT = path.join(root, '.bench/models');

interface ChildResult {
  createMs: number;
  runMs: number;
  outputBytes: number;
  workingSet: number;
  budget: number;
  maxRssBytes: number;
  factorsMs: number;
  rolloutRowMs: number;
  error?: string;
}

/** One model at one length, in this process: what the child prints as JSON. */
async function measure(folder: string, T: number, half: boolean): Promise<ChildResult> {
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.logLevel = 'error';
  const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  const manifest = parsed.manifest;
  const bytes = readFileSync(path.join(folder, 'model.onnx'));
  const memory = runMemory(manifest, T);
  const budget = memoryBudget(bytes.length);
  const t0 = performance.now();
  const runner = await ModelRunner.create(ortWeb as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
  const createMs = performance.now() - t0;
  const random = seededRandom(T);
  const ids = Array.from({ length: T }, () => Math.floor(random() * 4000));
  const t1 = performance.now();
  const out = await runner.run(ids);
  const runMs = performance.now() - t1;
  // What the outputs hold: attention kept as lower triangles (a run in chunks from a cache) counts as held.
  const outputBytes = heldBytes(out);
  const maxRssBytes = process.resourceUsage().maxRSS * 1024;
  if (half) {
    await runner.release();
    return { createMs, runMs, outputBytes, workingSet: NaN, budget, maxRssBytes, factorsMs: NaN, rolloutRowMs: NaN }; // float16 data: no views read it
  }
  const family = modelStructure(manifest).mixing[0];
  const matrices = family.perLayer ? layeredFromLayers(family.outputs.map((o) => out[o.name])) : layeredFromTensor(out[family.outputs[0].name]);
  const rows = new RolloutRows(matrices, { mask: 'causal', normalised: true });
  const t2 = performance.now();
  rows.prepare();
  const factorsMs = performance.now() - t2;
  const t3 = performance.now();
  rows.row(T - 1);
  const rolloutRowMs = performance.now() - t3;
  await runner.release();
  return {
    createMs, runMs, outputBytes, workingSet: memory.bytes, budget, maxRssBytes, factorsMs, rolloutRowMs,
  };
}

/** The bench models named by BENCH_SCALE_MODELS ("96-concat" = 96 wide, one attention tensor). */
function specs(): BenchModelSpec[] {
  return (process.env.BENCH_SCALE_MODELS ?? '96-concat,96,96-half,96-past,768,768-past').split(',').map(benchSpec);
}

export async function scaleSection(): Promise<void> {
  const lengths = (process.env.BENCH_SCALE_LENGTHS ?? '256,512,1024,2048').split(',').map(Number);
  console.log('\nscale: GPT-2-small-shaped models (12 × 12, random weights), web-wasm; each model and length in a fresh process');
  console.log('model                      file      T  create ms   run ms  outputs   working set (budget)   peak RSS  rollout: factors, row(T-1) ms');
  for (const spec of specs()) {
    const folder = path.join(OUT, benchModelId(spec));
    let fileBytes: number;
    if (existsSync(path.join(folder, 'manifest.json'))) fileBytes = readFileSync(path.join(folder, 'model.onnx')).length;
    else fileBytes = writeBenchModel(OUT, spec, root).bytes;
    for (const T of lengths) {
      const child = spawnSync(process.execPath, [...process.execArgv, __filename, '--child', folder, String(T), spec.half ? 'half' : 'float32'], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const last = child.stdout.trim().split('\n').pop() ?? '';
      let r: ChildResult;
      try {
        r = JSON.parse(last) as ChildResult;
        // What the child did not measure is NaN, which JSON carries as null.
        for (const key of ['workingSet', 'factorsMs', 'rolloutRowMs'] as const) r[key] ??= NaN;
      } catch {
        r = { error: (child.stderr || child.stdout || `exit ${child.status}`).trim().split('\n').slice(-3).join(' ').slice(0, 300) } as ChildResult;
      }
      const name = `${benchModelId(spec).padEnd(22)} ${formatBytes(fileBytes).padStart(8)} ${String(T).padStart(6)}`;
      if (r.error) {
        console.log(`${name}  failed: ${r.error}`);
        continue;
      }
      const ws = Number.isNaN(r.workingSet) ? '–' : `${formatBytes(r.workingSet)} (${formatBytes(r.budget)})${r.workingSet > r.budget ? ' over' : ''}`;
      console.log(
        `${name} ${r.createMs.toFixed(0).padStart(10)} ${r.runMs.toFixed(0).padStart(8)} ${formatBytes(r.outputBytes).padStart(8)} ${ws.padStart(24)} ${formatBytes(r.maxRssBytes).padStart(10)} ${Number.isNaN(r.factorsMs) ? '–'.padStart(8) : `${r.factorsMs.toFixed(0).padStart(8)}, ${r.rolloutRowMs.toFixed(1)}`}`,
      );
    }
  }
  console.log('(working set: the panel\'s estimate of an analysis; "over" means the panel offers a shorter window instead of running)');
}

if (process.argv[2] === '--child') {
  measure(process.argv[3], Number(process.argv[4]), process.argv[5] === 'half').then(
    (r) => console.log(JSON.stringify(r)),
    (err) => console.log(JSON.stringify({ error: err instanceof Error ? err.message : String(err) })),
  );
} else if (require.main === module) {
  scaleSection().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
