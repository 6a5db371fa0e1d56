// Why: a page can start onnxruntime before the host answers `ready` (which waits for the models to be
// checked on a first run): the HTML carries what starting it needs (webviewHtml.ts writes these attributes).

import type { BackendPreference } from '../src/core/protocol';

export interface Boot {
  ortBaseUri: string;
  probeModelUri: string;
  backend: BackendPreference;
}

const PREFERENCES: readonly string[] = ['auto', 'webgpu', 'wasm'] satisfies BackendPreference[];

/** The boot attributes of the page's body, or undefined when any is missing or not what is expected. */
export function bootOf(body: HTMLElement): Boot | undefined {
  const { ortBase, probeModel, backend } = body.dataset;
  if (!ortBase || !probeModel || !backend || !PREFERENCES.includes(backend)) return undefined;
  return { ortBaseUri: ortBase, probeModelUri: probeModel, backend: backend as BackendPreference };
}
