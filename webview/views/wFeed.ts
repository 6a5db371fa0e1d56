// Why: the W(t, k) tab shows one matrix per source on one colour scale, each offered from the model's
// roles: attention (a head or the mean over heads, per layer) and rollout where the primary sequence has
// self-mixing, retention (the exact unit-mean decomposition of the state, per layer) where the gates
// declare keep and write, occlusion for every model. This feed serves the chosen one: retention is
// computed in ~12 ms slices (eagerly after the first paint up to EAGER_RETENTION tokens, on demand with
// progress beyond), occlusion only when asked for, through the engine, with progress and cancel. Its notes
// are worded from the manifest: the occlusion token, whether the logits score the next token or the token
// itself, and whether the family's rows are normalised (sum to 1).

import type { Tensor } from '../../src/core/analysis';
import type { SequenceIds } from '../../src/core/engine';
import { LensError } from '../../src/core/errors';
import type { GateSpec } from '../../src/core/manifest';
import { looksAhead } from '../../src/core/modelStructure';
import type { OcclusionMethod } from '../../src/core/occlusion';
import { type RetentionGates, meanRetentionSteps, retentionRow } from '../../src/core/retention';
import { gateData, retentionData } from '../../src/core/roleData';
import { type HeatmapFeed, Listeners, RolloutLoader, failure } from './feeds';
import type { Lens } from './lens';
import { yieldToUi } from '../yieldToUi';
import type { MatrixSource } from './matrixSource';
import { type Matrix, matrixOf } from './matrixOf';
import { formatCount } from '../../src/core/text';

/** "attention" (mean over heads), "head:N", "rollout", "retention" or "occlusion". */
export type WSource = string;

/** The source the W tab shows first: retention where the model has it, else attention (mean over heads), else occlusion. */
export function firstWSource(lens: Lens): WSource {
  return retentionData(lens.analysis) ? 'retention' : lens.attention ? 'attention' : 'occlusion';
}

/** Tokens up to which retention is computed as soon as the first paint is done. */
export const EAGER_RETENTION = 512;

export interface OcclusionState {
  status: 'idle' | 'running' | 'done' | 'failed' | 'cancelled';
  done: number;
  total: number;
  error?: string;
  ms?: number;
  /** How the runs were made, once the engine said. */
  method?: OcclusionMethod;
}

/** A sentence on how an occlusion's runs were made (empty for whole copies of a model that offers nothing else). */
function methodNote(method: OcclusionMethod | undefined): string {
  if (!method) return '';
  const tokens = formatCount;
  if (method.reused) {
    const from = method.reused === 'cache' ? 'key/value cache' : 'recurrent state';
    return ` Each run started from the unchanged prefix’s ${from}: ${tokens(method.tokens)} tokens run instead of ${tokens(method.wholeTokens)}.`;
  }
  return method.refused ? ` Whole copies were run (${tokens(method.wholeTokens)} tokens) because ${method.refused}.` : '';
}

/** Runs occlusion for every sequence's token ids with the analysis's model (the engine serialises it with analyses). */
export type Occlude = (ids: SequenceIds, onProgress: (done: number, total: number) => void, signal: AbortSignal, onMethod: (method: OcclusionMethod) => void) => Promise<Float32Array>;

export class WFeed implements HeatmapFeed {
  source: WSource;
  /** Why a model with gates offers no retention, if so. */
  readonly retentionUnavailable: string | null = null;
  readonly gates: Tensor | undefined;
  readonly spec: RetentionGates | undefined = undefined;
  occlusion: OcclusionState;
  private readonly listeners = new Listeners();
  private readonly retention = new Map<number, Matrix>();
  private job: { layer: number; rows: number; controller: AbortController } | null = null;
  private retentionError: string | null = null;
  private occlusionMatrix: Matrix | null = null;
  private occlusionController: AbortController | null = null;
  private readonly rollout = new RolloutLoader(() => this.matrices ?? null, () => this.listeners.emit());
  private row: { layer: number; t: number; data: Float32Array } | null = null;
  private active = false;
  private eagerFrame = 0;
  private eagerTimer = 0;
  /** Set after the first paint: short inputs' retention may be computed from then on without being asked for. */
  private eagerReady = false;

  /** The declared gates, for the retention note. */
  private readonly gateSpecs: GateSpec[] = [];
  private readonly gateState: string | undefined;
  private readonly cleanup: Array<() => void>;

