import { createHash, type Hash } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { deserialize, serialize, type GValue } from '../../gvariant/index.js';
import { CorruptionError } from '../../errors.js';
import { type Checksum } from '../checksum.js';
import { S_IFLNK, S_IFMT, S_IFREG } from './dirmeta.js';
import { be32Bytes, bswap32, bswap64 } from './endian.js';
import type { Xattrs } from './xattrs.js';

/**
 * The metadata of a content object: ostree has only regular files and
 * symlinks, with ownership, mode, xattrs and (for symlinks) a target. No
 * timestamps are stored anywhere.
 */
export class FileHeader {
  constructor(
    readonly uid: number,
    readonly gid: number,
    /** Full mode including S_IFREG or S_IFLNK. */
    readonly mode: number,
    readonly xattrs: Xattrs,
    readonly symlinkTarget = '',
    readonly rdev = 0,
  ) {}

  get isSymlink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }

  get isRegular(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }

  validate(what = 'content object'): void {
    const fmt = this.mode & S_IFMT;
    if (fmt !== S_IFREG && fmt !== S_IFLNK) throw new CorruptionError(`${what}: mode 0${this.mode.toString(8)} is neither a regular file nor a symlink`);
    if (this.mode & ~(S_IFMT | 0o7777)) throw new CorruptionError(`${what}: invalid mode bits 0${this.mode.toString(8)}`);
    if (this.rdev !== 0) throw new CorruptionError(`${what}: rdev is ${this.rdev}, must be 0`);
    if (fmt === S_IFLNK && this.symlinkTarget === '') throw new CorruptionError(`${what}: symlink with empty target`);
    if (fmt === S_IFREG && this.symlinkTarget !== '') throw new CorruptionError(`${what}: regular file with a symlink target`);
  }

  /** `(uuuusa(ayay))`, the header that is hashed. */
  serialize(): Uint8Array {
    return serialize('(uuuusa(ayay))', [bswap32(this.uid), bswap32(this.gid), bswap32(this.mode), bswap32(this.rdev), this.symlinkTarget, this.xattrs as GValue]);
  }

  /** `(tuuuusa(ayay))`, the header at the start of an archive `.filez`. */
  serializeArchive(size: number): Uint8Array {
    return serialize('(tuuuusa(ayay))', [
      bswap64(BigInt(size)),
      bswap32(this.uid),
      bswap32(this.gid),
      bswap32(this.mode),
      bswap32(this.rdev),
      this.symlinkTarget,
      this.xattrs as GValue,
    ]);
  }

  static parse(bytes: Uint8Array, what = 'content header'): FileHeader {
    const v = deserialize('(uuuusa(ayay))', bytes, { what }) as [number, number, number, number, string, Xattrs];
    const h = new FileHeader(bswap32(v[0]), bswap32(v[1]), bswap32(v[2]), v[5], v[4], bswap32(v[3]));
    h.validate(what);
    return h;
  }

  static parseArchive(bytes: Uint8Array, what = 'archive content header'): { header: FileHeader; size: number } {
    const v = deserialize('(tuuuusa(ayay))', bytes, { what }) as [bigint, number, number, number, number, string, Xattrs];
    const h = new FileHeader(bswap32(v[1]), bswap32(v[2]), bswap32(v[3]), v[6], v[5], bswap32(v[4]));
    h.validate(what);
    const size = bswap64(v[0]);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw new CorruptionError(`${what}: file size ${size} too large`);
    if (h.isSymlink && size !== 0n) throw new CorruptionError(`${what}: symlink with size ${size}`);
    return { header: h, size: Number(size) };
  }

  /** Same content metadata, i.e. same bytes when serialized. */
  equals(o: FileHeader): boolean {
    if (this.uid !== o.uid || this.gid !== o.gid || this.mode !== o.mode || this.rdev !== o.rdev || this.symlinkTarget !== o.symlinkTarget) return false;
    // the common case (a commit compares every checked-out file's header): nothing left to serialize
    if (this.xattrs.length === 0 && o.xattrs.length === 0) return true;
    return Buffer.from(this.serialize()).equals(Buffer.from(o.serialize()));
  }
}

/** `BE32(len) ‖ 0000 ‖ bytes`: the length prefix ostree puts before content headers. */
export function lenPrefixed(header: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + header.length);
  out.set(be32Bytes(header.length), 0);
  out.set(header, 8);
  return out;
}

/**
 * Incremental content checksum: SHA-256 of the length-prefixed header
 * followed by the file's bytes (nothing for a symlink).
 */
export class ContentHasher {
  private readonly h: Hash;
  constructor(header: FileHeader) {
    this.h = createHash('sha256');
    this.h.update(lenPrefixed(header.serialize()));
  }
  update(chunk: Uint8Array): void {
    this.h.update(chunk);
  }
  digest(): Checksum {
    return this.h.digest('hex');
  }
}

export function contentChecksum(header: FileHeader, data?: Uint8Array): Checksum {
  const h = new ContentHasher(header);
  if (data) h.update(data);
  return h.digest();
}

/** Parse the length prefix of a `.filez`: returns the header length. */
export function parseLenPrefix(prefix: Uint8Array, fileSize: number, what: string): number {
  if (prefix.length < 8) throw new CorruptionError(`${what}: truncated (no header)`);
  const dv = new DataView(prefix.buffer, prefix.byteOffset, 8);
  const hlen = dv.getUint32(0, false);
  if (hlen === 0 || hlen > fileSize - 8) throw new CorruptionError(`${what}: invalid header length ${hlen}`);
  if (dv.getUint32(4, false) !== 0) throw new CorruptionError(`${what}: nonzero header padding`);
  return hlen;
}

/**
 * A whole archive `.filez` held in memory: its header and inflated payload,
 * checked for layout, a symlink's empty payload and the header's size (not
 * the checksum: callers word that mismatch as their tool does). Errors name
 * `what`.
 */
export function decodeArchiveObject(raw: Uint8Array, what: string): { header: FileHeader; data: Uint8Array } {
  const hlen = parseLenPrefix(raw, raw.length, what);
  const { header, size } = FileHeader.parseArchive(raw.subarray(8, 8 + hlen), what);
  const payload = raw.subarray(8 + hlen);
  if (header.isSymlink) {
    if (payload.length !== 0) throw new CorruptionError(`${what}: symlink with trailing data`);
    return { header, data: new Uint8Array(0) };
  }
  let data: Uint8Array;
  try {
    data = inflateRawSync(payload);
  } catch (e) {
    throw new CorruptionError(`${what}: ${(e as Error).message}`);
  }
  if (data.length !== size) throw new CorruptionError(`${what}: size ${data.length}, header says ${size}`);
  return { header, data };
}

/** The bare-user `user.ostreemeta` xattr value: `(uuua(ayay))` of the real metadata. */
export function serializeBareUserMeta(h: FileHeader): Uint8Array {
  return serialize('(uuua(ayay))', [bswap32(h.uid), bswap32(h.gid), bswap32(h.mode), h.xattrs as GValue]);
}

/** Ownership, mode and xattrs from `user.ostreemeta`; the caller adds the symlink target and validates. */
export function parseBareUserMeta(bytes: Uint8Array, what: string): { uid: number; gid: number; mode: number; xattrs: Xattrs } {
  const v = deserialize('(uuua(ayay))', bytes, { what, normal: false }) as [number, number, number, Xattrs];
  return { uid: bswap32(v[0]), gid: bswap32(v[1]), mode: bswap32(v[2]), xattrs: v[3] };
}
