import { spawn } from 'node:child_process';
import { createGunzip } from 'node:zlib';
import { Readable } from 'node:stream';
import { RpmFormatError } from './errors.js';

/**
 * Payload decompression, streamed.
 *
 * gzip uses node's zlib. xz/lzma, zstd and bzip2 go through the system tools
 * (`xz -dc`, `zstd -dc`, `bzip2 -dc`; Debian xz-utils, zstd, bzip2) as child
 * processes: node 20's zlib has no xz or zstd, the pure-JS decoders on npm
 * are several times slower than the C tools (and xz/bzip2 ones are mostly
 * unmaintained), and a child process decompresses on the second core while
 * this process parses cpio and hashes file contents.
 */
export type Compressor = 'gzip' | 'xz' | 'lzma' | 'zstd' | 'bzip2' | 'identity';

const GZIP_MAGIC = [0x1f, 0x8b];

export function normaliseCompressor(tag: string | undefined, firstBytes: Buffer, pkg: string): Compressor {
  if (tag === undefined) {
    // rpm opens an untagged payload with gzdio, which reads plain data transparently.
    return firstBytes[0] === GZIP_MAGIC[0] && firstBytes[1] === GZIP_MAGIC[1] ? 'gzip' : 'identity';
  }
  switch (tag) {
    case 'gzip': case 'xz': case 'lzma': case 'zstd': case 'bzip2': case 'identity':
      return tag;
    default:
      throw new RpmFormatError(pkg, `payload: unsupported compressor ${JSON.stringify(tag)}`);
  }
}

const TOOLS: Record<'xz' | 'lzma' | 'zstd' | 'bzip2', [string, string[]]> = {
  // Memory caps bound what a hostile stream can demand; real packages need
  // at most tens of MiB (xz -9: 65 MiB, zstd -19: 8 MiB windows).
  xz: ['xz', ['-dc', '--format=xz', '--memlimit-decompress=1GiB']],
  lzma: ['xz', ['-dc', '--format=lzma', '--memlimit-decompress=1GiB']],
  zstd: ['zstd', ['-dcq', '--memory=1024MB']],
  bzip2: ['bzip2', ['-dc']],
};

/** Decompresses `input` (an async iterable of compressed chunks) into an async iterable of plain chunks. */
export async function* decompress(input: AsyncIterable<Buffer>, compressor: Compressor, pkg: string): AsyncGenerator<Buffer> {
  if (compressor === 'identity') {
    yield* input;
    return;
  }
  if (compressor === 'gzip') {
    const src = Readable.from(input, { objectMode: false });
    // Larger output chunks: fewer round trips through the threadpool and the cpio reader.
    const gz = createGunzip({ chunkSize: 256 * 1024 });
    src.on('error', (e) => gz.destroy(e));
    src.pipe(gz);
    try {
      for await (const c of gz) yield c as Buffer;
    } catch (e) {
      if (e instanceof RpmFormatError) throw e;
      throw new RpmFormatError(pkg, `payload: gzip: ${(e as Error).message}`, { cause: e });
    } finally {
      src.destroy();
      gz.destroy();
    }
    return;
  }
  const [cmd, args] = TOOLS[compressor];
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => { if (stderr.length < 4096) stderr += d; });
  const exited = new Promise<number | null>((resolve) => {
    child.on('close', (code) => resolve(code));
    child.on('error', () => resolve(-1));
  });
  let spawnError: Error | undefined;
  child.on('error', (e) => { spawnError = e; });
  let feedError: unknown;
  const src = Readable.from(input, { objectMode: false });
  src.on('error', (e) => { feedError = e; child.stdin.destroy(); });
  // The tool may exit before reading all input (corrupt data): EPIPE is expected then.
  child.stdin.on('error', () => {});
  src.pipe(child.stdin);
  let finished = false;
  try {
    for await (const c of child.stdout) yield c as Buffer;
    const code = await exited;
    finished = true;
    if (feedError) throw feedError;
    if (spawnError) throw new RpmFormatError(pkg, `payload: cannot run ${cmd}: ${spawnError.message}`);
    if (code !== 0) throw new RpmFormatError(pkg, `payload: ${compressor} data is corrupt or truncated (${cmd}: ${stderr.trim().split('\n')[0] ?? `exit ${code}`})`);
  } finally {
    src.destroy();
    if (!finished) {
      child.stdout.destroy();
      child.kill('SIGKILL');
      await exited;
    }
  }
}
