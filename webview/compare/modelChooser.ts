// Why: the Compare view compares the models the user chooses. This is the chooser: a collapsible list with a
// checkbox per installed model (every causal language model checked by default, choice.ts), its summary
// saying how many are compared, and a button back to the default. It only reports the new choice; the page
// keeps it in the webview's state and runs the comparison again.

import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import { shortName } from '../../src/core/compareSummary';
import type { ModelDescriptor } from '../../src/core/protocol';
import { h, toolbarButton } from '../dom';
import { type CompareChoice, choiceSummary, comparedModels, isCausalLanguageModel, isCompared, withDecision } from './choice';

export class ModelChooser {
  readonly element: HTMLElement;
  private readonly summary = h('summary', { 'data-testid': 'compare-models-summary' });
  private readonly list = h('div', { class: 'head-checks', role: 'group', 'aria-label': 'Models to compare' });
  private models: readonly ModelDescriptor[] = [];

  constructor(
    private choice: CompareChoice | undefined,
    private readonly changed: (choice: CompareChoice | undefined) => void,
  ) {
    const reset = toolbarButton('Default', 'Compare every causal language model (logits that predict the next token), and nothing else', () => {
      this.choice = undefined;
      this.render();
      this.changed(undefined);
    });
    reset.setAttribute('data-testid', 'compare-models-default');
    this.element = h(
      'details',
      { class: 'compare-models', 'data-testid': 'compare-models' },
      this.summary,
      h('p', { class: 'muted small' }, 'Checked models run on the selection, one after another. Causal language models (next-token predictions) are checked unless you uncheck them; your choice is kept.'),
      this.list,
      reset,
    );
  }

  /** The models installed now (the host lists them, in menu order). */
  set(models: readonly ModelDescriptor[]): void {
    this.models = models;
    this.render();
  }

  /** The models to compare under the current choice. */
  compared(): ModelDescriptor[] {
    return comparedModels(this.models, this.choice);
  }

  private render(): void {
    this.list.replaceChildren(
      ...this.models.map(({ manifest }) => {
        const hint = isCausalLanguageModel(manifest) ? '' : ' (not a causal language model)';
        const box = h(
          'vscode-checkbox',
          { 'data-testid': 'compare-model', 'data-model': manifest.id, title: `${manifest.displayName}: ${manifest.description}` },
          `${shortName(manifest)}${hint}`,
        ) as HTMLElement & { checked: boolean };
        box.checked = isCompared(manifest, this.choice);
        box.addEventListener('change', () => {
          this.choice = withDecision(this.choice, manifest, box.checked);
          this.showSummary();
          this.changed(this.choice);
        });
        return box;
      }),
    );
    this.showSummary();
  }

  private showSummary(): void {
    this.summary.textContent = choiceSummary(this.compared().length, this.models.length);
  }
}
