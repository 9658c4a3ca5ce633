import { CorruptionError } from '../../errors.js';

/** Protobuf-style unsigned LEB128, as ostree's delta opcodes and ostree.sizes use. */
export function writeVarint(out: number[], n: number): void {
  let v = n;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

export function readVarint(buf: Uint8Array, pos: { p: number }, what: string): number {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos.p >= buf.length) throw new CorruptionError(`${what}: truncated varint`);
    const b = buf[pos.p++]!;
    result += (b & 0x7f) * mul;
    if (!(b & 0x80)) {
      if (!Number.isSafeInteger(result)) throw new CorruptionError(`${what}: varint too large`);
      return result;
    }
    mul *= 0x80;
  }
  throw new CorruptionError(`${what}: varint too long`);
}
