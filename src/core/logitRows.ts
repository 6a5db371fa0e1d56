// Why: masked predictions read one row of each masked copy's logits, the masked position's: 1 of about 258 rows
// at 256 tokens, where a batch's logits [B, T, V] are 12 MiB and a whole run over 1 GiB. Picking the rows where the
// run happens (onnxruntime's worker) keeps the rest from being copied to the page, and frees it on the thread
// that allocated it. This is the pick, the same wherever it runs, and the run option that asks for it.

/** Run option: of output `output` [batch, position, …], only item b's row rows[b] comes back, as [batch, 1, …]. */
export interface RowsOf {
  output: string;
  rows: number[];
}

/** Item b's row rows[b] of a [B, T, …] tensor, as [B, 1, …]. */
export function pickRows(data: Float32Array, dims: readonly number[], rows: readonly number[]): { data: Float32Array; dims: number[] } {
  const [B, T] = dims;
  if (dims.length < 2 || rows.length !== B) throw new Error(`rows of an output: ${rows.length} rows for [${dims.join(', ')}]`);
  const inner = dims.slice(2).reduce((a, b) => a * b, 1);
  if (data.length !== B * T * inner) throw new Error(`rows of an output: ${data.length} values for [${dims.join(', ')}]`);
  const out = new Float32Array(B * inner);
  rows.forEach((row, b) => {
    if (!Number.isInteger(row) || row < 0 || row >= T) throw new Error(`rows of an output: row ${row} of item ${b} is not a position of [${dims.join(', ')}]`);
    out.set(data.subarray((b * T + row) * inner, (b * T + row + 1) * inner), b * inner);
  });
  return { data: out, dims: [B, 1, ...dims.slice(2)] };
}
