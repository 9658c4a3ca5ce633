import { WorkerPool } from '../../util/worker-pool.js';
import type { ContentJob, ContentResult } from './content-worker.js';

/** The content workers (content-worker.ts) of archive-mode commits. */
export type ContentWorkers = WorkerPool<Omit<ContentJob, 'id'>, ContentResult>;

let instance: ContentWorkers | null | undefined;

/** One pool shared by all transactions of the process; null when workers cannot be used (TypeScript sources, COREFORGE_COMMIT_WORKERS=0). */
export function sharedContentPool(): ContentWorkers | null {
  if (instance === undefined) instance = WorkerPool.ifBuilt(new URL('./content-worker.js', import.meta.url), 'COREFORGE_COMMIT_WORKERS');
  return instance;
}
