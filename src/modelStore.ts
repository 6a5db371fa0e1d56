// The model store on the extension host: finds the models of four roots, each model knowing its origin:
// bundled (media/models/<id>/), installed (<global storage>/models/<id>/, written by the import and download
// commands), workspace (.attention-lens/models/<id>/ of each workspace folder, read only in a trusted
// workspace: a model is code-like input the workspace's author chose) and folder (attentionLens.modelFolders:
// a model folder, or a folder of them). It checks each folder (src/modelFiles.ts: the manifest, the files'
// places, sizes and checksums, the graph and the tokenizer against the manifest), and describes the valid
// ones to the webviews by webview URI (model bytes never cross the message channel). Invalid models are
// reported, never silently skipped: the webviews and the Models view list them with their reasons, and
// ModelProblemNotifier puts them in a VS Code warning. Folders that passed are remembered by fingerprint in
// the given Memento (the extension's globalState), else for this store's life. onDidChange fires whenever
// what list() answers may have changed (refresh(), the setting, trust granted, workspace folders or files).
// likelyFirst() names a new panel's first model before the checks end, from the manifests they have read.

import * as vscode from 'vscode';
import type { ModelManifest } from './core/manifest';
import type { InvalidModel, ModelDescriptor } from './core/protocol';
import { Disposable } from './dispose';
import type { Log } from './log';
import { type EntryInfo, type FolderAccess, type ManifestSeen, type VerifiedFolders, TurnQueue, checkModelFolder, nodeFolderAccess } from './modelFiles';
import { readModelFolders, readSettings } from './settings';
import { SeenManifests, descriptorOf, loadable } from './webviewModels';

/** Where a model comes from: the extension, the commands that install, the open workspace, or the setting. */
export type ModelOrigin = 'bundled' | 'installed' | 'workspace' | 'folder';

export interface StoredModel {
  manifest: ModelManifest;
  folder: vscode.Uri;
  modelBytes: number;
  origin: ModelOrigin;
  /** Its files' sizes and modification times when checked (ModelDescriptor.filesStamp). */
  filesStamp?: string;
  /** The size of its external-data file (manifest field externalData), as checked. */
  externalDataBytes?: number;
  /** The digests its manifest declares for its model and tokenizer files, which its check verified (ManifestSeen.sha256). */
  sha256?: { model?: string; tokenizer?: string };
}

/** An invalid model with where it is (for the Models view's actions). */
export interface InvalidFolder {
  model: InvalidModel;
  origin: ModelOrigin;
  /** Its folder; undefined when the problem is a root that cannot be read. */
  uri: vscode.Uri | undefined;
}

/** What the model roots hold: the valid models in menu order, and the invalid ones with why. */
export interface ModelCatalogue {
  models: StoredModel[];
  invalid: InvalidModel[];
  /** The same invalid models, with their origin and folder. */
  invalidFolders: InvalidFolder[];
  /** Models deliberately not read, and why (an untrusted workspace). */
  notices: string[];
}

const MODELS_FOLDER = 'media/models';
/** Inside a workspace folder: a folder of model folders. */
export const WORKSPACE_MODELS = '.attention-lens/models';
/** globalState key of the fingerprints of verified model folders. */
const VERIFIED_KEY = 'attentionLens.verifiedModelFolders';
/** Workspace model files change in bursts (a copy, a checkout): read them again once it settles. */
const WORKSPACE_CHANGE_SETTLE_MS = 300;

interface Candidate {
  uri: vscode.Uri;
  name: string;
  folder: string;
  origin: ModelOrigin;
}

