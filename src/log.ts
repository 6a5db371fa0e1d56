// The extension's single output channel ("Attention Lens"), created on activation.

import * as vscode from 'vscode';

let channel: vscode.LogOutputChannel | undefined;

export function initLog(context: vscode.ExtensionContext): vscode.LogOutputChannel {
  channel = vscode.window.createOutputChannel('Attention Lens', { log: true });
  context.subscriptions.push(channel);
  return channel;
}

export function log(): vscode.LogOutputChannel {
  if (!channel) {
    throw new Error('Attention Lens log used before activation.');
  }
  return channel;
}
