// Why: a webview resource URI and the file server's URL for it (fileRoutes.ts on both sides) must be written
// the same way by the host (which names files in a page's HTML, to preload them) and by the page (which
// fetches them): one function maps a URI through a page's routes, with the URL parser both sides share.

import type { FileRoute } from './protocol';

/**
 * A URI as a browser's URL parser writes it: the host writes resource URIs with an escaped host
 * ("vscode-remote%2B…"), and a URL resolved against one (a worker's script) has it unescaped.
 */
export function normalisedUri(uri: string): string {
  try {
    return new URL(uri).href;
  } catch {
    return uri;
  }
}

/** The served URL of a webview URI under routes, or undefined when none covers it (both compared normalised). */
export function servedUrlOf(routes: readonly FileRoute[], uri: string): string | undefined {
  const href = normalisedUri(uri);
  for (const route of routes) {
    const from = normalisedUri(route.from);
    if (href.startsWith(from)) return `${route.to}${href.slice(from.length)}`;
  }
  return undefined;
}

/**
 * The served URL of a gzipped file (its name ends in .gz) under its plain name, which the file server answers
 * with the same bytes gzip-encoded, or with its Brotli copy Brotli-encoded (src/fileServer.ts): the browser decodes
 * them on the way. undefined when no route covers the URI.
 */
export function servedInflatedUrlOf(routes: readonly FileRoute[], gzUri: string): string | undefined {
  const url = servedUrlOf(routes, gzUri);
  return url?.endsWith('.gz') ? url.slice(0, -'.gz'.length) : url;
}
