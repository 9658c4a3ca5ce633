import { createHash } from 'node:crypto';
import { InvalidInputError } from '../errors.js';

/** A SHA-256 checksum as 64 lowercase hex characters, ostree's object name. */
export type Checksum = string;

const HEX64 = /^[0-9a-f]{64}$/;

export function isChecksum(s: string): boolean {
  return HEX64.test(s);
}

export function assertChecksum(s: string, what = 'checksum'): Checksum {
  if (!HEX64.test(s)) throw new InvalidInputError(`invalid ${what} '${s}': expected 64 hex characters`);
  return s;
}

export function checksumToBytes(csum: Checksum): Uint8Array {
  return new Uint8Array(Buffer.from(assertChecksum(csum), 'hex'));
}

export function checksumFromBytes(b: Uint8Array, what = 'checksum'): Checksum {
  if (b.length !== 32) throw new InvalidInputError(`invalid ${what}: ${b.length} bytes, expected 32`);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function sha256Hex(...parts: Uint8Array[]): Checksum {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/**
 * ostree's "modified base64" used in static-delta paths: standard base64 of
 * the 32 raw bytes, '=' padding dropped and '/' replaced by '_'.
 */
export function toMb64(csum: Checksum): string {
  return Buffer.from(checksumToBytes(csum)).toString('base64').replace(/=+$/, '').replace(/\//g, '_');
}

export function fromMb64(s: string): Checksum {
  const b = Buffer.from(s.replace(/_/g, '/'), 'base64');
  return checksumFromBytes(b, `delta name '${s}'`);
}
