// Why: the panel's HTML carries a small inline script (panelStart.ts) that starts onnxruntime as soon as the
// HTML is parsed, while the panel's own script (half a megabyte) still comes through VS Code's resource loading,
// which took 130–930 ms in cold windows here. The starter leaves what it started here, on the page's global
// object, for the panel's script to take over (with the file routes it reads through): the two are separate
// bundles, so this is all they share.

import type { BackendInfo } from '../src/core/protocol';

/**
 * A backend the starter began: the page's workers (an OrtBackends: a type parameter, as each bundle has its own
 * copy of that class, and this module needs none of its types), and the initialisation under way for the backend
 * setting of the page's boot attributes.
 */
export interface StartedBackend<Backends, Downloads = unknown> {
  readonly ort: Backends;
  readonly info: Promise<BackendInfo>;
  /** The page's download worker client (a DownloadWorkerClient), when the starter began reading large files with it. */
  readonly downloads?: Downloads;
}

const KEY = Symbol.for('attentionLens.startedBackend');
/** The started backend; null once the panel's script has looked for it (a starter that runs later starts nothing). */
type Holder = { [KEY]?: StartedBackend<unknown> | null };

/** Starts a backend for the panel's script, unless that script has already looked for one (and started its own). */
export function startForPanel<Backends, Downloads>(start: () => StartedBackend<Backends, Downloads> | undefined): void {
  const holder = globalThis as unknown as Holder;
  if (KEY in holder) return;
  const started = start();
  if (started) holder[KEY] = started;
}

/** Takes the backend the starter left, once: undefined when there is none (no starter, or it could not start). */
export function takeStarted<Backends, Downloads>(): StartedBackend<Backends, Downloads> | undefined {
  const holder = globalThis as unknown as Holder;
  const started = (holder[KEY] ?? undefined) as StartedBackend<Backends, Downloads> | undefined;
  holder[KEY] = null;
  return started;
}
