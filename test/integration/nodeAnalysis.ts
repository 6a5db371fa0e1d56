// Runs a bundled model here, in the extension host's Node, with onnxruntime-web (wasm) through the same
// core code the webview uses, so integration tests can compare the webview's results with it.

import { readFileSync } from 'fs';
import * as ort from 'onnxruntime-web';
import * as path from 'path';
import { type Analysis, analyse } from '../../src/core/analyze';
import { ModelRunner, OrtModule } from '../../src/core/engine';
import { validateManifest } from '../../src/core/manifestValidator';
import { LensTokenizer } from '../../src/core/tokenizer';

/** Analyses text (starting at a document offset) with a bundled model, in Node. */
export async function analyseInNode(extensionPath: string, modelId: string, text: string, startOffset: number): Promise<Analysis> {
  const folder = path.join(extensionPath, 'media/models', modelId);
  const manifest = validateManifest(JSON.parse(readFileSync(path.join(folder, 'manifest.json'), 'utf8')));
  if (!manifest.ok) throw new Error(manifest.errors.join('\n'));
  const tokenizer = new LensTokenizer(JSON.parse(readFileSync(path.join(folder, manifest.manifest.tokenizer.file), 'utf8')));
  ort.env.wasm.numThreads = 1;
  const runner = await ModelRunner.create(ort as unknown as OrtModule, manifest.manifest, readFileSync(path.join(folder, 'model.onnx')), { executionProviders: ['wasm'] });
  try {
    return await analyse(tokenizer, runner, text, startOffset, { maxTokens: 100_000 });
  } finally {
    await runner.release();
  }
}
