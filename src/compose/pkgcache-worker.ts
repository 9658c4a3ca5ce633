/**
 * Worker thread of the package cache: imports one RPM per job (scanPackage:
 * decompress, cpio, sha256, bare-user object writes), so two packages are
 * unpacked at once off the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { errorToData, type WorkerErrorData } from '../util/worker-errors.js';
import { scanPackage, type ScanJob, type ScanResult } from './pkgcache-scan.js';

export type WorkerJob = ScanJob & { id: number };
export type WorkerReply = { id: number; result: ScanResult } | { id: number; error: WorkerErrorData };

parentPort?.on('message', (job: WorkerJob) => {
  scanPackage(job).then(
    (result) => parentPort!.postMessage({ id: job.id, result } satisfies WorkerReply),
    (e: unknown) => parentPort!.postMessage({ id: job.id, error: errorToData(e) } satisfies WorkerReply),
  );
});
