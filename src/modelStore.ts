// The model store on the extension host: finds the bundled models under media/models/<id>/, validates
// each manifest with the core validator, and describes the valid ones to the webviews by webview URI
// (model bytes never cross the message channel). Invalid models are reported, never silently skipped.

import * as vscode from 'vscode';
import type { ModelDescriptor } from './core/protocol';
import { ModelManifest, validateManifest } from './core/manifest';
import { log } from './log';

export interface StoredModel {
  manifest: ModelManifest;
  folder: vscode.Uri;
  modelBytes: number;
}

export interface ModelProblem {
  folder: string;
  errors: string[];
}

export class ModelStore {
  private cache: Promise<{ models: StoredModel[]; problems: ModelProblem[] }> | undefined;

  constructor(private readonly extensionUri: vscode.Uri) {}

  /** The bundled models, read and validated once. */
  list(): Promise<{ models: StoredModel[]; problems: ModelProblem[] }> {
    this.cache ??= this.scan();
    return this.cache;
  }

  async get(id: string): Promise<StoredModel | undefined> {
    return (await this.list()).models.find((m) => m.manifest.id === id);
  }

  /** Descriptors with URIs the given webview can load. */
  async describe(webview: vscode.Webview): Promise<ModelDescriptor[]> {
    const { models } = await this.list();
    return models.map((m) => ({
      manifest: m.manifest,
      modelUri: webview.asWebviewUri(vscode.Uri.joinPath(m.folder, m.manifest.model ?? 'model.onnx')).toString(),
      tokenizerUri: webview.asWebviewUri(vscode.Uri.joinPath(m.folder, m.manifest.tokenizer.file)).toString(),
      modelBytes: m.modelBytes,
    }));
  }

  private async scan(): Promise<{ models: StoredModel[]; problems: ModelProblem[] }> {
    const root = vscode.Uri.joinPath(this.extensionUri, 'media', 'models');
    const models: StoredModel[] = [];
    const problems: ModelProblem[] = [];
    let entries: [string, vscode.FileType][] = [];
    try {
      entries = await vscode.workspace.fs.readDirectory(root);
    } catch (err) {
      problems.push({ folder: 'media/models', errors: [`cannot read the bundled models folder: ${String(err)}`] });
    }
    for (const [name, type] of entries.sort(([a], [b]) => a.localeCompare(b))) {
      if (type !== vscode.FileType.Directory) continue;
      const folder = vscode.Uri.joinPath(root, name);
      const errors = await this.check(folder, name, models);
      if (errors.length) {
        problems.push({ folder: `media/models/${name}`, errors });
        log().error(`Model media/models/${name} is unusable:\n  ${errors.join('\n  ')}`);
      }
    }
    const order = ['transformer', 'lstm', 'gru'];
    models.sort((a, b) => (order.indexOf(a.manifest.id) + 1 || 99) - (order.indexOf(b.manifest.id) + 1 || 99));
    log().info(`Models: ${models.map((m) => m.manifest.id).join(', ') || 'none'}`);
    return { models, problems };
  }

  private async check(folder: vscode.Uri, name: string, into: StoredModel[]): Promise<string[]> {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, 'manifest.json'))));
    } catch (err) {
      return [`manifest.json: cannot be read as JSON (${err instanceof Error ? err.message : String(err)})`];
    }
    const result = validateManifest(json);
    if (!result.ok) return result.errors;
    const manifest = result.manifest;
    if (manifest.id !== name) return [`id: "${manifest.id}" does not match its folder name "${name}"`];
    try {
      const stat = await vscode.workspace.fs.stat(vscode.Uri.joinPath(folder, manifest.model ?? 'model.onnx'));
      await vscode.workspace.fs.stat(vscode.Uri.joinPath(folder, manifest.tokenizer.file));
      into.push({ manifest, folder, modelBytes: stat.size });
      return [];
    } catch (err) {
      return [`a file the manifest names is missing: ${err instanceof Error ? err.message : String(err)}`];
    }
  }
}
