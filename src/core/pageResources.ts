// Why: in a browser or remote window a page's own script and stylesheet came through VS Code's resource
// loading, which is slow there (the panel's 0.52 MiB script took 416 ms in a cold command here, while the
// extension's file server sent onnxruntime's 13.6 MiB binary in 276 ms), and the page waited for them. So they
// come from the file server when a route covers them, and from their resource URIs should that fail. This
// writes their tags (webviewHtml.ts puts them in the page), and the inline script that falls back.

import type { FileRoute } from './protocol';
import { servedUrlOf } from './servedUrl';

/**
 * The inline script that loads a tag's data-fallback URL when its own URL fails to load: a failed load's error
 * event does not bubble, but a listener on the window hears it in the capture phase. The new tag has the old
 * one's nonce (the page's CSP allows scripts and stylesheets by nonce). A classic script, run where it is parsed:
 * before the tags it watches.
 */
export const RESOURCE_FALLBACK_SCRIPT =
  "addEventListener('error',function(e){var t=e.target,u=t&&t.dataset&&t.dataset.fallback;if(!u)return;delete t.dataset.fallback;" +
  "var n=document.createElement(t.localName);if(t.localName==='script'){n.type='module';n.src=u}else{n.rel='stylesheet';n.href=u}" +
  'n.nonce=t.nonce;t.after(n)},true);';

/** The page's stylesheet and script tags, and the fallback script to put before both (none without a route). */
export interface PageResourceTags {
  /** The inline fallback script, or '' when neither tag has a served URL. */
  fallback: string;
  stylesheet: string;
  script: string;
}

/**
 * The tags of a page's stylesheet and (module) script, given their resource URIs: each at its served URL when the
 * routes cover it, with the URI as its fallback, else at the URI. nonce: the page's CSP nonce; escape: how the
 * page escapes attribute values.
 */
export function pageResourceTags(routes: readonly FileRoute[], nonce: string, stylesheetUri: string, scriptUri: string, escape: (text: string) => string): PageResourceTags {
  const [stylesheet, script] = [stylesheetUri, scriptUri].map((uri) => ({ uri, served: servedUrlOf(routes, uri) }));
  const source = ({ uri, served }: { uri: string; served?: string }) => (served ? `"${escape(served)}" data-fallback="${escape(uri)}"` : `"${escape(uri)}"`);
  return {
    fallback: stylesheet.served || script.served ? `<script nonce="${nonce}">${RESOURCE_FALLBACK_SCRIPT}</script>` : '',
    stylesheet: `<link rel="stylesheet" nonce="${nonce}" href=${source(stylesheet)}>`,
    script: `<script type="module" nonce="${nonce}" src=${source(script)}></script>`,
  };
}
