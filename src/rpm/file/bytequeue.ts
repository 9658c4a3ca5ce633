/**
 * The cpio reader's input: a queue of decompressed chunks the driver pushes
 * in, read by generator methods that yield NEED_INPUT whenever they run out.
 * One parser (payload.ts) thus serves a synchronous driver (a worker thread
 * reading a local file) and an asynchronous one (a stream) alike. Memory is
 * bounded by the driver's chunk size; content is handed out as slices, never
 * copied.
 */
export const NEED_INPUT = Symbol('need input');
export type NeedInput = typeof NEED_INPUT;

const EMPTY = Buffer.alloc(0);

export class ByteQueue {
  private buf: Buffer = EMPTY;
  private ended = false;
  /** Bytes consumed so far (for alignment and error messages). */
  offset = 0;

  constructor(private readonly onTruncated: (offset: number) => Error) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** No more input: reads past the end now throw onTruncated. */
  end(): void {
    this.ended = true;
  }

  get isEnded(): boolean {
    return this.ended && this.buf.length === 0;
  }

  *readExact(n: number): Generator<NeedInput, Buffer, void> {
    while (this.buf.length < n) {
      if (this.ended) throw this.onTruncated(this.offset + this.buf.length);
      yield NEED_INPUT;
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Exactly n bytes, as chunks. */
  *take(n: number): Generator<NeedInput | Buffer, void, void> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0) {
        if (this.ended) throw this.onTruncated(this.offset);
        yield NEED_INPUT;
        continue;
      }
      const k = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, k);
      this.buf = this.buf.subarray(k);
      this.offset += k;
      left -= k;
      yield out;
    }
  }

  *skip(n: number): Generator<NeedInput, void, void> {
    for (const c of this.take(n)) if (c === NEED_INPUT) yield c;
  }

  *align(to: number): Generator<NeedInput, void, void> {
    const pad = (to - (this.offset % to)) % to;
    if (pad) yield* this.skip(pad);
  }

  /**
   * Reads and discards everything left (so digest taps see all bytes),
   * refusing more than `limit` bytes: a decompression bomb after the archive
   * must not keep us busy.
   */
  *drain(limit: number, tooMuch: () => Error): Generator<NeedInput, void, void> {
    const start = this.offset;
    for (;;) {
      this.offset += this.buf.length;
      this.buf = EMPTY;
      if (this.offset - start > limit) throw tooMuch();
      if (this.ended) return;
      yield NEED_INPUT;
    }
  }
}
