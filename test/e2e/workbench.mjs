// Why: the end-to-end tests drive VS Code the way a person does (keyboard, command palette, activity
// bar) through playwright-core. These helpers wait on the workbench's own DOM and never sleep for a fixed
// time; the selectors are VS Code 1.100's (the version code-server 4.100.3 bundles).

/** Resolves when the workbench has loaded the folder: status bar shown, explorer listing files. */
export async function waitForWorkbench(page, timeout = 90_000) {
  await page.locator('.monaco-workbench .part.statusbar').waitFor({ timeout });
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout });
}

async function quickInput(page, keys, text) {
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await page.keyboard.press(keys);
  await input.waitFor({ state: 'visible' });
  await input.fill(text);
  return input;
}

/** Opens a workspace file with Quick Open (Ctrl+P) and waits until its editor is the active one. */
export async function quickOpen(page, fileName) {
  await quickInput(page, 'Control+P', fileName);
  // Enter opens the focused row. Before the list is filtered, the focused row is the most recent editor, which
  // may be another file: wait until the focused row is the one asked for.
  await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: fileName }).waitFor();
  await page.keyboard.press('Enter');
  await page.locator(`.tabs-container .tab.active[data-resource-name="${fileName}"]`).waitFor();
  const focused = page.locator('.editor-group-container.active .monaco-editor.focused');
  try {
    await focused.waitFor({ timeout: 10_000 });
  } catch {
    // Seen once in a full run: the file's tab active but the keyboard focus elsewhere (the webview beside it).
    // Clicking into the editor's text gives it the focus, as a person would.
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await focused.waitFor();
  }
}

/** Moves the cursor to the start of a 1-based line with Go to Line (Ctrl+G). */
export async function goToLine(page, line) {
  await quickInput(page, 'Control+G', `:${line}`); // keep Go to Line's ':' prefix, or it becomes a file search
  await page.keyboard.press('Enter');
  await statusSelection(page, new RegExp(`^Ln ${line}, Col 1$`));
}

/** Opens a file with Quick Open and selects `lines` lines from line `line` on, as a person does with Shift+Down. */
export async function selectLines(page, fileName, line, lines) {
  await quickOpen(page, fileName);
  await goToLine(page, line);
  for (let i = 0; i < lines; i++) await page.keyboard.press('Shift+ArrowDown');
  await statusSelection(page, /selected\)$/);
}

/** Waits until the status bar's cursor item matches re (e.g. "Ln 9, Col 1 (263 selected)"); returns its text. */
export async function statusSelection(page, re, timeout = 15_000) {
  const item = page.locator('#status\\.editor\\.selection');
  const deadline = Date.now() + timeout;
  let text = '';
  while (Date.now() < deadline) {
    text = ((await item.textContent({ timeout }).catch(() => '')) ?? '').trim();
    if (re.test(text)) return text;
    await page.waitForTimeout(100); // polling interval while the editor updates the status bar
  }
  throw new Error(`status bar cursor position is "${text}", expected ${re}`);
}

/**
 * Runs a command from the command palette (F1) by its full title. Retries until the command is listed,
 * since a freshly loaded workbench may not have read the extension's contributions yet.
 */
export async function runCommand(page, title, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    await quickInput(page, 'F1', `>${title}`);
    // The row of exactly this command: a title can begin another's ("View: Close All Editors" and "… in Group"),
    // and the palette may list that one first.
    const exactly = new RegExp(`^${title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
    const row = page.locator('.quick-input-list .monaco-list-row').filter({ has: page.locator('.label-name', { hasText: exactly }) }).first();
    const listed = await row.waitFor({ timeout: 5_000 }).then(
      () => true,
      () => false,
    );
    if (listed) {
      await page.keyboard.press('Enter');
      await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
      return;
    }
    await page.keyboard.press('Escape');
    await page.locator('.quick-input-widget').waitFor({ state: 'hidden' });
    if (Date.now() > deadline) throw new Error(`the command palette never listed "${title}"`);
  }
}

/**
 * The content frame of the extension webview whose body has data-view=view ("panel" or "sidebar").
 * Each webview is iframe.webview.ready > iframe#active-frame; several may exist at once.
 */
export async function webviewFrame(page, view, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const outer = page.locator('iframe.webview.ready');
    const count = await outer.count();
    for (let i = 0; i < count; i++) {
      const inner = outer.nth(i).contentFrame().locator('#active-frame').contentFrame();
      if ((await inner.locator(`body[data-view="${view}"]`).count().catch(() => 0)) > 0) return inner;
    }
    if (Date.now() > deadline) throw new Error(`no ${view} webview appeared within ${timeout / 1000} s (${count} webviews)`);
    await page.waitForTimeout(200); // polling interval while the webview loads
  }
}

/**
 * Like webviewFrame, but the playwright Frame itself (for evaluate, which runs through the DevTools protocol
 * and so works under the webview's Content-Security-Policy, unlike waitForFunction's eval).
 */
export async function webviewContentFrame(page, view, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    for (const frame of page.frames()) {
      if (frame.isDetached()) continue;
      if ((await frame.locator(`body[data-view="${view}"]`).count().catch(() => 0)) > 0) return frame;
    }
    if (Date.now() > deadline) throw new Error(`no ${view} webview frame appeared within ${timeout / 1000} s`);
    await page.waitForTimeout(100); // polling interval while the webview loads
  }
}

/** Focuses the active editor of the first editor group (clicking its tab keeps the selection). */
export async function focusEditor(page, fileName) {
  await page.locator(`.editor-group-container .tabs-container .tab[data-resource-name="${fileName}"]`).first().click();
  await page.locator('.editor-group-container.active .monaco-editor.focused').waitFor();
}
