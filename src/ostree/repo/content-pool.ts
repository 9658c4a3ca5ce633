import { Worker } from 'node:worker_threads';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ContentJob, ContentResult } from './content-worker.js';

/**
 * A small pool of content workers shared by all transactions of the
 * process. Workers are unref'd so an idle pool never keeps the CLI alive.
 */
export class ContentPool {
  private static instance: ContentPool | null | undefined;
  private readonly workers: Worker[] = [];
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ job: ContentJob; resolve: (r: ContentResult) => void; reject: (e: unknown) => void }> = [];
  private readonly waiting = new Map<number, { resolve: (r: ContentResult) => void; reject: (e: unknown) => void; worker: Worker }>();
  private nextId = 1;

  private constructor(script: string, n: number) {
    for (let i = 0; i < n; i++) {
      const w = new Worker(script);
      w.unref();
      w.on('message', (r: ContentResult) => {
        const p = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        this.idle.push(w);
        this.pump();
        p?.resolve(r);
      });
      w.on('error', (e) => {
        for (const [id, p] of this.waiting) if (p.worker === w) {
          this.waiting.delete(id);
          p.reject(e);
        }
      });
      this.workers.push(w);
      this.idle.push(w);
    }
  }

  /** The shared pool, or null when workers cannot be used (e.g. running from TypeScript sources). */
  static shared(): ContentPool | null {
    if (this.instance !== undefined) return this.instance;
    const script = fileURLToPath(new URL('./content-worker.js', import.meta.url));
    const n = Number(process.env.COREFORGE_COMMIT_WORKERS) || Math.max(1, availableParallelism());
    this.instance = existsSync(script) && process.env.COREFORGE_COMMIT_WORKERS !== '0' ? new ContentPool(script, n) : null;
    return this.instance;
  }

  run(job: Omit<ContentJob, 'id'>): Promise<ContentResult> {
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
    // let the process exit when nothing is in flight
    for (const w of this.idle) w.unref();
  }
}
