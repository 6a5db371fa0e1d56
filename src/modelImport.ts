// Why: people bring their own models, most often a Hugging Face export with no manifest, and a model folder
// is untrusted input. These commands put a model in the extension's global storage, <storage>/models/<id>/,
// and take it out again, never leaving half a model there:
// - "Add model from folder…" reads a folder (a Uri argument, or a folder picker), derives a manifest from
//   config.json and the ONNX graph when there is none (modelContents.ts deriveExport), shows what was
//   recognised and what was not before anything is written, copies the contents of only the files the
//   manifest names (and config.json; links followed to regular files, so a Hugging Face hub snapshot, whose
//   files link to ../../blobs, can be added; the source is never modified) into a hidden temporary folder,
//   runs the checks the store runs (modelFiles.ts checkModelFolder) and only then renames it into place;
// - "Download model…" runs modelDownload.ts in a cancellable withProgress, the Models view showing it, and
//   asks before installing files no sha256 covers; a .zip of a Hugging Face export (no manifest.json) is
//   unpacked there and handed back here, to be planned, confirmed and installed as a folder is;
// - "Remove" (installed models only, after a modal confirmation) renames the folder away, then deletes it.
// One id (or URL) is never installed or downloaded twice at once in a window (`inProgress`). Every failure
// is shown in the UI with the file, the field, what was expected and what was found.

import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { LensError } from './core/errors';
import type { ModelManifest } from './core/manifest';
import { validateManifest } from './core/manifestValidator';
import { Disposable } from './dispose';
import type { Log } from './log';
import { readModelCatalogue } from './settings';
import { DEFAULT_STALL_TIMEOUT_MS, downloadModel } from './modelDownload';
import { deriveExport, idFrom, installedFiles } from './modelContents';
import { checkModelFolder, copyRegularFile, removeStaleDownloads } from './modelFiles';
import { type ModelStore, folderAccess, shownPath } from './modelStore';
import { type ModelsView, formatBytes, node, structureText } from './modelsView';

/** Options a script passes as the commands' second argument. */
export interface ImportOptions {
  /** false: install, remove, or download files no sha256 covers, without the modal questions. */
  confirm?: boolean;
  /** Install under this id instead of the manifest's (or the folder's name). */
  id?: string;
  /** Download: the sha256 of what the URL serves (the manifest, or the .zip). */
  sha256?: string;
}

/** What the install, download and remove commands resolve with. */
export type ImportResult = { installed: { id: string; folder: string } } | { removed: string } | { errors: string[] } | { cancelled: true };

/** What an install would do, shown to the user before it happens. */
interface ImportPlan {
  source: vscode.Uri;
  shown: string;
  json: Record<string, unknown>;
  /** The model file to write instead of copying it: a copy of a plain export with its attention exposed. */
  modelBytes?: Uint8Array;
  /** The folder's own manifest.json, copied byte for byte unless the id changes. */
  original?: Uint8Array;
  manifest: ModelManifest;
  /** Files to copy, relative to the source folder, each with what names it ("named by …, field model"). */
  files: Array<[name: string, by: string]>;
  derived: boolean;
  move?: boolean; // the files are a download's unpacked archive, deleted afterwards: moved, not copied
  recognised: Array<{ name: string; as: string }>;
  unrecognised: Array<{ name: string; why: string }>;
  notes: string[];
}

/** A download's unpacked Hugging Face export: how to name it, the id its archive gives, the download's cancel. */
interface Unpacked { shown: string; id: string; signal?: AbortSignal }

const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** An install's copy, a removal's folder on its way out (downloads' folders: modelFiles.ts removeStaleDownloads). */
const TEMPORARY = /^\.(install|remove)-/;
/** A temporary folder untouched this long was left by a window that closed mid-install. */
const STALE_MS = 24 * 3600_000;
/** Lines of each list the confirmation shows; the log has them all. */
const LISTED = 24;

const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));
const failure = (errors: string[]) => Object.assign(new LensError('model-invalid', errors.join('\n')), { errors });

export class ModelImporter extends Disposable {
  /** What is being installed or downloaded in this window, by "id <id>" and "url <address>" (see DownloadOptions). */
  private readonly inProgress = new Map<string, string>();

