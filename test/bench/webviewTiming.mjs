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
    if (canvas.width <= 1 || canvas.clientWidth === 0) return false;
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.abs(data[i] - data[0]) + Math.abs(data[i + 1] - data[1]) + Math.abs(data[i + 2] - data[2]) > 40) n++;
    }
    return n / (data.length / 4) >= 0.25; // a causal matrix fills about half of the plot
  };
  return new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const tick = () => {
      const at = performance.timeOrigin + performance.now();
      const state = document.querySelector('[data-testid=analysis]')?.getAttribute('data-state');
      const canvas = document.querySelector('[data-testid=heatmap]');
      if (state === 'error') return resolve({ error: document.querySelector('[data-testid=analysis-error]')?.textContent });
      if (state === 'analysed' && canvas && canvas !== shown && painted(canvas)) {
        const timings = document.querySelector('[data-testid=timings]')?.textContent ?? '';
        // When the panel received the request (its performance mark), in the same epoch terms as `at`.
        const requestedAt = performance.timeOrigin + (performance.getEntriesByName('lens:request').at(-1)?.startTime ?? NaN);
        return resolve({ at, requestedAt, timings, tokens: Number(/^([\d,]+) tokens/.exec(timings)?.[1].replace(/,/g, '')) });
      }
      if (performance.now() > deadline) return resolve({ timedOut: true });
      requestAnimationFrame(tick);
    };
    tick();
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
