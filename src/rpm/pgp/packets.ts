import { PgpFormatError } from './errors.js';

export const PacketTag = {
  SIGNATURE: 2,
  SECRET_KEY: 5,
  PUBLIC_KEY: 6,
  SECRET_SUBKEY: 7,
  TRUST: 12,
  USER_ID: 13,
  PUBLIC_SUBKEY: 14,
  USER_ATTRIBUTE: 17,
} as const;

export interface Packet {
  tag: number;
  body: Buffer;
}

/**
 * Splits a binary OpenPGP message into packets (old and new header formats).
 * Partial body lengths are refused: keys and signatures never use them.
 */
export function parsePackets(buf: Buffer): Packet[] {
  const out: Packet[] = [];
  let p = 0;
  while (p < buf.length) {
    const ctb = buf[p++]!;
    if ((ctb & 0x80) === 0) throw new PgpFormatError(`invalid packet header byte 0x${ctb.toString(16)} at offset ${p - 1}`);
    let tag: number;
    let len: number;
    if (ctb & 0x40) {
      tag = ctb & 0x3f;
      if (p >= buf.length) throw new PgpFormatError('truncated packet length');
      const o = buf[p++]!;
      if (o < 192) len = o;
      else if (o < 224) {
        if (p >= buf.length) throw new PgpFormatError('truncated packet length');
        len = ((o - 192) << 8) + buf[p++]! + 192;
      } else if (o === 255) {
        if (p + 4 > buf.length) throw new PgpFormatError('truncated packet length');
        len = buf.readUInt32BE(p);
        p += 4;
      } else throw new PgpFormatError('partial body lengths are not supported here');
    } else {
      tag = (ctb >> 2) & 0x0f;
      const lt = ctb & 3;
      if (lt === 3) throw new PgpFormatError('indeterminate packet length not supported');
      const n = 1 << lt;
      if (p + n > buf.length) throw new PgpFormatError('truncated packet length');
      len = buf.readUIntBE(p, n);
      p += n;
    }
    if (p + len > buf.length) throw new PgpFormatError(`packet (tag ${tag}) of ${len} bytes runs past the end of the data`);
    out.push({ tag, body: buf.subarray(p, p + len) });
    p += len;
  }
  return out;
}

/** Reads an MPI at `p`: returns the magnitude bytes and the next offset. */
export function readMpi(b: Buffer, p: number, what: string): [Buffer, number] {
  if (p + 2 > b.length) throw new PgpFormatError(`truncated ${what}`);
  const bits = b.readUInt16BE(p);
  const n = (bits + 7) >> 3;
  if (p + 2 + n > b.length) throw new PgpFormatError(`truncated ${what}`);
  return [b.subarray(p + 2, p + 2 + n), p + 2 + n];
}
