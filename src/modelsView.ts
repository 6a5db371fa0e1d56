// Why: the models a person can use come from four places (bundled, installed, the workspace, the setting)
// and some of them are invalid or still downloading; the "Models" tree view in the Attention Lens container
// shows each with its origin, state, size and what it exposes (derived from its roles, never from the
// architecture string), and carries the per-model actions: analyse the selection with it, make it the
// default, show its card, reveal its folder (Remove, for installed models, is with install in modelImport.ts).
// The view follows ModelStore.onDidChange and the default-model setting. Everything the tree shows comes
// from model files, which are untrusted: tooltips add their text as plain text (appendText), and the card is
// a read-only virtual JSON document (JSON.stringify escapes it; invisible and bidirectional characters too).

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import * as vscode from 'vscode';
import { type ModelStructure, modelStructure } from './core/modelStructure';
import type { ModelManifest } from './core/manifest';
import { Disposable } from './dispose';
import type { Log } from './log';
import { type InvalidFolder, type ModelOrigin, type ModelStore, type StoredModel, shownPath } from './modelStore';
import { readSettings } from './settings';
import { formatCount } from './core/text';

export const MODELS_VIEW_ID = 'attentionLens.models';
const CARD_SCHEME = 'attention-lens-card';

/** A download in progress, as the view shows it. */
export interface DownloadState {
  url: string;
  received: number;
  total: number | undefined;
  file: string;
}

export type ModelNode =
  | { kind: 'model'; model: StoredModel }
  | { kind: 'invalid'; entry: InvalidFolder }
  | { kind: 'problem'; text: string; id: string }
  | { kind: 'notice'; text: string }
  | { kind: 'download'; key: number; state: DownloadState };

/** One row of the view as shown, with its children (for tests and other extensions). */
export interface ModelViewItem {
  label: string;
  description: string;
  tooltip: string;
  contextValue: string;
  children: ModelViewItem[];
}

/** A model the view lists, in short. */
export interface ModelSummary {
  id: string;
  origin: ModelOrigin;
  state: 'ready' | 'invalid';
  /** Its folder as shown (a path on disk, or a URI). */
  folder: string;
  /** What it exposes ("attention 4×4 (causal)"); empty for an invalid model. */
  structure: string;
  errors: string[];
}

/** "attention 4×4 (causal), cross-attention 2×2, gates: keep, write, states: c, h", from the roles alone. */
export function structureText(manifest: ModelManifest): string {
  const s: ModelStructure = modelStructure(manifest);
  const size = (o: ModelManifest['outputs'][number], axis: string) => {
    const found = o.axes.find((x) => x.name === axis);
    return found === undefined ? 1 : typeof found.size === 'number' ? found.size : '?';
  };
  const parts = s.mixing.map((f) => {
    if (!f.outputs.length) return `${f.label} (${f.mask}, computed)`; // derived, e.g. a selective scan's hidden attention
    const layers = f.perLayer ? f.outputs.length : size(f.outputs[0], 'layer');
    const shape = `${f.label} ${layers}×${size(f.outputs[0], 'head')}`;
    return f.role === 'cross_mixing' ? shape : `${shape} (${f.mask}${f.mask === 'windowed' && f.window ? ` ${f.window}` : ''})`;
  });
  if (s.gates) parts.push(`gates: ${[...new Set(s.gates.gates.map((g) => g.meaning))].join(', ')}`);
  if (s.decay) parts.push(s.decay.label);
  if (s.states.length) parts.push(`states: ${s.states.map((f) => f.state || f.label).join(', ')}`);
  if (!parts.length) parts.push(s.logits ? 'predictions only' : 'no views');
  return parts.join(', ');
}

