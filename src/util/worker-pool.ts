import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * A pool of worker threads running one job each at a time from a FIFO
 * queue, replies matched to jobs by id. Idle workers are unref'd, so a pool
 * kept for the life of the process never keeps the CLI alive.
 */
export class WorkerPool<Job extends object, Reply extends { id: number }> {
  private readonly idle: Worker[] = [];
  private readonly queue: Array<{ job: Job & { id: number }; resolve: (r: Reply) => void; reject: (e: unknown) => void }> = [];
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; reject: (e: unknown) => void; worker: Worker }>();
  private nextId = 1;

  constructor(script: string, readonly size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(script);
      w.unref();
      w.on('message', (r: Reply) => {
        const p = this.waiting.get(r.id);
        this.waiting.delete(r.id);
        this.idle.push(w);
        this.pump();
        p?.resolve(r);
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

  /**
   * A pool of `script` (a compiled module next to the caller), sized by the
   * environment variable `sizeVar` or else `defaultSize`; null when the
   * script is not there (running from TypeScript sources) or `sizeVar` is 0.
   */
  static ifBuilt<J extends object, R extends { id: number }>(script: URL, sizeVar: string, defaultSize = availableParallelism()): WorkerPool<J, R> | null {
    const env = process.env[sizeVar];
    const path = fileURLToPath(script);
    if (env === '0' || !existsSync(path)) return null;
    return new WorkerPool<J, R>(path, Number(env) || Math.max(1, defaultSize));
  }

  run(job: Job): Promise<Reply> {
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
