import { PgpFormatError } from './errors.js';

/** CRC-24 of RFC 4880 §6.1 (the armor checksum). */
export function crc24(data: Uint8Array): number {
  let crc = 0xb704ce;
  for (const b of data) {
    crc ^= b << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

export interface ArmorBlock {
  /** "PGP PUBLIC KEY BLOCK", "PGP SIGNATURE", … */
  type: string;
  headers: Record<string, string>;
  data: Buffer;
}

/**
 * Decodes every ASCII-armored block in `text` (a .repo gpgkey file may hold
 * several keys concatenated). The CRC-24 line is optional (RFC 9580) but
 * checked when present.
 */
export function dearmor(text: string): ArmorBlock[] {
  const lines = text.split(/\r?\n/);
  const out: ArmorBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^-----BEGIN (.+)-----\s*$/.exec(lines[i]!);
    if (!m) continue;
    const type = m[1]!;
    const headers: Record<string, string> = {};
    i++;
    // Armor headers run until the first empty line.
    while (i < lines.length && lines[i]!.trim() !== '') {
      const hm = /^([^:]+):\s?(.*)$/.exec(lines[i]!);
      if (!hm) break;
      headers[hm[1]!] = hm[2]!;
      i++;
    }
    let b64 = '';
    let crc: string | undefined;
    let ended = false;
    for (; i < lines.length; i++) {
      const l = lines[i]!.trim();
      if (l === `-----END ${type}-----`) {
        ended = true;
        break;
      }
      if (l.startsWith('=') && l.length === 5) crc = l.slice(1);
      else if (l !== '') {
        if (!/^[A-Za-z0-9+/=]+$/.test(l)) throw new PgpFormatError(`armor: invalid base64 line in ${type}`);
        b64 += l;
      }
    }
    if (!ended) throw new PgpFormatError(`armor: missing END line for ${type}`);
    const data = Buffer.from(b64, 'base64');
    if (crc !== undefined) {
      const want = Buffer.from(crc, 'base64');
      if (want.length !== 3 || want.readUIntBE(0, 3) !== crc24(data)) throw new PgpFormatError(`armor: CRC-24 mismatch in ${type}`);
    }
    out.push({ type, headers, data });
  }
  return out;
}
