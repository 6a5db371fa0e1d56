// The one message protocol between the extension host and its webviews (the analysis panel, the
// Compare sidebar and the Fill panel). Each map lists string method names with one interface each; rpc.ts carries them.
// The host checks the params of every WebviewRequests and WebviewNotifications method against its schema
// in protocolSchema.ts (typed against these interfaces) before a handler runs: change both together.

import type { CompareRun } from './compare';
import type { ErrorPayload } from './errors';
import type { InfluenceMetric, PackedInfluenceSummary, TokenInfluence } from './influence';
import type { ModelManifest } from './manifest';
import type { OrtBinaryFile } from './ortFiles';
import type { RequestSpec } from './rpc';

/** Which webview is talking. */
export type ViewKind = 'panel' | 'sidebar' | 'fill';

/** Inference backends the webview can use. */
export type BackendPreference = 'auto' | 'webgpu' | 'wasm';

/** User settings the webview needs. */
export interface LensSettings {
  defaultModel: string;
  maxTokens: number;
  backend: BackendPreference;
  /** The W(t, k) that editor hovers and decorations summarise. */
  influenceMetric: InfluenceMetric;
  /** Tokens the Compare view runs each model on (longer selections are truncated, with a notice). */
  compareMaxTokens: number;
}

/** A zero-based document position (line, UTF-16 character), as VS Code counts it. */
export interface Position {
  line: number;
  character: number;
}

/** A selection in a document: its text and where it came from. */
export interface SelectionSummary {
  /** Document URI, as a string. */
  uri: string;
  /** Workspace-relative or file name, for display. */
  fileName: string;
  languageId: string;
  /** Document version the text was read at. */
  version: number;
  start: Position;
  end: Position;
  /** UTF-16 offset of the start in the document. */
  startOffset: number;
  text: string;
  /** Length in UTF-16 code units (what VS Code reports). */
  length: number;
  /** Length in Unicode code points. */
  codePoints: number;
  lineCount: number;
}

/** What the webview's inference backend turned out to be. */
export interface BackendInfo {
  /** Backend that runs the models. */
  backend: 'webgpu' | 'wasm';
  /** What the user asked for. */
  requested: BackendPreference;
  /** onnxruntime-web version. */
  ortVersion: string;
  /** WebGPU adapter description (vendor, architecture, description), when WebGPU is used. */
  adapter?: string;
  /** Why WebGPU was not used, when it was not. */
  fallbackReason?: string;
  /** Milliseconds from start of initialisation to a verified probe run. */
  initMs: number;
}

/** A model the webview can load: its manifest and the webview URIs of its files. */
export interface ModelDescriptor {
  manifest: ModelManifest;
  modelUri: string;
  tokenizerUri: string;
  /** Size of model.onnx in bytes, for load progress. */
  modelBytes: number;
  /** The weights file of a model saved with ONNX external data (manifest field externalData). */
  externalDataUri?: string;
  /** Its size in bytes, for load progress and the memory budget (absent when it could not be read). */
  externalDataBytes?: number;
  /**
   * The sizes and modification times of the model's files when the host checked them: a download begun before
   * `ready` (likelyFirstModel) is taken only by a load of files with the same stamp, not by a later version.
   */
  filesStamp?: string;
  /**
   * The SHA-256 digests (hex) of its model and tokenizer files, where its manifest declares them (onnx.sha256,
   * tokenizer.sha256; the host's check verifies them): a page keeps copies of small files under them, and keeps or
   * takes a copy only if its bytes have them (webview/keptModelFiles.ts).
   */
  sha256?: { model?: string; tokenizer?: string };
}

/** A model that could not be offered, with every reason (each names the file and field). */
export interface InvalidModel {
  /** The folder's name (the model id it would have). */
  id: string;
  /** Where it is, for display: "media/models/<id>" or the folder the user gave. */
  folder: string;
  errors: string[];
}

