import { createPrivateKey, createPublicKey, sign as cryptoSign, verify as cryptoVerify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dictGet, type VarDict } from '../../gvariant/index.js';
import { InvalidInputError } from '../../errors.js';
import { SignatureError } from '../pull/gpg-verify.js';

/** The detached-metadata key ostree stores ed25519 signatures under. */
export const ED25519_KEY = 'ostree.sign.ed25519';

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/**
 * A secret key as `ostree sign` takes it: base64 of libsodium's 64-byte secret
 * key (32-byte seed ‖ 32-byte public key); a bare 32-byte seed is accepted too.
 */
export function parseEd25519SecretKey(b64: string): { privateKey: KeyObject; publicKey: Uint8Array } {
  const raw = Buffer.from(b64.trim(), 'base64');
  if (raw.length !== 64 && raw.length !== 32) throw new InvalidInputError(`ed25519 secret key must be 64 bytes (seed+public) in base64, got ${raw.length}`);
  const seed = raw.subarray(0, 32);
  const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(raw.length === 64 ? raw.subarray(32) : derivePublic(seed)) }, format: 'jwk' });
  const pub = Buffer.from(createPublicKey(priv).export({ format: 'jwk' }).x as string, 'base64url');
  if (raw.length === 64 && !pub.equals(raw.subarray(32))) throw new InvalidInputError('ed25519 secret key: public half does not match the seed');
  return { privateKey: priv, publicKey: new Uint8Array(pub) };
}

function derivePublic(seed: Uint8Array): Uint8Array {
  // node derives the public key from the private JWK without 'x' when importing PKCS#8; build one
  const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seed)]);
  const k = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
  return new Uint8Array(Buffer.from(createPublicKey(k).export({ format: 'jwk' }).x as string, 'base64url'));
}

export function ed25519PublicKey(b64: string): KeyObject {
  const raw = Buffer.from(b64.trim(), 'base64');
  if (raw.length !== 32) throw new InvalidInputError(`ed25519 public key must be 32 bytes in base64, got ${raw.length}`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
}

/** Pure Ed25519 over the exact bytes (the .commit object or the summary file). */
export function ed25519Sign(data: Uint8Array, secretB64: string): Uint8Array {
  return new Uint8Array(cryptoSign(null, data, parseEd25519SecretKey(secretB64).privateKey));
}

/** Keys from a file with one base64 key per line (verification-ed25519-file, trusted.ed25519). */
export function readEd25519KeyFile(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

/** Pass if any signature verifies with any trusted, non-revoked key. */
export function verifyEd25519(data: Uint8Array, meta: VarDict | null, trusted: string[], what: string, revoked: string[] = []): void {
  const sigs = meta ? (dictGet(meta, ED25519_KEY)?.value as Uint8Array[] | undefined) : undefined;
  if (!sigs || sigs.length === 0) throw new SignatureError(`${what}: no ed25519 signatures found`);
  const keys = trusted.filter((k) => !revoked.includes(k)).map(ed25519PublicKey);
  if (keys.length === 0) throw new SignatureError(`${what}: no trusted ed25519 keys configured`);
  for (const sig of sigs) {
    if (sig.length !== 64) continue;
    for (const k of keys) if (cryptoVerify(null, data, k, sig)) return;
  }
  throw new SignatureError(`${what}: no valid ed25519 signature from a trusted key`);
}
