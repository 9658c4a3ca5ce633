/**
 * Small HTTP(S)/file client for repositories: keep-alive agents, retries with
 * exponential backoff on transient failures, Range resume into `.part`
 * files, and a limiter for bounded parallelism. node:http only.
 */
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import { createHash, type Hash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { CorruptionError } from '../../errors.js';
import { NetworkError } from './errors.js';

export interface Checksum {
  type: string;
  value: string;
}

/** Map rpm-md checksum type names to node digest names. */
export function hashAlgorithm(type: string): string {
  const t = type.toLowerCase();
  if (t === 'sha' || t === 'sha1') return 'sha1';
  if (t === 'sha224' || t === 'sha256' || t === 'sha384' || t === 'sha512' || t === 'md5') return t;
  throw new CorruptionError(`unsupported checksum type '${type}'`);
}

export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(readonly max: number) {}
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

export interface HttpOptions {
  retries?: number;
  /** First backoff delay in ms; doubles each attempt. */
  backoffMs?: number;
  timeoutMs?: number;
  maxParallel?: number;
}

export interface DownloadOptions {
  checksum?: Checksum;
  size?: number;
  /** Used in error messages: "package foo-1-1.x86_64" or "repo fedora". */
  what: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class HttpClient {
  readonly limiter: Limiter;
  private readonly retries: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(opts: HttpOptions = {}) {
    this.retries = opts.retries ?? 3;
    this.backoffMs = opts.backoffMs ?? 200;
    this.timeoutMs = opts.timeoutMs ?? 30000;
    this.limiter = new Limiter(opts.maxParallel ?? 6);
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: opts.maxParallel ?? 6 });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: opts.maxParallel ?? 6 });
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /** One GET; resolves with the response once headers arrive. Rejects with NetworkError. */
  private request(url: string, what: string, headers: Record<string, string> = {}): Promise<http.IncomingMessage> {
    return new Promise((resolve, reject) => {
      let u: URL;
      try {
        u = new URL(url);
      } catch {
        reject(new NetworkError(`${what}: invalid URL '${url}'`));
        return;
      }
      const mod = u.protocol === 'https:' ? https : u.protocol === 'http:' ? http : undefined;
      if (!mod) {
        reject(new NetworkError(`${what}: unsupported URL scheme in '${url}'`));
        return;
      }
      const req = mod.get(u, { agent: u.protocol === 'https:' ? this.httpsAgent : this.httpAgent, headers, timeout: this.timeoutMs }, (res) => resolve(res));
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e) => reject(new NetworkError(`${what}: cannot fetch ${url}: ${(e as Error).message}`, { cause: e })));
    });
  }

  private transient(e: unknown): boolean {
    if (!(e instanceof NetworkError)) return false;
    return e.status === undefined || e.status >= 500 || e.status === 429 || e.status === 408;
  }

  private async withRetries<T>(fn: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn(attempt);
      } catch (e) {
        if (attempt >= this.retries || !this.transient(e)) throw e;
        await sleep(this.backoffMs * 2 ** attempt);
      }
    }
  }

  /** GET a whole (small) resource into memory. */
  async get(url: string, what: string): Promise<Buffer> {
    if (url.startsWith('file:')) {
      try {
        return fs.readFileSync(fileURLToPath(url));
      } catch (e) {
        throw new NetworkError(`${what}: cannot read ${url}: ${(e as Error).message}`, { cause: e, status: 404 });
      }
    }
    return this.limiter.run(() =>
      this.withRetries(async () => {
        const res = await this.request(url, what);
        if (res.statusCode !== 200) {
          res.resume();
          throw new NetworkError(`${what}: HTTP ${res.statusCode} for ${url}`, { status: res.statusCode });
        }
        const chunks: Buffer[] = [];
        try {
          for await (const c of res) chunks.push(c as Buffer);
        } catch (e) {
          throw new NetworkError(`${what}: connection lost reading ${url}`, { cause: e });
        }
        if (!res.complete) throw new NetworkError(`${what}: truncated response from ${url}`);
        return Buffer.concat(chunks);
      }),
    );
  }

  /**
   * Download to `dest` through `dest.part`, verifying size and checksum while
   * streaming. A partial `.part` from an earlier attempt is resumed with a
   * Range request. On checksum mismatch the partial file is deleted; `dest`
   * only ever appears complete and verified.
   */
  async download(url: string, dest: string, opts: DownloadOptions): Promise<void> {
    const part = dest + '.part';
    if (url.startsWith('file:')) {
      const src = fileURLToPath(url);
      try {
        await fs.promises.copyFile(src, part);
      } catch (e) {
        throw new NetworkError(`${opts.what}: cannot read ${url}: ${(e as Error).message}`, { cause: e, status: 404 });
      }
      await this.finish(part, dest, opts, await hashFile(part, opts.checksum));
      return;
    }
    await this.limiter.run(() =>
      this.withRetries(async () => {
        let have = 0;
        try {
          have = fs.statSync(part).size;
        } catch {
          have = 0;
        }
        if (opts.size !== undefined && have > opts.size) {
          fs.rmSync(part, { force: true });
          have = 0;
        }
        const res = await this.request(url, opts.what, have > 0 ? { Range: `bytes=${have}-` } : {});
        const status = res.statusCode ?? 0;
        if (status === 416 && have > 0) {
          // Already complete (or the part is bogus): verify what we have.
          res.resume();
          await this.finish(part, dest, opts, await hashFile(part, opts.checksum));
          return;
        }
        if (status !== 200 && status !== 206) {
          res.resume();
          throw new NetworkError(`${opts.what}: HTTP ${status} for ${url}`, { status });
        }
        const append = status === 206 && have > 0;
        const hash = opts.checksum ? createHash(hashAlgorithm(opts.checksum.type)) : undefined;
        if (append && hash) await feedFile(part, hash);
        const out = fs.createWriteStream(part, { flags: append ? 'a' : 'w' });
        let ok = true;
        try {
          for await (const c of res) {
            hash?.update(c as Buffer);
            if (!out.write(c)) await new Promise<void>((r) => out.once('drain', () => r()));
          }
        } catch {
          ok = false;
        }
        await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
        if (!ok || !res.complete) throw new NetworkError(`${opts.what}: truncated download from ${url}`);
        const got = fs.statSync(part).size;
        if (opts.size !== undefined && got < opts.size) {
          throw new NetworkError(`${opts.what}: truncated download from ${url} (${got} of ${opts.size} bytes)`);
        }
        await this.finish(part, dest, opts, hash?.digest('hex'));
      }),
    );
  }

  private async finish(part: string, dest: string, opts: DownloadOptions, digest: string | undefined): Promise<void> {
    const size = fs.statSync(part).size;
    if (opts.size !== undefined && size !== opts.size) {
      fs.rmSync(part, { force: true });
      throw new CorruptionError(`${opts.what}: size mismatch (got ${size}, expected ${opts.size})`);
    }
    if (opts.checksum && digest !== opts.checksum.value.toLowerCase()) {
      fs.rmSync(part, { force: true });
      throw new CorruptionError(`${opts.what}: ${opts.checksum.type} checksum mismatch (got ${digest}, expected ${opts.checksum.value})`);
    }
    fs.renameSync(part, dest);
  }
}

async function feedFile(path: string, hash: Hash): Promise<void> {
  for await (const c of fs.createReadStream(path)) hash.update(c as Buffer);
}

export async function hashFile(path: string, checksum: Checksum | undefined): Promise<string | undefined> {
  if (!checksum) return undefined;
  const h = createHash(hashAlgorithm(checksum.type));
  await feedFile(path, h);
  return h.digest('hex');
}