/**
 * Where a webview may read its files faster than through resource loading: URIs that start with `from` (the
 * webview URI of a resource root, ending in "/") are also served under `to` (fileRoutes.ts on the host).
 */
export interface FileRoute {
  from: string;
  to: string;
}

/** The header every answer of the host's file server carries: a served body without it is not trusted. */
export const SERVED_HEADER = 'X-Attention-Lens-File';

/** The webview's initial state, answered to `ready`. */
export interface InitialState {
  view: ViewKind;
  settings: LensSettings;
  /** URI prefix (webview resource URI) of the folder holding onnxruntime-web's wasm files. */
  ortBaseUri: string;
  /** Webview URI of a tiny ONNX model used to verify the backend. */
  probeModelUri: string;
  /** The selection to show first, if any. */
  selection: SelectionSummary | null;
  /** The models available, in menu order. */
  models: ModelDescriptor[];
  /** Models found but not offered, with their problems. */
  invalidModels: InvalidModel[];
}

/** Acknowledgement that a selection is on screen. */
export interface SelectionShown {
  /** Document version shown. */
  version: number;
  /** Characters displayed (UTF-16). */
  length: number;
  backend: BackendInfo | null;
}

/** What the webview reports after an analysis is on screen (small: no tensors). */
export interface AnalysisDone {
  /** Document the analysed text came from, and its version. */
  uri: string;
  version: number;
  modelId: string;
  backend: 'webgpu' | 'wasm';
  tokenCount: number;
  truncated: { totalTokens: number; keptTokens: number } | null;
  /** Milliseconds: model load (0 when cached), tokenize, run, derived views, first render. */
  timings: { loadMs: number; tokenizeMs: number; runMs: number; analyseMs: number; renderMs: number };
}

/** A copy of the current analysis for tests and exports: tokens with document ranges, optionally tensors. */
export interface AnalysisSnapshot {
  uri: string;
  version: number;
  modelId: string;
  tokens: Array<{ id: number; text: string; start: number; end: number; partial: boolean; special: boolean }>;
  /** Every token sequence the model read (one, or a source and a target), with its token count. */
  sequences: Array<{ id: string; label: string; tokenCount: number }>;
  /** The main attention family [L, H, rows, cols] as a flat array, when requested and the model has one. */
  attention?: { dims: number[]; data: number[] };
  /** Gates [L, T, G, H] with their declared names, when requested and the model has them. */
  gates?: { dims: number[]; data: number[]; order: string[] };
  surprisal: Array<number | null>;
}

/** A text the Compare view compares the models on: which document range it is. */
export interface CompareText {
  uri: string;
  version: number;
  startOffset: number;
  /** The selection's text; the models see its first maxTokens tokens. */
  text: string;
  maxTokens: number;
}

/** What the Compare view reports once every model has run on a selection (small: no tensors). */
export interface ComparisonDone {
  uri: string;
  version: number;
  /** The compared selection's document offset and length (UTF-16). */
  startOffset: number;
  length: number;
  tokenCount: number;
  truncated: boolean;
  models: Array<{ modelId: string; backend: 'webgpu' | 'wasm'; reused: boolean; runMs: number; bitsPerByte: number; halfLife: number | null }>;
  /** The sentences shown under "In words". */
  sentences: string[];
}

/** "Fill in the selection": the selected span, hidden from the model, and the code around it. */
export interface InfillRequest {
  uri: string;
  fileName: string;
  languageId: string;
  version: number;
  /** The hidden span: its UTF-16 document offset, text and positions. */
  span: { startOffset: number; text: string; start: Position; end: Position };
  /** The code before the span (it ends where the span starts). */
  before: { startOffset: number; text: string };
  /** The code after the span (it starts where the span ends). */
  after: { startOffset: number; text: string };
  /** Absent: the setting attentionLens.fill.model, else the first model declaring infilling. */
  modelId?: string;
  /** 1 = greedy decoding; more = beam search with this many beams. */
  beamWidth: number;
  /** The most tokens the model may generate before its end token. */
  maxNewTokens: number;
}

