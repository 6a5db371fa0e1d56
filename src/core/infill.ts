// "Fill in the selection": hide the selected span from an encoder–decoder model that declares `infilling`
// (manifest.ts), give it the code around the span as its source (before, the hole token, after), and
// (a) score the original span token by token, teacher-forced, and (b) let the model write its own filling.
// Both are real analyses (analyze.ts) of the model with the span, or the filling, as its target, so every
// existing view (cross-attention target × source, decoder attention, heatmaps) can draw them. Every source
// token keeps its exact document range: the ranges of `before` and `after` tile the kept text. Pure: runs in
// the webview and in Node tests alike.

import { type Analysis, type AnalysedSequence, type AnalysedToken, analyseTokens, truncationEnd } from './analyze';
import { type Tensor, rowLogSumExp } from './analysis';
import type { ModelRunner } from './engine';
import { LensError } from './errors';
import { decodeBeam, decodeGreedy, nextTokenLogProbs } from './infillDecode';
import { infillSpec } from './infillManifest';
import { type SequenceInfo, canonicalTensor } from './modelStructure';
import type { InfillRequest } from './protocol';
import { isBlank } from './text';
import type { LensTokenizer, TokenSpan } from './tokenizer';

export { type InfillSpec, infillSpec } from './infillManifest';

export interface InfillResult {
  request: InfillRequest;
  modelId: string;
  /** The source with document ranges; the hole token is special with an empty range at span.startOffset. */
  source: AnalysedToken[];
  holeIndex: number;
  /** The original span's tokens (document ranges inside the span), each one's probability and surprisal (bits). */
  original: { tokens: AnalysedToken[]; probability: Float32Array; surprisal: Float32Array };
  /**
   * The model's filling: token ids (without `end`), display texts and the decoded text; whether the model
   * wrote `end` (else it stopped at maxNewTokens), and its length-normalised log-probability (nats per
   * token written, `end` included), which beam search maximises.
   */
  filling: { ids: number[]; text: string; tokens: string[]; ended: boolean; score: number };
  /** The model run with the original span as target (teacher-forced): sequences source + target. */
  originalAnalysis: Analysis;
  /** The same with the generated filling as target. */
  fillingAnalysis: Analysis;
  timings: { tokenizeMs: number; scoreMs: number; generateMs: number };
}

export interface InfillOptions {
  /** Most source tokens (context, hole and special tokens together); the context nearest the hole is kept. */
  maxSourceTokens: number;
  signal?: AbortSignal;
  now?: () => number;
}

/** The source sequence: the code around the hole, as the model reads it. */
export interface InfillSource {
  tokens: AnalysedToken[];
  holeIndex: number;
  /** The document text the kept tokens cover (kept before + span + kept after) and its offset. */
  text: string;
  startOffset: number;
  /** Context tokens (before and after) in the request, and how many were kept. */
  contextTokens: { total: number; kept: number };
}

