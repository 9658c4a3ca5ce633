import { native, type DecoderHandle } from './index.js';

/** The compressions the native decoders read. */
export type DecoderKind = 'zstd' | 'xz' | 'lzma' | 'bzip2' | 'gzip';

/** What a hostile stream may make the decoder allocate (xz -9 needs 65 MiB, zstd -19 8 MiB windows). */
const MEM_LIMIT = 1 << 30;
/** Decoded chunk size: large enough that per-chunk costs vanish, small enough to keep memory flat. */
const OUT_CHUNK = 256 * 1024;

/**
 * A streaming decoder over the system libraries (libzstd, liblzma, libbz2,
 * zlib; src/native/decoders.c), called synchronously chunk by chunk: no child
 * process and no pipe, and the same code serves a worker thread and a stream
 * read asynchronously. Decoding is lazy, one output chunk per step, so a
 * decompression bomb never piles up in memory. Failures are `fail(reason)`.
 */
export class StreamDecoder {
  private readonly handle: DecoderHandle;

  constructor(
    readonly kind: DecoderKind,
    private readonly fail: (reason: string, cause?: unknown) => Error,
  ) {
    this.handle = native().createDecoder(kind, MEM_LIMIT);
  }

  /** The plain chunks `input` decodes to. `final`: nothing follows; an unfinished stream is then an error. */
  *decode(input: Buffer, final: boolean): Generator<Buffer, void, void> {
    let off = 0;
    let out: Buffer | null = null;
    for (;;) {
      out ??= Buffer.allocUnsafeSlow(OUT_CHUNK);
      let consumed: number, produced: number, ended: boolean;
      try {
        [consumed, produced, ended] = native().decode(this.handle, input, off, out, final);
      } catch (e) {
        throw this.fail(`data is corrupt or truncated (${(e as Error).message})`, e);
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
        if (consumed === 0 && produced === 0) throw this.fail(`undecodable data after ${off} bytes of this chunk`);
        continue;
      }
      if (final && !ended) throw this.fail('data is truncated');
      return;
    }
  }
}
