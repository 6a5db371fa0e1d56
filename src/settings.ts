// Reads the attentionLens.* settings into the shape the webviews receive.

import * as vscode from 'vscode';
import type { BackendPreference, LensSettings } from './core/protocol';

const BACKENDS: readonly BackendPreference[] = ['auto', 'webgpu', 'wasm'];

export function readSettings(): LensSettings {
  const config = vscode.workspace.getConfiguration('attentionLens');
  const backend = config.get<string>('backend', 'auto');
  const maxTokens = config.get<number>('maxTokens', 2048);
  return {
    defaultModel: config.get<string>('defaultModel', 'transformer'),
    maxTokens: Number.isInteger(maxTokens) && maxTokens > 0 ? maxTokens : 2048,
    backend: (BACKENDS as readonly string[]).includes(backend) ? (backend as BackendPreference) : 'auto',
  };
}
