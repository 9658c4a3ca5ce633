import { createServer, type Server, type Socket, type AddressInfo } from 'node:net';
import { promises as fsp, type Stats } from 'node:fs';
import { basename, join, resolve, sep } from 'node:path';
import { InvalidInputError } from '../errors.js';

/**
 * A static HTTP/1.1 server for OSTree repositories, built for what ostree
 * clients do: many small GETs for objects (immutable, cache forever), a few
 * mutable files (summary, summary.sig, refs, config) revalidated with
 * ETag / Last-Modified, Range for resumed downloads, HEAD. Nothing outside a
 * repository is ever served: paths are decoded once, `..` and NUL refused,
 * and the real path must stay inside the repository root.
 *
 * The protocol layer is our own (over node:net) rather than node:http: a
 * static server only needs GET/HEAD without bodies, and node:http's per-request
 * objects cost about half of the throughput (measured: bench/ota.ts). Parsing
 * is strict — anything with a request body, obs-fold or a malformed line is
 * answered 400 and the connection closed, so no proxy in front of us can be
 * made to disagree with us about where a request ends.
 */
export interface ServeOptions {
  /** Repositories to serve. One is served at `/`; several at `/<name>/`. */
  repos: Array<{ name?: string; path: string }>;
  host?: string;
  port?: number;
  /** Called once per request with a Common Log Format line. */
  accessLog?: (line: string) => void;
  /** Bytes of immutable objects kept in memory (default 64 MiB; 0 disables). */
  cacheBytes?: number;
}

interface Mount {
  prefix: string;
  root: string;
}

/** What the request handlers need from a parsed request. */
interface Request {
  method: string;
  url: string;
  version: '1.0' | '1.1';
  headers: Map<string, string>;
  remote: string;
}

/**
 * An immutable object held in memory as its whole keep-alive 200 response
 * (status line, headers, body: one write, no per-request encoding); `body`
 * is a view into it.
 */
interface CacheEntry {
  key: string;
  wire: Buffer;
  body: Buffer;
  /** The second whose Date the wire carries. */
  wireSec: number;
  /** Header lines after the status line, without Date/Connection. */
  head: string;
  /** The file it came from and its identity, for revalidation. */
  real: string;
  ident: string;
  checkedAt: number;
  checking: boolean;
}

const SMALL = 128 * 1024;
const WIRE_DATE_AT = 'HTTP/1.1 200 OK\r\nDate: '.length;
const HTTP_DATE_LENGTH = 'Thu, 01 Jan 1970 00:00:00 GMT'.length;
/** Objects up to this size are eligible for the byte cache. */
const CACHE_ENTRY_MAX = 1024 * 1024;
/** Cached objects are re-checked on disk (in the background) at most this often, so a pruned object stops being served. */
const REVALIDATE_MS = 5000;
const MAX_HEADER_BYTES = 16 * 1024;
const KEEPALIVE_MS = 30_000;
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'public, max-age=0, must-revalidate';
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const REQUEST_LINE = /^([A-Z]+) (\S+) HTTP\/1\.([01])$/;
const REASONS: Record<number, string> = {
  200: 'OK',
  206: 'Partial Content',
  304: 'Not Modified',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  416: 'Range Not Satisfiable',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
};

/** Byte-bounded LRU (a Map keeps insertion order; a hit re-inserts). */
class ObjectCache {
  private readonly map = new Map<string, CacheEntry>();
  private bytes = 0;
  constructor(private readonly max: number) {}
  get(key: string): CacheEntry | undefined {
    const e = this.map.get(key);
    if (e) {
      this.map.delete(key);
      this.map.set(key, e);
    }
    return e;
  }
  set(e: CacheEntry): void {
    if (e.wire.length > this.max) return;
    this.delete(e.key);
    this.map.set(e.key, e);
    this.bytes += e.wire.length;
    while (this.bytes > this.max) {
      const oldest = this.map.values().next().value as CacheEntry;
      this.delete(oldest.key);
    }
  }
  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.bytes -= e.wire.length;
  }
}

/** Date header and CLF timestamp, formatted once per second. */
let clockSec = -1;
let httpDate = '';
let clfNow = '';
function tickClock(): void {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s === clockSec) return;
  clockSec = s;
  const d = new Date(s * 1000);
  httpDate = d.toUTCString();
  clfNow = clfDate(d);
}

export class RepoServer {
  private server: Server | null = null;
  private mounts: Mount[] = [];
  private readonly conns = new Set<Connection>();
  private readonly cache: ObjectCache;
  stopping = false;

