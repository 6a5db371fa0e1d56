// The manifest's `infilling` field (manifest.ts, InfillingSpec), checked twice: its shape and its relation to
// the sequences and the logits by the validator (which sees only the JSON), and its tokens against the
// model's tokenizer when the model is loaded (infillSpec), since only the tokenizer knows whether a token
// string exists. Both name the manifest field, what was expected and what was found.

import { LensError } from './errors';
import { type ModelManifest, axisIndex, sequenceOfAxis } from './manifest';
import type { LensTokenizer } from './tokenizer';

/** The infilling field resolved to token ids of the model's tokenizer. */
export interface InfillSpec {
  /** Sequence ids of the source (code with a hole) and the target (the span). */
  source: string;
  target: string;
  hole: number;
  begin: number[];
  end: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isToken = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const found = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/**
 * Problems of a manifest's `infilling` field (called by validateManifest when the field is present): an
 * object naming two different declared sequences, the target being the one next-token logits score, token
 * strings for hole, begin and end, and something before the span's first token for the logits to predict it
 * from (the target's prefix or `begin`).
 */
export function infillingProblems(m: Obj, err: (path: string, message: string) => void): void {
  const f = m.infilling;
  if (!isObj(f)) return err('infilling', `expected an object {"source", "target", "hole", "begin", "end"}, got ${found(f)}`);
  const sequences = isObj(m.sequences) ? m.sequences : {};
  const ids = Object.keys(sequences);
  for (const key of ['source', 'target'] as const) {
    if (typeof f[key] !== 'string' || !ids.includes(f[key])) err(`infilling.${key}`, `expected the id of a sequence in "sequences" (${ids.map((id) => `"${id}"`).join(', ') || 'none is declared'}), got ${found(f[key])}`);
  }
  if (typeof f.source === 'string' && f.source === f.target) err('infilling.target', `expected a sequence other than the source, got ${found(f.target)} for both`);
  if (!isToken(f.hole)) err('infilling.hole', `expected a token string (the token that stands for the hidden span), got ${found(f.hole)}`);
  if (!Array.isArray(f.begin) || !f.begin.every(isToken)) err('infilling.begin', `expected an array of token strings (may be empty), got ${found(f.begin)}`);
  if (!isToken(f.end)) err('infilling.end', `expected a token string (the token that ends the span), got ${found(f.end)}`);
  if (typeof f.target !== 'string' || !ids.includes(f.target)) return;
  const logits = Array.isArray(m.outputs) ? m.outputs.find((o): o is Obj => isObj(o) && o.role === 'logits') : undefined;
  const scored = logits && Array.isArray(logits.axes) ? logitsSequence(m, logits) : undefined;
  if (!logits) err('infilling', 'expected an output with role "logits" (it scores the span and writes the filling), found none');
  else if (scored !== undefined && scored !== f.target) err('infilling.target', `expected the sequence the logits score ("${scored}"), got ${found(f.target)}`);
  else if (logits.predicts === 'current') err('infilling', 'expected logits that predict the next token ("predicts": "next"); these predict the current one');
  const target = sequences[f.target];
  const prefix = isObj(target) && Array.isArray(target.prefix) ? target.prefix : [];
  if (Array.isArray(f.begin) && f.begin.length === 0 && prefix.length === 0) {
    err('infilling.begin', `expected at least one token, since sequence "${f.target}" has no prefix: something must come before the span's first token for the logits to predict it`);
  }
}

/** The sequence id the logits' position axis indexes, if the axes are well-formed. */
function logitsSequence(m: Obj, logits: Obj): string | undefined {
  const spec = logits as unknown as ModelManifest['outputs'][number];
  if (!spec.axes.every(isObj)) return undefined;
  return sequenceOfAxis(m as unknown as ModelManifest, spec.axes[axisIndex(spec, 'position')]);
}

/**
 * The model's infilling field with its tokens as ids of its tokenizer; null when the model declares none.
 * Throws a model-invalid LensError naming the field and the token when a token is not in the vocabulary.
 */
export function infillSpec(manifest: ModelManifest, tokenizer: LensTokenizer): InfillSpec | null {
  const f = manifest.infilling;
  if (!f) return null;
  const id = (token: string, field: string): number => {
    const value = tokenizer.idOf(token);
    if (value === undefined) {
      const file = manifest.tokenizer.file;
      throw new LensError('model-invalid', `Model "${manifest.id}": manifest field infilling.${field} names the token ${JSON.stringify(token)}, which is not in the tokenizer's vocabulary (${file}).`);
    }
    return value;
  };
  return { source: f.source, target: f.target, hole: id(f.hole, 'hole'), begin: f.begin.map((t, i) => id(t, `begin[${i}]`)), end: id(f.end, 'end') };
}

/**
 * The model "Fill in the selection" uses among the valid models (in menu order): the one asked for (a
 * command argument, else the setting attentionLens.fill.model), else the first that declares infilling.
 * Returns its id, or a message saying what is missing.
 */
export function chooseInfillingModel(models: readonly ModelManifest[], asked: string | undefined, setting: string): { modelId: string } | { message: string } {
  const capable = models.filter((m) => m.infilling);
  const wanted = asked || setting;
  if (wanted) {
    const named = models.find((m) => m.id === wanted);
    const source = asked ? `The model "${wanted}"` : `The setting attentionLens.fill.model names "${wanted}", which`;
    if (!named) return { message: `${source} is not installed (installed: ${models.map((m) => m.id).join(', ') || 'none'}).` };
    if (!named.infilling) return { message: `${source} cannot fill a selection in: its manifest declares no "infilling" (models that can: ${capable.map((m) => m.id).join(', ') || 'none'}).` };
    return { modelId: named.id };
  }
  if (!capable.length) {
    return { message: 'No installed model can fill a selection in: it needs an encoder–decoder model whose manifest declares "infilling" (source and target sequences, hole, begin and end tokens). Add one with "Attention Lens: Add model from folder…".' };
  }
  return { modelId: capable[0].id };
}
