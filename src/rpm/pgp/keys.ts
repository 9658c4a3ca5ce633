import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dearmor } from './armor.js';
import { PgpFormatError } from './errors.js';
import { PacketTag, parsePackets, readMpi } from './packets.js';
import { PgpSignature, PubkeyAlgo } from './signature.js';
import { verifyDigestSignature, hashSignedData } from './verify.js';

/** OID of Ed25519 in legacy EdDSA keys (1.3.6.1.4.1.11591.15.1). */
const ED25519_OID = Buffer.from('2b06010401da470f01', 'hex');

const b64u = (b: Buffer) => b.toString('base64url');

/** One public key or subkey packet, with its v4 fingerprint and key id. */
export class PgpPublicKey {
  readonly fingerprint: string;
  readonly keyId: string;
  /** node KeyObject when the algorithm is one we verify with (RSA, Ed25519). */
  readonly key: KeyObject | undefined;
  /** Modulus length in bytes for RSA (signatures are left-padded to it). */
  readonly rsaBytes: number;
  /** Why `key` is undefined for an algorithm we otherwise support. */
  readonly unusable: string | undefined;

  constructor(
    readonly packetBody: Buffer,
    readonly version: number,
    readonly created: number,
    readonly algo: number,
    readonly isSubkey: boolean,
    material: { rsa?: { n: Buffer; e: Buffer }; ed25519?: Buffer },
  ) {
    if (version === 4) {
      const h = createHash('sha1');
      const hdr = Buffer.from([0x99, 0, 0]);
      hdr.writeUInt16BE(packetBody.length, 1);
      h.update(hdr).update(packetBody);
      this.fingerprint = h.digest('hex');
      this.keyId = this.fingerprint.slice(-16);
    } else if (version === 3 && material.rsa) {
      // v3 key id: low 64 bits of the modulus; fingerprint MD5(n||e) (legacy).
      this.fingerprint = createHash('md5').update(material.rsa.n).update(material.rsa.e).digest('hex');
      this.keyId = material.rsa.n.subarray(material.rsa.n.length - 8).toString('hex');
    } else {
      throw new PgpFormatError(`unsupported public key version ${version}`);
    }
    this.rsaBytes = 0;
    try {
      if (material.rsa) {
        const n = stripZeros(material.rsa.n);
        if (n.length < 128) throw new Error(`RSA modulus of ${n.length * 8} bits is too small`);
        this.rsaBytes = n.length;
        this.key = createPublicKey({ key: { kty: 'RSA', n: b64u(n), e: b64u(stripZeros(material.rsa.e)) }, format: 'jwk' });
      } else if (material.ed25519) {
        this.key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(material.ed25519) }, format: 'jwk' });
      }
    } catch (e) {
      // Keep the key listed (fingerprint, id) but unusable: one weak key in a
      // gpgkey file must not make the other keys unreadable.
      this.key = undefined;
      this.unusable = `unusable key material (${(e as Error).message})`;
    }
  }

  static parse(body: Buffer, isSubkey: boolean): PgpPublicKey {
    if (body.length < 6) throw new PgpFormatError('truncated public key packet');
    const version = body[0]!;
    let p: number;
    let created: number;
    let algo: number;
    if (version === 4) {
      created = body.readUInt32BE(1);
      algo = body[5]!;
      p = 6;
    } else if (version === 3 || version === 2) {
      if (body.length < 8) throw new PgpFormatError('truncated public key packet');
      created = body.readUInt32BE(1);
      algo = body[7]!;
      p = 8;
    } else {
      throw new PgpFormatError(`unsupported public key version ${version}`);
    }
    const material: { rsa?: { n: Buffer; e: Buffer }; ed25519?: Buffer } = {};
    switch (algo) {
      case PubkeyAlgo.RSA:
      case PubkeyAlgo.RSA_SIGN:
      case PubkeyAlgo.RSA_ENCRYPT: {
        const [n, p2] = readMpi(body, p, 'RSA modulus');
        const [e] = readMpi(body, p2, 'RSA exponent');
        material.rsa = { n, e };
        break;
      }
      case PubkeyAlgo.EDDSA_LEGACY: {
        const ol = body[p];
        if (ol === undefined || p + 1 + ol > body.length) throw new PgpFormatError('truncated EdDSA key OID');
        const oid = body.subarray(p + 1, p + 1 + ol);
        const [q] = readMpi(body, p + 1 + ol, 'EdDSA point');
        if (oid.equals(ED25519_OID)) {
          if (q.length !== 33 || q[0] !== 0x40) throw new PgpFormatError('EdDSA key: expected a 0x40-prefixed native point');
          material.ed25519 = q.subarray(1);
        }
        break;
      }
      case PubkeyAlgo.ED25519:
        if (body.length < p + 32) throw new PgpFormatError('truncated Ed25519 key');
        material.ed25519 = body.subarray(p, p + 32);
        break;
      default:
        // DSA, ECDSA, ECDH, …: parsed for fingerprints but not usable for verification.
        break;
    }
    if (version !== 4 && !material.rsa) throw new PgpFormatError(`unsupported v${version} key algorithm ${algo}`);
    return new PgpPublicKey(body, version, created, algo, isSubkey, material);
  }
}

function stripZeros(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
}

