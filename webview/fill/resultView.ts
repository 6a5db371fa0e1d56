// Why: one finished fill on screen: the original span beside the model's filling, then what the filling
// looked at (heatmap and lines), all sharing one hovered filled token. A model that exports no attention
// from its target to its source gets a sentence saying so instead of empty views. Also answers which views
// are on screen, for the host's snapshot.

import { h } from '../dom';
import { onThemeChange } from '../views/colors';
import { CrossPanel } from './crossPanel';
import type { FillData } from './fillData';
import { FillFocus } from './focus';
import { SpansView } from './spansView';

/** The views a snapshot reports, by test id. */
export const FILL_VIEWS = ['fill-original', 'fill-generated', 'fill-cross-heatmap', 'fill-cross-lines', 'fill-compare'] as const;

/** The fill views present in a page and not hidden. */
export function visibleViews(root: ParentNode): string[] {
  return FILL_VIEWS.filter((id) => {
    const el = root.querySelector<HTMLElement>(`[data-testid="${id}"]`);
    return !!el && el.isConnected && el.getClientRects().length > 0;
  });
}

export class ResultView {
  readonly element: HTMLElement;
  private readonly spans: SpansView;
  private readonly cross: CrossPanel | null;
  private readonly cleanup: Array<() => void> = [];

  constructor(data: FillData, reveal: (col: number) => void) {
    const focus = new FillFocus();
    const { result } = data;
    this.spans = new SpansView(
      {
        request: result.request,
        original: { tokens: result.original.tokens, probability: result.original.probability, surprisal: result.original.surprisal },
        filling: { text: result.filling.text, tokens: result.filling.tokens },
      },
      focus,
    );
    this.cross = data.cross ? new CrossPanel(data.cross, result.filling.tokens, data.source, focus, reveal) : null;
    this.element = h(
      'div',
      { class: 'fill-result-views' },
      this.spans.element,
      this.cross?.element ??
        h('p', { class: 'notice', 'data-testid': 'fill-no-cross' }, `${result.fillingAnalysis.model.displayName} exports no attention from the sequence it writes to the code it reads, so there is nothing to show of what the filling looked at.`),
    );
    this.cleanup.push(
      onThemeChange(() => {
        this.cross?.map.schedule();
        this.cross?.lines.schedule();
      }),
    );
  }

  dispose(): void {
    this.cleanup.forEach((f) => f());
    this.spans.dispose();
    this.cross?.dispose();
  }
}
