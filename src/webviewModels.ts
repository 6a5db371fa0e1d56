// Why: a model as a webview loads it — its files' webview URIs and sizes (a ModelDescriptor), and whether its
// folder lies inside the webview's resource roots — is worked out the same way for the descriptors `ready`
// gives and for a new panel's guess of its first model (ModelStore.likelyFirst), which is made from the
// manifests a running check has read (SeenManifests): the page takes an early download only when the two
// descriptors are equal, so they must come from one function.

import * as vscode from 'vscode';
import type { ModelDescriptor } from './core/protocol';
import type { StoredModel } from './modelStore';

/** Each folder's manifest as a scan's check reads it (its files may still fail the check): undefined once the check ended without reading one. */
export class SeenManifests {
  private readonly folders = new Map<string, { seen: Promise<StoredModel | undefined>; tell: (m: StoredModel | undefined) => void }>();

  private entry(folder: vscode.Uri) {
    const key = folder.toString();
    let entry = this.folders.get(key);
    if (!entry) {
      let tell!: (m: StoredModel | undefined) => void;
      const seen = new Promise<StoredModel | undefined>((resolve) => (tell = resolve));
      this.folders.set(key, (entry = { seen, tell }));
    }
    return entry;
  }

  /** The first call settles it; later ones change nothing. */
  tell(folder: vscode.Uri, model: StoredModel | undefined): void {
    this.entry(folder).tell(model);
  }

  of(folder: vscode.Uri): Promise<StoredModel | undefined> {
    return this.entry(folder).seen;
  }
}

/** Can this webview load the model's files: bundled, or inside one of its resource roots? */
export function loadable(webview: vscode.Webview, m: StoredModel): boolean {
  const roots = (webview.options.localResourceRoots ?? []).map((r) => r.toString().replace(/\/?$/, '/'));
  return m.origin === 'bundled' || roots.some((r) => `${m.folder.toString()}/`.startsWith(r));
}

/** A model as a webview loads it: its files' webview URIs, sizes and digests. */
export function descriptorOf(webview: vscode.Webview, m: StoredModel): ModelDescriptor {
  const uri = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(m.folder, file)).toString();
  const { sha256 } = m;
  const descriptor: ModelDescriptor = { manifest: m.manifest, modelUri: uri(m.manifest.model ?? 'model.onnx'), tokenizerUri: uri(m.manifest.tokenizer.file), modelBytes: m.modelBytes, ...(m.filesStamp ? { filesStamp: m.filesStamp } : {}), ...(sha256 ? { sha256 } : {}) };
  const data = m.manifest.externalData;
  if (!data) return descriptor;
  return { ...descriptor, externalDataUri: uri(data), ...(m.externalDataBytes !== undefined ? { externalDataBytes: m.externalDataBytes } : {}) };
}
