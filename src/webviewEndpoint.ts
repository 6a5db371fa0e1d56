// The host's end of the typed protocol for one webview: wires rpc.Endpoint to webview.postMessage, checks
// the params of every request and notification the webview sends against the protocol's schemas
// (core/protocolSchema.ts) before any handler runs, and logs every error the webview reports and every
// message it rejects as one bounded line (core/errors.ts forLog): a webview is a web page, and what it
// says is data, never trusted. `simulate` takes a message as if the webview had posted it, through the
// same checks and handlers, so that tests in a real VS Code can forge one.

import * as vscode from 'vscode';
import { type ErrorPayload, forLog } from './core/errors';
import type { HostNotifications, HostRequests, WebviewNotifications, WebviewRequests } from './core/protocol';
import { checkWebviewMessage } from './core/protocolSchema';
import { Endpoint } from './core/rpc';
import type { Log } from './log';

/** What a simulated message got: a request's result or error, or a notification's rejection (if any). */
export interface SimulatedAnswer {
  result?: unknown;
  error?: ErrorPayload;
}

export class HostEndpoint extends Endpoint<HostRequests, HostNotifications, WebviewRequests, WebviewNotifications> {
  /** Answers to simulated requests (negative ids, never used by the webview), by id. */
  private readonly simulated: Map<number, (answer: SimulatedAnswer) => void>;
  private readonly injected: vscode.EventEmitter<unknown>;
  private readonly rejected: vscode.EventEmitter<ErrorPayload>;
  private lastSimulatedId = 0;
  private closed = false;

  constructor(webview: vscode.Webview, label: string, log: Log) {
    const simulated = new Map<number, (answer: SimulatedAnswer) => void>();
    const injected = new vscode.EventEmitter<unknown>();
    const rejected = new vscode.EventEmitter<ErrorPayload>();
    super(
      {
        post: (message) => {
          const answer = message.kind === 'response' ? simulated.get(message.id) : undefined;
          if (answer && message.kind === 'response') {
            simulated.delete(message.id);
            answer(message.error ? { error: message.error } : { result: message.result });
            return;
          }
          webview.postMessage(message).then(
            (delivered) => {
              if (!delivered) log.warn(`${label}: a message to the webview was not delivered (${message.kind}).`);
            },
            (err) => log.error(`${label}: postMessage failed: ${forLog(String(err))}`),
          );
        },
        listen: (handler) => {
          const subs = [webview.onDidReceiveMessage(handler), injected.event(handler)];
          return { dispose: () => subs.forEach((s) => s.dispose()) };
        },
      },
      {
        peer: 'webview',
        check: checkWebviewMessage,
        onError: (e) => {
          log.error(`${label}: ${e.code}: ${forLog(e.message)}`);
          rejected.fire(e);
        },
      },
    );
    this.simulated = simulated;
    this.injected = injected;
    this.rejected = rejected;
    this.onNotification('error', (e) => {
      log.error(`${label} webview (${forLog(e.source, 200)}): ${e.code}: ${forLog(e.message)}${e.stack ? ` | stack: ${forLog(e.stack)}` : ''}`);
    });
  }

  /**
   * Delivers a request or notification as if the webview had posted it (for tests); resolves with the
   * request's answer, or with the rejection a notification got (an empty answer when it was accepted).
   */
  simulate(kind: 'request' | 'notification', method: string, params: unknown): Promise<SimulatedAnswer> {
    if (this.closed) return Promise.resolve({ error: { code: 'disposed', message: 'The webview connection is closed.' } });
    if (kind === 'notification') {
      const errors: ErrorPayload[] = [];
      const sub = this.rejected.event((e) => errors.push(e));
      try {
        this.injected.fire({ kind, method, params }); // delivered synchronously, like a real notification's handlers
      } finally {
        sub.dispose();
      }
      return Promise.resolve(errors.length ? { error: errors[0] } : {});
    }
    const id = --this.lastSimulatedId;
    return new Promise((resolve) => {
      this.simulated.set(id, resolve);
      this.injected.fire({ kind, id, method, params });
    });
  }

  override dispose(): void {
    if (this.closed) return;
    this.closed = true;
    super.dispose();
    for (const answer of this.simulated.values()) answer({ error: { code: 'disposed', message: 'The webview connection closed before answering.' } });
    this.simulated.clear();
    this.injected.dispose();
    this.rejected.dispose();
  }
}

export function createHostEndpoint(webview: vscode.Webview, label: string, log: Log): HostEndpoint {
  return new HostEndpoint(webview, label, log);
}
