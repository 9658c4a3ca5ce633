/**
 * Worker thread for archive-mode commits: reads a file, computes its content
 * checksum, and — unless the object already exists — compresses it into a
 * `.filez` temp file, all with synchronous calls (cheaper than the promise
 * API, and off the main thread). Several of these run at once so hashing and
 * deflate use every core.
 */
import { parentPort } from 'node:worker_threads';
import { closeSync, createReadStream, createWriteStream, existsSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

export interface ContentJob {
  id: number;
  path: string;
  /** The length-prefixed `(uuuusa(ayay))` header that starts the hashed stream. */
  hashPrefix: Uint8Array;
  /** Length-prefixed `(tuuuusa(ayay))` archive header, written before the deflate stream. */
  archivePrefix: Uint8Array;
  size: number;
  objectsDir: string;
  tmpDir: string;
  level: number;
}

export type ContentResult = { id: number; checksum: string; tmp: string | null; size: number } | { id: number; error: string; code?: string };

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
      if (existsSync(join(job.objectsDir, csum.slice(0, 2), `${csum.slice(2)}.filez`))) return { id: job.id, checksum: csum, tmp: null, size: job.size };
      const body = deflateRawSync(buf, { level: job.level });
      const tmp = join(job.tmpDir, `w-${randomBytes(8).toString('hex')}`);
      const out = openSync(tmp, 'wx', 0o644);
      try {
        writeAll(out, job.archivePrefix);
        writeAll(out, body);
      } finally {
        closeSync(out);
      }
      return { id: job.id, checksum: csum, tmp, size: job.size };
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
    if (existsSync(join(job.objectsDir, csum.slice(0, 2), `${csum.slice(2)}.filez`))) return { id: job.id, checksum: csum, tmp: null, size: job.size };
    const tmp = join(job.tmpDir, `w-${randomBytes(8).toString('hex')}`);
    const out = openSync(tmp, 'wx', 0o644);
    try {
      writeAll(out, job.archivePrefix);
    } finally {
      closeSync(out);
    }
    // one raw deflate stream over the whole file; this worker's own event loop runs it
    await pipeline(createReadStream(job.path, { highWaterMark: 1024 * 1024 }), createDeflateRaw({ level: job.level, chunkSize: 256 * 1024 }), createWriteStream(tmp, { flags: 'a' }));
    return { id: job.id, checksum: csum, tmp, size: job.size };
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

parentPort?.on('message', (job: ContentJob) => {
  handle(job).then(
    (r) => parentPort!.postMessage(r),
    (e: NodeJS.ErrnoException) => parentPort!.postMessage({ id: job.id, error: e.message, ...(e.code ? { code: e.code } : {}) }),
  );
});
