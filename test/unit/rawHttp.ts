// Why: the file server's tests ask for paths exactly as written (fetch would resolve ".." and set its own
// Accept-Encoding), with Node's http client.

import { request } from 'http';

/** A raw GET (or other method) of a path exactly as written: fetch would resolve "..". */
export function raw(port: number, urlPath: string, method = 'GET', headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

