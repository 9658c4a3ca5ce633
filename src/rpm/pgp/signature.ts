import { PgpFormatError } from './errors.js';
import { PacketTag, parsePackets, readMpi } from './packets.js';

export const PubkeyAlgo = {
  RSA: 1,
  RSA_ENCRYPT: 2,
  RSA_SIGN: 3,
  DSA: 17,
  ECDH: 18,
  ECDSA: 19,
  EDDSA_LEGACY: 22,
  X25519: 25,
  ED25519: 27,
} as const;

/** OpenPGP hash algorithm ids → node digest names. */
export const HashAlgo: Record<number, { name: string; node: string; digestInfo?: string }> = {
  1: { name: 'MD5', node: 'md5' },
  2: { name: 'SHA1', node: 'sha1', digestInfo: '3021300906052b0e03021a05000414' },
  8: { name: 'SHA256', node: 'sha256', digestInfo: '3031300d060960864801650304020105000420' },
  9: { name: 'SHA384', node: 'sha384', digestInfo: '3041300d060960864801650304020205000430' },
  10: { name: 'SHA512', node: 'sha512', digestInfo: '3051300d060960864801650304020305000440' },
  11: { name: 'SHA224', node: 'sha224', digestInfo: '302d300d06096086480165030402040500041c' },
};

const SUB_CREATED = 2;
const SUB_EXPIRES = 3;
const SUB_ISSUER = 16;
const SUB_KEY_FLAGS = 27;
const SUB_ISSUER_FPR = 33;

export interface SignatureSubpackets {
  created?: number;
  expiresAfter?: number;
  issuerKeyId?: string;
  issuerFingerprint?: string;
  keyFlags?: number;
}

/** A parsed v3 or v4 signature packet. */
export class PgpSignature {
  constructor(
    readonly version: 3 | 4,
    readonly sigType: number,
    readonly pubkeyAlgo: number,
    readonly hashAlgo: number,
    /** Bytes appended to the signed data before hashing (RFC 4880 §5.2.4). */
    readonly hashTrailer: Buffer,
    readonly left16: Buffer,
    /** Signature values: RSA [s]; EdDSA [r, s]; Ed25519 [64 raw bytes]. */
    readonly values: Buffer[],
    readonly hashed: SignatureSubpackets,
    readonly unhashed: SignatureSubpackets,
  ) {}

  /** Issuer key id (16 hex, lower case), from hashed or unhashed subpackets or a v3 header. */
  get issuerKeyId(): string | undefined {
    const fpr = this.issuerFingerprint;
    return this.hashed.issuerKeyId ?? this.unhashed.issuerKeyId ?? (fpr ? fpr.slice(-16) : undefined);
  }
  get issuerFingerprint(): string | undefined {
    return this.hashed.issuerFingerprint ?? this.unhashed.issuerFingerprint;
  }
  get created(): number | undefined {
    return this.hashed.created;
  }

  /** Parses the (single) signature packet of a binary signature, as rpm stores it. */
  static fromBinary(bin: Buffer): PgpSignature {
    const packets = parsePackets(bin);
    const sig = packets.find((p) => p.tag === PacketTag.SIGNATURE);
    if (!sig) throw new PgpFormatError('no signature packet');
    return PgpSignature.fromPacket(sig.body);
  }

  static fromPacket(b: Buffer): PgpSignature {
    const need = (n: number) => { if (b.length < n) throw new PgpFormatError('truncated signature packet'); };
    need(1);
    const version = b[0]!;
    if (version === 3) {
      need(19);
      if (b[1] !== 5) throw new PgpFormatError('v3 signature: bad hashed length');
      const sigType = b[2]!;
      const created = b.readUInt32BE(3);
      const keyId = b.subarray(7, 15).toString('hex');
      const pubkeyAlgo = b[15]!;
      const hashAlgo = b[16]!;
      const left16 = b.subarray(17, 19);
      const values = readValues(b, 19, pubkeyAlgo);
      return new PgpSignature(3, sigType, pubkeyAlgo, hashAlgo, b.subarray(2, 7), left16, values, { created, issuerKeyId: keyId }, {});
    }
    if (version !== 4) throw new PgpFormatError(`unsupported signature version ${version}`);
    need(6);
    const sigType = b[1]!;
    const pubkeyAlgo = b[2]!;
    const hashAlgo = b[3]!;
    const hl = b.readUInt16BE(4);
    need(6 + hl + 2);
    const hashedPart = b.subarray(0, 6 + hl);
    const hashed = parseSubpackets(b.subarray(6, 6 + hl));
    const ul = b.readUInt16BE(6 + hl);
    need(8 + hl + ul + 2);
    const unhashed = parseSubpackets(b.subarray(8 + hl, 8 + hl + ul));
    const left16 = b.subarray(8 + hl + ul, 10 + hl + ul);
    const values = readValues(b, 10 + hl + ul, pubkeyAlgo);
    const tail = Buffer.alloc(6);
    tail[0] = 4;
    tail[1] = 0xff;
    tail.writeUInt32BE(hashedPart.length, 2);
    return new PgpSignature(4, sigType, pubkeyAlgo, hashAlgo, Buffer.concat([hashedPart, tail]), left16, values, hashed, unhashed);
  }
}

function readValues(b: Buffer, p: number, algo: number): Buffer[] {
  switch (algo) {
    case PubkeyAlgo.RSA:
    case PubkeyAlgo.RSA_SIGN:
      return [readMpi(b, p, 'RSA signature')[0]];
    case PubkeyAlgo.DSA:
    case PubkeyAlgo.ECDSA:
    case PubkeyAlgo.EDDSA_LEGACY: {
      const [r, p2] = readMpi(b, p, 'signature r');
      const [s] = readMpi(b, p2, 'signature s');
      return [r, s];
    }
    case PubkeyAlgo.ED25519:
      if (b.length < p + 64) throw new PgpFormatError('truncated Ed25519 signature');
      return [b.subarray(p, p + 64)];
    default:
      throw new PgpFormatError(`unsupported signature public-key algorithm ${algo}`);
  }
}

function parseSubpackets(b: Buffer): SignatureSubpackets {
  const out: SignatureSubpackets = {};
  let p = 0;
  while (p < b.length) {
    let len: number;
    const o = b[p++]!;
    if (o < 192) len = o;
    else if (o < 255) {
      if (p >= b.length) throw new PgpFormatError('truncated subpacket length');
      len = ((o - 192) << 8) + b[p++]! + 192;
    } else {
      if (p + 4 > b.length) throw new PgpFormatError('truncated subpacket length');
      len = b.readUInt32BE(p);
      p += 4;
    }
    if (len < 1 || p + len > b.length) throw new PgpFormatError('subpacket runs past its area');
    const type = b[p]! & 0x7f;
    const d = b.subarray(p + 1, p + len);
    p += len;
    if (type === SUB_CREATED && d.length === 4) out.created = d.readUInt32BE(0);
    else if (type === SUB_EXPIRES && d.length === 4) out.expiresAfter = d.readUInt32BE(0);
    else if (type === SUB_ISSUER && d.length === 8) out.issuerKeyId = d.toString('hex');
    else if (type === SUB_ISSUER_FPR && d.length >= 21) out.issuerFingerprint = d.subarray(1).toString('hex');
    else if (type === SUB_KEY_FLAGS && d.length >= 1) out.keyFlags = d[0]!;
  }
  return out;
}
