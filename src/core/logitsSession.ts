// Why: onnxruntime computes every output of a graph whatever outputs a run asks for, so each of occlusion's
// hundreds of runs (and fill's) also computed every attention matrix, state and hidden state the model exposes for
// the views, only to drop them. For a model small enough to hold twice, a second session of a copy of the graph
// that keeps only the logits (onnxPrune.ts: the same operators on the same weights) runs those, created the first
// time one is asked for and released with the model's own.

import type { InferenceSession } from 'onnxruntime-web';
import type { OrtModule } from './engine';
import type { ModelManifest } from './manifest';
import { pruneToOutputs } from './onnxPrune';

/**
 * Models up to this size get the second session. The copy of the file kept for it is made on the page's thread as
 * the model loads (a few milliseconds at this size), is held until the first logits-only run (which prunes it there,
 * 1–22 ms for the bundled models) or until the model is released, and the session holds the weights a second time.
 * A larger model's logits-only runs use its own session.
 */
export const LOGITS_SESSION_MAX_BYTES = 16 * 2 ** 20;

export class LogitsOnlySession {
  private bytes: Uint8Array | undefined;
  private created: Promise<InferenceSession | undefined> | undefined;
  private released = false;
  /** Why the copy was not used (it could not be made or loaded), once a run asked for it. */
  refused: string | undefined;

  private constructor(
    private readonly ort: OrtModule,
    bytes: Uint8Array,
    private readonly options: InferenceSession.SessionOptions,
    private readonly logits: string,
    private readonly inputs: readonly string[],
  ) {
    this.bytes = bytes;
  }

  /**
   * The logits-only session of a model (created on first use), or undefined when the model has no logits, nothing
   * else to leave out, external data, or more than LOGITS_SESSION_MAX_BYTES. Called before the model's own session
   * is created, which may take `bytes` (a worker's client moves them): this keeps a copy.
   */
  static of(ort: OrtModule, manifest: ModelManifest, bytes: Uint8Array, options: InferenceSession.SessionOptions): LogitsOnlySession | undefined {
    const logits = manifest.outputs.find((o) => o.role === 'logits');
    if (!logits || manifest.outputs.length < 2 || options.externalData?.length || bytes.byteLength > LOGITS_SESSION_MAX_BYTES) return undefined;
    return new LogitsOnlySession(ort, bytes.slice(), options, logits.name, manifest.inputs.map((i) => i.name));
  }

  /** The logits-only session, or `own` (the model's session) when the copy cannot be used. */
  async session(own: InferenceSession): Promise<InferenceSession> {
    this.created ??= this.create();
    return (await this.created) ?? own;
  }

  private async create(): Promise<InferenceSession | undefined> {
    const bytes = this.bytes;
    this.bytes = undefined;
    if (this.released || !bytes) return undefined;
    let session: InferenceSession;
    try {
      const pruned = pruneToOutputs(bytes, [this.logits]);
      if (pruned.nodes[1] === pruned.nodes[0]) return undefined; // nothing to leave out: the logits are all it computes
      session = await this.ort.InferenceSession.create(pruned.bytes, this.options);
    } catch (err) {
      this.refused = err instanceof Error ? err.message : String(err);
      return undefined;
    }
    const same = session.outputNames.length === 1 && session.outputNames[0] === this.logits && this.inputs.every((name) => session.inputNames.includes(name));
    if (this.released || !same) {
      if (!same) this.refused = `the copy has inputs ${session.inputNames.join(', ')} and outputs ${session.outputNames.join(', ')}`;
      await session.release();
      return undefined;
    }
    return session;
  }

  /** Releases the session, also one still being created (once it is). */
  async release(): Promise<void> {
    this.released = true;
    this.bytes = undefined;
    const session = await this.created?.catch(() => undefined);
    this.created = Promise.resolve(undefined);
    await session?.release();
  }
}
