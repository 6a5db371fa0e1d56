// Why: npm run bench:vscode splits a command's latency, and a cold start, into its steps (and finds which step
// a long main-thread task belongs to) from these performance marks; each keeps its latest time only.

export type Step =
  | 'start' // the panel's starter, inline in its HTML, ran (panelStart.ts)
  | 'script' // the page's script started
  | 'ready' // the host answered with the initial state
  | 'request' // the host asked for an analysis (showSelection)
  | 'early' // the starter began reading the likely first model's large files (in the download worker)
  | 'worker' // onnxruntime's worker answered its first request (script fetched, parsed and started)
  | 'binary' // onnxruntime's wasm binary is here: read (gzipped, or a kept copy), or streamed and compiled by its worker from the file server (then with 'instantiated')
  | 'instantiated' // the probe model's session is created (the first one of a build compiles the binary)
  | 'backend' // onnxruntime's worker, binary and probe are ready
  | 'files' // the model's files are fetched
  | 'packed' // the page's tokenizer is made from the tokenizer worker's parts (the panel)
  | 'session' // its session is created (in the worker)
  | 'warm' // its warm-up run and sanity check are done
  | 'tokenized' // the tokenizer worker tokenized a text for an analysis (the latest)
  | 'predicted' // the logits worker ranked an analysis's predictions (the latest)
  | 'analysed' // the run and the analysis of the selection are done
  | 'rendered' // the views are built
  | 'painted' // the frame that shows them
  | 'influence'; // the editor hovers' summary is posted to the host

export function mark(step: Step): void {
  performance.clearMarks(`lens:${step}`);
  performance.mark(`lens:${step}`);
}
