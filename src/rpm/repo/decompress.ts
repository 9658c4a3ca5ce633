/**
 * Decompressed reading of repodata files in every compression createrepo_c
 * writes. gzip uses node's zlib; xz, zstd and bzip2 are piped through the
 * system decoders (`xz -dc`, `zstd -dc`, `bzip2 -dc`): they are C, several
 * times faster than pure-JS decoders, stream with bounded memory, and are
 * already required on every machine that has rpm/createrepo_c installed.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { RepoError } from './errors.js';

export type Compression = 'gz' | 'xz' | 'zstd' | 'bz2' | 'none';

export function detectCompression(head: Buffer): Compression {
  if (head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b) return 'gz';
  if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head.length >= 4 && head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.length >= 3 && head.toString('latin1', 0, 3) === 'BZh') return 'bz2';
  return 'none';
}

const TOOL: Record<'xz' | 'zstd' | 'bz2', string[]> = {
  xz: ['xz', '-dc'],
  zstd: ['zstd', '-dcq'],
  bz2: ['bzip2', '-dc'],
};

/** Stream the decompressed content of `path`. Errors surface as RepoError naming `what`. */
export async function* openDecompressed(path: string, what: string): AsyncGenerator<Buffer> {
  const fd = fs.openSync(path, 'r');
  const head = Buffer.alloc(8);
  const n = fs.readSync(fd, head, 0, 8, 0);
  fs.closeSync(fd);
  const kind = detectCompression(head.subarray(0, n));
  if (kind === 'none') {
    for await (const c of fs.createReadStream(path, { highWaterMark: 1 << 20 })) yield c as Buffer;
    return;
  }
  if (kind === 'gz') {
    const gun = zlib.createGunzip({ chunkSize: 1 << 18 });
    const src = fs.createReadStream(path, { highWaterMark: 1 << 20 });
    src.on('error', (e) => gun.destroy(e));
    src.pipe(gun);
    try {
      for await (const c of gun) yield c as Buffer;
    } catch (e) {
      throw new RepoError(`${what}: cannot decompress ${path}: ${(e as Error).message}`, { cause: e });
    }
    return;
  }
  const [cmd, ...args] = TOOL[kind];
  const child = spawn(cmd!, [...args, path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise<number>((resolve) => {
    child.on('error', (e) => {
      stderr += e.message;
      resolve(-1);
    });
    child.on('close', (code) => resolve(code ?? -1));
  });
  const stdout: Readable = child.stdout;
  let drained = false;
  try {
    for await (const c of stdout) yield c as Buffer;
    drained = true;
  } finally {
    // Consumer stopped early: do not leave the decoder running.
    if (!drained && child.exitCode === null) child.kill();
  }
  const code = await exited;
  if (code !== 0) throw new RepoError(`${what}: ${cmd} failed to decompress ${path}: ${stderr.trim().split('\n')[0] ?? ''}`);
}