/** Bytes for people: "91 kB", "4.8 MB". */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${unit === 0 || value >= 100 ? Math.round(value) : value.toFixed(1)} ${units[unit]}`;
}

/** The Models view: a tree of every model with its state, and the actions on one. */
export class ModelsView extends Disposable implements vscode.TreeDataProvider<ModelNode>, vscode.TextDocumentContentProvider {
  private readonly changed = this.register(new vscode.EventEmitter<ModelNode | undefined>());
  readonly onDidChangeTreeData = this.changed.event;
  private readonly downloads = new Map<number, DownloadState>();
  private nextDownload = 0;
  /** The panel open when the models last changed: its webview lists the models of before. */
  private stalePanel: object | undefined;

  constructor(
    private readonly store: ModelStore,
    private readonly log: Log,
    /** The open analysis panel, if any (closed when its list of models is out of date; see analyse). */
    private readonly panel: () => { dispose(): void } | undefined,
  ) {
    super();
    this.register(vscode.window.createTreeView(MODELS_VIEW_ID, { treeDataProvider: this, showCollapseAll: false }));
    this.register(vscode.workspace.registerTextDocumentContentProvider(CARD_SCHEME, this));
    this.register(
      store.onDidChange(() => {
        this.stalePanel = this.panel();
        this.changed.fire(undefined);
      }),
    );
    this.register(vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('attentionLens.defaultModel') && this.changed.fire(undefined)));
    const command = (id: string, run: (arg: unknown, options: unknown) => Promise<unknown>) => this.register(vscode.commands.registerCommand(id, run));
    command('attentionLens.analyseWithModel', (arg) => this.analyse(arg));
    command('attentionLens.setDefaultModel', (arg) => this.makeDefault(arg));
    command('attentionLens.showModelCard', (arg) => this.showCard(arg));
    command('attentionLens.revealModelFolder', (arg) => this.revealFolder(arg));
  }

  /** Shows a download in the view until the returned handle is disposed. */
  trackDownload(url: string): { report(received: number, total: number | undefined, file: string): void; dispose(): void } {
    const key = this.nextDownload++;
    const state: DownloadState = { url, received: 0, total: undefined, file: '' };
    this.downloads.set(key, state);
    this.changed.fire(undefined);
    return {
      report: (received, total, file) => {
        Object.assign(state, { received, total, file });
        this.changed.fire(undefined);
      },
      dispose: () => this.downloads.delete(key) && this.changed.fire(undefined),
    };
  }

  async getChildren(node?: ModelNode): Promise<ModelNode[]> {
    if (node?.kind === 'invalid') return node.entry.model.errors.map((text, i) => ({ kind: 'problem', text, id: `${nodeId(node)}/${i}` }));
    if (node) return [];
    const { models, invalidFolders, notices } = await this.store.list();
    return [
      ...[...this.downloads].map(([key, state]): ModelNode => ({ kind: 'download', key, state })),
      ...models.map((model): ModelNode => ({ kind: 'model', model })),
      ...invalidFolders.map((entry): ModelNode => ({ kind: 'invalid', entry })),
      ...notices.map((text): ModelNode => ({ kind: 'notice', text })),
    ];
  }

  getTreeItem(node: ModelNode): vscode.TreeItem {
    const item = new vscode.TreeItem('', vscode.TreeItemCollapsibleState.None);
    item.id = nodeId(node);
    switch (node.kind) {
      case 'model': {
        const { manifest, origin, modelBytes, folder } = node.model;
        const isDefault = manifest.id === readSettings().defaultModel;
        const structure = structureText(manifest);
        item.label = manifest.displayName || manifest.id;
        item.description = [isDefault ? 'default' : '', origin, formatBytes(modelBytes), structure].filter(Boolean).join(' · ');
        item.iconPath = new vscode.ThemeIcon(isDefault ? 'star-full' : 'circuit-board');
        item.contextValue = `model.ready.${origin}${isDefault ? '.default' : ''}`;
        const tip = new vscode.MarkdownString();
        tip.appendMarkdown('**').appendText(item.label).appendMarkdown('**\n\n');
        for (const [name, value] of [
          ['Id', manifest.id],
          ['Origin', `${origin}${isDefault ? ' (the default model)' : ''}`],
          ['Folder', shownPath(folder)],
          ['Model file', formatBytes(modelBytes)],
          ['Parameters', formatCount(manifest.parameters)],
          ['Exposes', structure],
          ['Licence', manifest.license],
        ]) {
          tip.appendMarkdown(`${name}: `).appendText(value).appendMarkdown('  \n');
        }
        tip.appendMarkdown('\n').appendText(manifest.description);
        item.tooltip = tip;
        break;
      }
      case 'invalid': {
        const { model, origin } = node.entry;
        item.label = model.id || model.folder;
        item.description = `invalid · ${origin} · ${model.errors.length} problem${model.errors.length === 1 ? '' : 's'}`;
        item.tooltip = `${model.folder}\n\n${model.errors.join('\n')}`;
        item.iconPath = new vscode.ThemeIcon('error', new vscode.ThemeColor('list.errorForeground'));
        item.collapsibleState = vscode.TreeItemCollapsibleState.Collapsed;
        item.contextValue = node.entry.uri ? `model.invalid.${origin}` : 'root.invalid';
        break;
      }
      case 'problem':
        item.label = node.text;
        item.tooltip = node.text;
        item.iconPath = new vscode.ThemeIcon('circle-small');
        item.contextValue = 'problem';
        break;
      case 'notice':
        item.label = node.text;
        item.tooltip = node.text;
        item.iconPath = new vscode.ThemeIcon('workspace-untrusted');
        item.command = { command: 'workbench.trust.manage', title: 'Manage Workspace Trust' };
        item.contextValue = 'notice';
        break;
      case 'download': {
        const { url, received, total, file } = node.state;
        item.label = `Downloading ${url}`;
        const amount = total ? `${Math.floor((100 * received) / total)}% of ${formatBytes(total)}` : formatBytes(received);
        item.description = [amount, file].filter(Boolean).join(' · ');
        item.tooltip = `${url}\n${item.description}`;
        item.iconPath = new vscode.ThemeIcon('sync~spin');
        item.contextValue = 'download';
        break;
      }
    }
    return item;
  }

  /** The view's rows as shown, children included. */
  async items(node?: ModelNode): Promise<ModelViewItem[]> {
    const children = await this.getChildren(node);
    return Promise.all(
      children.map(async (child) => {
        const item = this.getTreeItem(child);
        const text = (v: string | vscode.MarkdownString | vscode.TreeItemLabel | boolean | undefined) => (typeof v === 'string' ? v : v && typeof v === 'object' && 'value' in v ? v.value : v && typeof v === 'object' ? v.label : '');
        return { label: text(item.label), description: text(item.description), tooltip: text(item.tooltip), contextValue: item.contextValue ?? '', children: await this.items(child) };
      }),
    );
  }

  /** Every model in short, valid and invalid. */
  async summaries(): Promise<ModelSummary[]> {
    const { models, invalidFolders } = await this.store.list();
    return [
      ...models.map((m): ModelSummary => ({ id: m.manifest.id, origin: m.origin, state: 'ready', folder: shownPath(m.folder), structure: structureText(m.manifest), errors: [] })),
      ...invalidFolders.map(({ model, origin }): ModelSummary => ({ id: model.id, origin, state: 'invalid', folder: model.folder, structure: '', errors: model.errors })),
    ];
  }

  /** The card of a model as a read-only JSON document (attention-lens-card:/<id>.json). */
  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const id = uri.path.replace(/^\//, '').replace(/\.json$/, '');
    const model = (await this.store.list()).models.find((m) => m.manifest.id === id);
    if (!model) return cardJson({ error: `No usable model has the id "${id}" any more: it was removed, or its files changed. See the Models view.` });
    const { manifest, folder, origin } = model;
    const declared: Record<string, string | undefined> = {
      [manifest.model ?? 'model.onnx']: (manifest as { onnx?: { sha256?: string } }).onnx?.sha256,
      [manifest.tokenizer.file]: manifest.tokenizer.sha256,
    };
    const entries = (await vscode.workspace.fs.readDirectory(folder)).filter(([, type]) => type === vscode.FileType.File).sort(([a], [b]) => a.localeCompare(b));
    const files = await Promise.all(
      entries.map(async ([name]) => {
        const file = vscode.Uri.joinPath(folder, name);
        const [{ size }, sha256] = await Promise.all([vscode.workspace.fs.stat(file), digest(file)]);
        const expected = declared[name];
        return { file: name, bytes: size, sha256, ...(expected ? { manifestSha256: expected, matches: expected.toLowerCase() === sha256 } : {}) };
      }),
    );
    const { id: _id, displayName, architecture, description, parameters, license, dimensions, metrics, training } = manifest;
    return cardJson({
      model: { id, displayName, origin, folder: shownPath(folder), architecture, description, parameters, license, exposes: structureText(manifest) },
      dimensions,
      metrics: metrics ?? {},
      training: training ?? {},
      files,
      manifest,
    });
  }

  /** Runs the visualize command on the selection with this model. */
  private async analyse(arg: unknown): Promise<unknown> {
    const model = await this.readyModel(arg, 'Analyse the selection with which model?');
    if (!model) return undefined;
    const panel = this.panel();
    // A panel hears of added models (modelsChanged), and the installed models' folder is in every panel's resource
    // roots; a model from a folder added since the panel opened is outside them: reopened, the panel may load it.
    if (panel && panel === this.stalePanel && (model.origin === 'folder' || model.origin === 'workspace')) {
      this.log.info(`Reopening the Attention Lens panel: the models changed since it opened (${model.manifest.id} is new to it).`);
      panel.dispose();
    }
    this.stalePanel = undefined;
    return vscode.commands.executeCommand('attentionLens.visualizeSelection', model.manifest.id);
  }

  /** Writes attentionLens.defaultModel in the user settings. */
  private async makeDefault(arg: unknown): Promise<string | undefined> {
    const model = await this.readyModel(arg, 'Make which model the default?');
    if (!model) return undefined;
    const config = vscode.workspace.getConfiguration('attentionLens');
    await config.update('defaultModel', model.manifest.id, vscode.ConfigurationTarget.Global);
    const inspected = config.inspect<string>('defaultModel');
    const override = inspected?.workspaceFolderValue ?? inspected?.workspaceValue;
    if (override !== undefined && override !== model.manifest.id) {
      void vscode.window.showWarningMessage(
        `Attention Lens: ${model.manifest.id} is now the default model in your user settings, but this workspace's settings choose "${String(override).slice(0, 64)}", which wins here.`,
      );
    }
    return model.manifest.id;
  }

  private async showCard(arg: unknown): Promise<vscode.Uri | undefined> {
    const model = await this.readyModel(arg, 'Show the card of which model?');
    if (!model) return undefined;
    const uri = vscode.Uri.from({ scheme: CARD_SCHEME, path: `/${model.manifest.id}.json` });
    const document = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(document, { preview: true });
    return uri;
  }

  private async revealFolder(arg: unknown): Promise<void> {
    const picked = node(arg);
    const folder = picked?.kind === 'invalid' ? picked.entry.uri : (await this.readyModel(arg, 'Reveal the folder of which model?'))?.folder;
    if (!folder) return;
    try {
      await vscode.commands.executeCommand('revealFileInOS', folder);
    } catch (err) {
      void vscode.window.showErrorMessage(`Attention Lens: cannot reveal ${shownPath(folder)} (${err instanceof Error ? err.message : String(err)}).`);
    }
  }

  /** The model a command was given (a view node or an id), or the one the user picks. */
  private async readyModel(arg: unknown, question: string): Promise<StoredModel | undefined> {
    const { models } = await this.store.list();
    const picked = node(arg);
    if (picked?.kind === 'model') return models.find((m) => m.manifest.id === picked.model.manifest.id) ?? picked.model;
    if (typeof arg === 'string') {
      const model = models.find((m) => m.manifest.id === arg);
      if (!model) void vscode.window.showErrorMessage(`Attention Lens: no usable model has the id "${arg.slice(0, 64)}" (see the Models view).`);
      return model;
    }
    const choice = await vscode.window.showQuickPick(
      models.map((m) => ({ label: m.manifest.displayName || m.manifest.id, description: `${m.manifest.id} · ${m.origin}`, detail: structureText(m.manifest), model: m })),
      { placeHolder: question, matchOnDescription: true },
    );
    return choice?.model;
  }
}