/** What the Fill panel reports once the scores and the model's own filling are on screen (small: no tensors). */
export interface InfillDone {
  uri: string;
  version: number;
  modelId: string;
  backend: 'webgpu' | 'wasm';
  sourceTokenCount: number;
  /** The original span, teacher-forced: each token's probability and surprisal (bits). */
  original: { text: string; tokens: Array<{ text: string; probability: number; surprisal: number }>; bitsPerToken: number };
  filling: { text: string; tokenCount: number; matchesOriginal: boolean };
  /** Milliseconds: model load (0 when cached), scoring, generation, first render. */
  timings: { loadMs: number; scoreMs: number; generateMs: number; renderMs: number };
}

/** For editor hovers over context tokens: which filled tokens looked at each (top 3, largest first). */
export interface InfillAttention {
  uri: string;
  version: number;
  modelId: string;
  /** What the weights are, e.g. "cross-attention, mean of 4 heads, layer 2" or "alignment (Bahdanau attention)". */
  label: string;
  /** Context tokens by UTF-16 document range. */
  context: Array<{ start: number; end: number; lookedAtBy: Array<{ text: string; index: number; weight: number }> }>;
}

/** A copy of the Fill panel's current result for tests: source ranges, scores, the filling, optionally tensors. */
export interface InfillSnapshot {
  uri: string;
  version: number;
  modelId: string;
  source: Array<{ text: string; start: number; end: number; special: boolean }>;
  original: InfillDone['original'];
  filling: { text: string; tokens: string[] };
  /** The cross-attention of the filling [layers, heads, fillingTokens(target rows), sourceTokens] when includeTensors. */
  cross?: { dims: number[]; data: number[] };
  /** The panel's painted state: which views are on screen (for tests). */
  views: string[];
}

/** A file the user asked to export; the host shows the save dialog. */
export interface SaveFileParams {
  /** Suggested file name, e.g. "attention-layer1-head2.png". */
  suggestedName: string;
  /** Dialog filter label and extensions, e.g. {"PNG image": ["png"]}. */
  filters: Record<string, string[]>;
  /** File contents: base64 for binary files, else UTF-8 text. */
  data: string;
  encoding: 'base64' | 'utf8';
}

/** Requests the webview sends to the host. */
export interface WebviewRequests {
  /** The webview has loaded and asks for its initial state; the host posts nothing before this. */
  ready: RequestSpec<{ view: ViewKind }, InitialState>;
  /** Reveal and select a range of a document in its editor (e.g. a clicked token). */
  revealRange: RequestSpec<{ uri: string; start: number; end: number }, void>;
  /** Save an export through the host's save dialog; resolves with the saved path, or null if cancelled. */
  saveFile: RequestSpec<SaveFileParams, string | null>;
  /** Open a selection in the analysis panel with a model (the Compare view's matrices are clickable). */
  openInPanel: RequestSpec<{ selection: SelectionSummary; modelId: string }, void>;
  /** The analysis panel's run on exactly this text, for the Compare view to reuse; null when it has none. */
  panelRun: RequestSpec<CompareText, CompareRun | null>;
  /**
   * Bytes start..start+length-1 of a described model's ONNX file or external data, read by the host: a large
   * model reaches the webview without the copies and the long task of webview resource loading (modelBytes.ts).
   */
  modelBytes: RequestSpec<ModelBytesParams, Uint8Array>;
  /**
   * The model a new panel's first command will most likely load, asked as the page starts: the page downloads
   * its files while the host checks the models and answers `ready`, and loads them only if `ready` lists that
   * model with those files. null when there is no guess (a restored panel, a model not found).
   */
  likelyFirstModel: RequestSpec<Record<string, never>, ModelDescriptor | null>;
}

