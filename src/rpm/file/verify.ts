import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PgpKeyring, PgpSignature, signedDataHasher, verifyDigestSignature, PgpVerifyError } from '../pgp/index.js';
import { RpmDigestError, RpmFormatError, RpmSignatureError } from './errors.js';
import { readRpmHeaders, readRpmHeadersFromStream, type RpmPackageHeaders } from './reader.js';
import { DigestAlgo, SigTag } from './tags.js';

export interface VerifyOptions {
  /** Trusted keys (the repo's gpgkey). Without it signatures are not checked. */
  keyring?: PgpKeyring;
  /** gpgcheck: a missing or unverifiable signature is an error (default: true when a keyring is given). */
  requireSignature?: boolean;
  /** Accept SHA-1 based OpenPGP signatures (default false). */
  allowSha1Signatures?: boolean;
  /** Read the payload to check PAYLOADDIGEST / MD5 / SIZE (default true). */
  checkPayload?: boolean;
  headers?: RpmPackageHeaders;
  /** Name used in errors before the NEVRA is known (default: file name). */
  label?: string;
}

export interface SignatureCheck {
  /** Signature-header tag carrying it (268 RSAHEADER, 267 DSAHEADER, 1002 PGP, 1005 GPG). */
  tag: number;
  keyId: string;
  fingerprint: string;
  pubkeyAlgo: number;
  hashAlgo: number;
  /** Signed range: 'header' (RSA/DSA header tags) or 'header+payload' (legacy). */
  covers: 'header' | 'header+payload';
}

export interface VerifyResult {
  nevra: string;
  /** Which digests were present and matched. */
  digests: string[];
  signatures: SignatureCheck[];
}

const HEADER_SIG_TAGS = [SigTag.RSA, SigTag.DSA];
const LEGACY_SIG_TAGS = [SigTag.PGP, SigTag.GPG];

/**
 * Verifies an RPM's integrity and (optionally) its OpenPGP signatures, like
 * `rpmkeys --checksig`: header SHA-256/SHA-1 from the signature header,
 * payload digest from the main header, legacy MD5 and size, and RSA/EdDSA
 * signatures against the given keyring. Throws RpmDigestError,
 * RpmSignatureError or RpmFormatError naming the package.
 */
