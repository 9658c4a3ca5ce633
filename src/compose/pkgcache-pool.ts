import { availableParallelism } from 'node:os';
import { WorkerPool } from '../util/worker-pool.js';
import { errorFromData } from '../util/worker-errors.js';
import { SCAN_ERRORS, type ScanJob, type ScanResult } from './pkgcache-scan.js';
import type { WorkerReply } from './pkgcache-worker.js';

let instance: WorkerPool<ScanJob, WorkerReply> | null | undefined;

/**
 * Import one package on a worker thread of the process's shared pool
 * (pkgcache-worker.ts); null when workers cannot be used (TypeScript
 * sources, COREFORGE_PKGCACHE_WORKERS=0). A worker's error comes back as the
 * same typed error.
 */
export function pkgcacheWorkers(): ((job: ScanJob) => Promise<ScanResult>) | null {
  if (instance === undefined) instance = WorkerPool.ifBuilt(new URL('./pkgcache-worker.js', import.meta.url), 'COREFORGE_PKGCACHE_WORKERS', Math.min(2, availableParallelism()));
  const pool = instance;
  if (!pool) return null;
  return async (job) => {
    const r = await pool.run(job);
    if ('error' in r) throw errorFromData(r.error, SCAN_ERRORS);
    return r.result;
  };
}