/** Scores the original span and generates a filling; see the top of this file. */
export async function runInfill(tokenizer: LensTokenizer, runner: ModelRunner, request: InfillRequest, options: InfillOptions): Promise<InfillResult> {
  const now = options.now ?? (() => Date.now());
  const { signal } = options;
  const manifest = runner.manifest;
  const spec = infillSpec(manifest, tokenizer);
  if (!spec) throw new LensError('model-invalid', `Model "${manifest.id}" has no "infilling" field in its manifest, so it cannot fill a selection in.`);
  checkRequest(request);
  const sequences = runner.structure.sequences;
  const sourceInfo = sequences.find((s) => s.id === spec.source);
  const targetInfo = sequences.find((s) => s.id === spec.target);
  if (!sourceInfo || !targetInfo || sequences.length !== 2) {
    throw new LensError('model-invalid', `Model "${manifest.id}": infilling needs a model that reads exactly its source "${spec.source}" and target "${spec.target}" sequences; it reads ${sequences.map((s) => `"${s.id}"`).join(', ')}.`);
  }
  const t0 = now();
  const source = infillSource(tokenizer, sourceInfo, spec.hole, request, options.maxSourceTokens);
  const spanStart = request.span.startOffset;
  const spanEnd = spanStart + request.span.text.length;
  const inserted = (id: number, at: number): AnalysedToken => ({ id, text: tokenizer.display(id), start: at, end: at, partial: false, special: true });
  const head: AnalysedToken[] = [...targetInfo.prefix.map((t) => inserted(tokenId(tokenizer, t, `sequences.${spec.target}.prefix`), spanStart)), ...spec.begin.map((id) => inserted(id, spanStart))];
  const spanTokens = tokenizer.tokenize(request.span.text).map((s) => analysedToken(tokenizer, s, spanStart));
  const sequencesWith = (target: AnalysedToken[]): AnalysedSequence[] =>
    sequences.map((s) => ({ id: s.id, label: s.label, tokens: s.id === spec.source ? source.tokens : target }));
  const truncated = source.contextTokens.kept < source.contextTokens.total ? { totalTokens: source.contextTokens.total, keptTokens: source.contextTokens.kept } : null;
  const input = (target: AnalysedToken[]) => ({ text: source.text, startOffset: source.startOffset, sequences: sequencesWith(target), truncated });
  const t1 = now();

  const originalAnalysis = await analyseTokens(tokenizer, runner, input([...head, ...spanTokens, inserted(spec.end, spanEnd)]), { signal, now, tokenizeMs: t1 - t0 });
  const { probability, surprisal } = spanScores(originalAnalysis, head.length, spanTokens.length);
  const t2 = now();

  const next = nextTokenLogProbs(runner, { id: spec.source, ids: source.tokens.map((t) => t.id) }, spec.target, signal);
  const headIds = head.map((t) => t.id);
  const maxNewTokens = Math.max(1, Math.floor(request.maxNewTokens));
  // Beam search may prune the greedy path (its prefix can fall out of the beams), so the greedy filling is a
  // candidate too: a wider search never returns a filling the model scores worse than greedy decoding's.
  const greedy = await decodeGreedy(next, headIds, spec.end, maxNewTokens);
  const beam = request.beamWidth > 1 ? await decodeBeam(next, headIds, spec.end, maxNewTokens, Math.floor(request.beamWidth)) : greedy;
  const best = beam.score >= greedy.score ? beam : greedy;
  const written = best.ids.map((id): AnalysedToken => ({ id, text: tokenizer.display(id), start: spanStart, end: spanStart, partial: false, special: tokenizer.isSpecial(id) }));
  const fillingTarget = [...head, ...written, ...(best.ended ? [inserted(spec.end, spanStart)] : [])];
  const fillingAnalysis = await analyseTokens(tokenizer, runner, input(fillingTarget), { signal, now });
  const t3 = now();

  return {
    request,
    modelId: manifest.id,
    source: source.tokens,
    holeIndex: source.holeIndex,
    original: { tokens: spanTokens, probability, surprisal },
    filling: { ids: best.ids, text: tokenizer.decode(best.ids), tokens: written.map((t) => t.text), ended: best.ended, score: best.score },
    originalAnalysis,
    fillingAnalysis,
    timings: { tokenizeMs: t1 - t0, scoreMs: t2 - t1, generateMs: t3 - t2 },
  };
}

/** The request's parts must meet: before ends where the span starts, after starts where it ends. */
function checkRequest(request: InfillRequest): void {
  const { before, span, after } = request;
  if (isBlank(span.text)) throw new LensError('empty-selection', 'The selection is empty or only whitespace: select the code to hide from the model and fill in.');
  const spanEnd = span.startOffset + span.text.length;
  if (before.startOffset + before.text.length !== span.startOffset || after.startOffset !== spanEnd) {
    throw new LensError('bad-request', `The fill request's parts do not meet: before ends at ${before.startOffset + before.text.length}, the span covers ${span.startOffset}–${spanEnd}, after starts at ${after.startOffset}.`);
  }
  if (!(request.beamWidth >= 1) || !(request.maxNewTokens >= 1)) throw new LensError('bad-request', `The fill request needs beamWidth ≥ 1 and maxNewTokens ≥ 1, got ${request.beamWidth} and ${request.maxNewTokens}.`);
}

function tokenId(tokenizer: LensTokenizer, token: string, field: string): number {
  const id = tokenizer.idOf(token);
  if (id === undefined) throw new LensError('model-invalid', `Manifest field ${field} names the token ${JSON.stringify(token)}, which is not in the tokenizer's vocabulary.`);
  return id;
}

function analysedToken(tokenizer: LensTokenizer, s: TokenSpan, offset: number): AnalysedToken {
  return { id: s.id, text: tokenizer.display(s.id), start: offset + s.start, end: offset + s.end, partial: s.partial, special: s.special };
}

