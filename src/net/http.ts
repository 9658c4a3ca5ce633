import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { CoreforgeError, NotFoundError } from '../errors.js';

/** Network failures (unreachable host, reset, server errors after retries). */
export class NetworkError extends CoreforgeError {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super('ENETWORK', message);
  }
}

export interface HttpResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

export interface FetchOptions {
  headers?: Record<string, string>;
  /** Refuse bodies larger than this (metadata caps). */
  maxBytes?: number;
  /** Attempts for network errors and 5xx (default 3). */
  retries?: number;
  /** Treat 403/404/410 as "absent" and return null instead of throwing. */
  allowMissing?: boolean;
  /** Return 304 responses instead of treating them as errors. */
  allowNotModified?: boolean;
  timeoutMs?: number;
}

const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 16 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 16 }),
};

export const USER_AGENT = 'coreforge (libostree-compatible)';

function once(url: URL, opts: FetchOptions): Promise<HttpResponse> {
  const isHttps = url.protocol === 'https:';
  const req = (isHttps ? httpsRequest : httpRequest)(url, {
    agent: isHttps ? agents.https : agents.http,
    headers: { 'user-agent': USER_AGENT, ...opts.headers },
    timeout: opts.timeoutMs ?? 60_000,
  });
  return new Promise((resolve, reject) => {
    req.on('timeout', () => req.destroy(new NetworkError(`timed out fetching ${url.href}`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (c: Buffer) => {
        n += c.length;
        if (opts.maxBytes !== undefined && n > opts.maxBytes) {
          res.destroy();
          req.destroy(new NetworkError(`${url.href}: response exceeds ${opts.maxBytes} bytes`));
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        const expected = res.headers['content-length'];
        if (expected !== undefined && res.statusCode === 200 && Number(expected) !== body.length) {
          reject(new NetworkError(`${url.href}: truncated response (${body.length} of ${expected} bytes)`));
          return;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
      });
      res.on('error', reject);
    });
    req.end();
  });
}

/** GET a URL into memory with retries; 403/404/410 are "not found" as libostree treats them. */
export async function fetchBuffer(href: string, opts: FetchOptions & { allowMissing: true }): Promise<HttpResponse | null>;
export async function fetchBuffer(href: string, opts?: FetchOptions): Promise<HttpResponse>;
export async function fetchBuffer(href: string, opts: FetchOptions = {}): Promise<HttpResponse | null> {
  const url = new URL(href);
  if (url.protocol === 'file:') return fetchFile(url, opts);
  const attempts = opts.retries ?? 3;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const r = await once(url, opts);
      if (r.status === 200 || r.status === 206 || (r.status === 304 && opts.allowNotModified)) return r;
      if (r.status === 403 || r.status === 404 || r.status === 410) {
        if (opts.allowMissing) return null;
        throw new NotFoundError(`Server returned HTTP ${r.status} for ${href}`);
      }
      if (r.status >= 500) {
        last = new NetworkError(`Server returned HTTP ${r.status} for ${href}`, r.status);
      } else throw new NetworkError(`Server returned HTTP ${r.status} for ${href}`, r.status);
    } catch (e) {
      if (e instanceof NotFoundError || (e instanceof NetworkError && e.status !== undefined && e.status < 500)) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100 * 2 ** i));
  }
  if (last instanceof CoreforgeError) throw last;
  throw new NetworkError(`fetching ${href}: ${(last as Error)?.message ?? String(last)}`);
}

async function fetchFile(url: URL, opts: FetchOptions): Promise<HttpResponse | null> {
  const { promises: fsp } = await import('node:fs');
  try {
    const body = await fsp.readFile(url);
    if (opts.maxBytes !== undefined && body.length > opts.maxBytes) throw new NetworkError(`${url.href}: exceeds ${opts.maxBytes} bytes`);
    return { status: 200, headers: {}, body };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      if (opts.allowMissing) return null;
      throw new NotFoundError(`No such file: ${url.pathname}`);
    }
    throw e;
  }
}

/**
 * GET a URL and hand its body, chunk by chunk, to `consume` (which must be
 * restartable: a network failure mid-body retries the whole exchange).
 * A body shorter than its Content-Length is a network error, not data.
 * Returns null for 403/404/410 when allowMissing is set.
 */
export async function fetchStream<T>(
  href: string,
  opts: FetchOptions,
  consume: (body: AsyncIterable<Buffer> | Iterable<Buffer>, length: number | undefined) => Promise<T>,
): Promise<T | null> {
  const url = new URL(href);
  if (url.protocol === 'file:') {
    const r = await fetchFile(url, opts);
    if (!r) return null;
    return consume([r.body], r.body.length);
  }
  const attempts = opts.retries ?? 3;
  let last: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const res = await open(url, opts);
      const status = res.statusCode ?? 0;
      if (status === 200) {
        const len = res.headers['content-length'] === undefined ? undefined : Number(res.headers['content-length']);
        return await consume(counted(res, len, url, opts.maxBytes), len);
      }
      res.resume();
      if (status === 403 || status === 404 || status === 410) {
        if (opts.allowMissing) return null;
        throw new NotFoundError(`Server returned HTTP ${status} for ${href}`);
      }
      if (status >= 500) last = new NetworkError(`Server returned HTTP ${status} for ${href}`, status);
      else throw new NetworkError(`Server returned HTTP ${status} for ${href}`, status);
    } catch (e) {
      if (e instanceof NotFoundError || (e instanceof NetworkError && e.status !== undefined && e.status < 500)) throw e;
      // anything that is not a transport failure (a corrupt object…) is the caller's verdict
      if (e instanceof CoreforgeError && !(e instanceof NetworkError)) throw e;
      if (!(e instanceof NetworkError) && typeof (e as NodeJS.ErrnoException)?.code !== 'string') throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, 100 * 2 ** i));
  }
  if (last instanceof CoreforgeError) throw last;
  throw new NetworkError(`fetching ${href}: ${(last as Error)?.message ?? String(last)}`);
}

function open(url: URL, opts: FetchOptions): Promise<IncomingMessage> {
  const isHttps = url.protocol === 'https:';
  const req = (isHttps ? httpsRequest : httpRequest)(url, {
    agent: isHttps ? agents.https : agents.http,
    headers: { 'user-agent': USER_AGENT, ...opts.headers },
    timeout: opts.timeoutMs ?? 60_000,
  });
  return new Promise((resolve, reject) => {
    req.on('timeout', () => req.destroy(new NetworkError(`timed out fetching ${url.href}`)));
    req.on('error', reject);
    req.on('response', resolve);
    req.end();
  });
}

async function* counted(res: IncomingMessage, len: number | undefined, url: URL, max: number | undefined): AsyncGenerator<Buffer> {
  let n = 0;
  try {
    for await (const c of res) {
      n += (c as Buffer).length;
      if (max !== undefined && n > max) throw new NetworkError(`${url.href}: response exceeds ${max} bytes`, 413);
      yield c as Buffer;
    }
  } finally {
    // a consumer that stops early must not leave the socket half-read in the pool
    if (!res.complete) res.destroy();
  }
  if (len !== undefined && n !== len) throw new NetworkError(`${url.href}: truncated response (${n} of ${len} bytes)`);
}

/** Join a base URL and a relative path (base may or may not end in '/'). */
export function joinUrl(base: string, rel: string): string {
  return base.replace(/\/+$/, '') + '/' + rel.replace(/^\/+/, '');
}
