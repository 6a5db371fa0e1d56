// Why: every integration suite activates the extension under test and drives its command; this is the
// one place that names them, with the API type the extension itself exports (a type import only: the
// suites talk to the running extension, they do not bundle a second copy of it).

import * as vscode from 'vscode';
import type { AttentionLensApi, VISUALIZE_COMMAND } from '../../src/extension';
import type { FILL_COMMAND as FILL } from '../../src/fillPanel';

const EXTENSION_ID = 'attention-lens.attention-lens';
/** The command the extension registers (checked against its own constant at compile time). */
export const COMMAND: typeof VISUALIZE_COMMAND = 'attentionLens.visualizeSelection';
/** "Fill in the selection". */
export const FILL_COMMAND: typeof FILL = 'attentionLens.fillSelection';

/** The installed extension (asserted present). */
export function lensExtension(): vscode.Extension<AttentionLensApi> {
  const extension = vscode.extensions.getExtension<AttentionLensApi>(EXTENSION_ID);
  if (!extension) throw new Error(`${EXTENSION_ID} must be installed in the extension host`);
  return extension;
}

/** Activates the extension; resolves with its API and its install folder. */
export async function activateLens(): Promise<{ api: AttentionLensApi; extensionPath: string }> {
  const extension = lensExtension();
  return { api: await extension.activate(), extensionPath: extension.extensionPath };
}