  constructor(
    private readonly lens: Lens,
    private readonly matrices: MatrixSource | undefined,
    private readonly occlude: Occlude,
  ) {
    // Retention from declared keep/write gates, else from a decay role (keep = decay, write = 1 − decay).
    const gates = gateData(lens.analysis);
    const retention = retentionData(lens.analysis);
    this.gates = retention?.tensor;
    if (retention) {
      this.spec = retention.spec;
      if (retention.source === 'gates' && gates) {
        this.gateSpecs = gates.gates;
        this.gateState = gates.state;
      } else {
        this.gateSpecs = [{ name: retention.label || 'decay', meaning: 'keep', complementWrites: true }];
      }
    } else if (gates && !gates.retention.ok) {
      this.retentionUnavailable = `Retention is not available for this model: ${gates.retention.reason}.`;
    }
    this.source = firstWSource(lens);
    this.occlusion = { status: 'idle', done: 0, total: lens.T };
    this.cleanup = [lens.on('matrix', () => this.listeners.emit())];
    if (matrices) this.cleanup.push(matrices.onRolloutProgress(() => this.rolloutProgress()));
    if (this.spec && lens.T <= EAGER_RETENTION) {
      this.eagerFrame = requestAnimationFrame(() => {
        this.eagerTimer = window.setTimeout(() => {
          this.eagerReady = true;
          this.ensureRetention(lens.layer);
        }, 0);
      });
    }
  }

  /** The layer per-layer sources show. */
  get layer(): number {
    return this.lens.layer;
  }

  /** The sources this model offers, as [value, label]. */
  sources(): Array<[WSource, string]> {
    const out: Array<[WSource, string]> = [];
    const family = this.lens.family;
    if (family) {
      const name = family.label[0].toUpperCase() + family.label.slice(1);
      out.push(['attention', `${name}, mean over heads (layer)`]);
      for (let h = 0; h < this.lens.heads; h++) out.push([`head:${h}`, `${name}, head ${h + 1} (layer)`]);
      out.push(['rollout', `${name} rollout (all layers)`]);
    }
    if (this.spec) out.push(['retention', 'Retention, mean over units (layer)']);
    out.push(['occlusion', 'Occlusion (whole model, on demand)']);
    return out;
  }

  setSource(source: WSource): void {
    if (source === this.source) return;
    this.source = source;
    this.rollout.retry();
    this.listeners.emit();
  }

  /** The W tab became visible (long retention is computed only then) or hidden. */
  setActive(active: boolean): void {
    this.active = active;
    if (active) this.listeners.emit();
  }

  key(): string {
    return this.source === 'rollout' || this.source === 'occlusion' ? this.source : `${this.source}|${this.lens.layer}`;
  }

  causal(): boolean {
    if (this.source === 'retention') return true;
    if (this.source === 'occlusion') return !looksAhead(this.lens.analysis.structure);
    return this.lens.causal;
  }

  unit(): string {
    return this.source === 'occlusion' ? 'bits' : '';
  }

  matrix(): Matrix | null {
    const layer = this.lens.layer;
    if (this.source === 'occlusion') return this.occlusionMatrix;
    if (this.source === 'retention') {
      const m = this.retention.get(layer) ?? null;
      if (!m && (this.active || this.eagerReady) && this.retentionError === null) this.ensureRetention(layer);
      return m;
    }
    if (!this.matrices) return null;
    if (this.source === 'rollout') {
      return this.rollout.get();
    }
    return this.matrices.get(this.source.startsWith('head:') ? Number(this.source.slice(5)) : 'mean', layer);
  }

