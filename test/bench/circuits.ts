// npm run bench:circuits: the figures the bundled Transformer is held to, printed (never asserted in tests).
// 1. Head roles by the Heads view's own probe (src/core/headProbe.ts: 8 random blocks of 50 ordinary tokens,
//    each repeated): the best induction and previous-token score of every bundled model with attention.
// 2. Bits per byte of every bundled causal language model on code from outside the training corpus
//    (test/fixtures/outside-code, named in its README), next to `xz -9e` on the same files. Each file is scored
//    alone: a first window of 1,024 tokens, then windows that advance by 512 and score their last 512 tokens;
//    the first token costs log2(vocabulary) bits. The models run in onnxruntime-web (wasm, 1 thread), through
//    the same ModelRunner as the webview.

import { spawnSync } from 'child_process';
import { readFileSync, readdirSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { rowLogSumExp } from '../../src/core/analysis';
import { ModelRunner, OrtModule } from '../../src/core/engine';
import { probedFamilies } from '../../src/core/headProbe';
import type { HeadScores } from '../../src/core/headRoles';
import { axisIndex } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { modelStructure, predictsUnseenText } from '../../src/core/modelStructure';
import { LensTokenizer } from '../../src/core/tokenizer';
import { probeHeads } from '../../webview/probes';

const root = path.join(__dirname, '../..');
const OUTSIDE = path.join(root, 'test/fixtures/outside-code');
const WINDOW = 1024;
const STRIDE = 512;
const TARGETS = { induction: 0.4, previous: 0.6 };

function best(table: HeadScores[][], key: 'induction' | 'previous'): { value: number; layer: number; head: number } {
  let out = { value: -Infinity, layer: 0, head: 0 };
  table.forEach((row, layer) => row.forEach((s, head) => (s[key] > out.value ? (out = { value: s[key], layer, head }) : 0)));
  return out;
}

/** Bits to encode the ids with the model, scored as described in the header. */
async function fileBits(runner: ModelRunner, logitsName: string, ids: number[], vocab: number): Promise<number> {
  let bits = Math.log2(vocab);
  let scoredTo = 1;
  for (let start = 0; ; start += STRIDE) {
    const window = ids.slice(start, start + WINDOW);
    const logits = (await runner.run(window))[logitsName];
    const lse = rowLogSumExp(logits);
    for (let i = Math.max(scoredTo, start + 1); i < start + window.length; i++) {
      const row = i - 1 - start;
      bits -= (logits.data[row * vocab + ids[i]] - lse[row]) / Math.LN2;
    }
    scoredTo = start + window.length;
    if (start + WINDOW >= ids.length) return bits;
  }
}

function xzBits(bytes: Buffer): number | undefined {
  const r = spawnSync('xz', ['-9e', '-c'], { input: bytes, maxBuffer: 1 << 26 });
  return r.status === 0 ? r.stdout.length * 8 : undefined;
}

async function main(): Promise<void> {
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  const ids = readdirSync(path.join(root, 'media/models')).sort();
  const files = readdirSync(OUTSIDE).filter((f) => f !== 'README.md').sort();
  const bytes = files.map((f) => readFileSync(path.join(OUTSIDE, f)));
  const xz = bytes.map(xzBits);
  const total = bytes.reduce((n, b) => n + b.length, 0);
  console.log(`Attention Lens circuits benchmark — onnxruntime-web ${ort.env.versions.web}, wasm, 1 thread`);
  console.log('\nHead roles (the Heads view\'s probe: 8 × 50 random ordinary tokens, each block repeated)');
  console.log('model        family                     best induction          best previous-token');
  const bpbRows: string[] = [];
  for (const id of ids) {
    const folder = path.join(root, 'media/models', id);
    const parsed = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    const manifest = parsed.manifest;
    const structure = modelStructure(manifest);
    const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, manifest.tokenizer.file), 'utf8')));
    const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, readFileSync(path.join(folder, manifest.model ?? 'model.onnx')), { executionProviders: ['wasm'] });
    try {
      const logits = structure.logits!;
      const vocab = logits.axes[axisIndex(logits, 'vocab')].size as number;
      if (probedFamilies(structure).length) {
        // The Heads view's own probe run (prefixes of sequences such as a decoder's start token included).
        const probe = await probeHeads(runner, tokenizer, new AbortController().signal, () => undefined);
        for (const [key, table] of Object.entries(probe.families)) {
          const ind = best(table, 'induction');
          const prev = best(table, 'previous');
          const verdict = (v: number, target: number) => (id === 'transformer' ? (v >= target ? ` (≥ ${target}: met)` : ` (≥ ${target}: not met)`) : '');
          console.log(
            `${id.padEnd(12)} ${key.padEnd(26)} ${ind.value.toFixed(3)} L${ind.layer + 1}H${ind.head + 1}${verdict(ind.value, TARGETS.induction).padEnd(16)} ${prev.value.toFixed(3)} L${prev.layer + 1}H${prev.head + 1}${verdict(prev.value, TARGETS.previous)}`,
          );
        }
      }
      // Bits per byte of a text: the causal language models, which read the text as their one sequence.
      if (!predictsUnseenText(structure)) continue;
      let bits = 0;
      const perFile: string[] = [];
      for (let f = 0; f < files.length; f++) {
        const b = await fileBits(runner, logits.name, tokenizer.encode(bytes[f].toString('utf8')), vocab);
        bits += b;
        perFile.push((b / bytes[f].length).toFixed(3));
      }
      bpbRows.push(`${id.padEnd(12)} ${(bits / total).toFixed(3).padStart(6)}   ${perFile.join('  ')}`);
    } finally {
      await runner.release();
    }
  }
  console.log(`\nBits per byte on ${files.length} files from outside the corpus (${total.toLocaleString('en')} bytes; test/fixtures/outside-code/README.md)`);
  console.log(`model         all     ${files.join('  ')}`);
  for (const row of bpbRows) console.log(row);
  if (xz.every((x) => x !== undefined)) {
    const xzAll = xz.reduce<number>((n, x) => n + x!, 0) / total;
    console.log(`${'xz -9e'.padEnd(12)} ${xzAll.toFixed(3).padStart(6)}   ${xz.map((x, f) => (x! / bytes[f].length).toFixed(3)).join('  ')}`);
    const transformer = bpbRows.find((r) => r.startsWith('transformer '));
    if (transformer) {
      const v = Number(transformer.split(/\s+/)[1]);
      console.log(`\nThe Transformer ${v < xzAll ? 'beats' : 'does not beat'} xz -9e: ${v.toFixed(3)} vs ${xzAll.toFixed(3)} bits/byte.`);
    }
  } else {
    console.log('xz is not installed: no comparison (install xz-utils).');
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
