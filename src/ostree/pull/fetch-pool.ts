import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CoreforgeError, CorruptionError, NotFoundError } from '../../errors.js';
import { NetworkError } from '../../net/http.js';
import { errorFromData } from '../../util/worker-errors.js';
import type { FetchJob, FetchResult } from './fetch-worker.js';

/**
 * The fetch workers of one pull. Jobs go to the worker with the fewest in
 * flight; each worker runs its jobs concurrently. Errors come back as the
 * typed errors the main thread would have raised (same code and message).
 */
export class FetchPool {
  private readonly inflight: number[];
  private readonly waiting = new Map<number, { resolve: (n: number) => void; reject: (e: unknown) => void; worker: number }>();
  private nextId = 1;
  private closed = false;

  private constructor(private readonly workers: Worker[]) {
    this.inflight = workers.map(() => 0);
    workers.forEach((w, i) => {
      w.on('message', (r: FetchResult) => {
        const p = this.waiting.get(r.id);
        if (!p) return;
        this.waiting.delete(r.id);
        this.inflight[i]!--;
        if ('error' in r) p.reject(errorFromData(r.error, FETCH_ERRORS));
        else p.resolve(r.bytes);
      });
      w.on('error', (e) => this.failWorker(i, e));
      w.on('exit', (code) => {
        if (!this.closed) this.failWorker(i, new Error(`pull worker exited with code ${code}`));
      });
    });
  }

  /** Null when workers cannot be used (running from TypeScript sources, or COREFORGE_PULL_WORKERS=0). */
  static start(): FetchPool | null {
    const script = fileURLToPath(new URL('./fetch-worker.js', import.meta.url));
    if (!existsSync(script) || process.env.COREFORGE_PULL_WORKERS === '0') return null;
    const n = Number(process.env.COREFORGE_PULL_WORKERS) || Math.max(1, Math.min(4, availableParallelism()));
    return new FetchPool(Array.from({ length: n }, () => new Worker(script)));
  }

  /** Fetch, verify and stage one object; resolves to the bytes transferred. */
  fetch(job: Omit<FetchJob, 'id'>): Promise<number> {
    if (this.closed) return Promise.reject(new Error('pull worker pool is closed'));
    let best = 0;
    for (let i = 1; i < this.inflight.length; i++) if (this.inflight[i]! < this.inflight[best]!) best = i;
    const id = this.nextId++;
    this.inflight[best]!++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, worker: best });
      this.workers[best]!.postMessage({ ...job, id } satisfies FetchJob);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    for (const [id, p] of this.waiting) {
      this.waiting.delete(id);
      p.reject(new Error('pull worker pool closed'));
    }
  }

  private failWorker(i: number, e: unknown): void {
    for (const [id, p] of this.waiting)
      if (p.worker === i) {
        this.waiting.delete(id);
        p.reject(e);
      }
  }
}

/** The typed errors a fetch can raise, rebuilt as such here. */
const FETCH_ERRORS = [NetworkError, NotFoundError, CorruptionError, CoreforgeError];
