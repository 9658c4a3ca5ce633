/**
 * Decompressed reading of repodata files in every compression createrepo_c
 * writes, with the native decoders (the system's libz, liblzma, libzstd,
 * libbz2; src/native/decoder.ts): streamed with bounded memory, no child
 * process.
 */
import fs from 'node:fs';
import { StreamDecoder, type DecoderKind } from '../../native/decoder.js';
import { RepoError } from './errors.js';

export type Compression = 'gz' | 'xz' | 'zstd' | 'bz2' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gz';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bz2';
  return 'none';
}

const KIND: Record<Exclude<Compression, 'none'>, DecoderKind> = { gz: 'gzip', xz: 'xz', zstd: 'zstd', bz2: 'bzip2' };

/** Stream the decompressed content of `path`. Errors surface as RepoError naming `what`. */
export async function* openDecompressed(path: string, what: string): AsyncGenerator<Buffer> {
  const fd = fs.openSync(path, 'r');
  const head = Buffer.alloc(8);
  const n = fs.readSync(fd, head, 0, 8, 0);
  fs.closeSync(fd);
  const kind = detectCompression(head.subarray(0, n));
  const input = fs.createReadStream(path, { highWaterMark: 1 << 20 });
  if (kind === 'none') {
    for await (const c of input) yield c as Buffer;
    return;
  }
  const decoder = new StreamDecoder(KIND[kind], (reason, cause) => new RepoError(`${what}: cannot decompress ${path}: ${reason}`, cause === undefined ? {} : { cause }));
  for await (const c of input) yield* decoder.decode(c as Buffer, false);
  yield* decoder.decode(Buffer.alloc(0), true);
}
