// Why: the panel's HTML carries its starter script inline (src/webviewHtml.ts), so that it runs without a request.
// An inline script's text is read by the HTML parser first: this says when a script can go there unchanged.

/**
 * A script's text as the body of an inline script element, or undefined when it holds what would end the element
 * or change how the HTML parser reads it ("</script", "<!--"; the script then is not inlined). Its source map, if
 * linked, is named by its full URI (sourceMapUri): a relative one would be read against the page's.
 */
export function inlineScript(text: string, sourceMapUri: string): string | undefined {
  if (/<\/script|<!--/i.test(text)) return undefined;
  return text.replace(/\/\/# sourceMappingURL=\S+\s*$/, `//# sourceMappingURL=${sourceMapUri}\n`);
}
