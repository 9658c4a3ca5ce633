import { native, type DecoderHandle } from '../../native/index.js';
import { RpmFormatError } from './errors.js';

/**
 * Payload decompression with the system libraries (libzstd, liblzma, libbz2,
 * zlib) through the native addon, called synchronously chunk by chunk: no
 * child process per package (forking a large Node process costs more than
 * the decompression) and no pipe copies, and the same code serves a worker
 * thread reading a local file and a stream read asynchronously.
 */
export type Compressor = 'gzip' | 'xz' | 'lzma' | 'zstd' | 'bzip2' | 'identity';

const GZIP_MAGIC = [0x1f, 0x8b];
/** What a hostile stream may make the decoder allocate (xz -9 needs 65 MiB, zstd -19 8 MiB windows). */
const MEM_LIMIT = 1 << 30;
/** Decoded chunk size: large enough that per-chunk costs vanish, small enough to keep memory flat. */
const OUT_CHUNK = 256 * 1024;
const EMPTY = Buffer.alloc(0);

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

/** A streaming payload decoder: feed compressed chunks in order, the last one with `final`. */
export class PayloadDecoder {
  private readonly handle: DecoderHandle | null;

  constructor(
    readonly compressor: Compressor,
    private readonly pkg: string,
  ) {
    this.handle = compressor === 'identity' ? null : native().createDecoder(compressor, MEM_LIMIT);
  }

  /** The plain chunks `input` decodes to. `final`: nothing follows; an unfinished stream is then an error. */
  *decode(input: Buffer, final: boolean): Generator<Buffer, void, void> {
    if (!this.handle) {
      if (input.length > 0) yield input;
      return;
    }
    let off = 0;
    let out: Buffer | null = null;
    for (;;) {
      out ??= Buffer.allocUnsafeSlow(OUT_CHUNK);
      let consumed: number, produced: number, ended: boolean;
      try {
        [consumed, produced, ended] = native().decode(this.handle, input, off, out, final);
      } catch (e) {
        throw new RpmFormatError(this.pkg, `payload: ${this.compressor} data is corrupt or truncated (${(e as Error).message})`, { cause: e });
      }
      off += consumed;
      if (produced > 0) {
        const chunk = produced === OUT_CHUNK ? out : out.subarray(0, produced);
        // handed out: the next output goes to a fresh buffer
        out = null;
        yield chunk;
      }
      if (produced === OUT_CHUNK) continue;
      if (off < input.length) {
        if (consumed === 0 && produced === 0) throw new RpmFormatError(this.pkg, `payload: ${this.compressor}: undecodable data after ${off} bytes of this chunk`);
        continue;
      }
      if (final && !ended) throw new RpmFormatError(this.pkg, `payload: ${this.compressor} data is truncated`);
      return;
    }
  }

  /** Decodes a whole stream of compressed chunks. */
  *all(input: Iterable<Buffer>): Generator<Buffer, void, void> {
    for (const c of input) yield* this.decode(c, false);
    yield* this.decode(EMPTY, true);
  }

  async *allAsync(input: AsyncIterable<Buffer>): AsyncGenerator<Buffer, void, void> {
    for await (const c of input) yield* this.decode(c, false);
    yield* this.decode(EMPTY, true);
  }
}