export class ModelStore extends Disposable {
  private cache: Promise<ModelCatalogue> | undefined;
  /** The folders the current scan checks (its first step), which modelRoots shares. */
  private listing: ReturnType<ModelStore['candidates']> | undefined;
  /** The current scan's result, once it is over. */
  private checked: ModelCatalogue | undefined;
  /** What the current scan learns of each folder's manifest, by folder URI (likelyFirst). */
  private seen = new SeenManifests();
  private readonly verified: ReturnType<typeof verifiedFolders>;
  /** The checks' steps take turns with the extension host's other work (modelFiles.ts). */
  private readonly turns = new TurnQueue();
  private readonly changed = this.register(new vscode.EventEmitter<void>());
  /** Fires when the models may have changed; list() then reads them again. */
  readonly onDidChange = this.changed.event;
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  /** Where the install and download commands put models (<global storage>/models), when there is storage. */
  readonly installedRoot: vscode.Uri | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly log: Log,
    memento?: vscode.Memento,
    globalStorage?: vscode.Uri,
  ) {
    super();
    this.verified = verifiedFolders(memento);
    this.installedRoot = globalStorage && vscode.Uri.joinPath(globalStorage, 'models');
    const watcher = this.register(vscode.workspace.createFileSystemWatcher(`**/${WORKSPACE_MODELS.split('/')[0]}/**`));
    const settle = () => {
      if (!vscode.workspace.isTrusted || this.disposed) return;
      clearTimeout(this.settleTimer);
      this.settleTimer = setTimeout(() => this.refresh(), WORKSPACE_CHANGE_SETTLE_MS);
    };
    for (const disposable of [
      vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('attentionLens.modelFolders') && this.refresh()),
      vscode.workspace.onDidGrantWorkspaceTrust(() => this.refresh()),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.refresh()),
      watcher.onDidCreate(settle),
      watcher.onDidChange(settle),
      watcher.onDidDelete(settle),
      { dispose: () => clearTimeout(this.settleTimer) },
    ]) {
      this.register(disposable);
    }
  }

  /** The models of every root, read and validated once (again after each change). */
  list(): Promise<ModelCatalogue> {
    if (!this.cache) {
      const seen = (this.seen = new SeenManifests());
      this.listing = this.candidates();
      const cache = (this.cache = this.scan(this.listing, seen));
      void cache.then((catalogue) => this.cache === cache && (this.checked = catalogue), () => undefined); // a failed scan is list()'s caller's to report
    }
    return this.cache;
  }

  /** Forgets what was read (the next list() scans again) and tells the listeners. */
  refresh(): void {
    if (this.disposed) return;
    this.cache = undefined;
    this.checked = undefined;
    this.seen = new SeenManifests();
    this.listing = undefined;
    this.changed.fire();
  }

  /**
   * The folders webviews may load models from, besides media/: the installed models' folder (the extension's
   * own storage, where only verified copies are kept) and each model folder from the setting or the workspace
   * — never the folders that hold them, so nothing else there can be read.
   */
  async modelRoots(): Promise<vscode.Uri[]> {
    // Found by listing folders only, without reading or checking a model: the panel opens while list() checks
    // them (a first run hashes every file). A folder whose model turns out invalid is never described to a webview.
    // The listing is the one the current scan began with, at activation, before its checks took turns with the
    // extension host's other work: listed again then, behind those turns, it took 0.15–0.86 s of a first command.
    const { candidates } = await (this.listing ?? this.candidates());
    const own = candidates.filter((c) => c.origin === 'folder' || c.origin === 'workspace').map((c) => c.uri);
    return [...(this.installedRoot ? [this.installedRoot] : []), ...own];
  }

  /** The valid models a webview can load: bundled ones, and those inside its resource roots (describe, modelBytes). */
  async loadableBy(webview: vscode.Webview): Promise<StoredModel[]> {
    const { models } = await this.list();
    return models.filter((m) => loadable(webview, m));
  }

  /**
   * Descriptors with URIs the given webview can load: bundled models, and those inside its resource roots (a
   * webview opened before a model was added lists it once it is opened again).
   */
  async describe(webview: vscode.Webview): Promise<ModelDescriptor[]> {
    return (await this.loadableBy(webview)).map((m) => descriptorOf(webview, m));
  }

  /**
   * The model a panel opening now will most likely load first, without waiting for the checks: `id` (the
   * attentionLens.defaultModel setting) among the valid models once checked, else among the folders whose
   * manifest the running check has read; with no id, the first valid model once checked. The page may download
   * its files before the host answers `ready` (webview/modelFetcher.ts), but loads only a model `ready` lists.
   */
  async likelyFirst(webview: vscode.Webview, id: string | undefined): Promise<ModelDescriptor | undefined> {
    void this.list(); // starts a scan if none runs
    const { seen, checked, listing, cache } = this;
    // Settled by each folder's check; if the scan fails before a check starts, its end settles the wait.
    const seenOf = (folder: vscode.Uri) => Promise.race([seen.of(folder), Promise.resolve(cache).then(() => undefined, () => undefined)]);
    if (checked) {
      const models = checked.models.filter((m) => loadable(webview, m));
      const model = (id ? models.find((m) => m.manifest.id === id) : undefined) ?? models[0];
      return model && descriptorOf(webview, model);
    }
    // The check reads a folder's manifest first: waiting for that is waiting for a few reads, not the checksums.
    const candidate = id && listing ? (await listing).candidates.find((c) => c.name === id) : undefined;
    const model = candidate && (await seenOf(candidate.uri));
    return model && loadable(webview, model) ? descriptorOf(webview, model) : undefined;
  }

  /** Each workspace folder's .attention-lens/models, in a trusted workspace only. */
  private workspaceRoots(): vscode.Uri[] {
    if (!vscode.workspace.isTrusted) return [];
    return (vscode.workspace.workspaceFolders ?? []).map((f) => vscode.Uri.joinPath(f.uri, ...WORKSPACE_MODELS.split('/')));
  }

  private async scan(listing: ReturnType<ModelStore['candidates']>, seen: SeenManifests): Promise<ModelCatalogue> {
    const started = Date.now();
    const catalogue = await this.scanRoots(listing, seen);
    this.log.info(`Read and checked ${catalogue.models.length + catalogue.invalid.length} model folders in ${Date.now() - started} ms.`);
    return catalogue;
  }

  /** Every model folder of the four roots, by listing folders only; roots that cannot be read, and notices. */
  private async candidates(): Promise<{ candidates: Candidate[]; unreadable: InvalidFolder[]; notices: string[] }> {
    const root = vscode.Uri.joinPath(this.extensionUri, MODELS_FOLDER);
    const unreadableRoots: InvalidFolder[] = [];
    const notices: string[] = [];
    const unreadable = (origin: ModelOrigin, folder: string, error: string) => unreadableRoots.push({ model: { id: '', folder, errors: [error] }, origin, uri: undefined });
    // Every root is listed at once: one after another, each listing waited for its own turn of a busy extension host.
    const [entries, installed, workspace, added] = await Promise.all([
      vscode.workspace.fs.readDirectory(root).then(
        (found) => found,
        (err: unknown) => (unreadable('bundled', MODELS_FOLDER, `${MODELS_FOLDER}: cannot read the bundled models folder (${message(err)})`), []),
      ),
      this.installedRoot ? subfolders(this.installedRoot, 'installed') : [],
      Promise.all(this.workspaceRoots().map((workspaceRoot) => subfolders(workspaceRoot, 'workspace'))),
      Promise.all(readModelFolders().map((f) => vscode.Uri.file(f)).map(async (uri) => ({ uri, found: await this.addedModels(uri) }))),
    ]);
    const candidates: Candidate[] = entries
      .filter(([, type]) => type === vscode.FileType.Directory)
      .map(([name]) => ({ uri: vscode.Uri.joinPath(root, name), name, folder: `${MODELS_FOLDER}/${name}`, origin: 'bundled' }));
    candidates.push(...installed);
    if (!vscode.workspace.isTrusted && vscode.workspace.workspaceFolders?.length) {
      notices.push(`Models in ${WORKSPACE_MODELS} of this workspace are not read: the workspace is not trusted (Restricted Mode). Trust it to use them.`);
    }
    for (const found of workspace) candidates.push(...found);
    for (const { uri, found } of added) {
      if ('error' in found) unreadable('folder', uri.fsPath, found.error);
      else candidates.push(...found);
    }
    return { candidates, unreadable: unreadableRoots, notices };
  }

  private async scanRoots(listing: ReturnType<ModelStore['candidates']>, seen: SeenManifests): Promise<ModelCatalogue> {
    const models: StoredModel[] = [];
    const { candidates, unreadable, notices } = await listing;
    this.verified.begin(); // what other windows remembered since
    const invalidFolders: InvalidFolder[] = [...unreadable];
    // Folders are checked side by side (reading and hashing overlap); results are taken in folder order. The
    // default model's check starts first: its manifest's reads then queue before the other folders' files, and
    // a new panel learns its likely first model in milliseconds (likelyFirst).
    const preferred = readSettings().defaultModel;
    const checks = new Map<Candidate, ReturnType<ModelStore['check']>>();
    for (const c of [...candidates].sort((a, b) => Number(b.name === preferred) - Number(a.name === preferred))) {
      checks.set(c, this.check(c.uri, c.name, c.folder, (m) => seen.tell(c.uri, { ...m, folder: c.uri, origin: c.origin })).finally(() => seen.tell(c.uri, undefined)));
    }
    const results = await Promise.all(candidates.map((c) => checks.get(c)!));
    // A scan that a refresh replaced meanwhile leaves the fingerprints to the newer one.
    if (this.seen === seen) {
      this.verified.keepOnly(new Set(candidates.map((c) => c.folder))); // removed models leave no fingerprint behind
      this.verified.save();
    }
    for (const [i, { uri, name, folder, origin }] of candidates.entries()) {
      const result = results[i];
      const invalid = (errors: string[]) => invalidFolders.push({ model: { id: name, folder, errors }, origin, uri });
      if ('errors' in result) invalid(result.errors);
      else if (models.some((m) => m.manifest.id === result.manifest.id)) invalid([`${folder}/manifest.json: id: "${name}" is already the id of another model`]);
      else models.push({ ...result, origin });
    }
    for (const { model } of invalidFolders) this.log.error(`Model ${model.folder} is unusable:\n  ${model.errors.join('\n  ')}`);
    // Menu order comes from the manifests' "order", then the id.
    const rank = (m: StoredModel) => m.manifest.order ?? Number.MAX_SAFE_INTEGER;
    models.sort((a, b) => rank(a) - rank(b) || a.manifest.id.localeCompare(b.manifest.id));
    this.log.info(`Models: ${models.map((m) => `${m.manifest.id} (${m.origin})`).join(', ') || 'none'}`);
    return { models, invalid: invalidFolders.map((f) => f.model), invalidFolders, notices };
  }

  /** An added folder: a model folder itself (it has a manifest.json), or a folder of model folders. */
  private async addedModels(root: vscode.Uri): Promise<Candidate[] | { error: string }> {
    let entries: [string, vscode.FileType][];
    try {
      entries = await vscode.workspace.fs.readDirectory(root);
    } catch (err) {
      return { error: `${root.fsPath}: cannot read this folder of attentionLens.modelFolders (${message(err)})` };
    }
    if (entries.some(([name, type]) => name === 'manifest.json' && type === vscode.FileType.File)) {
      return [{ uri: root, name: root.path.split('/').filter(Boolean).pop() ?? '', folder: root.fsPath, origin: 'folder' }];
    }
    return folderEntries(root, entries, 'folder');
  }

  /** Reads and checks one model folder; every error names the file (and the field) it is about. */
  private async check(uri: vscode.Uri, name: string, folder: string, manifestRead: (seen: ManifestSeen) => void): Promise<Omit<StoredModel, 'origin'> | { errors: string[] }> {
    const started = Date.now();
    try {
      const result = await checkModelFolder({ ...folderAccess(uri), pause: () => this.turns.next(), manifestRead }, name, folder, this.verified);
      if ('errors' in result) return result;
      this.log.info(`Model ${folder}: ${result.cached ? 'verified before, unchanged' : 'files verified'} (${Date.now() - started} ms)`);
      const { cached: _, ...seen } = result;
      return { ...seen, folder: uri };
    } catch (err) {
      return { errors: [`${folder}: cannot be read (${message(err)})`] };
    }
  }
}

