// Why: the Compare view runs the models the user chose among those installed. By default that is every
// causal language model (logits that predict the next token: their bits per byte and distance profiles are
// comparable); the user's own checks and unchecks are kept, by model id, in the webview's state, so they
// survive reloads, and a model installed later follows the default until the user decides otherwise. Pure
// (no DOM), so it is unit-tested in Node.

import type { ModelManifest } from '../../src/core/manifest';
import { modelStructure, predictsUnseenText } from '../../src/core/modelStructure';

/** The user's decisions, by model id: those checked and those unchecked against the default. */
export interface CompareChoice {
  checked: string[];
  unchecked: string[];
}

/** Most ids a saved choice keeps (far more than anyone installs), and the longest id. */
const MAX_IDS = 256;
const MAX_ID_LENGTH = 128;

/**
 * Whether a model is a causal language model: it reads the text as its one sequence and its logits predict the
 * next token. Compared by default. (An encoder–decoder reads the selection as its source too, so its target's
 * next-token scores have seen the text: not comparable.)
 */
export function isCausalLanguageModel(manifest: ModelManifest): boolean {
  return predictsUnseenText(modelStructure(manifest));
}

/** Whether a model is compared under a choice (its own decision, else the default). */
export function isCompared(manifest: ModelManifest, choice: CompareChoice | undefined): boolean {
  if (choice?.checked.includes(manifest.id)) return true;
  if (choice?.unchecked.includes(manifest.id)) return false;
  return isCausalLanguageModel(manifest);
}

/** The models compared, in the order given (the menu order). */
export function comparedModels<T extends { manifest: ModelManifest }>(models: readonly T[], choice: CompareChoice | undefined): T[] {
  return models.filter((m) => isCompared(m.manifest, choice));
}

/** The choice after the user (un)checked a model: only decisions that differ from its default are kept. */
export function withDecision(choice: CompareChoice | undefined, manifest: ModelManifest, compared: boolean): CompareChoice {
  const id = manifest.id;
  const checked = (choice?.checked ?? []).filter((x) => x !== id);
  const unchecked = (choice?.unchecked ?? []).filter((x) => x !== id);
  if (compared !== isCausalLanguageModel(manifest)) (compared ? checked : unchecked).push(id);
  return { checked: checked.slice(-MAX_IDS), unchecked: unchecked.slice(-MAX_IDS) };
}

/** A saved choice read back from the webview's state (anything else, or nothing, gives undefined). */
export function parseChoice(value: unknown): CompareChoice | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ids = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x.length > 0 && x.length <= MAX_ID_LENGTH).slice(0, MAX_IDS) : []);
  const o = value as Record<string, unknown>;
  return { checked: ids(o.checked), unchecked: ids(o.unchecked) };
}

/** "Models compared: 4 of 7", with why none or one is not a comparison. */
export function choiceSummary(compared: number, total: number): string {
  const base = `Models compared: ${compared} of ${total}`;
  if (compared === 0) return `${base}: choose at least one`;
  return compared === 1 && total > 1 ? `${base}: choose another to compare it with` : base;
}
