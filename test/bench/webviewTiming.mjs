// Why: timing inside the webview avoids counting playwright's round trips as latency. These functions run
// in the panel webview through frame.evaluate (the DevTools protocol, which its CSP allows); playwright sends
// their source text, so each is self-contained. A result counts as shown at the end of the frame that drew it:
// requestAnimationFrame, then a message posted from it (which runs after that frame's rendering step).

/**
 * Resolves once the webview is idle (requestIdleCallback): the previous analysis has finished its
 * after-paint work (editor influence summaries), as it has by the time a person presses a key again.
 */
export function untilIdle() {
  return new Promise((resolve) => requestIdleCallback(() => resolve(undefined), { timeout: 5_000 }));
}

/** Remembers the heatmap on screen, so that untilPainted waits for the next analysis's own. */
export function markShown() {
  window.__attentionLensShown = document.querySelector('[data-testid=heatmap]');
}

/**
 * Resolves at the first animation frame in which the panel shows a finished analysis (not the one marked)
 * whose heatmap canvas has painted its matrix: { at (epoch ms), tokens, timings }, or { error } / { timedOut }.
 */
export function untilPainted({ timeoutMs }) {
  const shown = window.__attentionLensShown ?? null;
  const painted = (canvas) => {
    // How long this read took is kept: longTasks() leaves it out of the task it ran in (see there).
    const began = performance.now();
    try {
      return read(canvas);
    } finally {
      (window.__attentionLensProbeSpans ??= []).push([began, performance.now()]);
    }
  };
  const read = (canvas) => {
    if (canvas.width <= 1 || canvas.clientWidth === 0) return false;
    // A large canvas is read in three bands of 4 rows (at a quarter, half and three quarters of its height): reading
    // all of it every frame, or drawing it into a small canvas (which reads all of it back), was itself a 30–200 ms
    // task of the page's thread, counted among the longest tasks this measures. A small one is read as it is.
    const context = canvas.getContext('2d');
    const bands = canvas.width * canvas.height <= 256 * 256 ? [[0, canvas.height]] : [1, 2, 3].map((q) => [Math.floor((q * canvas.height) / 4), 4]);
    const corner = context.getImageData(0, 0, 1, 1).data; // the background, as the plot leaves it
    let n = 0;
    let total = 0;
    for (const [y, rows] of bands) {
      const data = context.getImageData(0, y, canvas.width, rows).data;
      total += data.length / 4;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - corner[0]) + Math.abs(data[i + 1] - corner[1]) + Math.abs(data[i + 2] - corner[2]) > 40) n++;
      }
    }
    return n / total >= 0.25; // a causal matrix fills about half of the plot
  };
  return new Promise((resolve) => {
    // The deadline is a timer of its own: a hidden page runs no animation frames, and a panel left hidden would
    // otherwise keep this waiting for ever (the scale bench's reloaded window did, now and then). hidden: whether the
    // page was hidden when the time ran out.
    const timer = setTimeout(() => (observer.disconnect(), resolve({ timedOut: true, hidden: document.visibilityState === 'hidden', state: document.querySelector('[data-testid=analysis]')?.getAttribute('data-state') ?? null })), timeoutMs);
    const done = (result) => {
      clearTimeout(timer);
      resolve(result);
    };
    const state = () => document.querySelector('[data-testid=analysis]')?.getAttribute('data-state');
    const canvas = () => document.querySelector('[data-testid=heatmap]');
    const offer = () => document.querySelector('[data-testid=memory-offer]');
    const tick = () => {
      const at = performance.timeOrigin + performance.now();
      if (offer()) return done({ refused: offer().textContent });
      if (state() === 'error') return done({ error: document.querySelector('[data-testid=analysis-error]')?.textContent || 'the panel shows an error' });
      const heatmap = canvas();
      if (state() === 'analysed' && heatmap && heatmap !== shown && painted(heatmap)) {
        const timings = document.querySelector('[data-testid=timings]')?.textContent ?? '';
        // When the panel received the request (its performance mark), in the same epoch terms as `at`.
        const requestedAt = performance.timeOrigin + (performance.getEntriesByName('lens:request').at(-1)?.startTime ?? NaN);
        return done({ at, requestedAt, timings, tokens: Number(/^([\d,]+) tokens/.exec(timings)?.[1].replace(/,/g, '')) });
      }
      requestAnimationFrame(tick);
    };
    // Frame by frame only once the panel has its answer (its new heatmap, an error or an offer); until then the DOM's
    // changes are watched. A callback in every frame from the start made the page draw a frame every 16 ms while it
    // loaded, which a person's panel does not: each frame's commit waited for the compositor, on two cores beside
    // onnxruntime's compilation once for 300 ms, and counted as the page's longest task (bench:profile --cold).
    const answered = () => offer() || state() === 'error' || (state() === 'analysed' && canvas() && canvas() !== shown);
    const observer = new MutationObserver(() => {
      if (!answered()) return;
      observer.disconnect();
      tick();
    });
    if (answered()) return tick();
    observer.observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-state', 'data-testid'] });
  });
}

