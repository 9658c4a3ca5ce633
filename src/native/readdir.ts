import { statfsSync } from 'node:fs';
import { native } from './index.js';

/** d_type values (dirent.h). */
export const DT_DIR = 4;
export const DT_REG = 8;
export const DT_LNK = 10;
/** Set in a kind when the name is not UTF-8 (the name is then its bytes as latin1). */
export const NOT_UTF8 = 0x80;

export interface DirEntries {
  names: string[];
  /** d_type per entry, | NOT_UTF8 for a name that is not UTF-8. */
  kinds: Uint8Array;
  /** d_ino per entry. */
  inos: Float64Array;
}

/** A directory's entries with their d_type and d_ino (getdents), without an lstat each. */
export function readDirEntries(path: string): DirEntries {
  const [names, kinds, inos] = native().readdirIno(path);
  return { names: typeof names === 'string' ? (kinds.length === 0 ? [] : names.split('\0')) : names, kinds, inos };
}

/** statfs f_type of the file systems whose getdents d_ino is the inode's st_ino (ext4/ext2/ext3, xfs, btrfs, tmpfs). */
const INO_EXACT = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994]);

/** Whether readDirEntries' inos under `path` are st_ino (not so on overlayfs, for one). */
export function direntInoIsStIno(path: string): boolean {
  try {
    return INO_EXACT.has(Number(statfsSync(path).type));
  } catch {
    return false;
  }
}
