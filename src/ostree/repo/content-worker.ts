/**
 * Worker thread for archive-mode commits: reads a file, computes its content
 * checksum, and — unless the object already exists — compresses it into a
 * `.filez` temp file, all with synchronous calls (cheaper than the promise
 * API, and off the main thread). Several of these run at once so hashing and
 * deflate use every core.
 */
import { parentPort } from 'node:worker_threads';
import { closeSync, createReadStream, createWriteStream, existsSync, fstatSync, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';
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
const PROBE = 32 * 1024;

/**
 * Already-compressed content (firmware, .xz modules, media) costs deflate at
 * level 6 ten times what storing it does, for the same size. Probe a slice at
 * level 1: when it does not shrink, write stored blocks — still a valid raw
 * deflate stream, so the object is what every reader expects.
 */
function levelFor(sample: Uint8Array, level: number): number {
  if (level === 0 || sample.length < PROBE) return level;
  const probe = deflateRawSync(sample.subarray(0, PROBE), { level: 1 });
  return probe.length >= PROBE * 0.97 ? 0 : level;
}

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
        writeAll(out.fd, job.archivePrefix);
        writeAll(out.fd, deflateRawSync(buf, { level: levelFor(buf, job.level) }));
      } finally {
        closeSync(out.fd);
      }
      return { id: job.id, checksum: csum, staged: true, size: job.size };
    }
    // large file: hash pass, then a streaming deflate pass only if the object is new
    const buf = Buffer.allocUnsafe(CHUNK);
    let level = job.level;
    for (let pos = 0; pos < job.size; ) {
      const n = readSync(fd, buf, 0, Math.min(CHUNK, job.size - pos), pos);
      if (n === 0) break;
      if (pos === 0) level = levelFor(buf.subarray(0, n), job.level);
      h.update(buf.subarray(0, n));
      pos += n;
    }
    const csum = h.digest('hex');
    if (existsSync(join(job.objectsDir, csum.slice(0, 2), `${csum.slice(2)}.filez`))) return { id: job.id, checksum: csum, staged: false, size: job.size };
    const out = openStaged(job, csum);
    if (!out) return { id: job.id, checksum: csum, staged: false, size: job.size };
    try {
      writeAll(out.fd, job.archivePrefix);
    } finally {
      closeSync(out.fd);
    }
    // one raw deflate stream over the whole file; this worker's own event loop runs it
    await pipeline(createReadStream(job.path, { highWaterMark: 1024 * 1024 }), createDeflateRaw({ level, chunkSize: 256 * 1024 }), createWriteStream(out.path, { flags: 'a' }));
    return { id: job.id, checksum: csum, staged: true, size: job.size };
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