/**
 * Moves the pointer over `samples` different heatmap cells below the diagonal, one per frame, by dispatching
 * mousemove; per sample: { handler (ms until the tooltip text is set), frame (ms until that frame is shown) }.
 */
export async function heatmapHovers({ samples }) {
  const LEFT = 100; // plot origin in webview/views/heatmap.ts
  const TOP = 84;
  const canvas = document.querySelector('[data-testid=heatmap]');
  const tooltip = document.querySelector('[data-testid=heatmap-tooltip]');
  const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const shownAt = () =>
    new Promise((r) =>
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => r(performance.now());
        channel.port2.postMessage(0);
      }),
    );
  const rect = canvas.getBoundingClientRect();
  const plot = Math.min(rect.width - LEFT - 8, rect.height - TOP - 8);
  const out = [];
  for (let i = 0; i < samples; i++) {
    await nextFrame();
    const fq = 0.1 + (0.85 * ((i * 7) % samples)) / samples;
    const fk = fq * (0.05 + (0.9 * ((i * 13) % samples)) / samples);
    const before = tooltip.textContent;
    const t0 = performance.now();
    canvas.dispatchEvent(new MouseEvent('mousemove', { clientX: rect.left + LEFT + fk * plot, clientY: rect.top + TOP + fq * plot, bubbles: true }));
    const handler = performance.now() - t0;
    const frame = (await shownAt()) - t0;
    if (!tooltip.hidden && tooltip.textContent !== before) out.push({ handler, frame });
  }
  canvas.dispatchEvent(new MouseEvent('mouseleave'));
  return out;
}

/**
 * Switches the heatmap through every single head `rounds` times with the head picker (value + change event,
 * what the picker does on a click); per switch: { sync (ms in the change handler), frame (ms until shown), round }.
 */
export async function headSwitches({ rounds }) {
  const picker = document.querySelector('[data-testid=head-picker]');
  const note = document.querySelector('[data-testid=heatmap-note]');
  const heads = [...picker.querySelectorAll('vscode-option')].map((o) => o.getAttribute('value')).filter((v) => /^\d+$/.test(v));
  const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));
  const shownAt = () =>
    new Promise((r) =>
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => r(performance.now());
        channel.port2.postMessage(0);
      }),
    );
  const out = [];
  for (let round = 0; round < rounds; round++) {
    for (const head of heads) {
      if (picker.value === head) continue;
      await nextFrame();
      const t0 = performance.now();
      picker.value = head;
      picker.dispatchEvent(new Event('change'));
      const sync = performance.now() - t0;
      const frame = (await shownAt()) - t0;
      if (!note.textContent.includes(`head ${Number(head) + 1}:`)) throw new Error(`the heatmap did not switch to head ${Number(head) + 1}: ${note.textContent}`);
      out.push({ sync, frame, round });
    }
  }
  return out;
}

/** Starts recording the webview's long tasks (main-thread tasks over 50 ms) from now on. */
export function watchLongTasks() {
  const since = performance.now();
  window.__attentionLensLongTasks = [];
  window.__attentionLensLongTaskObserver?.disconnect();
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.startTime >= since) window.__attentionLensLongTasks.push({ start: e.startTime, duration: e.duration, name: e.name });
  });
  observer.observe({ type: 'longtask', buffered: true });
  window.__attentionLensLongTaskObserver = observer;
}