/** A transferable public key: primary key, user ids, and subkeys bound to it. */
export interface PgpCertificate {
  primary: PgpPublicKey;
  userIds: string[];
  /** Subkeys whose binding signature by the primary key verified (and that are not revoked). */
  subkeys: PgpPublicKey[];
  /** True when the certificate carries a valid key revocation; its keys are then not trusted. */
  revoked: boolean;
}

/**
 * Public keys from one or more ASCII-armored (or binary) key blocks: the
 * repo's gpgkey file. Subkeys are only accepted with a valid binding
 * signature from their primary key, so a stray subkey packet cannot add
 * trust.
 */
export class PgpKeyring {
  readonly certificates: PgpCertificate[] = [];
  private readonly byKeyId = new Map<string, PgpPublicKey>();

  static fromArmored(text: string): PgpKeyring {
    const r = new PgpKeyring();
    const blocks = dearmor(text).filter((b) => b.type === 'PGP PUBLIC KEY BLOCK');
    if (blocks.length === 0) throw new PgpFormatError('no PGP PUBLIC KEY BLOCK found');
    for (const b of blocks) r.addBinary(b.data);
    return r;
  }

  /** Reads a gpgkey file (armored, or binary as `gpg --export` writes it). */
  static async fromFile(path: string): Promise<PgpKeyring> {
    const data = await readFile(path);
    const text = data.toString('latin1');
    return text.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----') ? PgpKeyring.fromArmored(text) : PgpKeyring.fromBinary(data);
  }

  static fromBinary(bin: Buffer): PgpKeyring {
    const r = new PgpKeyring();
    r.addBinary(bin);
    return r;
  }

  addBinary(bin: Buffer): void {
    // Group packets per certificate first: revocations may follow bindings.
    interface Raw { primary: PgpPublicKey; direct: PgpSignature[]; userIds: string[]; subs: { key: PgpPublicKey; sigs: PgpSignature[] }[] }
    const raws: Raw[] = [];
    let cur: Raw | undefined;
    let sub: { key: PgpPublicKey; sigs: PgpSignature[] } | undefined;
    let inUid = false;
    for (const pk of parsePackets(bin)) {
      switch (pk.tag) {
        case PacketTag.PUBLIC_KEY:
          cur = { primary: PgpPublicKey.parse(pk.body, false), direct: [], userIds: [], subs: [] };
          raws.push(cur);
          sub = undefined;
          inUid = false;
          break;
        case PacketTag.USER_ID:
        case PacketTag.USER_ATTRIBUTE:
          if (!cur) throw new PgpFormatError('user id before primary key');
          if (pk.tag === PacketTag.USER_ID) cur.userIds.push(pk.body.toString('utf8'));
          sub = undefined;
          inUid = true;
          break;
        case PacketTag.PUBLIC_SUBKEY:
          if (!cur) throw new PgpFormatError('subkey before primary key');
          sub = { key: PgpPublicKey.parse(pk.body, true), sigs: [] };
          cur.subs.push(sub);
          break;
        case PacketTag.SIGNATURE: {
          if (!cur) break;
          let sig: PgpSignature;
          try {
            sig = PgpSignature.fromPacket(pk.body);
          } catch {
            break; // unknown signature versions/algorithms on a key are ignored, as gpg does
          }
          if (sub) sub.sigs.push(sig);
          else if (!inUid || sig.sigType === 0x20) cur.direct.push(sig);
          break;
        }
        default:
          break;
      }
    }
    for (const r of raws) {
      const primaryPrefix = keyHashPrefix(r.primary);
      // A key revocation (0x20) made by the primary key itself withdraws the whole certificate.
      const revoked = r.direct.some((sig) => sig.sigType === 0x20 && signedBy(sig, [primaryPrefix], r.primary));
      const cert: PgpCertificate = { primary: r.primary, userIds: r.userIds, subkeys: [], revoked };
      this.certificates.push(cert);
      if (revoked) continue;
      this.byKeyId.set(r.primary.keyId, r.primary);
      for (const s of r.subs) {
        const parts = [primaryPrefix, keyHashPrefix(s.key)];
        const bound = s.sigs.some((sig) => sig.sigType === 0x18 && signedBy(sig, parts, r.primary));
        const subRevoked = s.sigs.some((sig) => sig.sigType === 0x28 && signedBy(sig, parts, r.primary));
        if (bound && !subRevoked) {
          cert.subkeys.push(s.key);
          this.byKeyId.set(s.key.keyId, s.key);
        }
      }
    }
  }

  /** Key (primary or bound subkey) with this 16-hex key id. */
  find(keyId: string): PgpPublicKey | undefined {
    return this.byKeyId.get(keyId.toLowerCase());
  }

  get keys(): PgpPublicKey[] {
    return [...this.byKeyId.values()];
  }
}

function keyHashPrefix(k: PgpPublicKey): Buffer {
  const h = Buffer.from([0x99, 0, 0]);
  h.writeUInt16BE(k.packetBody.length, 1);
  return Buffer.concat([h, k.packetBody]);
}

function signedBy(sig: PgpSignature, parts: Buffer[], primary: PgpPublicKey): boolean {
  try {
    // SHA-1 is tolerated here: old certificates carry SHA-1 self-signatures, and a revocation must count regardless.
    verifyDigestSignature(sig, hashSignedData(sig, parts), primary, { allowSha1: true });
    return true;
  } catch {
    return false;
  }
}
