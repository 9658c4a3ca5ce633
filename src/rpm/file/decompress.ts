import { StreamDecoder } from '../../native/decoder.js';
import { RpmFormatError } from './errors.js';

/**
 * Payload decompression with the native decoders (src/native/decoder.ts): no
 * child process per package — forking a large Node process costs more than
 * the decompression.
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

/** A streaming payload decoder: feed compressed chunks in order, the last one with `final`. */
export class PayloadDecoder {
  private readonly decoder: StreamDecoder | null;

  constructor(
    readonly compressor: Compressor,
    pkg: string,
  ) {
    this.decoder = compressor === 'identity' ? null : new StreamDecoder(compressor, (reason, cause) => new RpmFormatError(pkg, `payload: ${compressor} ${reason}`, cause === undefined ? {} : { cause }));
  }

  /** The plain chunks `input` decodes to. `final`: nothing follows; an unfinished stream is then an error. */
  *decode(input: Buffer, final: boolean): Generator<Buffer, void, void> {
    if (this.decoder) yield* this.decoder.decode(input, final);
    else if (input.length > 0) yield input;
  }
}
