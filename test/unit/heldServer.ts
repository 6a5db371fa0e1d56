// Why: the tests of reads begun early (earlyFetches.test.ts, earlyReads.test.ts) need one real HTTP server that
// counts the requests per path, holds a body back until a test sends the rest, says when each answer's connection
// closed (a read was stopped), and answers 404 under /missing/.

import { type Server, type ServerResponse, createServer } from 'http';
import type { AddressInfo } from 'net';

/** Every answer's body: 200,000 bytes. */
export const BODY = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 131) % 251);

export interface HeldServer {
  /** http://127.0.0.1:<port> */
  base: string;
  /** Requests by path. */
  asked: Map<string, number>;
  /** Answers to /held/… requests: their first 1,000 bytes sent, the rest only when a test sends it. */
  held: Map<string, ServerResponse>;
  /** By path: settles when the latest answer's connection closed. */
  closed: Map<string, Promise<void>>;
  close(): Promise<void>;
}

/** Starts the server on a free loopback port. */
export async function startHeldServer(): Promise<HeldServer> {
  const asked = new Map<string, number>();
  const held = new Map<string, ServerResponse>();
  const closed = new Map<string, Promise<void>>();
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    asked.set(path, (asked.get(path) ?? 0) + 1);
    closed.set(path, new Promise((resolve) => res.on('close', () => resolve())));
    if (path.startsWith('/missing/')) {
      res.writeHead(404, { 'content-length': '0' });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-length': String(BODY.length) });
    if (path.startsWith('/held/')) {
      res.write(BODY.subarray(0, 1000));
      held.set(path, res);
    } else res.end(BODY);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    for (const res of held.values()) res.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked, held, closed, close };
}
