// The model store on the extension host: finds the bundled models under media/models/<id>/ and those in
// the folders of attentionLens.modelFolders (a model folder, or a folder of them), checks each folder
// (src/modelFiles.ts: the manifest, the files' places, sizes and checksums, the graph and the tokenizer
// against the manifest), and describes the valid ones to the webviews by webview URI (model bytes never
// cross the message channel). Invalid models are reported, never silently skipped: the webviews list them
// with their reasons, and ModelProblemNotifier puts them in a VS Code warning. Folders that passed are
// remembered by fingerprint in the given Memento (the extension's globalState), else for this store's life.

import * as vscode from 'vscode';
import type { ModelManifest } from './core/manifest';
import type { InvalidModel, ModelDescriptor } from './core/protocol';
import type { Log } from './log';
import { type EntryInfo, type FolderAccess, type VerifiedFolders, checkModelFolder, realPathInside } from './modelFiles';
import { readModelFolders } from './settings';

export interface StoredModel {
  manifest: ModelManifest;
  folder: vscode.Uri;
  modelBytes: number;
}

/** What the bundled models folder holds: the valid models in menu order, and the invalid ones with why. */
export interface ModelCatalogue {
  models: StoredModel[];
  invalid: InvalidModel[];
}

const MODELS_FOLDER = 'media/models';
/** globalState key of the fingerprints of verified model folders. */
const VERIFIED_KEY = 'attentionLens.verifiedModelFolders';

export class ModelStore {
  private cache: Promise<ModelCatalogue> | undefined;
  private readonly verified: VerifiedFolders;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: Log,
    memento?: vscode.Memento,
  ) {
    this.verified = verifiedFolders(memento);
  }

  /** The bundled and added models, read and validated once (again after the added folders change). */
  list(): Promise<ModelCatalogue> {
    this.cache ??= this.scan();
    return this.cache;
  }

  /** Forgets what was read: the next list() scans again (the model folders setting changed). */
  refresh(): void {
    this.cache = undefined;
  }

  /** The added model folders, which webviews must be allowed to load from. */
  modelRoots(): vscode.Uri[] {
    return readModelFolders().map((f) => vscode.Uri.file(f));
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

  private async scan(): Promise<ModelCatalogue> {
    const root = vscode.Uri.joinPath(this.extensionUri, MODELS_FOLDER);
    const models: StoredModel[] = [];
    const invalid: InvalidModel[] = [];
    let entries: [string, vscode.FileType][] = [];
    try {
      entries = await vscode.workspace.fs.readDirectory(root);
    } catch (err) {
      invalid.push({ id: '', folder: MODELS_FOLDER, errors: [`${MODELS_FOLDER}: cannot read the bundled models folder (${message(err)})`] });
    }
    const candidates: Array<{ uri: vscode.Uri; name: string; folder: string }> = entries
      .filter(([, type]) => type === vscode.FileType.Directory)
      .map(([name]) => ({ uri: vscode.Uri.joinPath(root, name), name, folder: `${MODELS_FOLDER}/${name}` }));
    for (const added of this.modelRoots()) candidates.push(...(await this.addedModels(added, invalid)));
    // Folders are checked side by side (reading and hashing overlap); results are taken in folder order.
    const results = await Promise.all(candidates.map(({ uri, name, folder }) => this.check(uri, name, folder)));
    for (const [i, { name, folder }] of candidates.entries()) {
      const result = results[i];
      if ('errors' in result) invalid.push({ id: name, folder, errors: result.errors });
      else if (models.some((m) => m.manifest.id === result.manifest.id)) invalid.push({ id: name, folder, errors: [`${folder}/manifest.json: id: "${name}" is already the id of another model`] });
      else models.push(result);
    }
    for (const model of invalid) this.log.error(`Model ${model.folder} is unusable:\n  ${model.errors.join('\n  ')}`);
    // Menu order comes from the manifests' "order", then the id.
    const rank = (m: StoredModel) => m.manifest.order ?? Number.MAX_SAFE_INTEGER;
    models.sort((a, b) => rank(a) - rank(b) || a.manifest.id.localeCompare(b.manifest.id));
    this.log.info(`Models: ${models.map((m) => m.manifest.id).join(', ') || 'none'}`);
    return { models, invalid };
  }

  /** An added folder: a model folder itself (it has a manifest.json), or a folder of model folders. */
  private async addedModels(root: vscode.Uri, invalid: InvalidModel[]): Promise<Array<{ uri: vscode.Uri; name: string; folder: string }>> {
    const base = (uri: vscode.Uri) => uri.path.split('/').filter(Boolean).pop() ?? '';
    let entries: [string, vscode.FileType][];
    try {
      entries = await vscode.workspace.fs.readDirectory(root);
    } catch (err) {
      invalid.push({ id: '', folder: root.fsPath, errors: [`${root.fsPath}: cannot read this folder of attentionLens.modelFolders (${message(err)})`] });
      return [];
    }
    if (entries.some(([name, type]) => name === 'manifest.json' && type === vscode.FileType.File)) return [{ uri: root, name: base(root), folder: root.fsPath }];
    return entries
      .filter(([, type]) => type === vscode.FileType.Directory)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name]) => ({ uri: vscode.Uri.joinPath(root, name), name, folder: vscode.Uri.joinPath(root, name).fsPath }));
  }

  /** Reads and checks one model folder; every error names the file (and the field) it is about. */
  private async check(uri: vscode.Uri, name: string, folder: string): Promise<StoredModel | { errors: string[] }> {
    const started = Date.now();
    try {
      const result = await checkModelFolder(folderAccess(uri), name, folder, this.verified);
      if ('errors' in result) return result;
      this.log.info(`Model ${folder}: ${result.cached ? 'verified before, unchanged' : 'files verified'} (${Date.now() - started} ms)`);
      return { manifest: result.manifest, folder: uri, modelBytes: result.modelBytes };
    } catch (err) {
      return { errors: [`${folder}: cannot be read (${message(err)})`] };
    }
  }
}