/** Which bytes of which model file (modelBytes). */
export interface ModelBytesParams {
  modelId: string;
  file: 'model' | 'externalData';
  start: number;
  length: number;
}

/** Notifications the webview sends to the host. */
export interface WebviewNotifications {
  /** An unhandled error or rejection in the webview, for the host's log. */
  error: ErrorPayload & { source: string };
  /** The inference backend is initialised (or failed to, with an error). */
  backendReady: BackendInfo;
  /**
   * Whether the page holds a copy of onnxruntime's binary `file` kept from an earlier page (webview/binaryCache.ts):
   * it read one, or kept the one it fetched (kept), or found none (so the next panel's HTML preloads it).
   */
  binaryKept: { file: OrtBinaryFile; kept: boolean };
  /** An analysis finished and is displayed. */
  analysisDone: AnalysisDone;
  /** Per-token top influencers of the current analysis, for editor hovers and decorations (small lists, packed). */
  influence: PackedInfluenceSummary;
  /** An analysis failed; the webview shows the message too. */
  analysisFailed: ErrorPayload & { uri: string; version: number; modelId: string };
  /** The Compare view has every model's figures for a selection on screen. */
  comparisonDone: ComparisonDone;
  /** The Fill panel has the original span's scores and the model's filling on screen. */
  infillDone: InfillDone;
  /** Which filled tokens looked at each context token, for editor hovers. */
  infillAttention: InfillAttention;
  /** A fill failed; the Fill panel shows the message too. */
  infillFailed: ErrorPayload & { uri: string; version: number; modelId: string };
}

/** Which token of which influence summary the host asks the panel about (the summary's document, model and range). */
export interface InfluenceAtParams {
  uri: string;
  version: number;
  modelId: string;
  /** The summary's analysed range: its first token's start and last token's end (UTF-16 document offsets). */
  start: number;
  end: number;
  /** A document offset inside the token asked about. */
  offset: number;
}

/** Requests the host sends to the webview. */
export interface HostRequests {
  /** Display this selection and analyse it (with modelId, or the current/default model); resolves once the selection is rendered. */
  showSelection: RequestSpec<SelectionSummary & { modelId?: string }, SelectionShown>;
  /** A copy of the current analysis (tokens and ranges; attention when includeTensors), or null if none. */
  analysisSnapshot: RequestSpec<{ includeTensors: boolean }, AnalysisSnapshot | null>;
  /** The panel's current analysis as comparison figures, if it covers exactly this text's first maxTokens tokens. */
  compareRun: RequestSpec<CompareText, CompareRun | null>;
  /** Show this fill request in the Fill panel; resolves once the request is on screen (the run continues). */
  showInfill: RequestSpec<InfillRequest, { version: number }>;
  /** A copy of the Fill panel's current result (cross-attention when includeTensors), or null if none. */
  infillSnapshot: RequestSpec<{ includeTensors: boolean }, InfillSnapshot | null>;
  /**
   * One token's links by an influence summary's on-demand metric (InfluenceSummary.onDemand: rollout past
   * the length where every token's are computed), indices into that summary's tokens; null when the panel
   * no longer holds that analysis. The host checks the answer (checkInfluenceAt) before using it.
   */
  influenceAt: RequestSpec<InfluenceAtParams, TokenInfluence | null>;
}

/** Notifications the host sends to the webview. */
export interface HostNotifications {
  /** The user's settings changed. */
  settingsChanged: LensSettings;
  /** Models were added, removed or found invalid: the lists a view offers, as in InitialState. */
  modelsChanged: { models: ModelDescriptor[]; invalidModels: InvalidModel[] };
  /** The active editor's selection changed (sidebar only); null when there is none. */
  selectionChanged: SelectionSummary | null;
  /** The editor cursor moved in a document (panel: highlight the token at this offset). */
  cursorMoved: { uri: string; version: number; offset: number };
}