  constructor(private readonly opts: ServeOptions) {
    this.cache = new ObjectCache(opts.cacheBytes ?? 64 * 1024 * 1024);
  }

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
    const server = createServer({ noDelay: true }, (socket) => {
      const c = new Connection(this, socket);
      this.conns.add(c);
      socket.on('close', () => this.conns.delete(c));
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

  /** Stop accepting, let in-flight requests finish (idle keep-alive connections are closed). */
  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    this.server = null;
    this.stopping = true;
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const c of this.conns) c.closeIfIdle();
    const t = setTimeout(() => {
      for (const c of this.conns) c.socket.destroy();
    }, 10_000);
    await closed;
    clearTimeout(t);
  }

  log(req: Request, status: number, bytes: number): void {
    if (!this.opts.accessLog) return;
    tickClock();
    this.opts.accessLog(`${req.remote} - - [${clfNow}] "${req.method} ${req.url} HTTP/${req.version}" ${status} ${bytes} "${req.headers.get('user-agent') ?? '-'}"`);
  }

  /**
   * Answer one request. Returns null when the response was written
   * synchronously (a cache hit), else a promise settled once it is written.
   */
  handle(c: Connection, req: Request): Promise<void> | null {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      c.fail(req, 405, 'method not allowed', 'Allow: GET, HEAD\r\n');
      return null;
    }
    const q = req.url.indexOf('?');
    const raw = q >= 0 ? req.url.slice(0, q) : req.url;
    // the fast path: an unconditional GET of a cached immutable object
    const hit = this.cache.get(raw);
    if (hit && !req.headers.has('range') && !req.headers.has('if-none-match') && !req.headers.has('if-modified-since')) {
      if (Date.now() - hit.checkedAt >= REVALIDATE_MS && !hit.checking) this.revalidate(hit);
      if (req.method === 'GET') c.sendCached(req, hit);
      else c.send(req, 200, hit.head, null);
      this.log(req, 200, req.method === 'HEAD' ? 0 : hit.body.length);
      return null;
    }
    return this.slow(c, req, raw).catch((e: unknown) => {
      if (!c.headersSent) c.fail(req, 500, 'internal error');
      else c.socket.destroy(e as Error);
    });
  }

  /** An object's name fixes its bytes, so only its disappearance (prune) or replacement matters. */
  private revalidate(e: CacheEntry): void {
    e.checking = true;
    fsp
      .stat(e.real)
      .then((st) => (identity(st) === e.ident ? st : null))
      .catch(() => null)
      .then((st) => {
        e.checking = false;
        if (st) e.checkedAt = Date.now();
        else this.cache.delete(e.key);
      });
  }

  private resolveMount(urlPath: string): { mount: Mount; rel: string } | null {
    const mount = this.mounts.find((m) => urlPath === m.prefix.slice(0, -1) || urlPath.startsWith(m.prefix));
    if (!mount) return null;
    return { mount, rel: urlPath.slice(mount.prefix.length) };
  }

  private async slow(c: Connection, req: Request, raw: string): Promise<void> {
    let path: string;
    try {
      // ostree sends '+' in delta paths literally; decodeURIComponent keeps it
      path = decodeURIComponent(raw);
    } catch {
      return c.fail(req, 400, 'bad request');
    }
    if (path.includes('\0') || path.includes('\\') || !path.startsWith('/')) return c.fail(req, 400, 'bad request');
    if (path.split('/').some((seg) => seg === '..' || seg === '.')) return c.fail(req, 403, 'forbidden');
    const hit = this.resolveMount(path);
    if (!hit) return c.fail(req, 404, 'not found');
    const full = join(hit.mount.root, hit.rel);
    let real: string;
    try {
      real = await fsp.realpath(full);
    } catch {
      return c.fail(req, 404, 'not found');
    }
    if (real !== hit.mount.root && !real.startsWith(hit.mount.root + sep)) return c.fail(req, 403, 'forbidden');
    const fh = await fsp.open(real, 'r').catch(() => null);
    if (!fh) return c.fail(req, 404, 'not found');
    let owned = true;
    try {
      const st = await fh.stat();
      if (!st.isFile()) return c.fail(req, 404, 'not found');
      owned = false;
      await this.sendFile(c, req, fh, st, hit.rel, raw, real);
    } finally {
      if (owned) await fh.close();
    }
  }

  /** Takes ownership of fh. */
  private async sendFile(c: Connection, req: Request, fh: fsp.FileHandle, st: Stats, rel: string, cacheKey: string, real: string): Promise<void> {
    let fhOpen = true;
    const close = async () => {
      if (fhOpen) {
        fhOpen = false;
        await fh.close();
      }
    };
    try {
      const etag = `"${st.ino.toString(16)}-${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
      const mtimeSec = Math.floor(st.mtimeMs / 1000) * 1000;
      const immutable = rel.startsWith('objects/') || (rel.startsWith('deltas/') && !rel.endsWith('/superblock'));
      let head = `Content-Type: ${contentType(rel)}\r\nETag: ${etag}\r\nLast-Modified: ${new Date(mtimeSec).toUTCString()}\r\nCache-Control: ${immutable ? IMMUTABLE : REVALIDATE}\r\nAccept-Ranges: bytes\r\n`;
      const inm = req.headers.get('if-none-match');
      const ims = req.headers.get('if-modified-since');
      if ((inm && inm.split(/\s*,\s*/).some((t) => t === etag || t === '*' || t === `W/${etag}`)) || (!inm && ims && Date.parse(ims) >= mtimeSec)) {
        c.send(req, 304, head, null);
        this.log(req, 304, 0);
        return;
      }
      let start = 0;
      let end = st.size - 1;
      let status = 200;
      const range = req.headers.get('range');
      const ifRange = req.headers.get('if-range');
      if (range && (!ifRange || ifRange === etag)) {
        const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
        if (m && !(m[1] === '' && m[2] === '')) {
          if (m[1] === '') start = Math.max(0, st.size - Number(m[2]));
          else {
            start = Number(m[1]);
            if (m[2] !== '') end = Math.min(end, Number(m[2]));
          }
        }
        if (!m || (m[1] === '' && m[2] === '') || start >= st.size || start > end) {
          c.send(req, 416, `Content-Range: bytes */${st.size}\r\n`, null, true);
          this.log(req, 416, 0);
          return;
        }
        status = 206;
        head += `Content-Range: bytes ${start}-${end}/${st.size}\r\n`;
      }
      const len = st.size === 0 ? 0 : end - start + 1;
      head += `Content-Length: ${len}\r\n`;
      const cacheable = immutable && status === 200 && len <= CACHE_ENTRY_MAX;
      if ((req.method === 'HEAD' && !cacheable) || len === 0) {
        c.send(req, status, head, null);
        this.log(req, status, 0);
        return;
      }
      if (len <= SMALL || cacheable) {
        const buf = Buffer.allocUnsafe(len);
        let got = 0;
        while (got < len) {
          const { bytesRead } = await fh.read(buf, got, len - got, start + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
        await close();
        if (got !== len) throw new Error(`${rel}: file shrank while being read`);
        if (cacheable) this.cache.set(cacheEntry(cacheKey, head, buf, real, identity(st)));
        c.send(req, status, head, req.method === 'HEAD' ? null : buf);
        this.log(req, status, req.method === 'HEAD' ? 0 : len);
        return;
      }
      c.send(req, status, head, null);
      fhOpen = false;
      // the stream owns the handle from here and closes it when done or destroyed
      const stream = fh.createReadStream({ start, end, highWaterMark: 256 * 1024 });
      await new Promise<void>((ok, fail) => {
        const onClose = () => stream.destroy();
        c.socket.once('close', onClose);
        stream.on('error', fail);
        stream.on('end', () => {
          c.socket.off('close', onClose);
          ok();
        });
        stream.on('close', () => ok());
        stream.pipe(c.socket, { end: false });
      });
      this.log(req, status, len);
    } finally {
      await close();
    }
  }
}

/** One client connection: parses requests in order and answers them one at a time. */
class Connection {
  private buf: Buffer | null = null;
  private busy = false;
  private keepAlive = true;
  headersSent = false;

  constructor(
    private readonly server: RepoServer,
    readonly socket: Socket,
  ) {
    socket.setTimeout(KEEPALIVE_MS, () => socket.destroy());
    socket.on('data', (d: Buffer) => {
      this.buf = this.buf ? Buffer.concat([this.buf, d]) : d;
      this.pump();
    });
    socket.on('drain', () => this.pump());
    socket.on('error', () => socket.destroy());
  }

  closeIfIdle(): void {
    this.keepAlive = false;
    if (!this.busy && !this.buf) this.socket.end();
  }

  private pump(): void {
    while (!this.busy && this.buf && !this.socket.destroyed) {
      // a client that pipelines without reading gets no more answers until it does
      if (this.socket.writableLength > 4 * 1024 * 1024) return;
      const end = this.buf.indexOf('\r\n\r\n', 0, 'latin1');
      if (end < 0) {
        if (this.buf.length > MAX_HEADER_BYTES) this.reject(431);
        return;
      }
      if (end > MAX_HEADER_BYTES) return this.reject(431);
      const text = this.buf.toString('latin1', 0, end);
      this.buf = end + 4 === this.buf.length ? null : this.buf.subarray(end + 4);
      const req = this.parse(text);
      if (!req) return;
      this.headersSent = false;
      const conn = req.headers.get('connection')?.toLowerCase();
      this.keepAlive = !this.server.stopping && (req.version === '1.1' ? !conn?.includes('close') : !!conn?.includes('keep-alive'));
      const p = this.server.handle(this, req);
      if (p) {
        this.busy = true;
        void p.then(() => this.done());
      } else if (!this.keepAlive) return this.finish();
    }
    if (!this.busy && !this.buf && this.server.stopping) this.socket.end();
  }

  private done(): void {
    this.busy = false;
    if (!this.keepAlive) return this.finish();
    this.pump();
  }

  private finish(): void {
    this.buf = null;
    this.socket.end();
  }

  private parse(text: string): Request | null {
    const lines = text.split('\r\n');
    const m = REQUEST_LINE.exec(lines[0]!);
    if (!m) {
      this.reject(400);
      return null;
    }
    const headers = new Map<string, string>();
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      // no obs-fold, no control characters, names are tokens
      if (!TOKEN.test(name) || /[\0-\x08\x0a-\x1f\x7f]/.test(line)) {
        this.reject(400);
        return null;
      }
      const key = name.toLowerCase();
      const value = line.slice(colon + 1).trim();
      const prev = headers.get(key);
      headers.set(key, prev === undefined ? value : `${prev}, ${value}`);
    }
    // we take no request bodies: refusing them keeps request framing unambiguous
    const cl = headers.get('content-length');
    if (headers.has('transfer-encoding') || (cl !== undefined && cl !== '0')) {
      this.reject(413);
      return null;
    }
    return { method: m[1]!, url: m[2]!, version: m[3] === '1' ? '1.1' : '1.0', headers, remote: this.socket.remoteAddress ?? '-' };
  }

  /** A request we cannot frame: answer and close. */
  private reject(status: number): void {
    this.keepAlive = false;
    this.buf = null;
    const body = `${REASONS[status]}\n`;
    this.socket.end(`HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
  }

  send(req: Request, status: number, head: string, body: Buffer | null, noBody = false): void {
    tickClock();
    const conn = this.keepAlive ? (req.version === '1.0' ? 'Connection: keep-alive\r\n' : '') : 'Connection: close\r\n';
    const lenHeader = noBody ? 'Content-Length: 0\r\n' : '';
    const h = `HTTP/1.1 ${status} ${REASONS[status]}\r\nDate: ${httpDate}\r\n${head}${lenHeader}${conn}\r\n`;
    this.headersSent = true;
    if (body) {
      this.socket.cork();
      this.socket.write(h, 'latin1');
      this.socket.write(body);
      this.socket.uncork();
    } else this.socket.write(h, 'latin1');
  }

  /** A cached object: one prebuilt write when the connection stays open under HTTP/1.1 (nearly always). */
  sendCached(req: Request, e: CacheEntry): void {
    if (!this.keepAlive || req.version !== '1.1') return this.send(req, 200, e.head, e.body);
    tickClock();
    if (e.wireSec !== clockSec) {
      // rewritten in place: the Date has a fixed width, and a response still queued on a slow
      // socket at worst carries a Date a second later than when it was queued
      e.wire.write(httpDate, WIRE_DATE_AT, 'latin1');
      e.wireSec = clockSec;
    }
    this.headersSent = true;
    this.socket.write(e.wire);
  }

  fail(req: Request, status: number, msg: string, extra = ''): void {
    const body = Buffer.from(`${msg}\n`);
    this.send(req, status, `Content-Type: text/plain; charset=utf-8\r\nContent-Length: ${body.length}\r\nCache-Control: no-store\r\n${extra}`, req.method === 'HEAD' ? null : body);
    this.server.log(req, status, 0);
  }
}

function cacheEntry(key: string, head: string, body: Buffer, real: string, ident: string): CacheEntry {
  tickClock();
  if (httpDate.length !== HTTP_DATE_LENGTH) throw new Error(`unexpected Date header width: ${httpDate}`);
  const top = Buffer.from(`HTTP/1.1 200 OK\r\nDate: ${httpDate}\r\n${head}\r\n`, 'latin1');
  const wire = Buffer.allocUnsafe(top.length + body.length);
  top.copy(wire, 0);
  body.copy(wire, top.length);
  return { key, wire, body: wire.subarray(top.length), wireSec: clockSec, head, real, ident, checkedAt: Date.now(), checking: false };
}

function identity(st: Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
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
