// Turns an editor selection into the protocol's SelectionSummary (exact document offsets, UTF-16).

import * as vscode from 'vscode';
import type { SelectionSummary } from './core/protocol';
import { countCodePoints, countLines } from './core/text';

export function summarizeSelection(editor: vscode.TextEditor, selection: vscode.Selection = editor.selection): SelectionSummary {
  const document = editor.document;
  const range = new vscode.Range(selection.start, selection.end);
  const text = document.getText(range);
  return {
    uri: document.uri.toString(),
    fileName: vscode.workspace.asRelativePath(document.uri, false),
    languageId: document.languageId,
    version: document.version,
    start: { line: range.start.line, character: range.start.character },
    end: { line: range.end.line, character: range.end.character },
    startOffset: document.offsetAt(range.start),
    text,
    length: text.length,
    codePoints: countCodePoints(text),
    lineCount: countLines(text),
  };
}
