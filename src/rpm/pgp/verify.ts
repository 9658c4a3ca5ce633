import { constants, createHash, publicDecrypt, verify as cryptoVerify } from 'node:crypto';
import { PgpVerifyError } from './errors.js';
import type { PgpPublicKey } from './keys.js';
import { HashAlgo, PubkeyAlgo, type PgpSignature } from './signature.js';

/** Hash algorithms accepted for signatures (MD5 and SHA-1 are collision-broken). */
const ACCEPTED_HASHES = new Set([8, 9, 10, 11]);

/** Hashes `data` followed by the signature's trailer, as the signer did. */
export function hashSignedData(sig: PgpSignature, data: Iterable<Buffer>): Buffer {
  const algo = HashAlgo[sig.hashAlgo];
  if (!algo) throw new PgpVerifyError(`unsupported hash algorithm ${sig.hashAlgo}`);
  const h = createHash(algo.node);
  for (const d of data) h.update(d);
  h.update(sig.hashTrailer);
  return h.digest();
}

/** Starts an incremental hash for streamed data (e.g. header+payload signatures). */
export function signedDataHasher(sig: PgpSignature): { update(b: Buffer): void; digest(): Buffer } {
  const algo = HashAlgo[sig.hashAlgo];
  if (!algo) throw new PgpVerifyError(`unsupported hash algorithm ${sig.hashAlgo}`);
  const h = createHash(algo.node);
  return {
    update: (b) => { h.update(b); },
    digest: () => h.update(sig.hashTrailer).digest(),
  };
}

function leftPad(b: Buffer, n: number): Buffer {
  if (b.length >= n) return b;
  return Buffer.concat([Buffer.alloc(n - b.length), b]);
}

/**
 * Checks a signature over an already computed digest with one key. Throws
 * PgpVerifyError with a short reason on any failure.
 */
export function verifyDigestSignature(sig: PgpSignature, digest: Buffer, key: PgpPublicKey, opts: { allowSha1?: boolean } = {}): void {
  if (!ACCEPTED_HASHES.has(sig.hashAlgo) && !(opts.allowSha1 && sig.hashAlgo === 2)) {
    throw new PgpVerifyError(`hash algorithm ${HashAlgo[sig.hashAlgo]?.name ?? sig.hashAlgo} is not accepted`);
  }
  if (!digest.subarray(0, 2).equals(sig.left16)) throw new PgpVerifyError('digest does not match (left 16 bits differ)');
  if (!key.key) throw new PgpVerifyError(`key ${key.keyId}: ${key.unusable ?? `unsupported algorithm ${key.algo}`}`);
  const isRsa = key.algo === PubkeyAlgo.RSA || key.algo === PubkeyAlgo.RSA_SIGN;
  const isEd = key.algo === PubkeyAlgo.EDDSA_LEGACY || key.algo === PubkeyAlgo.ED25519;
  if (isRsa) {
    if (sig.pubkeyAlgo !== PubkeyAlgo.RSA && sig.pubkeyAlgo !== PubkeyAlgo.RSA_SIGN) throw new PgpVerifyError('signature algorithm does not match key');
    const s = sig.values[0]!;
    if (s.length > key.rsaBytes) throw new PgpVerifyError('RSA signature longer than modulus');
    let em: Buffer;
    try {
      em = publicDecrypt({ key: key.key, padding: constants.RSA_PKCS1_PADDING }, leftPad(s, key.rsaBytes));
    } catch {
      throw new PgpVerifyError('RSA signature does not verify');
    }
    const want = Buffer.concat([Buffer.from(HashAlgo[sig.hashAlgo]!.digestInfo!, 'hex'), digest]);
    if (!em.equals(want)) throw new PgpVerifyError('RSA signature does not verify');
    return;
  }
  if (isEd) {
    if (sig.pubkeyAlgo !== PubkeyAlgo.EDDSA_LEGACY && sig.pubkeyAlgo !== PubkeyAlgo.ED25519) throw new PgpVerifyError('signature algorithm does not match key');
    const raw = sig.values.length === 2 ? Buffer.concat([leftPad(sig.values[0]!, 32), leftPad(sig.values[1]!, 32)]) : sig.values[0]!;
    if (raw.length !== 64) throw new PgpVerifyError('malformed Ed25519 signature');
    // OpenPGP EdDSA signs the digest, not the message.
    if (!cryptoVerify(null, digest, key.key, raw)) throw new PgpVerifyError('Ed25519 signature does not verify');
    return;
  }
  throw new PgpVerifyError(`key algorithm ${key.algo} is not supported`);
}