  note(): { text: string; error?: boolean } {
    const { lens } = this;
    const layer = `layer ${lens.layer + 1}`;
    const T = formatCount(lens.T);
    switch (this.source) {
      case 'occlusion':
        return this.occlusionNote();
      case 'retention': {
        if (this.retentionError !== null) return { text: `Retention failed: ${this.retentionError}`, error: true };
        if (!this.retention.has(lens.layer)) {
          const job = this.job?.layer === lens.layer ? this.job : null;
          const pct = job ? Math.round((job.rows / lens.T) ** 2 * 100) : 0;
          return { text: `Computing retention for ${layer} (O(T²·H) for ${T} tokens)… ${pct}%` };
        }
        return { text: `Retention, ${layer}, mean over ${this.gates!.dims[3]} units: ${this.retentionFormula()}. Hover a cell for the units that keep the most.` };
      }
      case 'rollout':
        if (this.rollout.error !== null) return { text: `The rollout failed: ${this.rollout.error}`, error: true };
        if (!this.matrices?.get('rollout', 0)) {
          const f = this.matrices?.rolloutProgress ?? NaN;
          return { text: `Computing the rollout over ${lens.attention?.layers ?? lens.layers} layers… ${Number.isNaN(f) ? '' : `${Math.round(f * 100)}%`}` };
        }
        return { text: `${this.familyName()} rollout over ${lens.attention?.layers ?? lens.layers} layers: how much token t's last layer draws on token k through every path${this.rowsSumToOne(true)}.` };
      default: {
        const which = this.source.startsWith('head:') ? `head ${Number(this.source.slice(5)) + 1}` : 'mean over heads';
        const layers = lens.attention?.layers ?? 0;
        if (lens.layer >= layers) return { text: `${this.familyName()} has ${layers} layers: pick a layer up to ${layers}.` };
        const signed = lens.family?.signed ? ' W is signed (it can be negative): diverging colours centred on 0, blue below and red above.' : '';
        return { text: `${this.familyName()}, ${layer}, ${which}: W(t, k) is the weight query t gives key k${this.rowsSumToOne()}.${signed}` };
      }
    }
  }

  /**
   * " (rows sum to 1)" only when the family declares normalised rows; otherwise its own weights say so,
   * and its rollout (rolled out from rescaled |W|) makes no claim.
   */
  private rowsSumToOne(rollout = false): string {
    if (this.lens.family?.normalised !== false) return ' (rows sum to 1)';
    return rollout ? '' : ' (not normalised: rows need not sum to 1)';
  }

  private familyName(): string {
    const label = this.lens.family?.label ?? 'attention';
    return label[0].toUpperCase() + label.slice(1);
  }

  /** The retention formula from the declared gates, e.g. "W(t, k) = f(k+1)⋯f(t) · i(k)". */
  private retentionFormula(): string {
    const spec = this.spec!;
    const keep = this.gateSpecs[spec.keep]?.name ?? 'keep';
    const write = this.gateSpecs[spec.write]?.name ?? 'write';
    const w = spec.writeIsComplement ? `(1 − ${write}(k))` : `${write}(k)`;
    const s = this.gateState ? `${this.gateState}(t)` : 'the state at t';
    return `W(t, k) = ${keep}(k+1)⋯${keep}(t) · ${w}, how much of what was written at k is still in ${s}`;
  }

  private occlusionNote(): { text: string; error?: boolean } {
    const o = this.occlusion;
    const n = formatCount(this.lens.T);
    const { manifest, structure } = this.lens.analysis;
    // What replaces a token: the manifest's occlusion token, else a space (the engine's default).
    const by = manifest.occlusionToken !== undefined ? `the token “${manifest.occlusionToken}”` : 'a space';
    if (o.status === 'running') return { text: `Computing occlusion: ${formatCount(o.done)} of ${formatCount(o.total)} tokens replaced…` };
    if (o.status === 'failed') return { text: `Occlusion failed: ${o.error}`, error: true };
    if (o.status === 'done') {
      // A masked language model's logits at t score token t itself: the prediction at t, not after it.
      const prediction = structure.predictsNext ? 'the prediction after token t' : 'the prediction at token t';
      return { text: `Occlusion: W(t, k) = KL(p(t) ‖ p(t) with token k replaced by ${by}), in bits: how much ${prediction} depends on token k. Took ${((o.ms ?? 0) / 1000).toFixed(1)} s.${methodNote(o.method)}` };
    }
    const cancelled = o.status === 'cancelled' ? 'Occlusion was cancelled. ' : '';
    const which = looksAhead(structure) ? 'every other prediction' : 'every later prediction';
    return { text: `${cancelled}Occlusion replaces each token in turn with ${by} and measures how much ${which} changes (KL, bits), the same yardstick for every model. It runs the model ${n} more times on ${n} tokens: press Compute occlusion.` };
  }

  /** The occlusion matrix once computed (for the editor's influence hovers), else null. */
  get occlusionResult(): Float32Array | null {
    return this.occlusionMatrix?.data ?? null;
  }

