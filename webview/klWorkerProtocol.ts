// Why: an occlusion's KL sums (src/core/klSums.ts) take as long as its runs and, on the page's thread, every
// batch's logits (12 MiB each, hundreds of MB in all) passed through the heap that VS Code's workbench shares
// there, whose collection held a 98 ms task (bench:profile --occlusion). The KL worker (klWorker.ts) sums them
// instead. These are the messages between the page (klClient.ts) and it, carried by src/core/rpc.ts.

import type { KlBatch } from '../src/core/klSums';

export interface KlWorkerRequests {
  /** Keeps an occlusion's unperturbed logits [T, V] (moved to the worker) under a key. */
  baseline: { params: { key: number; logits: Float32Array; T: number; V: number }; result: null };
  /** KL bits of a batch against the baseline under key (klRows' order); its logits are moved to the worker. */
  columns: { params: { key: number; batch: KlBatch; logits: Float32Array }; result: Float32Array };
  /** Forgets the baseline under key. */
  drop: { params: { key: number }; result: null };
}

export type KlWorkerNotifications = Record<string, never>;
