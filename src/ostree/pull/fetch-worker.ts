/**
 * Worker thread for pull (archive → archive): fetches content objects,
 * verifies each against its checksum and writes it to its staging path.
 * Several requests run at once on this worker's own event loop.
 */
import { parentPort } from 'node:worker_threads';
import { errorToData, type WorkerErrorData } from '../../util/worker-errors.js';
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

export type FetchResult = { id: number; bytes: number } | { id: number; error: WorkerErrorData };

parentPort?.on('message', (job: FetchJob) => {
  fetchArchiveObject(job.url, job.checksum, job.path, job.what, job.remote).then(
    (bytes) => parentPort!.postMessage({ id: job.id, bytes } satisfies FetchResult),
    (e: unknown) => parentPort!.postMessage({ id: job.id, error: errorToData(e) } satisfies FetchResult),
  );
});
