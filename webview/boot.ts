// Why: a page can start onnxruntime before the host answers `ready` (which waits for the models to be
// checked on a first run): the HTML carries what starting it needs (webviewHtml.ts writes these attributes),
// and the routes to the host's file server, so that the first downloads already take them.

import { DOWNLOAD_WORKER_ELEMENT, DOWNLOAD_WORKER_SCRIPT, type FirstModelLargeFile } from '../src/core/ortFiles';
import type { BackendPreference, FileRoute } from '../src/core/protocol';
import type { LikelyBuild } from './backend';
import { DownloadWorkerClient } from './downloadClient';
import type { FileRoutes } from './fileRoutes';

export interface Boot {
  ortBaseUri: string;
  probeModelUri: string;
  backend: BackendPreference;
  /**
   * The build whose binary the page reads at once, before it looks for an adapter, and whether the HTML preloads
   * that binary (data-likely-build, data-likely-preloaded; see OrtBackends.init).
   */
  likely?: LikelyBuild;
}

const PREFERENCES: readonly string[] = ['auto', 'webgpu', 'wasm'] satisfies BackendPreference[];

/** The boot attributes of the page's body, or undefined when any is missing or not what is expected. */
export function bootOf(body: HTMLElement): Boot | undefined {
  const { ortBase, probeModel, backend, likelyBuild, likelyPreloaded } = body.dataset;
  if (!ortBase || !probeModel || !backend || !PREFERENCES.includes(backend)) return undefined;
  const boot: Boot = { ortBaseUri: ortBase, probeModelUri: probeModel, backend: backend as BackendPreference };
  if (likelyBuild === 'webgpu' || likelyBuild === 'wasm') boot.likely = { build: likelyBuild, preloaded: likelyPreloaded === 'true' };
  return boot;
}

/** A list in a data attribute of the page's body (JSON); none when absent, not JSON, or not a list of such items. */
function listOf<T>(value: string | undefined, isItem: (item: unknown) => item is T): T[] {
  let list: unknown;
  try {
    list = JSON.parse(value ?? '[]');
  } catch {
    return [];
  }
  return Array.isArray(list) && list.every(isItem) ? list : [];
}

/** The file routes of the page's HTML (data-file-routes, JSON); none when absent or not a list of routes. */
export function fileRoutesOf(body: HTMLElement): FileRoute[] {
  const isRoute = (r: unknown): r is FileRoute => typeof r === 'object' && r !== null && typeof (r as FileRoute).from === 'string' && typeof (r as FileRoute).to === 'string';
  return listOf(body.dataset.fileRoutes, isRoute);
}

/**
 * The URLs of the files of the model the first command will most likely load (data-first-model-files, JSON),
 * which the panel's starter fetches early (earlyFetches.ts); none when absent or not a list of strings.
 */
export function firstModelFilesOf(body: HTMLElement): string[] {
  return listOf(body.dataset.firstModelFiles, (u): u is string => typeof u === 'string');
}

/**
 * The large files of that model (data-first-model-large, JSON: src/core/ortFiles.ts, firstModelLargeFiles), which the
 * starter begins reading in the download worker; none when absent or not a list of such files.
 */
export function firstModelLargeFilesOf(body: HTMLElement): FirstModelLargeFile[] {
  const isFile = (f: unknown): f is FirstModelLargeFile => {
    const file = f as FirstModelLargeFile;
    return typeof f === 'object' && f !== null && typeof file.url === 'string' && typeof file.what === 'string' && Number.isSafeInteger(file.bytes) && file.bytes > 0;
  };
  return listOf(body.dataset.firstModelLarge, isFile);
}

/**
 * The digests of those files, by URL, that their manifest declares (data-first-model-sha256, JSON): the starter reads the
 * copies a page kept of them first (keptModelFiles.ts); none when absent or not an object of 64-digit hex strings.
 */
export function firstModelDigestsOf(body: HTMLElement): Map<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(body.dataset.firstModelSha256 ?? '{}');
  } catch {
    return new Map();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return new Map();
  return new Map(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && /^[0-9a-f]{64}$/.test(entry[1])));
}

/**
 * The page's download worker (started on its first large download), from the script the HTML carries when it does
 * (the element DOWNLOAD_WORKER_ELEMENT), else fetched; none when the HTML lacks the boot attributes.
 */
export function downloadWorkerOf(body: HTMLElement, routes: FileRoutes): DownloadWorkerClient | undefined {
  const boot = bootOf(body);
  const text = body.ownerDocument.getElementById(DOWNLOAD_WORKER_ELEMENT)?.textContent ?? undefined;
  return boot && new DownloadWorkerClient(new URL(DOWNLOAD_WORKER_SCRIPT, boot.ortBaseUri).href, routes, undefined, text || undefined);
}
