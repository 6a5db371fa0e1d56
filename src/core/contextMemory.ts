// The memory that carries context from one token to the next, derived from the declared roles and axes:
// a recurrent state (final_state outputs, else one token's worth of the per-token state outputs: constant in
// T), a key/value cache (cache outputs: linear in T; one fed back to continue runs counts only without attention),
// or, for attention without a declared cache, the weights themselves (T² per map, T·window for a sliding
// window). The Compare view prints these figures; no architecture name is consulted.

import type { ModelManifest, OutputSpec } from './manifest';
import { modelStructure } from './modelStructure';

export interface MemoryFigure {
  output: string;
  role: string;
  bytes: number;
}

/** Elements of one output for one sequence, with every sequence length set to T (capped at `keyCap` on key axes). */
function elements(o: OutputSpec, T: number, keyCap = Infinity): number {
  return o.axes.reduce<number>((n, a) => {
    if (a.name === 'batch') return n;
    if (a.name === 'key') return n * Math.min(T, keyCap);
    if (a.name === 'query' || a.name === 'position') return n * T;
    return n * (typeof a.size === 'number' ? a.size : 1);
  }, 1);
}

/** Bytes (float32) each output of a model takes for one sequence of T tokens, from the manifest's axes. */
export function outputMemory(manifest: ModelManifest, T: number): MemoryFigure[] {
  return manifest.outputs.map((o) => ({ output: o.name, role: o.role, bytes: 4 * elements(o, T) }));
}

export interface ContextMemory {
  kind: 'state' | 'cache' | 'attention' | 'none';
  bytes: number;
  /** How the figure grows with the number of tokens. */
  growth: 'constant' | 'linear' | 'window' | 'quadratic';
  /** Attention only: maps (layers × heads) and each map's rows × columns. */
  maps?: { count: number; rows: number; cols: number };
}

/** The context memory of a model for T tokens (see the header). */
export function contextMemory(manifest: ModelManifest, T: number): ContextMemory {
  const s = modelStructure(manifest);
  const sum = (outs: OutputSpec[], cap?: (o: OutputSpec) => number) => outs.reduce((n, o) => n + 4 * elements(o, T, cap?.(o)), 0);
  if (s.finalStates.length) return { kind: 'state', bytes: sum(s.finalStates), growth: 'constant' };
  // A state exported after every token (linear attention's S_t, a scan's h_t) is carried one token at a time.
  const states = s.states.flatMap((f) => f.outputs);
  if (states.length) return { kind: 'state', bytes: states.reduce((n, o) => n + 4 * elements(o, 1), 0), growth: 'constant' };
  // A cache the model also takes back (an empty_cache input continues it) is there to continue a run; where the
  // model exports its attention, that is the figure, as for a model without a cache.
  const fedBack = (o: OutputSpec) => o.state !== undefined && manifest.inputs.some((i) => i.role === 'empty_cache' && i.state === o.state);
  const caches = manifest.outputs.filter((o) => o.role === 'cache' && !(fedBack(o) && s.mixing.length));
  if (caches.length) return { kind: 'cache', bytes: sum(caches), growth: 'linear' };
  const self = s.mixing.filter((f) => f.role === 'mixing' && !f.derived); // a derived W (hidden attention) is no memory the model keeps
  if (!self.length) return { kind: 'none', bytes: 0, growth: 'constant' };
  const windowed = self.every((f) => f.mask === 'windowed' && f.window);
  const cap = (o: OutputSpec) => (o.structure === 'windowed' && o.window ? o.window + (o.globalTokens ?? 0) : Infinity);
  const outs = self.flatMap((f) => f.outputs);
  const bytes = sum(outs, cap);
  const cols = Math.min(T, Math.max(...outs.map(cap)));
  return { kind: 'attention', bytes, growth: windowed ? 'window' : 'quadratic', maps: { count: bytes / (4 * T * cols), rows: T, cols } };
}