/**
 * The source: the sequence's prefix and leading post-processor tokens, the kept end of `before`, the hole,
 * the kept start of `after`, then trailing post-processor tokens; at most maxSourceTokens in all. The context
 * budget goes to the tokens nearest the hole, alternately before and after it, so either side gets what the
 * other does not need. Context tokens keep the ids of tokenizing each side whole.
 */
export function infillSource(tokenizer: LensTokenizer, info: SequenceInfo, hole: number, request: InfillRequest, maxSourceTokens: number): InfillSource {
  const { lead, trail } = insertedTokens(tokenizer, info);
  const before = tokenizer.tokenize(request.before.text);
  const after = tokenizer.tokenize(request.after.text);
  const budget = Math.floor(maxSourceTokens) - 1 - lead.length - trail.length;
  if (budget < 0) throw new LensError('bad-request', `A source of at most ${maxSourceTokens} tokens has no room for the hole and the ${lead.length + trail.length} tokens the model adds.`);
  let keptBefore = Math.min(before.length, Math.ceil(budget / 2));
  const keptAfter = Math.min(after.length, budget - keptBefore);
  keptBefore = Math.min(before.length, budget - keptAfter);
  // Drop leading tokens that hold only the rest of a character whose first bytes were cut off.
  let first = before.length - keptBefore;
  while (first > 0 && first < before.length && before[first].partial && before[first].start === before[first].end) first++;
  const cutBefore = first === 0 ? 0 : first < before.length ? before[first].start : request.before.text.length;
  const cutAfter = keptAfter === after.length ? request.after.text.length : truncationEnd(request.after.text, after, keptAfter);
  const startOffset = request.before.startOffset + cutBefore;
  const endOffset = request.after.startOffset + cutAfter;
  const inserted = (id: number, at: number): AnalysedToken => ({ id, text: tokenizer.display(id), start: at, end: at, partial: false, special: true });
  const beforeTokens = before.slice(first).map((s) => analysedToken(tokenizer, s, request.before.startOffset));
  const afterTokens = after.slice(0, keptAfter).map((s) => analysedToken(tokenizer, s.end <= cutAfter ? s : { ...s, start: Math.min(s.start, cutAfter), end: cutAfter }, request.after.startOffset));
  const tokens = [...lead.map((id) => inserted(id, startOffset)), ...beforeTokens, inserted(hole, request.span.startOffset), ...afterTokens, ...trail.map((id) => inserted(id, endOffset))];
  return {
    tokens,
    holeIndex: lead.length + beforeTokens.length,
    text: request.before.text.slice(cutBefore) + request.span.text + request.after.text.slice(0, cutAfter),
    startOffset,
    contextTokens: { total: before.length + after.length, kept: beforeTokens.length + afterTokens.length },
  };
}

/**
 * The tokens a sequence puts before and after its text: its prefix and what the tokenizer's post-processor
 * adds (read from a probe text, since they do not depend on the text).
 */
function insertedTokens(tokenizer: LensTokenizer, info: SequenceInfo): { lead: number[]; trail: number[] } {
  const probe = 'a';
  const plain = tokenizer.tokenize(probe).map((s) => s.id);
  const full = tokenizer.tokenize(probe, { addSpecialTokens: info.addSpecialTokens, prefix: info.prefix }).map((s) => s.id);
  let k = 0;
  while (k + plain.length <= full.length && plain.some((id, i) => full[k + i] !== id)) k++;
  return { lead: full.slice(0, k), trail: full.slice(k + plain.length) };
}

/** Probability and surprisal (bits) of the span's tokens, at target positions from `first`, from the logits before each. */
function spanScores(analysis: Analysis, first: number, count: number): { probability: Float32Array; surprisal: Float32Array } {
  const spec = analysis.structure.logits!;
  const logits: Tensor = canonicalTensor(spec, analysis.outputs[spec.name]);
  const V = logits.dims[logits.dims.length - 1];
  const lse = rowLogSumExp(logits);
  const probability = new Float32Array(count);
  const surprisal = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const row = first + i - 1;
    const logp = logits.data[row * V + analysis.tokens[first + i].id] - lse[row];
    probability[i] = Math.exp(logp);
    surprisal[i] = -logp / Math.LN2;
  }
  return { probability, surprisal };
}