/** Records the long tasks since the page started (buffered), for a cold first command. */
export function watchLongTasksSinceStart() {
  window.__attentionLensLongTasks = [];
  const observer = new PerformanceObserver((list) => window.__attentionLensLongTasks.push(...list.getEntries().map((e) => ({ start: e.startTime, duration: e.duration, name: e.name }))));
  observer.observe({ type: 'longtask', buffered: true });
  window.__attentionLensLongTaskObserver = observer;
}

/**
 * The long tasks recorded since watchLongTasks, each named by the step it started in (the latest lens:* mark
 * before it, see webview/marks.ts; "page" before the first): { count, longest, byStep: { step: longest ms },
 * ownLongest }. Each task's duration leaves out this benchmark's own pixel reads inside it (untilPainted,
 * tabPainted): reading a large canvas back took up to 248 ms of a task (bench:profile), work the page itself
 * never does. The page shares its thread with VS Code's workbench (code-server serves both from one origin),
 * so a long task may be VS Code's: ownLongest counts only those the browser attributes to this page's own
 * frame (the Long Tasks API's name "self"); rendering and garbage collection are attributed to no one frame.
 */
export function longTasks() {
  const probes = window.__attentionLensProbeSpans ?? [];
  const own = (t) => t.duration - probes.filter(([a, b]) => a >= t.start && b <= t.start + t.duration).reduce((sum, [a, b]) => sum + b - a, 0);
  const tasks = (window.__attentionLensLongTasks ?? []).map((t) => ({ start: t.start, duration: own(t), name: t.name })).filter((t) => t.duration > 50);
  const selfTasks = tasks.filter((t) => t.name === 'self');
  const marks = performance.getEntriesByType('mark').filter((m) => m.name.startsWith('lens:')).sort((a, b) => a.startTime - b.startTime);
  const byStep = {};
  for (const t of tasks) {
    const step = marks.filter((m) => m.startTime <= t.start).at(-1)?.name.slice(5) ?? 'page';
    byStep[step] = Math.max(byStep[step] ?? 0, t.duration);
  }
  const longest = (list) => (list.length ? Math.max(...list.map((t) => t.duration)) : 0);
  return { count: tasks.length, longest: longest(tasks), byStep, ownLongest: longest(selfTasks) };
}

/** Each lens:* mark's time (epoch ms), and when the page's document started (timeOrigin). */
export function stepTimes() {
  const marks = {};
  for (const m of performance.getEntriesByType('mark')) if (m.name.startsWith('lens:')) marks[m.name.slice(5)] = performance.timeOrigin + m.startTime;
  return { documentStart: performance.timeOrigin, marks };
}

/**
 * Shows the tab `tab` and resolves with the ms from the click to the first animation frame in which every
 * canvas matching `selector` is painted (at least minFraction of its pixels differ from its corner), or
 * { timedOut }.
 */
