/**
 * Pull-style reader over an async stream of Buffers: the cpio parser needs
 * "exactly n bytes" and "the next n bytes as chunks" without buffering whole
 * files. Memory stays bounded by the source's chunk size.
 */
export class ByteReader {
  private readonly it: AsyncIterator<Buffer>;
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  /** Bytes consumed so far (for alignment and error messages). */
  offset = 0;

  constructor(src: AsyncIterable<Buffer>, private readonly onTruncated: (offset: number) => Error) {
    this.it = src[Symbol.asyncIterator]();
  }

  private async fill(): Promise<boolean> {
    if (this.done) return false;
    const r = await this.it.next();
    if (r.done) {
      this.done = true;
      return false;
    }
    const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array);
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    return true;
  }

  async readExact(n: number): Promise<Buffer> {
    while (this.buf.length < n) {
      if (!(await this.fill())) throw this.onTruncated(this.offset + this.buf.length);
    }
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(n);
    this.offset += n;
    return out;
  }

  /** Yields exactly n bytes in chunks. */
  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buf.length === 0 && !(await this.fill())) throw this.onTruncated(this.offset);
      const k = Math.min(left, this.buf.length);
      const out = this.buf.subarray(0, k);
      this.buf = this.buf.subarray(k);
      this.offset += k;
      left -= k;
      yield out;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.take(n)) void _;
  }

  async align(to: number): Promise<void> {
    const pad = (to - (this.offset % to)) % to;
    if (pad) await this.skip(pad);
  }

  /**
   * Reads and discards everything left (to let digest taps see all bytes),
   * refusing more than `limit` bytes: a decompression bomb after the archive
   * must not keep us busy.
   */
  async drain(limit: number, tooMuch: () => Error): Promise<void> {
    const start = this.offset;
    do {
      this.offset += this.buf.length;
      this.buf = Buffer.alloc(0);
      if (this.offset - start > limit) throw tooMuch();
    } while (await this.fill());
  }

  async close(): Promise<void> {
    if (!this.done) {
      this.done = true;
      await this.it.return?.();
    }
  }
}