export async function verifyRpm(input: string | Buffer | AsyncIterable<Buffer>, opts: VerifyOptions = {}): Promise<VerifyResult> {
  let streamed: AsyncIterable<Buffer> | undefined;
  let hs: RpmPackageHeaders;
  if (typeof input !== 'string' && !Buffer.isBuffer(input)) {
    // Sequential stream of the whole file (e.g. while downloading): one pass.
    const s = await readRpmHeadersFromStream(input, opts.label !== undefined ? { label: opts.label } : {});
    hs = s.headers;
    streamed = s.payload;
  } else {
    hs = opts.headers ?? (await readRpmHeaders(input, opts.label !== undefined ? { label: opts.label } : {}));
  }
  const { header, signature: sigh } = hs;
  const pkg = header.nevraLabel();
  const hbytes = header.blob.bytes;
  const result: VerifyResult = { nevra: pkg, digests: [], signatures: [] };

  const sha256 = sigh.sha256;
  if (sha256 !== undefined) {
    const got = createHash('sha256').update(hbytes).digest('hex');
    if (got !== sha256.toLowerCase()) throw new RpmDigestError(pkg, `header SHA256 digest mismatch (${got}, expected ${sha256})`);
    result.digests.push('header-sha256');
  }
  const sha1 = sigh.sha1;
  if (sha1 !== undefined) {
    const got = createHash('sha1').update(hbytes).digest('hex');
    if (got !== sha1.toLowerCase()) throw new RpmDigestError(pkg, `header SHA1 digest mismatch (${got}, expected ${sha1})`);
    result.digests.push('header-sha1');
  }

  // Parse all signatures up front so that malformed ones are reported even when not required.
  const parsed: { tag: number; sig: PgpSignature }[] = [];
  for (const tag of [...HEADER_SIG_TAGS, ...LEGACY_SIG_TAGS]) {
    const raw = sigh.blob.raw(tag);
    if (!raw) continue;
    try {
      parsed.push({ tag, sig: PgpSignature.fromBinary(raw) });
    } catch (e) {
      throw new RpmSignatureError(pkg, `in tag ${tag} is malformed: ${(e as Error).message}`);
    }
  }

  // One pass over the payload feeds every digest and legacy signature that covers it.
  const checkPayload = opts.checkPayload ?? true;
  const pd = header.payloadDigest;
  const pdAlgo = pd ? DigestAlgo[pd.algo] : undefined;
  if (pd && !pdAlgo) throw new RpmFormatError(pkg, `header: unsupported payload digest algorithm ${pd.algo}`);
  const md5 = sigh.md5;
  const legacyHashers = new Map<number, ReturnType<typeof signedDataHasher>>();
  if (opts.keyring) {
    for (const { tag, sig } of parsed) {
      if (LEGACY_SIG_TAGS.includes(tag as 1002 | 1005)) {
        try {
          const h = signedDataHasher(sig);
          h.update(hbytes);
          legacyHashers.set(tag, h);
        } catch { /* unsupported hash: reported below when verifying */ }
      }
    }
  }
  if (checkPayload) {
    const payloadHash: Hash | undefined = pdAlgo ? createHash(pdAlgo.node) : undefined;
    const md5Hash = md5 ? createHash('md5').update(hbytes) : undefined;
    let payloadBytes = 0;
    const feed = (c: Buffer) => {
      payloadBytes += c.length;
      payloadHash?.update(c);
      md5Hash?.update(c);
      for (const h of legacyHashers.values()) h.update(c);
    };
    if (streamed) for await (const c of streamed) feed(c);
    else if (Buffer.isBuffer(input)) feed(input.subarray(hs.layout.payloadStart));
    else if (typeof input === 'string') for await (const c of createReadStream(input, { start: hs.layout.payloadStart, highWaterMark: 1 << 20 })) feed(c as Buffer);
    const size = sigh.size;
    if (size !== undefined && size !== hbytes.length + payloadBytes) {
      throw new RpmFormatError(pkg, `size mismatch: signature header says header+payload is ${size} bytes, file has ${hbytes.length + payloadBytes} (truncated or extended)`);
    }
    if (size !== undefined) result.digests.push('size');
    if (payloadHash && pd) {
      const got = payloadHash.digest('hex');
      if (got !== pd.digests[0]?.toLowerCase()) throw new RpmDigestError(pkg, `payload ${pdAlgo!.name} digest mismatch (${got}, expected ${pd.digests[0]})`);
      result.digests.push(`payload-${pdAlgo!.name}`);
    }
    if (md5Hash && md5) {
      const got = md5Hash.digest();
      if (!got.equals(md5)) throw new RpmDigestError(pkg, `header+payload MD5 digest mismatch`);
      result.digests.push('md5');
    }
  }

  if (!opts.keyring) return result;
  const required = opts.requireSignature ?? true;
  const failures: string[] = [];
  for (const { tag, sig } of parsed) {
    const legacy = LEGACY_SIG_TAGS.includes(tag as 1002 | 1005);
    if (legacy && !checkPayload) continue;
    const keyId = sig.issuerKeyId;
    const key = keyId ? opts.keyring.find(keyId) : undefined;
    if (!key) {
      failures.push(`key ID ${keyId ?? '(none)'} not in the trusted keys`);
      continue;
    }
    // rpm signs package data as a binary document (type 0x00); anything else
    // (text, certifications) is not a package signature.
    if (sig.sigType !== 0) throw new RpmSignatureError(pkg, `BAD: tag ${tag} holds a signature of type 0x${sig.sigType.toString(16)}, not a binary document signature`);
    try {
      const d = legacy ? legacyDigest(legacyHashers, tag) : headerDigest(sig, hbytes);
      verifyDigestSignature(sig, d, key, { allowSha1: opts.allowSha1Signatures ?? false });
      result.signatures.push({ tag, keyId: key.keyId, fingerprint: key.fingerprint, pubkeyAlgo: sig.pubkeyAlgo, hashAlgo: sig.hashAlgo, covers: legacy ? 'header+payload' : 'header' });
    } catch (e) {
      if (e instanceof PgpVerifyError) throw new RpmSignatureError(pkg, `BAD (key ID ${key.keyId}): ${e.message}`);
      throw e;
    }
  }
  if (required && result.signatures.length === 0) {
    throw new RpmSignatureError(pkg, parsed.length === 0 ? 'missing (package is not signed)' : `NOT OK: ${failures.join('; ')}`);
  }
  return result;
}

function headerDigest(sig: PgpSignature, hbytes: Buffer): Buffer {
  const h = signedDataHasher(sig);
  h.update(hbytes);
  return h.digest();
}

function legacyDigest(m: Map<number, ReturnType<typeof signedDataHasher>>, tag: number): Buffer {
  const h = m.get(tag);
  if (!h) throw new PgpVerifyError('unsupported hash algorithm');
  return h.digest();
}
