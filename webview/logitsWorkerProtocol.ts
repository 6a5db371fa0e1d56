// Why: the math over a model's logits is long where the logits are large: an occlusion's KL sums
// (src/core/klSums.ts: every batch's logits, 12 MiB each and hundreds of MB in all, passed through the heap the
// page shares with VS Code's workbench, whose collection held a 98 ms task, bench:profile --occlusion) and an
// analysis's log-sum-exp and top k per row (src/core/rowPredictions.ts). The logits worker (logitsWorker.ts)
// does both instead of the page. These are the messages between the page (logitsClient.ts) and it, carried by
// src/core/rpc.ts.

import type { KlBatch } from '../src/core/klSums';
import type { RowPredictions } from '../src/core/rowPredictions';

export interface LogitsWorkerRequests {
  /** Keeps an occlusion's unperturbed logits [T, V] (moved to the worker) under a key. */
  baseline: { params: { key: number; logits: Float32Array; T: number; V: number }; result: null };
  /**
   * KL bits of a batch against the baseline under key (klRows' order); its logits are moved to the worker, and
   * on to the spentTo port once summed (else freed here).
   */
  columns: { params: { key: number; batch: KlBatch; logits: Float32Array }; result: Float32Array };
  /** Where summed logits go: the onnxruntime worker that allocated them frees them (ortWorker.ts, spentLogits). */
  spentTo: { params: { port: MessagePort }; result: null };
  /** Forgets the baseline under key. */
  drop: { params: { key: number }; result: null };
  /** Each row's log-sum-exp and top k of logits [rows, V], moved to the worker and back with the answer. */
  predictions: { params: { logits: Float32Array; rows: number; V: number; topK: number }; result: RowPredictions & { logits: Float32Array } };
}

export type LogitsWorkerNotifications = Record<string, never>;