  /** Extra tooltip text: for retention, the units that keep the most of token k at t. */
  detail(q: number, k: number): string {
    if (this.source !== 'retention' || k > q) return '';
    const row = this.unitRow(q);
    if (!row) return '';
    const H = this.gates!.dims[3];
    const units = Array.from({ length: H }, (_, u) => u).sort((a, b) => row[k * H + b] - row[k * H + a]);
    return `· top units ${units
      .slice(0, 3)
      .map((u) => `u${u} ${row[k * H + u].toFixed(3)}`)
      .join(', ')}`;
  }

  /** Per-unit retention row of query t in the lens's layer: out[k * H + u] (cached for the last t). */
  unitRow(t: number): Float32Array | null {
    if (!this.gates || !this.spec) return null;
    const layer = this.lens.layer;
    if (this.row?.layer !== layer || this.row.t !== t) this.row = { layer, t, data: retentionRow(this.gates, layer, this.spec, t) };
    return this.row.data;
  }

  onChange(listener: () => void): () => void {
    return this.listeners.add(listener);
  }

  /** The matrix source reports rollout progress. */
  rolloutProgress(): void {
    if (this.source === 'rollout') this.listeners.emit();
  }

  /** Computes a layer's mean retention in slices (one job at a time: a newer layer supersedes). */
  private ensureRetention(layer: number): void {
    if (!this.gates || !this.spec || this.retention.has(layer) || this.job?.layer === layer) return;
    this.job?.controller.abort();
    const job = (this.job = { layer, rows: 0, controller: new AbortController() });
    const steps = meanRetentionSteps(this.gates, layer, this.spec);
    const T = this.lens.T;
    const run = async () => {
      for (;;) {
        const deadline = performance.now() + 12;
        let step = steps.next();
        while (!step.done && performance.now() < deadline) step = steps.next();
        if (step.done) return step.value;
        job.rows = step.value;
        if (this.source === 'retention') this.listeners.emit();
        await yieldToUi();
        if (job.controller.signal.aborted) throw new LensError('cancelled', 'Retention was superseded.');
      }
    };
    run().then(
      (data) => {
        this.retention.set(layer, matrixOf(data, T));
        if (this.job === job) this.job = null;
        this.listeners.emit();
      },
      (err: unknown) => {
        if (this.job === job) this.job = null;
        const message = failure(err);
        if (message === null) return;
        this.retentionError = message;
        this.listeners.emit();
      },
    );
  }

  /** Starts occlusion (once at a time); the W view shows its progress through onChange. */
  runOcclusion(): void {
    if (this.occlusion.status === 'running') return;
    const controller = (this.occlusionController = new AbortController());
    const started = performance.now();
    this.occlusion = { status: 'running', done: 0, total: this.lens.T };
    this.listeners.emit();
    const ids: SequenceIds = Object.fromEntries(this.lens.analysis.sequences.map((seq) => [seq.id, seq.tokens.map((t) => t.id)]));
    this.occlude(
      ids,
      (done, total) => {
        if (controller !== this.occlusionController) return;
        this.occlusion = { ...this.occlusion, status: 'running', done, total };
        this.listeners.emit();
      },
      controller.signal,
      (method) => {
        if (controller === this.occlusionController) this.occlusion = { ...this.occlusion, method };
      },
    ).then(
      (data) => {
        if (controller !== this.occlusionController) return;
        this.occlusionMatrix = matrixOf(data, this.lens.T);
        this.occlusion = { status: 'done', done: this.lens.T, total: this.lens.T, ms: performance.now() - started, method: this.occlusion.method };
        this.listeners.emit();
      },
      (err: unknown) => {
        if (controller !== this.occlusionController) return;
        const message = failure(err);
        this.occlusion = message === null ? { status: 'cancelled', done: 0, total: this.lens.T } : { status: 'failed', done: 0, total: this.lens.T, error: message };
        this.listeners.emit();
      },
    );
  }

  /** Cancels a running occlusion at once (the engine stops after its current batch). */
  cancelOcclusion(): void {
    if (this.occlusion.status !== 'running') return;
    this.occlusionController?.abort();
    this.occlusionController = null;
    this.occlusion = { status: 'cancelled', done: 0, total: this.lens.T };
    this.listeners.emit();
  }

  dispose(): void {
    cancelAnimationFrame(this.eagerFrame);
    clearTimeout(this.eagerTimer);
    this.job?.controller.abort();
    this.occlusionController?.abort();
    this.occlusionController = null;
    this.cleanup.forEach((f) => f());
  }
}
