// Why: the views draw on canvases and talk to the host by messages, so "the heatmap shows something" is a
// question about pixels and "the editor's echo was handled" one about messages. The functions below run
// inside the panel webview through locator.evaluate / frame.evaluate (the DevTools protocol, which the
// webview's Content-Security-Policy allows; waitForFunction's eval it does not). Playwright sends each
// function's source text, so each is self-contained. They wait frame by frame, never for a fixed time.

/** Undoes the token strip's visible whitespace: · space, → tab, ↵ line break, ␍ lone carriage return. */
export function undoWhitespace(text) {
  return text.replace(/·/g, ' ').replace(/→/g, '\t').replace(/↵/g, '\n').replace(/␍/g, '\r');
}

/**
 * In the webview, for one canvas or a list (evaluateAll): waits, checking once per animation frame for up
 * to timeoutMs, until each canvas has at least minFraction of the pixels in region (fractions of its CSS
 * size) different from its top-left pixel (the background it was cleared with) and, with notHash, until
 * its pixels hash differently. Resolves with the last stats either way; the caller asserts. With column
 * ({ fraction, offset }: CSS x = round(width·fraction) + offset) it also lists that column's painted rows.
 */
export function canvasPainted(target, { minFraction = 0, region, notHash, column, timeoutMs = 15_000 } = {}) {
  const canvases = Array.isArray(target) ? target : [target];
  const stats = (canvas) => {
    const w = canvas.width;
    const h = canvas.height;
    const cssWidth = canvas.clientWidth;
    const cssHeight = canvas.clientHeight;
    if (w <= 1 || h <= 1 || cssWidth === 0) return { painted: 0, total: 0, fraction: 0, hash: 'empty', cssWidth, cssHeight, columnYs: [] };
    const dpr = w / cssWidth;
    const r = { left: 0, top: 0, right: 1, bottom: 1, ...region };
    const [x0, x1, y0, y1] = [Math.round(r.left * w), Math.round(r.right * w), Math.round(r.top * h), Math.round(r.bottom * h)];
    const data = canvas.getContext('2d').getImageData(0, 0, w, h).data;
    const differs = (i) => Math.abs(data[i] - data[0]) + Math.abs(data[i + 1] - data[1]) + Math.abs(data[i + 2] - data[2]) + Math.abs(data[i + 3] - data[3]) > 40;
    let painted = 0;
    let hash = 2166136261;
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const i = (y * w + x) * 4;
        if (differs(i)) painted++;
        hash = Math.imul(hash ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16)), 16777619) >>> 0;
      }
    }
    const total = Math.max(1, (x1 - x0) * (y1 - y0));
    const columnYs = [];
    if (column) {
      const x = Math.round((Math.round(cssWidth * column.fraction) + column.offset) * dpr);
      for (let y = 0; y < h; y++) if (differs((y * w + x) * 4)) columnYs.push(y / dpr);
    }
    return { painted, total, fraction: painted / total, hash: hash.toString(16), cssWidth, cssHeight, columnYs };
  };
  const ok = (s) => s.total > 0 && s.fraction >= minFraction && (!notHash || s.hash !== notHash);
  return new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const tick = () => {
      const all = canvases.map(stats);
      if (all.every(ok) || performance.now() > deadline) resolve(Array.isArray(target) ? all : all[0]);
      else requestAnimationFrame(tick);
    };
    tick();
  });
}

/**
 * In the webview: waits until the panel shows a finished (or failed) analysis of the file named fileName,
 * then resolves with { state, error, timings, tokens } (tokens: the strip's labels); { timedOut } otherwise.
 */
export function untilAnalysed({ fileName, timeoutMs = 120_000 }) {
  const text = (selector) => document.querySelector(selector)?.textContent ?? null;
  return new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const tick = () => {
      const state = document.querySelector('[data-testid=analysis]')?.getAttribute('data-state');
      if (text('[data-testid=selection-file]') === fileName && (state === 'analysed' || state === 'error')) {
        const tokens = [...document.querySelectorAll('[data-testid=token-strip] [data-testid=token]')];
        resolve({
          state,
          error: text('[data-testid=analysis-error]'),
          timings: text('[data-testid=timings]'),
          tokens: tokens.map((t) => t.textContent),
          indices: tokens.map((t) => Number(t.getAttribute('data-index'))),
        });
      } else if (performance.now() > deadline) {
        resolve({ timedOut: true, state, file: text('[data-testid=selection-file]'), error: text('[data-testid=analysis-error]') });
      } else {
        requestAnimationFrame(tick);
      }
    };
    tick();
  });
}

/**
 * In the webview: starts recording the host's cursorMoved notifications with the token pinned right after
 * each was handled (this listener runs after the panel's own, which was added first).
 */
export function recordCursorMoves() {
  if (window.__attentionLensCursorMoves) return;
  const moves = (window.__attentionLensCursorMoves = []);
  window.addEventListener('message', (event) => {
    if (event.data?.method !== 'cursorMoved') return;
    const pinned = document.querySelector('[data-testid=token-strip] [data-testid=token][aria-selected=true]');
    moves.push({ offset: event.data.params.offset, pinned: pinned ? Number(pinned.getAttribute('data-index')) : null });
  });
}

/** In the webview: resolves with the record of the first cursorMoved to offset (null after timeoutMs). */
export function cursorMovedTo({ offset, timeoutMs = 15_000 }) {
  return new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const tick = () => {
      const move = (window.__attentionLensCursorMoves ?? []).find((m) => m.offset === offset);
      if (move || performance.now() > deadline) resolve(move ?? null);
      else requestAnimationFrame(tick);
    };
    tick();
  });
}

/**
 * In the Compare view: waits until it shows a finished comparison of the selection whose range reads
 * rangeText (every model card done or failed, the sentences written); resolves with what it shows, or
 * { timedOut } with the state it reached.
 */
export function untilCompared({ rangeText, timeoutMs = 180_000 }) {
  const text = (el) => el?.textContent ?? null;
  return new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs;
    const tick = () => {
      const range = text(document.querySelector('[data-testid=selection-range]'));
      const cards = [...document.querySelectorAll('.model-card')];
      const settled = cards.length > 0 && cards.every((c) => ['done', 'failed'].includes(c.getAttribute('data-state')));
      const words = [...document.querySelectorAll('[data-testid=compare-words] li')].map(text);
      const busy = document.getElementById('app')?.getAttribute('aria-busy') === 'true';
      if (range === rangeText && settled && words.length > 0 && !busy) {
        resolve({
          cards: cards.map((c) => ({ id: c.getAttribute('data-testid'), state: c.getAttribute('data-state'), text: c.textContent })),
          words,
          status: text(document.querySelector('[data-testid=compare-status]')),
        });
      } else if (performance.now() > deadline) {
        resolve({ timedOut: true, range, cards: cards.map((c) => c.getAttribute('data-state')), words, status: text(document.querySelector('[data-testid=compare-status]')) });
      } else {
        requestAnimationFrame(tick);
      }
    };
    tick();
  });
}
