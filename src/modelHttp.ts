// Why: a download's HTTP side is where servers stall, redirect, answer 404 or cut the body, and each of those
// must become a message that says what happened and what to do, never a hang or a bare socket error. These
// are the pieces modelDownload.ts fetches with: a GET whose headers must come within the stall timeout
// (redirects followed, never from https to http), a body fed chunk by chunk with the stall timer re-armed on
// every chunk, a manifest read into memory (bounded; a zip recognised by its first bytes), and the wording of
// failures (a status, a cut, a stall, a cancel), with ResumableError marking the failures after which the
// partial file is worth keeping. No `vscode` import: the unit tests run it in Node.

import * as http from 'node:http';
import * as https from 'node:https';
import { LensError } from './core/errors';
import { formatBytes, looksLikeZip } from './modelArchive';

/** What a request needs of its download: the cancel, and the stall timeout with the error it destroys with. */
export interface HttpJob {
  signal?: AbortSignal;
  stallMs: number;
  /** What a stall destroys a request or response with, recognised by identity. */
  stall: Error;
}

const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_REDIRECTS = 5;
const REDIRECTS = [301, 302, 303, 307, 308];

/** A failure after which the partial file is kept and the next attempt resumes it. */
export class ResumableError extends LensError {}

/** The "manifest" turned out to be a zip: downloaded again as an archive. */
class ServesZip extends LensError {}

const failed = (message: string) => new LensError('download-failed', message);
const messageOf = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** A GET whose response headers must come within the stall timeout; redirects followed (never https → http). */
export async function openUrl(job: HttpJob, url: URL, headers: Record<string, string>): Promise<http.IncomingMessage> {
  for (let hop = 0; ; hop++) {
    const res = await requestOnce(job, url, headers);
    const location = res.headers.location;
    if (!REDIRECTS.includes(res.statusCode ?? 0) || !location) return res;
    res.resume();
    const next = new URL(location, url);
    if (hop >= MAX_REDIRECTS) throw failed(`${url.href} redirects more than ${MAX_REDIRECTS} times; check the URL`);
    if (next.protocol !== 'https:' && !(next.protocol === 'http:' && url.protocol === 'http:')) throw failed(`${url.href} redirects to ${next.href}, which is not https: refused`);
    url = next;
  }
}

function requestOnce(job: HttpJob, url: URL, headers: Record<string, string>): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const get = url.protocol === 'https:' ? https.get : http.get;
    const req = get(url, { headers: { 'Accept-Encoding': 'identity', ...headers }, signal: job.signal }, resolve);
    const timer = setTimeout(() => req.destroy(job.stall), job.stallMs);
    req.once('response', () => clearTimeout(timer));
    req.once('close', () => clearTimeout(timer));
    req.on('error', reject); // kept: a later error of a request already answered must not go unhandled
  });
}

/** Feeds the body to `onChunk`, one chunk at a time; a stall destroys the response. */
export async function pump(job: HttpJob, res: http.IncomingMessage, onChunk: (chunk: Buffer) => Promise<void>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const rearm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => res.destroy(job.stall), job.stallMs);
  };
  rearm();
  try {
    for await (const chunk of res) {
      rearm();
      await onChunk(chunk as Buffer);
      rearm();
    }
  } catch (err) {
    res.destroy();
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

/** A status other than the one expected, as a message with advice (the body is drained). */
export function statusError(res: http.IncomingMessage, url: URL): LensError {
  res.resume();
  const code = res.statusCode ?? 0;
  const status = `${code} (${http.STATUS_CODES[code] ?? 'unknown status'})`;
  const advice =
    code === 401 || code === 403 ? ': the file is private or needs a sign-in; check the URL and your access' : code === 429 || code >= 500 ? ': it is busy or failing; try again later' : ': check the URL';
  return failed(`the server answered ${status} for ${url.href}${advice}`);
}

export function contentLength(res: http.IncomingMessage): number | undefined {
  const value = Number(res.headers['content-length'] ?? NaN);
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** What a failure during a transfer means for the user; network failures keep the partial when resumable. */
export function transferError(job: HttpJob, err: unknown, url: URL, name: string, received: number, total: number | undefined, resumable: boolean): LensError {
  if (err instanceof LensError) return err;
  const got = `${formatBytes(received)}${total === undefined ? '' : ` of ${formatBytes(total)}`}`;
  const again = resumable ? 'run Download model again to resume' : 'run Download model again';
  if (job.signal?.aborted) return new (resumable ? ResumableError : LensError)('cancelled', `the download of ${name} was cancelled after ${got}; ${again}`);
  const make = (message: string) => (resumable ? new ResumableError('download-failed', message) : failed(message));
  if (err === job.stall) return make(`${url.host} sent nothing for ${job.stallMs / 1000} s while sending ${name} (${got} received); check the connection and ${again}`);
  return make(`the connection to ${url.host} was cut after ${got} of ${name} (${messageOf(err)}); ${again}`);
}

/** The manifest, into memory (at most 1 MiB); undefined when the address serves a zip archive instead. */
export async function fetchManifest(job: HttpJob, url: URL): Promise<Uint8Array | undefined> {
  const chunks: Buffer[] = [];
  let received = 0;
  let total: number | undefined;
  try {
    const res = await openUrl(job, url, {});
    if (res.statusCode !== 200) throw statusError(res, url);
    total = contentLength(res);
    await pump(job, res, async (chunk) => {
      if (received === 0 && looksLikeZip(chunk)) throw new ServesZip('download-failed', `${url.href} serves a zip archive`);
      received += chunk.length;
      if (received > MAX_MANIFEST_BYTES) throw new LensError('model-invalid', `${url.href} is over ${formatBytes(MAX_MANIFEST_BYTES)}, too large for a manifest.json: check that the URL points at the manifest`);
      chunks.push(chunk);
    });
  } catch (err) {
    if (err instanceof ServesZip) return undefined;
    throw transferError(job, err, url, 'manifest.json', received, total, false);
  }
  return Buffer.concat(chunks);
}
