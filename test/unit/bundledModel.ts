// Why: the tests of the bundled models (family tree, encoder and encoder–decoders) read the same three things
// of a model folder: its validated manifest, its ONNX bytes and the PyTorch reference export.py wrote; others
// need an analysis of a text by one of them, as the panel makes it.

import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { type Analysis, analyse } from '../../src/core/analyze';
import { ModelRunner, type OrtModule } from '../../src/core/engine';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';
import { LensTokenizer } from '../../src/core/tokenizer';

const root = path.join(__dirname, '../..');

/** A reference text: the ids of the whole text, and of each sequence where the model reads several. */
export interface ReferenceText {
  name: string;
  inputIds: number[];
  sequences?: Record<string, number[]>;
}

/** A bundled model's folder (media/models/<id>), manifest, ONNX bytes and PyTorch reference texts. */
export function loadBundled(id: string): { manifest: ModelManifest; bytes: Uint8Array; reference: { texts: ReferenceText[] }; dir: string } {
  const dir = path.join(root, 'media/models', id);
  const parsed = validateManifest(JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')));
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return {
    manifest: parsed.manifest,
    bytes: readFileSync(path.join(dir, parsed.manifest.model ?? 'model.onnx')),
    reference: JSON.parse(readFileSync(path.join(root, 'test/fixtures/reference', `${id}.json`), 'utf8')) as { texts: ReferenceText[] },
    dir,
  };
}

/** An analysis of `text` (its first `maxTokens` tokens) by a bundled model, run in onnxruntime-web's wasm backend. */
export async function analysedByBundled(id: string, text: string, maxTokens: number): Promise<Analysis> {
  const { manifest, bytes, dir } = loadBundled(id);
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(dir, manifest.tokenizer.file), 'utf8')));
  const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest, bytes, { executionProviders: ['wasm'] });
  try {
    return await analyse(tokenizer, runner, text, 0, { maxTokens });
  } finally {
    await runner.release();
  }
}
