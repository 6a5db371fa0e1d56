// Why: the panel's HTML carries a small inline script (panelStart.ts) that starts onnxruntime as soon as the
// HTML is parsed, while the panel's own script (half a megabyte) still comes through VS Code's resource loading,
// which took 130–360 ms in a cold window. The starter leaves what it started here, on the page's window, for the
// panel's script to take over: the two are separate bundles, so nothing else of theirs is shared.

import type { BackendInfo, BackendPreference } from '../src/core/protocol';
import type { OrtBackends } from './backend';

/** A backend the starter began: the page's workers, and the initialisation under way for a preference. */
export interface StartedBackend {
  readonly ort: OrtBackends;
  readonly preference: BackendPreference;
  readonly info: Promise<BackendInfo>;
}

const KEY = Symbol.for('attentionLens.startedBackend');
type Holder = { [KEY]?: StartedBackend };

/** Leaves a started backend for the panel's script. */
export function leaveStarted(started: StartedBackend): void {
  (window as unknown as Holder)[KEY] = started;
}

/** Takes the backend the starter left, once: undefined when there is none (no starter, or it could not start). */
export function takeStarted(): StartedBackend | undefined {
  const holder = window as unknown as Holder;
  const started = holder[KEY];
  delete holder[KEY];
  return started;
}
