// Manifest validator regression tests, driven by data (test/fixtures/manifest-cases.json: one entry per
// broken manifest with its exact expected errors), plus every bundled model's manifest must validate and its
// files must pass the checks the host runs before it offers a model (src/modelContents.ts).

import * as assert from 'assert';
import { existsSync, readFileSync, readdirSync } from 'fs';
import * as path from 'path';
import { validateManifest } from '../../src/core/manifestValidator';
import { readOnnxGraph } from '../../src/core/onnxGraph';
import { graphProblems, readTokenizerFile, vocabularyProblem, weightProblems } from '../../src/modelContents';

interface Edit {
  set?: string;
  delete?: string;
  value?: unknown;
}
interface Case {
  name: string;
  edits?: Edit[];
  replace?: unknown;
  errors: string[];
}

const root = path.join(__dirname, '../..');
const data = JSON.parse(readFileSync(path.join(root, 'test/fixtures/manifest-cases.json'), 'utf8')) as { base: unknown; cases: Case[] };

function applyEdit(target: unknown, edit: Edit): void {
  const keyPath = (edit.set ?? edit.delete)!.split('.');
  let node = target as Record<string, unknown>;
  for (const key of keyPath.slice(0, -1)) node = node[key] as Record<string, unknown>;
  const last = keyPath[keyPath.length - 1];
  if (edit.delete !== undefined) {
    if (Array.isArray(node)) node.splice(Number(last), 1);
    else delete node[last];
  } else {
    node[last] = edit.value;
  }
}

describe('manifest validator', () => {
  for (const c of data.cases) {
    it(c.name, () => {
      const manifest = c.replace !== undefined ? c.replace : structuredClone(data.base);
      for (const edit of c.edits ?? []) applyEdit(manifest, edit);
      const result = validateManifest(manifest);
      assert.deepStrictEqual(result.ok ? [] : result.errors, c.errors);
    });
  }

  const modelsDir = path.join(root, 'media/models');
  const bundled = existsSync(modelsDir) ? readdirSync(modelsDir) : [];
  it('has bundled models to check', () => {
    assert.deepStrictEqual([...bundled].sort(), ['bahdanau', 'elman', 'encoder', 'gru', 'linear', 'lstm', 'mamba', 't5', 'transformer', 'window']);
  });
  for (const id of bundled) {
    it(`accepts the bundled ${id} manifest, whose files exist`, () => {
      const manifest = JSON.parse(readFileSync(path.join(modelsDir, id, 'manifest.json'), 'utf8'));
      const result = validateManifest(manifest);
      assert.ok(result.ok, result.ok ? '' : result.errors.join('\n'));
      assert.strictEqual(result.manifest.id, id);
      assert.ok(existsSync(path.join(modelsDir, id, result.manifest.model ?? 'model.onnx')));
      assert.ok(existsSync(path.join(modelsDir, id, result.manifest.tokenizer.file)));
    });
    it(`finds the bundled ${id}'s files as its manifest declares them (the checks before a model is offered)`, () => {
      const manifest = validateManifest(JSON.parse(readFileSync(path.join(modelsDir, id, 'manifest.json'), 'utf8')));
      assert.ok(manifest.ok);
      const graph = readOnnxGraph(readFileSync(path.join(modelsDir, id, manifest.manifest.model ?? 'model.onnx')), { countNaN: true });
      const tokenizer = readTokenizerFile(readFileSync(path.join(modelsDir, id, manifest.manifest.tokenizer.file)), manifest.manifest.tokenizer.file);
      assert.ok('vocabSize' in tokenizer, JSON.stringify(tokenizer));
      const problems = [...graphProblems(manifest.manifest, graph), ...weightProblems(graph), ...[vocabularyProblem(manifest.manifest, graph, tokenizer.vocabSize)].filter((p) => p !== undefined)];
      assert.deepStrictEqual(problems, []);
    });
  }
});
