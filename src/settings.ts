// Reads the attentionLens.* settings into the shape the webviews receive.

import * as vscode from 'vscode';
import { INFLUENCE_METRICS, type InfluenceMetric } from './core/influence';
import type { BackendPreference, LensSettings } from './core/protocol';

const BACKENDS: readonly BackendPreference[] = ['auto', 'webgpu', 'wasm'];

export function readSettings(): LensSettings {
  const config = vscode.workspace.getConfiguration('attentionLens');
  const backend = config.get<string>('backend', 'auto');
  const maxTokens = config.get<number>('maxTokens', 2048);
  const compareMaxTokens = config.get<number>('compare.maxTokens', 256);
  return {
    defaultModel: config.get<string>('defaultModel') ?? '', // package.json holds the default
    // The schema's bound (package.json): larger values would exceed what the host accepts back from the webview.
    maxTokens: Number.isInteger(maxTokens) && maxTokens > 0 ? Math.min(maxTokens, 16_384) : 2048,
    backend: (BACKENDS as readonly string[]).includes(backend) ? (backend as BackendPreference) : 'auto',
    influenceMetric: readHoverSettings().metric,
    compareMaxTokens: Number.isInteger(compareMaxTokens) && compareMaxTokens >= 8 ? Math.min(compareMaxTokens, 1024) : 256,
  };
}

/** attentionLens.fileServer: 'off', or 'auto' (any other value). */
export function readFileServerSetting(): 'auto' | 'off' {
  return vscode.workspace.getConfiguration('attentionLens').get<string>('fileServer', 'auto') === 'off' ? 'off' : 'auto';
}

/** Absolute folder paths of attentionLens.modelFolders (relative or non-string entries are ignored). */
export function readModelFolders(): string[] {
  const folders = vscode.workspace.getConfiguration('attentionLens').get<unknown[]>('modelFolders') ?? [];
  return folders.filter((f): f is string => typeof f === 'string' && (f.startsWith('/') || /^[a-zA-Z]:[\\/]/.test(f)));
}

export interface CatalogueEntry {
  name: string;
  url: string;
  sha256?: string;
  description?: string;
}

/** attentionLens.modelCatalogue: models offered by Download model… (entries without a name or an http(s) URL are skipped). */
export function readModelCatalogue(): CatalogueEntry[] {
  const entries = vscode.workspace.getConfiguration('attentionLens').get<unknown[]>('modelCatalogue') ?? [];
  return entries.flatMap((e) => {
    if (typeof e !== 'object' || e === null) return [];
    const { name, url, sha256, description } = e as Record<string, unknown>;
    if (typeof name !== 'string' || typeof url !== 'string' || !/^https?:\/\/\S+$/i.test(url)) return [];
    return [{ name, url, sha256: typeof sha256 === 'string' && /^[0-9a-f]{64}$/i.test(sha256) ? sha256 : undefined, description: typeof description === 'string' ? description : undefined }];
  });
}

export interface HoverSettings {
  metric: InfluenceMetric;
  topK: number;
  offerAnalysis: boolean;
  decorations: boolean;
}

/** The attentionLens.hover.* and decoration settings. */
export function readHoverSettings(): HoverSettings {
  const config = vscode.workspace.getConfiguration('attentionLens');
  const metric = config.get<string>('hover.metric', 'rollout');
  const topK = config.get<number>('hover.topK', 5);
  return {
    metric: (INFLUENCE_METRICS as readonly string[]).includes(metric) ? (metric as InfluenceMetric) : 'rollout',
    topK: Number.isInteger(topK) && topK > 0 ? Math.min(topK, 20) : 5,
    offerAnalysis: config.get<boolean>('hover.offerAnalysis', false),
    decorations: config.get<boolean>('decorations.enabled', true),
  };
}

export interface FillSettings {
  /** Model id; "" = the first model declaring infilling. */
  model: string;
  linesBefore: number;
  linesAfter: number;
  beamWidth: number;
  maxNewTokens: number;
}

/** The attentionLens.fill.* settings, each kept inside the bounds package.json declares. */
export function readFillSettings(): FillSettings {
  const config = vscode.workspace.getConfiguration('attentionLens');
  const bounded = (key: string, fallback: number, min: number, max: number) => {
    const value = config.get<number>(key, fallback);
    return Number.isInteger(value) ? Math.min(max, Math.max(min, value)) : fallback;
  };
  return {
    model: config.get<string>('fill.model') ?? '',
    linesBefore: bounded('fill.linesBefore', 30, 0, 1000),
    linesAfter: bounded('fill.linesAfter', 15, 0, 1000),
    beamWidth: bounded('fill.beamWidth', 1, 1, 8),
    maxNewTokens: bounded('fill.maxNewTokens', 32, 1, 256),
  };
}
