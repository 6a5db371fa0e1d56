// Why: the tests of the bundled models (family tree, encoder and encoder–decoders) read the same three things
// of a model folder: its validated manifest, its ONNX bytes and the PyTorch reference export.py wrote.

import { readFileSync } from 'fs';
import * as path from 'path';
import type { ModelManifest } from '../../src/core/manifest';
import { validateManifest } from '../../src/core/manifestValidator';

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
