import { createCipheriv } from 'node:crypto';

/**
 * Small seeded PRNG (sfc32) so generated trees and fuzz inputs are
 * reproducible from one printed seed. Bulk bytes come from AES-128-CTR keyed
 * by the seed, which is deterministic and runs at memory speed.
 */
export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private blockCounter = 0;

  constructor(readonly seed: number) {
    this.a = 0x9e3779b9;
    this.b = 0x243f6a88;
    this.c = 0xb7e15162;
    this.d = seed >>> 0;
    for (let i = 0; i < 16; i++) this.u32();
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return this.u32() / 4294967296;
  }

  /** Uniform integer in [lo, hi] (inclusive). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }

  bool(p = 0.5): boolean {
    return this.float() < p;
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.float() * xs.length)]!;
  }

  /** Log-uniform integer in [lo, hi], lo ≥ 1: small values as likely per decade as large ones. */
  logInt(lo: number, hi: number): number {
    const l = Math.log(lo);
    return Math.min(hi, Math.floor(Math.exp(l + this.float() * (Math.log(hi + 1) - l))));
  }

  /** Derive an independent generator (e.g. one per file) without consuming much state. */
  fork(): Prng {
    return new Prng(this.u32());
  }

  /** `n` pseudo-random bytes (AES-CTR keystream keyed by the seed). */
  bytes(n: number): Buffer {
    const key = Buffer.alloc(16);
    key.writeUInt32LE(this.seed >>> 0, 0);
    key.writeUInt32LE(this.u32(), 4);
    const iv = Buffer.alloc(16);
    iv.writeUInt32LE(this.blockCounter++, 0);
    const c = createCipheriv('aes-128-ctr', key, iv);
    return c.update(Buffer.alloc(n));
  }

  /** A streaming byte source for large files: call next(chunk) repeatedly. */
  byteStream(): (n: number) => Buffer {
    const key = Buffer.alloc(16);
    key.writeUInt32LE(this.seed >>> 0, 0);
    key.writeUInt32LE(this.u32(), 4);
    const c = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
    let zeros = Buffer.alloc(0);
    return (n: number) => {
      if (zeros.length < n) zeros = Buffer.alloc(n);
      return c.update(zeros.subarray(0, n));
    };
  }
}

/** Seed from the environment (to replay a failure) or fresh. */
export function seedFromEnv(name: string): number {
  const s = process.env[name];
  if (s !== undefined && s !== '') return Number(s) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}