export function tabPainted({ tab, selector, minFraction, timeoutMs }) {
  const painted = (canvas) => {
    // How long this read took is kept: longTasks() leaves it out of the task it ran in (see there).
    const began = performance.now();
    try {
      return read(canvas);
    } finally {
      (window.__attentionLensProbeSpans ??= []).push([began, performance.now()]);
    }
  };
  const read = (canvas) => {
    if (canvas.width <= 1 || canvas.clientWidth === 0) return false;
    // A large canvas is read in three bands of 4 rows (at a quarter, half and three quarters of its height): reading
    // all of it every frame, or drawing it into a small canvas (which reads all of it back), was itself a 30–200 ms
    // task of the page's thread, counted among the longest tasks this measures. A small one is read as it is.
    const context = canvas.getContext('2d');
    const bands = canvas.width * canvas.height <= 256 * 256 ? [[0, canvas.height]] : [1, 2, 3].map((q) => [Math.floor((q * canvas.height) / 4), 4]);
    const corner = context.getImageData(0, 0, 1, 1).data; // the background, as the plot leaves it
    let n = 0;
    let total = 0;
    for (const [y, rows] of bands) {
      const data = context.getImageData(0, y, canvas.width, rows).data;
      total += data.length / 4;
      for (let i = 0; i < data.length; i += 4) {
        if (Math.abs(data[i] - corner[0]) + Math.abs(data[i + 1] - corner[1]) + Math.abs(data[i + 2] - corner[2]) > 40) n++;
      }
    }
    return n / total >= minFraction;
  };
  return new Promise((resolve) => {
    const started = performance.now();
    let t0 = NaN; // when the tab was clicked: once its header exists (a panel that is re-rendering has none)
    const tick = () => {
      if (Number.isNaN(t0)) {
        const header = document.querySelector(`[data-testid=tab-${tab}]`);
        if (header) {
          header.click();
          t0 = performance.now();
        }
      } else {
        const canvases = [...document.querySelectorAll(selector)];
        if (canvases.length > 0 && canvases.every(painted)) return resolve({ ms: performance.now() - t0, canvases: canvases.length });
      }
      if (performance.now() - started > timeoutMs) return resolve({ timedOut: true });
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
}

/** clickTimed's parameters for occlusion: the W(t, k) tab's "Compute occlusion", done when it offers "Show occlusion". */
export const OCCLUSION_CLICK = { tab: 'tab-w', button: 'occlusion-run', done: '[data-testid=occlusion-run]', doneText: 'Show occlusion', failed: '', note: 'w-note' };
/** clickTimed's parameters for pseudo-surprisal: the Masked tab's "Compute masked predictions", done when its note says so (failed or cancelled ends it too). */
export const MASKED_CLICK = { tab: 'tab-masked', button: 'masked-run', done: '[data-testid=masked-note][data-state=done]', doneText: '', failed: '[data-testid=masked-note][data-state=failed], [data-testid=masked-note][data-state=cancelled]', note: 'masked-note' };

/**
 * Opens the tab with data-testid `tab`, clicks its button `button` once it has painted, and resolves with the ms
 * from the click to the frame in which `done` matches an element (whose text contains `doneText`), with the longest
 * main-thread task meanwhile, the longest of the page's own (see longTasks) and the text of the note `note` (the W
 * view's says how the runs were made); { failed, note } when `failed` matches first, or { timedOut }.
 */
export function clickTimed({ tab, button, done, doneText, failed, note, timeoutMs }) {
  return new Promise((resolve) => {
    document.querySelector(`[data-testid=${tab}]`)?.click();
    let t0 = NaN;
    let longest = 0;
    let ownLongest = 0; // attributed to this frame (see longTasks)
    const longTasks = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.startTime < t0) continue;
        longest = Math.max(longest, e.duration);
        if (e.name === 'self') ownLongest = Math.max(ownLongest, e.duration);
      }
    });
    longTasks.observe({ type: 'longtask' });
    const noteText = () => document.querySelector(`[data-testid=${note}]`)?.textContent ?? '';
    const finish = (result) => {
      longTasks.disconnect();
      changes.disconnect();
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => finish({ timedOut: true }), timeoutMs);
    // After the click the page's changes are watched, not every frame polled: a callback in each frame would make the
    // page draw and commit 60 frames a second through the whole run, which it does not for a person, and the longest
    // task measured here would count those commits' waits for the compositor. The time is taken in the next frame.
    const check = () => {
      if ([...document.querySelectorAll(done)].some((e) => (e.textContent ?? '').includes(doneText))) {
        changes.disconnect();
        requestAnimationFrame(() => finish({ ms: performance.now() - t0, longest, ownLongest, note: noteText() }));
      } else if (failed && document.querySelector(failed)) finish({ failed: true, note: noteText() });
    };
    const changes = new MutationObserver(check);
    let shown = false; // the button was seen in an earlier frame: a user clicks after the tab has painted
    const untilClicked = () => {
      const target = document.querySelector(`[data-testid=${button}]`);
      if (shown && target) {
        target.click();
        t0 = performance.now();
        changes.observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
        return check();
      }
      shown = target !== null && target.offsetParent !== null;
      requestAnimationFrame(untilClicked);
    };
    requestAnimationFrame(untilClicked);
  });
}
