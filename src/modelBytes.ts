// Why: a webview loads its resources through the workbench and a service worker. For a 343 MiB model in
// code-server, the workbench gathered the whole file on the main thread the webview shares (a 3.8 s task), the
// service worker stored a copy in Cache Storage, and the load peaked 0.7–0.8 GB higher than when the host reads
// the file where it lies and posts it in pieces (as fast: the connection limits both). This answers the webviews'
// modelBytes requests: only for a model this webview was told about (store.loadableBy), only its ONNX file or its
// declared external data, only bytes inside the file, only on disk (another file system offers no ranges: every
// piece would read the whole file, so the webview loads it through its resource URI). Everything else is
// refused, saying what was asked.

import * as vscode from 'vscode';
import { LensError } from './core/errors';
import type { ModelBytesParams } from './core/protocol';
import { readRange } from './modelFiles';
import type { ModelStore } from './modelStore';

/** The modelBytes handler of one webview: the models it may load are store.loadableBy(webview). */
export function modelBytesHandler(store: ModelStore, webview: vscode.Webview): (params: ModelBytesParams) => Promise<Uint8Array> {
  return async ({ modelId, file, start, length }) => {
    const model = (await store.loadableBy(webview)).find((m) => m.manifest.id === modelId);
    if (!model) throw new LensError('model-invalid', `modelBytes: no model "${modelId}" is available to this view.`);
    const name = file === 'model' ? (model.manifest.model ?? 'model.onnx') : model.manifest.externalData;
    if (!name) throw new LensError('model-invalid', `modelBytes: model "${modelId}" declares no external data (manifest field externalData).`);
    const uri = vscode.Uri.joinPath(model.folder, name);
    if (uri.scheme !== 'file') throw new LensError('model-invalid', `modelBytes: ${modelId}/${name} is not on disk (${uri.scheme}:); load it through its resource URI.`);
    const size = (await vscode.workspace.fs.stat(uri)).size;
    if (start + length > size) throw new LensError('model-invalid', `modelBytes: ${modelId}/${name} has ${size} bytes; bytes ${start}..${start + length - 1} were asked for.`);
    return readRange(uri.fsPath, start, length);
  };
}
