// Pure text measurements shared by host and webview (no vscode, no DOM).

/** Number of Unicode code points in a string (a lone surrogate counts as one). */
export function countCodePoints(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
      }
    }
    n++;
  }
  return n;
}

/** Number of lines as an editor shows them (CRLF, LF and CR each end a line). */
export function countLines(text: string): number {
  const breaks = text.match(/\r\n|\r|\n/g);
  return (breaks ? breaks.length : 0) + 1;
}

/** True when the text has nothing but whitespace (or nothing at all). */
export function isBlank(text: string): boolean {
  return text.trim().length === 0;
}

/**
 * A count as en-US writes it ("12,345"), the same as `n.toLocaleString('en-US')`. Integers are grouped here:
 * the first toLocaleString of a page starts the browser's number formatting (31–40 ms in a fresh Chromium page,
 * about 200 ms in a cold panel), which a panel's first frame need not wait for. Other numbers go to toLocaleString.
 */
export function formatCount(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  const digits = String(Math.abs(n));
  let out = digits.slice(0, digits.length % 3 || 3);
  for (let i = out.length; i < digits.length; i += 3) out += `,${digits.slice(i, i + 3)}`;
  return n < 0 || Object.is(n, -0) ? `-${out}` : out;
}

/** A duration as the panels' timings write it: "1,234 ms" (rounded to whole milliseconds). */
export function formatMs(ms: number): string {
  return `${formatCount(Math.round(ms))} ms`;
}
