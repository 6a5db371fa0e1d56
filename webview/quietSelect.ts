// Why: @vscode-elements' dropdown (2.5) lays out the whole page twice for each dropdown while a page is built. When
// its options are slotted it reads each option's `innerText`, and every render reads the dropdown's
// getBoundingClientRect to place its popover, even while the popover is closed. Between one dropdown's reads
// and the next, the page changes, so each read is a fresh layout. A cold panel's toolbar spent 155 ms in the first
// and 105 ms in the second (`npm run bench:profile -- --model transformer --tokens 256 --cold`). Our options are plain
// text, so their text content is their label. A closed popover's place is never seen. Both reads are answered
// without a layout, and the popover is still placed from the dropdown's real rect on each render while it is open.
// Its option list's scrollbar measures itself on each render too; in a closed popover it waits until it opens.

import { VscodeOption } from '@vscode-elements/elements/dist/vscode-option/index.js';
import { VscodeScrollable } from '@vscode-elements/elements/dist/vscode-scrollable/index.js';
import { VscodeSingleSelect } from '@vscode-elements/elements/dist/vscode-single-select/index.js';

const PATCHED = Symbol.for('attention-lens.quietSelect');

interface ScrollableInternals {
  _updateScrollbar(): void;
  _updateThumbPosition(): void;
}

interface SelectInternals {
  open: boolean;
  _renderDropdown(): unknown;
  _setStateFromSlottedElements(): void;
}

/**
 * Makes the dropdowns of this page read no layout while closed; once per page, before the first dropdown renders.
 * Returns false, changing nothing, when the library no longer has the methods this replaces: the dropdowns then
 * work as the library wrote them, only slower.
 */
export function quietSelectLayout(): boolean {
  const select = VscodeSingleSelect.prototype as unknown as SelectInternals & Record<symbol, boolean>;
  if (select[PATCHED]) return true;
  const renderDropdown = select._renderDropdown;
  if (typeof renderDropdown !== 'function' || typeof select._setStateFromSlottedElements !== 'function') return false;
  if (!Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'innerText')) return false;

  // An option's label: its text, as innerText gives it for plain text, without laying the page out.
  Object.defineProperty(VscodeOption.prototype, 'innerText', {
    configurable: true,
    get(this: HTMLElement) {
      return this.textContent ?? '';
    },
    set(this: HTMLElement, text: string) {
      this.textContent = text;
    },
  });

  // Closed, the popover is placed at the origin with no size; open, from the dropdown's rect as before.
  const closedRect = () => new DOMRect(0, 0, 0, 0);
  select._renderDropdown = function (this: SelectInternals & HTMLElement) {
    if (this.open) return renderDropdown.call(this);
    Object.defineProperty(this, 'getBoundingClientRect', { configurable: true, value: closedRect });
    try {
      return renderDropdown.call(this);
    } finally {
      delete (this as Partial<HTMLElement>).getBoundingClientRect;
    }
  };

  // The option list's scrollbar measures itself on every render of its dropdown. In a closed popover there is
  // nothing to measure: it is measured when the popover opens, by its resize observer, which sees the new size.
  const scrollable = VscodeScrollable.prototype as unknown as ScrollableInternals;
  for (const name of ['_updateScrollbar', '_updateThumbPosition'] as const) {
    const measure = scrollable[name];
    if (typeof measure !== 'function' || !knowsPopoverState()) continue;
    scrollable[name] = function (this: ScrollableInternals & HTMLElement) {
      const popover = this.closest('[popover]');
      if (popover && !popover.matches(':popover-open')) return;
      measure.call(this);
    };
  }
  select[PATCHED] = true;
  return true;
}

/** Whether this browser matches :popover-open (the library's dropdowns need the popover API anyway). */
function knowsPopoverState(): boolean {
  try {
    document.createElement('div').matches(':popover-open');
    return true;
  } catch {
    return false;
  }
}
