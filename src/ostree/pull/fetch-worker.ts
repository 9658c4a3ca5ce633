/**
 * Worker thread for pull (archive → archive): fetches content objects,
 * verifies each against its checksum and writes it to its staging path.
 * Several requests run at once on this worker's own event loop.
 */
import { parentPort } from 'node:worker_threads';
import { isCoreforgeError } from '../../errors.js';
import { fetchArchiveObject } from './archive-content.js';

export interface FetchJob {
  id: number;
  url: string;
  checksum: string;
  /** The object's staging file (its directory exists). */
  path: string;
  /** How errors name the object. */
  what: string;
  remote: string;
}

export type FetchResult = { id: number; bytes: number } | { id: number; error: string; code?: string; typed?: boolean; status?: number };

parentPort?.on('message', (job: FetchJob) => {
  fetchArchiveObject(job.url, job.checksum, job.path, job.what, job.remote).then(
    (bytes) => parentPort!.postMessage({ id: job.id, bytes } satisfies FetchResult),
    (e: NodeJS.ErrnoException & { status?: number }) =>
      parentPort!.postMessage({
        id: job.id,
        error: e?.message ?? String(e),
        ...(e?.code ? { code: e.code } : {}),
        ...(isCoreforgeError(e) ? { typed: true } : {}),
        ...(typeof e?.status === 'number' ? { status: e.status } : {}),
      } satisfies FetchResult),
  );
});
