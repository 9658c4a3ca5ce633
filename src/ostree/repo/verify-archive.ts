import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { createInflateRaw } from 'node:zlib';
import { CorruptionError, NotFoundError, isCoreforgeError, isErrno } from '../../errors.js';
import { ContentHasher, FileHeader, contentChecksum, decodeArchiveObject, parseLenPrefix } from '../objects/content.js';

/** Objects up to this size are read and inflated in one step. */
const SMALL_FILEZ = 1024 * 1024;
const MAX_HEADER = 10 * 1024 * 1024;

/**
 * Re-hash one archive-mode `.filez` object from its stored bytes. For small
 * objects one open and one synchronous read, not a header read plus a read
 * stream: fsck of a typical tree is dominated by such per-object calls (the
 * thread-pool round trips cost more than the work). Large objects stream, so
 * their inflate runs on the thread pool. (Tried: spreading small objects over
 * the content workers — slower, the messages cost more than they save.)
 */
export async function verifyArchiveFile(path: string, csum: string): Promise<void> {
  const what = `Corrupted file object ${csum}`;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) throw new NotFoundError(`No such content object ${csum}`);
    throw e;
  }
  let small: Buffer | null = null;
  let header: FileHeader | null = null;
  let size = 0;
  let dataStart = 0;
  try {
    const st = fstatSync(fd);
    if (st.size <= SMALL_FILEZ) small = readFull(fd, st.size, 0);
    else {
      const prefix = readFull(fd, 8, 0);
      const hlen = parseLenPrefix(prefix, st.size, what);
      if (hlen > MAX_HEADER) throw new CorruptionError(`${what}: header too large`);
      const hb = readFull(fd, hlen, 8);
      if (hb.length !== hlen) throw new CorruptionError(`${what}: truncated header`);
      ({ header, size } = FileHeader.parseArchive(new Uint8Array(hb.buffer, hb.byteOffset, hlen), what));
      dataStart = 8 + hlen;
      if (header.isSymlink) throw new CorruptionError(`${what}: symlink with trailing data`);
    }
  } finally {
    closeSync(fd);
  }
  let actual: string;
  if (small) {
    const obj = decodeArchiveObject(small, what);
    actual = contentChecksum(obj.header, obj.data);
  } else {
    const h = new ContentHasher(header!);
    let n = 0;
    try {
      const inflate = createInflateRaw();
      const raw = createReadStream(path, { start: dataStart, highWaterMark: 256 * 1024 });
      raw.on('error', (e) => inflate.destroy(e));
      for await (const chunk of raw.pipe(inflate)) {
        h.update(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
    } catch (e) {
      if (isCoreforgeError(e)) throw e;
      throw new CorruptionError(`${what}: ${(e as Error).message}`);
    }
    if (n !== size) throw new CorruptionError(`${what}: size ${n}, header says ${size}`);
    actual = h.digest();
  }
  if (actual !== csum) throw new CorruptionError(`Corrupted file object; checksum expected='${csum}' actual='${actual}'`);
}

function readFull(fd: number, len: number, pos: number): Buffer {
  const buf = Buffer.allocUnsafe(len);
  let n = 0;
  while (n < len) {
    const r = readSync(fd, buf, n, len - n, pos + n);
    if (r === 0) break;
    n += r;
  }
  return buf.subarray(0, n);
}
