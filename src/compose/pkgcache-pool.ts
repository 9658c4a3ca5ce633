import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { errorFromData, type ScanJob, type ScanResult } from './pkgcache-scan.js';
import type { WorkerJob, WorkerReply } from './pkgcache-worker.js';

/**
 * Worker threads for package imports, shared by the process (the pattern of
 * ostree/repo/content-pool.ts). Idle workers are unref'd so they never keep
 * the CLI alive.
 */
export class PkgCachePool {
  private static instance: PkgCachePool | null | undefined;
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ job: WorkerJob; resolve: (r: ScanResult) => void; reject: (e: unknown) => void }> = [];
  private readonly waiting = new Map<number, { resolve: (r: ScanResult) => void; reject: (e: unknown) => void; worker: Worker }>();
  private nextId = 1;

  private constructor(script: string, readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(script);
      w.unref();
      w.on('message', (r: WorkerReply) => {
        const p = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        this.idle.push(w);
        this.pump();
        if (!p) return;
        if ('error' in r) p.reject(errorFromData(r.error));
        else p.resolve(r.result);
      });
      w.on('error', (e) => {
        for (const [id, p] of this.waiting) {
          if (p.worker !== w) continue;
          this.waiting.delete(id);
          p.reject(e);
        }
      });
      this.idle.push(w);
    }
  }

  /** The shared pool, or null when workers cannot be used (running from TypeScript sources, or COREFORGE_PKGCACHE_WORKERS=0). */
  static shared(): PkgCachePool | null {
    if (this.instance !== undefined) return this.instance;
    const script = fileURLToPath(new URL('./pkgcache-worker.js', import.meta.url));
    const env = process.env.COREFORGE_PKGCACHE_WORKERS;
    const n = Number(env) || Math.min(2, Math.max(1, availableParallelism()));
    this.instance = existsSync(script) && env !== '0' ? new PkgCachePool(script, n) : null;
    return this.instance;
  }

  run(job: ScanJob): Promise<ScanResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job: { ...job, id: this.nextId++ }, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (this.idle.length > 0 && this.queue.length > 0) {
      const w = this.idle.pop()!;
      const { job, resolve, reject } = this.queue.shift()!;
      this.waiting.set(job.id, { resolve, reject, worker: w });
      w.ref();
      w.postMessage(job);
    }
    for (const w of this.idle) w.unref();
  }
}
