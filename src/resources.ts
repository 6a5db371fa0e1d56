// Webview URIs of the files the webviews load at run time (onnxruntime-web's wasm, the probe model).

import * as vscode from 'vscode';

export function ortBaseUri(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return `${webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'out', 'ort')).toString()}/`;
}

export function probeModelUri(webview: vscode.Webview, extensionUri: vscode.Uri): string {
  return webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', 'probe.onnx')).toString();
}
