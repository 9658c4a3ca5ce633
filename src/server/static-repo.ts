import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { promises as fsp, type Stats } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import type { AddressInfo } from 'node:net';
import { InvalidInputError } from '../errors.js';

/**
 * A static HTTP server for OSTree repositories, built for what ostree
 * clients do: many small GETs for objects (immutable, cache forever), a few
 * mutable files (summary, summary.sig, refs, config) revalidated with
 * ETag / Last-Modified, Range for resumed downloads, HEAD. Nothing outside a
 * repository is ever served: paths are decoded once, `..` and NUL refused,
 * and the real path must stay inside the repository root.
 */
export interface ServeOptions {
  /** Repositories to serve. One is served at `/`; several at `/<name>/`. */
  repos: Array<{ name?: string; path: string }>;
  host?: string;
  port?: number;
  /** Called once per request with a Common Log Format line. */
  accessLog?: (line: string) => void;
}

interface Mount {
  prefix: string;
  root: string;
}

const SMALL = 128 * 1024;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'public, max-age=0, must-revalidate';

export class RepoServer {
  private server: Server | null = null;
  private mounts: Mount[] = [];
  private readonly sockets = new Set<import('node:net').Socket>();

  constructor(private readonly opts: ServeOptions) {}

  async start(): Promise<{ url: string; port: number }> {
    if (this.opts.repos.length === 0) throw new InvalidInputError('serve: at least one --repo is required');
    for (const r of this.opts.repos) {
      const root = await fsp.realpath(resolve(r.path)).catch(() => {
        throw new InvalidInputError(`serve: repository ${r.path} does not exist`);
      });
      await fsp.access(join(root, 'config')).catch(() => {
        throw new InvalidInputError(`serve: ${r.path} is not an OSTree repository (no config file)`);
      });
      const prefix = this.opts.repos.length === 1 ? '/' : `/${r.name ?? basename(root)}/`;
      if (this.mounts.some((m) => m.prefix === prefix)) throw new InvalidInputError(`serve: two repositories would be served at ${prefix}`);
      this.mounts.push({ prefix, root });
    }
    const server = createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
      void this.handle(req, res);
    });
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server = server;
    await new Promise<void>((ok, fail) => {
      server.once('error', fail);
      server.listen(this.opts.port ?? 0, this.opts.host ?? '127.0.0.1', () => ok());
    });
    const addr = server.address() as AddressInfo;
    const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    return { url: `http://${host}:${addr.port}`, port: addr.port };
  }

  /** Stop accepting, let in-flight requests finish (idle keep-alive sockets are closed). */
  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    const closed = new Promise<void>((r) => s.close(() => r()));
    s.closeIdleConnections();
    const t = setTimeout(() => {
      for (const sock of this.sockets) sock.destroy();
    }, 10_000);
    await closed;
    clearTimeout(t);
  }

  private log(req: IncomingMessage, status: number, bytes: number): void {
    if (!this.opts.accessLog) return;
    const ts = clfDate(new Date());
    this.opts.accessLog(`${req.socket.remoteAddress ?? '-'} - - [${ts}] "${req.method} ${req.url} HTTP/${req.httpVersion}" ${status} ${bytes} "${req.headers['user-agent'] ?? '-'}"`);
  }

  private fail(req: IncomingMessage, res: ServerResponse, status: number, msg: string): void {
    const body = `${msg}\n`;
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : body);
    this.log(req, status, 0);
  }

  private resolve(urlPath: string): { mount: Mount; rel: string } | null {
    const mount = this.mounts.find((m) => urlPath === m.prefix.slice(0, -1) || urlPath.startsWith(m.prefix));
    if (!mount) return null;
    return { mount, rel: urlPath.slice(mount.prefix.length) };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return this.fail(req, res, 405, 'method not allowed');
      }
      const raw = (req.url ?? '/').split('?')[0]!;
      let path: string;
      try {
        // ostree sends '+' in delta paths literally; decodeURIComponent keeps it
        path = decodeURIComponent(raw);
      } catch {
        return this.fail(req, res, 400, 'bad request');
      }
      if (path.includes('\0') || path.includes('\\') || !path.startsWith('/')) return this.fail(req, res, 400, 'bad request');
      if (path.split('/').some((seg) => seg === '..' || seg === '.')) return this.fail(req, res, 403, 'forbidden');
      const hit = this.resolve(path);
      if (!hit) return this.fail(req, res, 404, 'not found');
      const full = join(hit.mount.root, hit.rel);
      let real: string;
      try {
        real = await fsp.realpath(full);
      } catch {
        return this.fail(req, res, 404, 'not found');
      }
      if (real !== hit.mount.root && !real.startsWith(hit.mount.root + sep)) return this.fail(req, res, 403, 'forbidden');
      const fh = await fsp.open(real, 'r').catch(() => null);
      if (!fh) return this.fail(req, res, 404, 'not found');
      let st: Stats;
      try {
        st = await fh.stat();
      } catch (e) {
        await fh.close();
        throw e;
      }
      if (!st.isFile()) {
        await fh.close();
        return this.fail(req, res, 404, 'not found');
      }
      await this.sendFile(req, res, fh, st, hit.rel);
    } catch (e) {
      if (!res.headersSent) this.fail(req, res, 500, 'internal error');
      else res.destroy(e as Error);
    }
  }

  private async sendFile(req: IncomingMessage, res: ServerResponse, fh: fsp.FileHandle, st: Stats, rel: string): Promise<void> {
    const etag = `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
    const lastModified = new Date(Math.floor(st.mtimeMs / 1000) * 1000).toUTCString();
    const immutable = rel.startsWith('objects/') || (rel.startsWith('deltas/') && !rel.endsWith('/superblock'));
    const headers: Record<string, string | number> = {
      'content-type': contentType(rel),
      etag,
      'last-modified': lastModified,
      'cache-control': immutable ? IMMUTABLE : REVALIDATE,
      'accept-ranges': 'bytes',
    };
    const inm = req.headers['if-none-match'];
    const ims = req.headers['if-modified-since'];
    if ((inm && inm.split(/\s*,\s*/).some((t) => t === etag || t === '*' || t === `W/${etag}`)) || (!inm && ims && Date.parse(ims) >= Math.floor(st.mtimeMs / 1000) * 1000)) {
      await fh.close();
      res.writeHead(304, headers);
      res.end();
      this.log(req, 304, 0);
      return;
    }
    let start = 0;
    let end = st.size - 1;
    let status = 200;
    const range = req.headers.range;
    if (range && (!req.headers['if-range'] || req.headers['if-range'] === etag)) {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === '' && m[2] === '')) {
        await fh.close();
        res.writeHead(416, { 'content-range': `bytes */${st.size}` });
        res.end();
        this.log(req, 416, 0);
        return;
      }
      if (m[1] === '') {
        start = Math.max(0, st.size - Number(m[2]));
      } else {
        start = Number(m[1]);
        if (m[2] !== '') end = Math.min(end, Number(m[2]));
      }
      if (start >= st.size || start > end) {
        await fh.close();
        res.writeHead(416, { 'content-range': `bytes */${st.size}` });
        res.end();
        this.log(req, 416, 0);
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
    }
    const len = st.size === 0 ? 0 : end - start + 1;
    headers['content-length'] = len;
    if (req.method === 'HEAD' || len === 0) {
      await fh.close();
      res.writeHead(status, headers);
      res.end();
      this.log(req, status, 0);
      return;
    }
    if (len <= SMALL) {
      const buf = Buffer.allocUnsafe(len);
      try {
        await fh.read(buf, 0, len, start);
      } finally {
        await fh.close();
      }
      res.writeHead(status, headers);
      res.end(buf);
      this.log(req, status, len);
      return;
    }
    res.writeHead(status, headers);
    // the stream owns the handle from here and closes it when done or destroyed
    const stream = fh.createReadStream({ start, end, highWaterMark: 256 * 1024 });
    stream.on('error', (e) => res.destroy(e));
    res.on('close', () => stream.destroy());
    stream.pipe(res);
    this.log(req, status, len);
  }
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Common Log Format time: 26/Nov/2026:23:54:31 +0000 */
function clfDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

function contentType(rel: string): string {
  if (rel === 'config' || rel.startsWith('refs/')) return 'text/plain; charset=utf-8';
  return 'application/octet-stream';
}