/** vscode.workspace.fs as the checks' FolderAccess; links are resolved on a local disk only. */
function folderAccess(folder: vscode.Uri): FolderAccess {
  return {
    stat: async (relative: string): Promise<EntryInfo | undefined> => {
      const uri = vscode.Uri.joinPath(folder, relative);
      let stat: vscode.FileStat;
      try {
        stat = await vscode.workspace.fs.stat(uri);
      } catch {
        return undefined;
      }
      const kind = stat.type & vscode.FileType.Directory ? 'directory' : stat.type & vscode.FileType.File ? 'file' : 'other';
      let inside: boolean | undefined;
      try {
        inside = uri.scheme === 'file' ? await realPathInside(folder.fsPath, uri.fsPath) : undefined;
      } catch {
        return undefined; // a link to nothing
      }
      return { kind, symlink: (stat.type & vscode.FileType.SymbolicLink) !== 0, inside, size: stat.size, mtime: stat.mtime };
    },
    read: async (relative: string) => vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, relative)),
  };
}

/** Fingerprints of verified folders, kept in the Memento when there is one. */
function verifiedFolders(memento: vscode.Memento | undefined): VerifiedFolders {
  const local = new Map<string, string>();
  if (!memento) return { get: (folder) => local.get(folder), set: (folder, fingerprint) => void local.set(folder, fingerprint) };
  return {
    get: (folder) => memento.get<Record<string, string>>(VERIFIED_KEY)?.[folder],
    set: (folder, fingerprint) => {
      const all = { ...memento.get<Record<string, string>>(VERIFIED_KEY), [folder]: fingerprint };
      memento.update(VERIFIED_KEY, all).then(undefined, () => undefined); // only a cache: a failed write costs a re-check
    },
  };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const SHOW_DETAILS = 'Show details';
/** Errors a notification quotes per model; the log has them all. */
const QUOTED_ERRORS = 2;

/**
 * Puts invalid models in a VS Code warning that names each model's folder and its first errors, with a
 * "Show details" action that opens the log. A model named by a warning still open is not warned about
 * again until that warning is closed, so activation and the command it runs never stack the same warning.
 */
export class ModelProblemNotifier {
  /** Folders of the models named by warnings not yet closed. */
  private readonly inOpenWarning = new Set<string>();

  constructor(private readonly log: Log) {}

  /** Warns about these models (those not in an open warning); `consequence` says what it means for the user. */
  warn(invalid: readonly InvalidModel[], consequence: string): void {
    const fresh = invalid.filter((m) => !this.inOpenWarning.has(m.folder));
    if (fresh.length === 0) return;
    fresh.forEach((m) => this.inOpenWarning.add(m.folder));
    const which = fresh.length === 1 ? `the model in ${fresh[0].folder} is invalid` : `the models in ${fresh.map((m) => m.folder).join(', ')} are invalid`;
    const details = fresh.map((m) => {
      const more = m.errors.length - QUOTED_ERRORS;
      return `${m.errors.slice(0, QUOTED_ERRORS).join('; ')}${more > 0 ? ` (and ${more} more)` : ''}`;
    });
    void vscode.window.showWarningMessage(`Attention Lens: ${which}${consequence}. ${details.join(' · ')}`, SHOW_DETAILS).then((choice) => {
      fresh.forEach((m) => this.inOpenWarning.delete(m.folder));
      if (choice === SHOW_DETAILS) this.log.show();
    });
  }
}
