// The host's end of the typed protocol for one webview: wires rpc.Endpoint to webview.postMessage and
// logs every error the webview reports (unhandled errors included) to the "Attention Lens" channel.

import * as vscode from 'vscode';
import type { HostNotifications, HostRequests, WebviewNotifications, WebviewRequests } from './core/protocol';
import { Endpoint } from './core/rpc';
import type { Log } from './log';

export type HostEndpoint = Endpoint<HostRequests, HostNotifications, WebviewRequests, WebviewNotifications>;

export function createHostEndpoint(webview: vscode.Webview, label: string, log: Log): HostEndpoint {
  const endpoint: HostEndpoint = new Endpoint(
    {
      post: (message) => {
        webview.postMessage(message).then(
          (delivered) => {
            if (!delivered) {
              log.warn(`${label}: a message to the webview was not delivered (${message.kind}).`);
            }
          },
          (err) => log.error(`${label}: postMessage failed: ${String(err)}`),
        );
      },
      listen: (handler) => webview.onDidReceiveMessage(handler),
    },
    { peer: 'webview', onError: (e) => log.error(`${label}: ${e.code}: ${e.message}`) },
  );
  endpoint.onNotification('error', (e) => {
    log.error(`${label} webview (${e.source}): ${e.code}: ${e.message}${e.stack ? `\n${e.stack}` : ''}`);
  });
  return endpoint;
}