/** How a folder is named in messages: its path on disk, else its URI. */
export function shownPath(uri: vscode.Uri): string {
  return uri.scheme === 'file' ? uri.fsPath : uri.toString();
}

/**
 * The model folders in a root that may be missing (installed, workspace). Names starting with "." are
 * skipped: installs and downloads prepare their folders there under such names, then rename them into place.
 */
async function subfolders(root: vscode.Uri, origin: ModelOrigin): Promise<Candidate[]> {
  if (!(await vscode.workspace.fs.stat(root).then(() => true, () => false))) return []; // nothing installed, or no workspace models
  try {
    return folderEntries(root, await vscode.workspace.fs.readDirectory(root), origin);
  } catch {
    return [];
  }
}

function folderEntries(root: vscode.Uri, entries: [string, vscode.FileType][], origin: ModelOrigin): Candidate[] {
  return entries
    .filter(([name, type]) => type === vscode.FileType.Directory && !name.startsWith('.'))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name]) => ({ uri: vscode.Uri.joinPath(root, name), name, folder: shownPath(vscode.Uri.joinPath(root, name)), origin }));
}

/**
 * The checks' FolderAccess: node:fs on a local disk (links resolved; a large external-data file hashed as a
 * stream, not read whole), else vscode.workspace.fs, where links are not resolved.
 */