  constructor(
    private readonly store: ModelStore,
    private readonly view: ModelsView,
    private readonly log: Log,
  ) {
    super();
    const command = (id: string, run: (arg: unknown, options: ImportOptions) => Promise<ImportResult | undefined>) =>
      this.register(vscode.commands.registerCommand(id, (arg: unknown, options: unknown) => run(arg, readOptions(options))));
    command('attentionLens.addModelFromFolder', (arg, options) => this.addFromFolder(arg, options));
    command('attentionLens.downloadModel', (arg, options) => this.download(arg, options));
    command('attentionLens.removeModel', (arg, options) => this.remove(arg, options));
    void this.removeStaleTemporaries();
  }

  /** "Add model from folder…": plan, confirm, copy, check, rename into place. */
  async addFromFolder(arg: unknown, options: ImportOptions): Promise<ImportResult | undefined> {
    const source = arg instanceof vscode.Uri ? arg : (await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Add model', title: 'Attention Lens: a folder with an ONNX model and tokenizer.json' }))?.[0];
    if (!source) return undefined;
    try {
      const done = await this.installFolder(source, options);
      if (!done) return { cancelled: true };
      this.store.refresh();
      void vscode.window.showInformationMessage(`Attention Lens: installed the model "${done.manifest.displayName}" (${done.manifest.id}); it is in the Models view.`);
      return { installed: { id: done.manifest.id, folder: shownPath(done.folder) } };
    } catch (err) {
      return this.failed(`${shownPath(source)} was not installed`, err);
    }
  }

  /**
   * Plans, confirms (unless { confirm: false }) and installs the folder `source`; undefined when the user
   * declines. `from`: a download's unpacked export, with its address, id, cancel, and files that may be moved.
   */
  private async installFolder(source: vscode.Uri, options: ImportOptions, from?: Unpacked): Promise<{ manifest: ModelManifest; folder: vscode.Uri } | undefined> {
    const plan = await this.plan(source, options.id, from);
    const taken = await this.owner(plan.manifest.id);
    if (taken && (options.confirm === false || options.id)) throw failure([`${plan.shown}: id "${plan.manifest.id}" is already the id of the ${taken}: remove that one first, or install this one under another id`]);
    if (taken || options.confirm !== false) {
      const id = await this.confirm(plan, taken);
      if (!id) return undefined;
      if (id !== plan.manifest.id) Object.assign(plan, { json: { ...plan.json, id }, manifest: { ...plan.manifest, id }, original: undefined });
    }
    if (from?.signal?.aborted) throw new LensError('cancelled', `the install of ${plan.shown} was cancelled; nothing was installed`);
    const key = `id ${plan.manifest.id}`;
    const held = this.inProgress.get(key);
    if (held) throw failure([`${plan.shown}: a model with id "${plan.manifest.id}" is already being ${held} in this window; wait for it to finish`]);
    this.inProgress.set(key, `installed from ${plan.shown}`);
    const folder = await this.install(plan).finally(() => this.inProgress.delete(key));
    return { manifest: plan.manifest, folder };
  }

  /** Reads the folder and its manifest, or derives one from a Hugging Face export. Writes nothing. */
  private async plan(source: vscode.Uri, id: string | undefined, from?: Unpacked): Promise<ImportPlan> {
    const shown = from?.shown ?? shownPath(source);
    let entries: [string, vscode.FileType][];
    try {
      entries = await vscode.workspace.fs.readDirectory(source);
    } catch (err) {
      throw failure([`${shown}: expected a folder holding a model, found one that cannot be read (${messageOf(err)})`]);
    }
    const files = entries.filter(([, type]) => type & vscode.FileType.File).map(([name]) => name);
    const read = async (name: string) => vscode.workspace.fs.readFile(vscode.Uri.joinPath(source, name));
    const parse = async (name: string, what: string, bytes?: Uint8Array) => {
      try {
        return JSON.parse(new TextDecoder().decode(bytes ?? (await read(name)))) as unknown;
      } catch (err) {
        throw failure([`${shown}/${name}: expected ${what} (JSON), found text that does not parse (${messageOf(err)})`]);
      }
    };
    if (id !== undefined && !ID_PATTERN.test(id)) throw failure([`id option: expected lowercase letters, digits, ".", "_" or "-" (1-64 characters), found ${JSON.stringify(id)}`]);
    let plan: Omit<ImportPlan, 'files'>;
    if (files.includes('manifest.json')) {
      const original = await read('manifest.json');
      const json = await parse('manifest.json', "Attention Lens's manifest", original);
      const result = validateManifest(id === undefined || typeof json !== 'object' || json === null ? json : { ...json, id });
      if (!result.ok) throw failure(result.errors.map((e) => `${shown}/manifest.json: ${e}`));
      const recognised = [...result.manifest.inputs, ...result.manifest.outputs].map((t) => ({ name: t.name, as: `${t.role}${'layer' in t && t.layer !== undefined ? ` (layer ${t.layer})` : ''}` }));
      plan = { source, shown, json: { ...(json as Record<string, unknown>), id: result.manifest.id }, original: id === undefined ? original : undefined, manifest: result.manifest, derived: false, recognised, unrecognised: [], notes: [] };
    } else if (files.includes('config.json')) {
      const exportId = id ?? from?.id ?? idFrom(source.path.split('/').filter(Boolean).pop() ?? '');
      const { derived, modelBytes } = await deriveExport({ shown, id: exportId, files, read, parse });
      const { manifest, recognised, unrecognised, notes } = derived;
      plan = { source, shown, json: manifest as unknown as Record<string, unknown>, manifest, modelBytes, derived: true, recognised, unrecognised, notes };
    } else {
      throw failure([`${shown}: expected a model folder: manifest.json with the files it names, or a Hugging Face export (config.json, an .onnx file, tokenizer.json); found ${files.length ? files.slice(0, LISTED).join(', ') : 'no files'}`]);
    }
    const where = plan.derived ? `the derived manifest of ${shown}` : `${shown}/manifest.json`;
    const { files: copied, problems } = await installedFiles(plan.json, plan.manifest, files.includes('config.json'), folderAccess(source), shown, where);
    if (problems.length) throw failure(problems);
    return { ...plan, files: copied, move: from !== undefined };
  }

  /** Who holds an id already ("installed model in …"), or undefined when it is free. */
  private async owner(id: string): Promise<string | undefined> {
    const { models, invalidFolders } = await this.store.list();
    const model = models.find((m) => m.manifest.id === id);
    if (model) return `${model.origin} model in ${shownPath(model.folder)}`;
    const invalid = invalidFolders.find((f) => f.model.id === id);
    if (invalid) return `invalid ${invalid.origin} model in ${invalid.model.folder}`;
    const root = this.store.installedRoot;
    const exists = root && (await vscode.workspace.fs.stat(vscode.Uri.joinPath(root, id)).then(() => true, () => false));
    return exists ? `installed model folder ${shownPath(vscode.Uri.joinPath(root, id))}` : undefined;
  }

  /** The modal that shows what was recognised; resolves with the id to install under, or undefined. */
  private async confirm(plan: ImportPlan, taken: string | undefined): Promise<string | undefined> {
    const list = <T>(items: T[], line: (item: T) => string) => [...items.slice(0, LISTED).map((item) => `  ${line(item)}`), ...(items.length > LISTED ? [`  … and ${items.length - LISTED} more (see the log)`] : [])];
    const detail = [
      plan.derived ? `No manifest.json in ${plan.shown}: one was derived from config.json and the ONNX graph.` : `From ${plan.shown}.`,
      `Exposes: ${structureText(plan.manifest)}.`,
      '',
      `Recognised (${plan.recognised.length}):`,
      ...list(plan.recognised, (r) => `${r.name} → ${r.as}`),
      ...(plan.unrecognised.length ? ['', `Not recognised, not shown (${plan.unrecognised.length}):`, ...list(plan.unrecognised, (u) => `${u.name}: ${u.why}`)] : []),
      ...(plan.notes.length ? ['', ...plan.notes] : []),
      ...(taken ? ['', `The id "${plan.manifest.id}" is already the id of the ${taken}.`] : []),
    ].join('\n');
    this.log.info(`Install ${plan.shown}: ${detail.replace(/\n/g, '\n  ')}`);
    let id = plan.manifest.id;
    for (let n = 2; taken && (await this.owner(id)); n++) id = `${plan.manifest.id.slice(0, 60)}-${n}`;
    const install = taken ? `Install as "${id}"` : 'Install';
    const choice = await vscode.window.showInformationMessage(`Install the model "${plan.manifest.displayName}" as "${id}"?`, { modal: true, detail }, install);
    return choice === install ? id : undefined;
  }

  /** Copies into <installed>/.install-<random>/, checks the copy, renames it to <installed>/<id>/. */
  private async install(plan: ImportPlan): Promise<vscode.Uri> {
    const root = this.store.installedRoot;
    if (!root) throw failure(['VS Code gave the extension no storage folder, so models cannot be installed; add the folder to attentionLens.modelFolders instead']);
    const fs = vscode.workspace.fs;
    const target = vscode.Uri.joinPath(root, plan.manifest.id);
    let staging: vscode.Uri | undefined = vscode.Uri.joinPath(root, `.install-${randomUUID()}`);
    try {
      await fs.createDirectory(staging);
      for (const [name, by] of plan.files) {
        const to = vscode.Uri.joinPath(staging, ...name.split('/'));
        await fs.createDirectory(vscode.Uri.joinPath(to, '..'));
        if (plan.modelBytes && name === (plan.manifest.model ?? 'model.onnx')) await fs.writeFile(to, plan.modelBytes);
        else if (plan.move) await fs.rename(vscode.Uri.joinPath(plan.source, ...name.split('/')), to, { overwrite: false });
        else await copyContents(vscode.Uri.joinPath(plan.source, ...name.split('/')), to, `${plan.shown}/${name}`, by);
      }
      await fs.writeFile(vscode.Uri.joinPath(staging, 'manifest.json'), plan.original ?? new TextEncoder().encode(`${JSON.stringify(plan.json, null, 2)}\n`));
      const check = await checkModelFolder(folderAccess(staging), plan.manifest.id, plan.shown);
      // A derived manifest.json exists only in the copy: the messages say "the derived manifest" instead.
      if ('errors' in check) throw failure(plan.derived ? check.errors.map((e) => e.split(`${plan.shown}/manifest.json`).join(`the derived manifest of ${plan.shown}`)) : check.errors);
      const meanwhile = () => failure([`${plan.shown}: a model with id "${plan.manifest.id}" was installed meanwhile (${shownPath(target)}); nothing was overwritten: remove it first, or install this one under another id`]);
      if (await this.owner(plan.manifest.id)) throw meanwhile();
      await fs.rename(staging, target, { overwrite: false }).then(undefined, (err: unknown) => {
        const code = (err as { code?: string }).code;
        throw code === 'FileExists' || code === 'EEXIST' || code === 'ENOTEMPTY' || /\b(EEXIST|ENOTEMPTY)\b/.test(messageOf(err)) ? meanwhile() : err;
      });
      staging = undefined;
      this.log.info(`Installed model ${plan.manifest.id} from ${plan.shown} into ${shownPath(target)} (${plan.files.map(([name]) => name).join(', ')}, manifest.json).`);
      return target;
    } finally {
      if (staging) await fs.delete(staging, { recursive: true, useTrash: false }).then(undefined, (err: unknown) => this.log.warn(`Could not delete ${shownPath(staging!)}: ${messageOf(err)}`));
    }
  }

  /** A catalogue entry (attentionLens.modelCatalogue) or an address typed in. */
  private async askForUrl(): Promise<{ url: string; sha256?: string } | undefined> {
    const catalogue = readModelCatalogue();
    const typeIn = { label: '$(link) Enter the address of a manifest.json…', url: '' };
    const entries = catalogue.map((e) => ({ label: e.name, description: e.url, detail: e.description, url: e.url, sha256: e.sha256 }));
    const choice = entries.length ? await vscode.window.showQuickPick([...entries, typeIn], { title: 'Attention Lens: Download model', placeHolder: 'A model of attentionLens.modelCatalogue, or an address' }) : typeIn;
    if (!choice) return undefined;
    if (choice.url) return choice;
    const url = await vscode.window.showInputBox({
      title: 'Attention Lens: Download model',
      prompt: "The http(s) address of a model's manifest.json (its files are fetched from beside it) or of a .zip of its folder (or of a Hugging Face export)",
      placeHolder: 'https://example.com/models/my-model/manifest.json',
      ignoreFocusOut: true,
      validateInput: (v) => (/^https?:\/\/\S+$/i.test(v.trim()) ? undefined : 'Expected an http:// or https:// address'),
    });
    return url?.trim() ? { url: url.trim() } : undefined;
  }

  /** "Download model…": a manifest URL (argument or input box), downloaded with progress and cancel. */
  async download(arg: unknown, options: ImportOptions): Promise<ImportResult | undefined> {
    const root = this.store.installedRoot;
    const picked = typeof arg === 'string' ? { url: arg.trim() } : await this.askForUrl();
    const url = picked?.url;
    if (!url) return undefined;
    options = { ...options, sha256: options.sha256 ?? picked.sha256 };
    if (!root || root.scheme !== 'file') return this.failed(`${url} was not downloaded`, new Error('models can be downloaded only into a storage folder on a local disk'));
    const shown = this.view.trackDownload(url);
    let declined: string | undefined;
    try {
      const result = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Attention Lens: downloading ${url}`, cancellable: true }, async (progress, token) => {
        const controller = new AbortController();
        const cancel = token.onCancellationRequested(() => controller.abort());
        try {
          return await downloadModel(url, root.fsPath, {
            expectedSha256: options.sha256,
            signal: controller.signal,
            inProgress: this.inProgress,
            onUnverified: async (files, source) => {
              const yes = await this.confirmUnverified(files, source, options);
              if (!yes) declined = `: ${files.join(', ')} would have been installed unchecked`;
              return yes;
            },
            // A .zip of a Hugging Face export: planned, confirmed and installed as "Add model from folder…" does.
            onExport: async ({ folder, id, shown: where }) => {
              const done = await this.installFolder(vscode.Uri.file(folder), { confirm: options.confirm }, { shown: where, id, signal: controller.signal });
              if (done) return { id: done.manifest.id, folder: shownPath(done.folder) };
              declined = ''; // the user said no to what was recognised: nothing to resume
              throw new LensError('cancelled', `the install of ${where} was declined`);
            },
            onProgress: (received, total, file) => {
              shown.report(received, total, file);
              progress.report({ message: `${file}: ${formatBytes(received)}${total ? ` of ${formatBytes(total)}` : ''}` });
            },
          });
        } finally {
          cancel.dispose();
        }
      });
      this.store.refresh();
      void vscode.window.showInformationMessage(`Attention Lens: downloaded and installed the model "${result.id}"; it is in the Models view.`);
      return { installed: { id: result.id, folder: result.folder } };
    } catch (err) {
      if (err instanceof LensError && err.code === 'cancelled') {
        const why = declined ?? '. Run it again to resume.';
        void vscode.window.showInformationMessage(`Attention Lens: the download of ${url} was cancelled; nothing was installed${why}`);
        return { cancelled: true };
      }
      return this.failed(`${url} was not downloaded`, err);
    } finally {
      shown.dispose();
    }
  }

  /** Whether to install files no sha256 covers: a modal, or yes with { confirm: false }. */
  private async confirmUnverified(files: string[], source: 'manifest' | 'export', options: ImportOptions): Promise<boolean> {
    if (options.confirm === false) return true;
    const give =
      source === 'manifest'
        ? "The manifest's fields onnx.sha256 and tokenizer.sha256 (onnx.externalData.sha256 for external weights) give them."
        : "A Hugging Face export has no manifest to give them: the archive's sha256, given with the download (a catalogue entry's sha256), covers them all.";
    const detail = `Without a checksum nothing shows that they are the files the model's publisher meant: a damaged or replaced file on the server, or one changed on the way over http, would be installed as it is. ${give}`;
    const what = source === 'manifest' ? 'manifest.json declares no sha256 for' : 'no sha256 was given for the archive holding';
    const choice = await vscode.window.showWarningMessage(`${what} ${files.join(', ')}: install without checking them?`, { modal: true, detail }, 'Install');
    return choice === 'Install';
  }

  /** "Remove": an installed model's folder, after a modal confirmation. */
  async remove(arg: unknown, options: ImportOptions): Promise<ImportResult | undefined> {
    const root = this.store.installedRoot;
    const { models, invalidFolders } = await this.store.list();
    const installed = [
      ...models.filter((m) => m.origin === 'installed').map((m) => ({ id: m.manifest.id, name: m.manifest.displayName || m.manifest.id, uri: m.folder })),
      ...invalidFolders.filter((f) => f.origin === 'installed' && f.uri).map((f) => ({ id: f.model.id, name: `${f.model.id} (invalid)`, uri: f.uri! })),
    ];
    const picked = node(arg);
    const wanted = picked?.kind === 'model' ? picked.model.folder : picked?.kind === 'invalid' ? picked.entry.uri : undefined;
    const target =
      typeof arg === 'string' || wanted
        ? installed.find((m) => (wanted ? m.uri.toString() === wanted.toString() : m.id === arg))
        : (await vscode.window.showQuickPick(installed.map((m) => ({ label: m.name, description: m.id, model: m })), { placeHolder: 'Remove which installed model?' }))?.model;
    if (!target) {
      if (arg === undefined) return undefined;
      return this.failed('Nothing was removed', new Error(`${typeof arg === 'string' ? `"${arg.slice(0, 64)}"` : 'this model'} is not an installed model: only models installed by "Add model from folder…" or "Download model…" can be removed (a bundled one cannot; a workspace or attentionLens.modelFolders model is removed by deleting its folder or the setting's entry)`));
    }
    if (!root || target.uri.path !== vscode.Uri.joinPath(root, target.id).path) return this.failed('Nothing was removed', new Error(`${shownPath(target.uri)} is not in the installed models' folder`));
    if (options.confirm !== false) {
      const choice = await vscode.window.showWarningMessage(`Remove the model "${target.name}"?`, { modal: true, detail: `Its folder is deleted: ${shownPath(target.uri)}` }, 'Remove');
      if (choice !== 'Remove') return { cancelled: true };
    }
    const leaving = vscode.Uri.joinPath(root, `.remove-${randomUUID()}`);
    try {
      await vscode.workspace.fs.rename(target.uri, leaving, { overwrite: false }); // gone from the list at once, whole
      await vscode.workspace.fs.delete(leaving, { recursive: true, useTrash: false });
    } catch (err) {
      return this.failed(`The model "${target.id}" was not removed completely`, err);
    } finally {
      this.store.refresh();
    }
    this.log.info(`Removed the installed model ${target.id} (${shownPath(target.uri)}).`);
    return { removed: target.id };
  }

  /** Shows and logs a failure; resolves with its errors. */
  private failed(what: string, err: unknown): ImportResult {
    const errors = (err as { errors?: string[] }).errors ?? [messageOf(err)];
    this.log.error(`${what}:\n  ${errors.join('\n  ')}`);
    const shownErrors = errors.slice(0, 3).join(' · ') + (errors.length > 3 ? ` (and ${errors.length - 3} more)` : '');
    void vscode.window.showErrorMessage(`Attention Lens: ${what}. ${shownErrors}`, 'Show details').then((choice) => choice && this.log.show());
    return { errors };
  }

  /** Temporary folders a window closed mid-install or mid-removal left behind. */
  private async removeStaleTemporaries(): Promise<void> {
    const root = this.store.installedRoot;
    if (!root) return;
    if (!(await vscode.workspace.fs.stat(root).then(() => true, () => false))) return;
    if (root.scheme === 'file') await removeStaleDownloads(root.fsPath, DEFAULT_STALL_TIMEOUT_MS * 2).catch(() => undefined);
    const entries = await vscode.workspace.fs.readDirectory(root).then(undefined, () => []);
    for (const [name] of entries.filter(([name]) => TEMPORARY.test(name))) {
      const folder = vscode.Uri.joinPath(root, name);
      const stat = await vscode.workspace.fs.stat(folder).then(undefined, () => undefined);
      if (stat && Date.now() - stat.mtime > STALE_MS) await vscode.workspace.fs.delete(folder, { recursive: true, useTrash: false }).then(undefined, () => undefined);
    }
  }
}

/** A file's contents, never a link (a copied link would lead elsewhere from the installed folder); a regular file only. */
async function copyContents(from: vscode.Uri, to: vscode.Uri, shown: string, by: string): Promise<void> {
  if (from.scheme === 'file' && to.scheme === 'file') return copyRegularFile(from.fsPath, to.fsPath, shown, by);
  const { type } = await vscode.workspace.fs.stat(from);
  if (!(type & vscode.FileType.File)) throw new Error(`${shown}: expected a regular file (${by}), found ${type & vscode.FileType.Directory ? 'a folder' : 'a device, pipe or socket'}`);
  await vscode.workspace.fs.writeFile(to, await vscode.workspace.fs.readFile(from));
}

/** The options argument, or {} (a view's context menu passes the selected items there instead). */
function readOptions(value: unknown): ImportOptions {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const { confirm, id, sha256 } = value as Record<string, unknown>;
  return { confirm: confirm === false ? false : undefined, id: typeof id === 'string' ? id : undefined, sha256: typeof sha256 === 'string' ? sha256 : undefined };
}
