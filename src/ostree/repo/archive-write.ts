/**
 * Writing the body of an archive-mode content object (`.filez`: the
 * length-prefixed archive header, then one raw deflate stream of the
 * content). Shared by the commit's content workers and the package cache's
 * import workers, which compress new content while they unpack it, so both
 * produce the same bytes for the same content.
 */
import { closeSync, createReadStream, createWriteStream, openSync, readSync, writeSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createDeflateRaw, deflateRawSync } from 'node:zlib';

const PROBE = 8 * 1024;

/**
 * Already-compressed content (firmware, .xz modules, media) costs deflate at
 * level 6 ten times what storing it does, for the same size. Probe a slice at
 * level 1: when it does not shrink, write stored blocks — still a valid raw
 * deflate stream, so the object is what every reader expects.
 */
export function levelFor(sample: Uint8Array, level: number): number {
  if (level === 0 || sample.length < PROBE) return level;
  const probe = deflateRawSync(sample.subarray(0, PROBE), { level: 1 });
  return probe.length >= PROBE * 0.97 ? 0 : level;
}

export function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/** Header and deflated `content` (held in memory) to `fd`. */
export function writeArchiveBody(fd: number, archivePrefix: Uint8Array, content: Uint8Array, level: number): void {
  writeAll(fd, archivePrefix);
  writeAll(fd, deflateRawSync(content, { level: levelFor(content, level) }));
}

/**
 * Header, then the file `src` deflated as one stream, to the new, empty file
 * open as `fd`, which is closed afterwards (for content too large to hold).
 */
export async function writeArchiveFromFile(fd: number, archivePrefix: Uint8Array, src: string, level: number): Promise<void> {
  let probed: number;
  try {
    writeAll(fd, archivePrefix);
    const first = Buffer.allocUnsafe(PROBE);
    const sfd = openSync(src, 'r');
    try {
      probed = levelFor(first.subarray(0, readSync(sfd, first, 0, PROBE, 0)), level);
    } finally {
      closeSync(sfd);
    }
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  await pipeline(
    createReadStream(src, { highWaterMark: 1024 * 1024 }),
    createDeflateRaw({ level: probed, chunkSize: 256 * 1024 }),
    createWriteStream('', { fd, start: archivePrefix.length, autoClose: true }),
  );
}
