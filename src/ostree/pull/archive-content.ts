import { promises as fsp, writeFileSync } from 'node:fs';
import { createInflateRaw } from 'node:zlib';
import { CorruptionError } from '../../errors.js';
import { fetchStream } from '../../net/http.js';
import { ContentHasher, FileHeader, contentChecksum, decodeArchiveObject, parseLenPrefix } from '../objects/content.js';
import { MAX_METADATA_SIZE } from '../objects/types.js';

/**
 * A content object as a remote archive repository serves it (`.filez`:
 * length-prefixed header, raw deflate payload), verified against the
 * checksum that names it before anything keeps it. Used by pull on the main
 * thread and by its fetch workers.
 */

/** Objects up to this size are held in memory whole; larger ones stream. */
const SMALL_OBJECT = 1024 * 1024;

/** Verify a whole `.filez` held in memory; returns its header and inflated payload. */
export function verifyArchiveBytes(raw: Buffer, csum: string, what: string, remote: string): { header: FileHeader; data: Uint8Array } {
  const { header, data } = decodeArchiveObject(raw, what);
  const actual = contentChecksum(header, data);
  if (actual !== csum) throw new CorruptionError(`Corrupted file object ${csum} from remote ${remote}: actual checksum ${actual}`);
  return { header, data };
}

/**
 * A large object: the downloaded bytes go to `path` as they arrive while a
 * streaming inflate feeds the hasher; the file is removed unless the
 * checksum matches.
 */
export async function streamArchiveObject(body: AsyncIterable<Buffer> | Iterable<Buffer>, path: string, csum: string, what: string, remote: string, onBytes: (n: number) => void): Promise<void> {
  const fh = await fsp.open(path, 'w');
  let ok = false;
  try {
    let head: Buffer | null = Buffer.alloc(0);
    let hasher: ContentHasher | null = null;
    let expectedSize = 0;
    let inflated = 0;
    let symlink = false;
    const inflater = createInflateRaw();
    const inflateDone = new Promise<void>((res, rej) => {
      inflater.on('data', (c: Buffer) => {
        inflated += c.length;
        hasher!.update(c);
      });
      inflater.on('end', res);
      inflater.on('error', (e) => rej(new CorruptionError(`${what}: ${e.message}`)));
    });
    inflateDone.catch(() => {});
    let trailing = 0;
    const feed = async (c: Buffer) => {
      if (symlink) {
        trailing += c.length;
        return;
      }
      if (!inflater.write(c))
        await new Promise<void>((r, j) => {
          inflater.once('drain', r);
          inflateDone.catch(j);
        });
    };
    for await (const chunk of body) {
      onBytes(chunk.length);
      await fh.write(chunk);
      if (head) {
        head = Buffer.concat([head, chunk]);
        if (head.length < 8) continue;
        const hlen = parseLenPrefix(head, Number.MAX_SAFE_INTEGER, what);
        if (hlen > MAX_METADATA_SIZE) throw new CorruptionError(`${what}: invalid header length ${hlen}`);
        if (head.length < 8 + hlen) continue;
        const parsed = FileHeader.parseArchive(head.subarray(8, 8 + hlen), what);
        hasher = new ContentHasher(parsed.header);
        expectedSize = parsed.size;
        symlink = parsed.header.isSymlink;
        const rest = head.subarray(8 + hlen);
        head = null;
        if (rest.length > 0) await feed(rest);
      } else await feed(chunk);
    }
    if (head) throw new CorruptionError(`${what}: truncated (no header)`);
    if (symlink) {
      inflater.destroy();
      if (trailing !== 0) throw new CorruptionError(`${what}: symlink with trailing data`);
    } else {
      inflater.end();
      await inflateDone;
    }
    if (inflated !== expectedSize) throw new CorruptionError(`${what}: size ${inflated}, header says ${expectedSize}`);
    const actual = hasher!.digest();
    if (actual !== csum) throw new CorruptionError(`Corrupted file object ${csum} from remote ${remote}: actual checksum ${actual}`);
    ok = true;
  } finally {
    await fh.close();
    if (!ok) await fsp.rm(path, { force: true });
  }
}

/**
 * archive → archive: fetch one content object from `url` into `path` (its
 * staging file), verified; returns the bytes transferred.
 */
export async function fetchArchiveObject(url: string, csum: string, path: string, what: string, remote: string): Promise<number> {
  let bytes = 0;
  await fetchStream(url, {}, async (body, length) => {
    bytes = 0;
    if (length !== undefined && length <= SMALL_OBJECT) {
      const chunks: Buffer[] = [];
      for await (const c of body) chunks.push(c);
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      bytes = raw.length;
      verifyArchiveBytes(raw, csum, what, remote);
      // synchronous: on a worker it blocks only that worker's requests, and saves the three
      // thread-pool hand-offs (open, write, close) that cost more than the calls on a busy machine
      writeFileSync(path, raw);
    } else await streamArchiveObject(body, path, csum, what, remote, (n) => (bytes += n));
  });
  return bytes;
}
