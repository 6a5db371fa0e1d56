// Saves a webview export (PNG or JSON) through the host's save dialog; the webview cannot write files.
// Why nothing is checked here: the params were checked at the door (core/protocolSchema.ts: a plain file
// name ending in a filter's extension, data within the caps of its encoding), and the user picks the
// target in the dialog; a failure's message crosses back without paths (core/errors.ts wireError).

import * as vscode from 'vscode';
import { LensError } from './core/errors';
import type { SaveFileParams } from './core/protocol';
import type { Log } from './log';

export async function saveExport(params: SaveFileParams, log: Log): Promise<string | null> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({
    defaultUri: folder ? vscode.Uri.joinPath(folder, params.suggestedName) : undefined,
    filters: params.filters,
    saveLabel: 'Export',
    title: 'Attention Lens: export',
  });
  if (!target) {
    return null;
  }
  const bytes = params.encoding === 'base64' ? Buffer.from(params.data, 'base64') : Buffer.from(params.data, 'utf8');
  await vscode.workspace.fs.writeFile(target, bytes);
  log.info(`Exported ${bytes.length} bytes to ${target.toString(true)}`);
  return target.fsPath || target.toString();
}

/**
 * A webview's saveFile handler: one save dialog at a time (a webview cannot stack dialogs on the user); a second
 * request while one is open is refused, and logged.
 */
export function oneSaveAtATime(log: Log, who: string): (params: SaveFileParams) => Promise<string | null> {
  let saving = false;
  return async (params) => {
    if (saving) {
      log.warn(`Refused saveFile from the ${who}: a save dialog is already open.`);
      throw new LensError('bad-request', 'saveFile: a save dialog is already open; finish or cancel it first.');
    }
    saving = true;
    try {
      return await saveExport(params, log);
    } finally {
      saving = false;
    }
  };
}
