import { chmodSync, promises as fsp, constants as C, readdirSync, rmSync, type Dirent } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { isErrno } from '../errors.js';

export function randomName(prefix = 'tmp'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** fsync a directory so a rename into it survives a crash. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, C.O_RDONLY | C.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Replace `path` atomically: write a temp file beside it, fsync, rename over,
 * fsync the directory. A crash at any instant leaves the old or the new file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: { mode?: number; fsync?: boolean; tmpDir?: string } = {}): Promise<void> {
  const dir = dirname(path);
  const tmp = join(opts.tmpDir ?? dir, randomName('.tmp'));
  const fh = await fsp.open(tmp, 'wx', opts.mode ?? 0o644);
  try {
    await fh.writeFile(data);
    if (opts.fsync !== false) await fh.sync();
  } catch (e) {
    await fh.close();
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  try {
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
  if (opts.fsync !== false) await fsyncDir(dir);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fsp.lstat(path);
    return true;
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return false;
    throw e;
  }
}

export async function readFileOrNull(path: string): Promise<Buffer | null> {
  try {
    return await fsp.readFile(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}

/** A small counting semaphore for bounding concurrent async work. */
export class Semaphore {
  private waiters: Array<() => void> = [];
  constructor(private free: number) {}
  async acquire(): Promise<void> {
    if (this.free > 0) {
      this.free--;
      return;
    }
    await new Promise<void>((r) => this.waiters.push(r));
  }
  release(): void {
    const w = this.waiters.shift();
    if (w) w();
    else this.free++;
  }
  async run<T>(fn: () => Promise<T>): Promise<T> {
    await this.acquire();
    try {
      return await fn();
    } finally {
      this.release();
    }
  }
}

/** Run `fn` over items with at most `limit` in flight; rejects on the first error after in-flight work settles. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed: unknown = undefined;
  let hasFailed = false;
  const worker = async () => {
    while (!hasFailed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]!, i);
      } catch (e) {
        if (!hasFailed) {
          hasFailed = true;
          failed = e;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (hasFailed) throw failed;
  return out;
}

/**
 * Bounded concurrent jobs with first-error capture: `add` waits while the
 * pool is full (so a producer walking a huge tree never runs ahead), `drain`
 * waits for everything and rethrows the first failure.
 */
export class TaskPool {
  private readonly sem: Semaphore;
  private readonly pending = new Set<Promise<void>>();
  private failure: { error: unknown } | null = null;

  constructor(limit: number) {
    this.sem = new Semaphore(limit);
  }

  get failed(): boolean {
    return this.failure !== null;
  }

  fail(e: unknown): void {
    this.failure ??= { error: e };
  }

  async add(job: () => Promise<void>): Promise<void> {
    await this.sem.acquire();
    if (this.failure) {
      this.sem.release();
      return;
    }
    const p: Promise<void> = job()
      .catch((e: unknown) => this.fail(e))
      .finally(() => {
        this.sem.release();
        this.pending.delete(p);
      });
    this.pending.add(p);
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    if (this.failure) throw this.failure.error;
  }
}

/**
 * rm -rf of a tree whose directories may deny their owner write or search
 * (rootless builds keep packages' 0555 directories; overlayfs leaves work/work
 * at 000): when the removal is refused, every directory is made owner-
 * accessible and it is tried again.
 */
export function removeTreeSync(path: string | Buffer): void {
  try {
    rmSync(path, { recursive: true, force: true });
  } catch (e) {
    if (!(isErrno(e, 'EACCES') || isErrno(e, 'EPERM'))) throw e;
    unlockDirsSync(typeof path === 'string' ? Buffer.from(path) : path);
    rmSync(path, { recursive: true, force: true });
  }
}

function unlockDirsSync(dir: Buffer): void {
  chmodSync(dir, 0o700);
  for (const ent of readdirSync(dir, { withFileTypes: true, encoding: 'buffer' }) as unknown as Dirent<Buffer>[]) {
    if (ent.isDirectory()) unlockDirsSync(Buffer.concat([dir, Buffer.from('/'), ent.name]));
  }
}
