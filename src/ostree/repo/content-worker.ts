/**
 * Worker thread for archive-mode commits: reads a file, computes its content
 * checksum, and — unless the object already exists — compresses it into a
 * `.filez` temp file, all with synchronous calls (cheaper than the promise
 * API, and off the main thread). Several of these run at once so hashing and
 * deflate use every core.
 */
import { parentPort } from 'node:worker_threads';
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { writeArchiveBody, writeArchiveFromFile } from './archive-write.js';

export interface ContentJob {
  id: number;
  path: string;
  /** The length-prefixed `(uuuusa(ayay))` header that starts the hashed stream. */
  hashPrefix: Uint8Array;
  /** Length-prefixed `(tuuuusa(ayay))` archive header, written before the deflate stream. */
  archivePrefix: Uint8Array;
  size: number;
  objectsDir: string;
  /** The transaction's staging directory: objects are written to `XX/REST.filez` in it. */
  tmpDir: string;
  level: number;
}

/** `staged`: the object was written straight to its staging path; false: it exists already (in the repo or staged). */
export type ContentResult = { id: number; checksum: string; staged: boolean; size: number } | { id: number; error: string; code?: string };

/**
 * Create the object's staging file exclusively; null when it is staged
 * already (identical content committed twice — the first writer wins).
 */
function openStaged(job: ContentJob, csum: string): { fd: number; path: string } | null {
  const dir = join(job.tmpDir, csum.slice(0, 2));
  const path = join(dir, `${csum.slice(2)}.filez`);
  for (let attempt = 0; ; attempt++) {
    try {
      return { fd: openSync(path, 'wx', 0o644), path };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return null;
      if (code === 'ENOENT' && attempt === 0) {
        mkdirSync(dir, { recursive: true });
        continue;
      }
      throw e;
    }
  }
}

const CHUNK = 4 * 1024 * 1024;

async function handle(job: ContentJob): Promise<ContentResult> {
  const fd = openSync(job.path, 'r');
  try {
    const st = fstatSync(fd);
    if (st.size !== job.size) throw Object.assign(new Error(`${job.path} changed size while being committed`), { code: 'ECHANGED' });
    const h = createHash('sha256');
    h.update(job.hashPrefix);
    if (job.size <= CHUNK) {
      const buf = Buffer.allocUnsafe(job.size);
      let off = 0;
      while (off < job.size) {
        const n = readSync(fd, buf, off, job.size - off, off);
        if (n === 0) break;
        off += n;
      }
      h.update(buf);
      const csum = h.digest('hex');
      if (existsSync(join(job.objectsDir, csum.slice(0, 2), `${csum.slice(2)}.filez`))) return { id: job.id, checksum: csum, staged: false, size: job.size };
      const out = openStaged(job, csum);
      if (!out) return { id: job.id, checksum: csum, staged: false, size: job.size };
      try {
        writeArchiveBody(out.fd, job.archivePrefix, buf, job.level);
      } finally {
        closeSync(out.fd);
      }
      return { id: job.id, checksum: csum, staged: true, size: job.size };
    }
    // large file: hash pass, then a streaming deflate pass only if the object is new
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < job.size; ) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, job.size - pos), pos);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
      pos += n;
    }
    const csum = h.digest('hex');
    if (existsSync(join(job.objectsDir, csum.slice(0, 2), `${csum.slice(2)}.filez`))) return { id: job.id, checksum: csum, staged: false, size: job.size };
    const out = openStaged(job, csum);
    if (!out) return { id: job.id, checksum: csum, staged: false, size: job.size };
    // one raw deflate stream over the whole file; this worker's own event loop runs it
    await writeArchiveFromFile(out.fd, job.archivePrefix, job.path, job.level);
    return { id: job.id, checksum: csum, staged: true, size: job.size };
  } finally {
    closeSync(fd);
  }
}

parentPort?.on('message', (job: ContentJob) => {
  handle(job).then(
    (r) => parentPort!.postMessage(r),
    (e: NodeJS.ErrnoException) => parentPort!.postMessage({ id: job.id, error: e.message, ...(e.code ? { code: e.code } : {}) }),
  );
});