export function folderAccess(folder: vscode.Uri): FolderAccess {
  if (folder.scheme === 'file') return nodeFolderAccess(folder.fsPath);
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
      return { kind, symlink: (stat.type & vscode.FileType.SymbolicLink) !== 0, inside: undefined, size: stat.size, mtime: stat.mtime };
    },
    read: async (relative: string) => vscode.workspace.fs.readFile(vscode.Uri.joinPath(folder, relative)),
  };
}

/**
 * Fingerprints of verified folders, kept in the Memento when there is one: read when a scan begins and written
 * once when it ends (save). Written as each check passed (11 writes of one key within seconds), a reloaded
 * browser window found 2 and 6 of 11 folders remembered in two of four runs of the scale benchmark, and checked
 * the others again; written once, 11 of 11 in four runs. (globalState echoes each write back to the extension
 * host, and the echo of an older write can replace a newer value there.)
 */
function verifiedFolders(memento: vscode.Memento | undefined): Required<VerifiedFolders> & { begin(): void; save(): void } {
  const local = new Map<string, string>();
  return {
    begin: () => memento && Object.entries(memento.get<Record<string, string>>(VERIFIED_KEY) ?? {}).forEach(([f, fingerprint]) => local.set(f, fingerprint)),
    get: (folder) => local.get(folder),
    set: (folder, fingerprint) => void local.set(folder, fingerprint),
    keepOnly: (folders) => [...local.keys()].forEach((f) => folders.has(f) || local.delete(f)),
    // Only a cache: a failed write costs a re-check.
    save: () => memento && void memento.update(VERIFIED_KEY, Object.fromEntries(local)).then(undefined, () => undefined),
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
