import { deserialize, serialize, type GValue } from '../../gvariant/index.js';
import { CorruptionError } from '../../errors.js';
import { sha256Hex, type Checksum } from '../checksum.js';
import { bswap32 } from './endian.js';
import type { Xattrs } from './xattrs.js';

export const S_IFMT = 0o170000;
export const S_IFDIR = 0o040000;
export const S_IFREG = 0o100000;
export const S_IFLNK = 0o120000;

/** `.dirmeta`: ownership, mode and xattrs of a directory, `(uuua(ayay))`. */
export class DirMeta {
  constructor(
    readonly uid: number,
    readonly gid: number,
    /** Full mode including S_IFDIR. */
    readonly mode: number,
    readonly xattrs: Xattrs,
  ) {}

  static parse(bytes: Uint8Array, what = 'dirmeta'): DirMeta {
    const v = deserialize('(uuua(ayay))', bytes, { what }) as [number, number, number, Xattrs];
    const m = new DirMeta(bswap32(v[0]), bswap32(v[1]), bswap32(v[2]), v[3]);
    m.validate(what);
    return m;
  }

  validate(what = 'dirmeta'): void {
    if ((this.mode & S_IFMT) !== S_IFDIR) throw new CorruptionError(`${what}: mode 0${this.mode.toString(8)} is not a directory`);
    if (this.mode & ~(S_IFMT | 0o7777)) throw new CorruptionError(`${what}: invalid mode bits 0${this.mode.toString(8)}`);
  }

  serialize(): Uint8Array {
    return serialize('(uuua(ayay))', [bswap32(this.uid), bswap32(this.gid), bswap32(this.mode), this.xattrs as GValue]);
  }

  checksum(): Checksum {
    return sha256Hex(this.serialize());
  }
}