/** A view node passed to a command from the view's context menu, else undefined. */
export function node(arg: unknown): ModelNode | undefined {
  return typeof arg === 'object' && arg !== null && typeof (arg as { kind?: unknown }).kind === 'string' ? (arg as ModelNode) : undefined;
}

function nodeId(node: ModelNode): string {
  switch (node.kind) {
    case 'model':
      return `model/${node.model.origin}/${node.model.folder.toString()}`;
    case 'invalid':
      return `invalid/${node.entry.origin}/${node.entry.uri?.toString() ?? node.entry.model.folder}`;
    case 'problem':
      return node.id;
    case 'notice':
      return `notice/${node.text}`;
    case 'download':
      return `download/${node.key}`;
  }
}

/**
 * The card as JSON text: JSON.stringify escapes quotes and control characters; invisible and bidirectional
 * characters from a manifest are escaped too, so the document shows exactly what the files hold.
 */
function cardJson(card: unknown): string {
  return `${JSON.stringify(card, null, 2).replace(/[\u007f-\u009f\u00ad\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}\n`;
}

/** A file's sha256, streamed from a local disk (models may be large), else read whole. */
async function digest(file: vscode.Uri): Promise<string> {
  const hash = createHash('sha256');
  if (file.scheme !== 'file') return hash.update(await vscode.workspace.fs.readFile(file)).digest('hex');
  for await (const chunk of createReadStream(file.fsPath)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
