// Why: the extension's one output channel ("Attention Lens"). Activation creates it, owns it and hands
// it to whatever logs, so no module holds it and nothing can log before activation. Text a webview sent
// goes through core/errors.ts forLog first: one line, at most 2,000 characters, newlines escaped.

import * as vscode from 'vscode';

/** Where the extension logs: the "Attention Lens" output channel (with levels and timestamps). */
export type Log = vscode.LogOutputChannel;

export function createLog(): Log {
  return vscode.window.createOutputChannel('Attention Lens', { log: true });
}
