import { deserialize, serialize, type GValue } from '../../gvariant/index.js';
import { CorruptionError, UnsafePathError } from '../../errors.js';
import { checksumFromBytes, checksumToBytes, sha256Hex, type Checksum } from '../checksum.js';

export interface DirTreeFile {
  name: string;
  checksum: Checksum;
}
export interface DirTreeDir {
  name: string;
  treeChecksum: Checksum;
  metaChecksum: Checksum;
}

/** strcmp order on UTF-8 bytes, which ostree uses to sort (and bsearch) dirtree entries. */
export function compareNames(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/** ot_util_filename_validate: what ostree accepts as one path component. */
/** ot_util_filename_validate, with its messages (plus: no empty names, no NUL). */
export function validateFilename(name: string): void {
  if (name === '') throw new UnsafePathError('Invalid empty filename');
  if (name === '.') throw new UnsafePathError("Invalid self-referential filename '.'");
  if (name === '..') throw new UnsafePathError("Invalid path uplink filename '..'");
  if (name.includes('/')) throw new UnsafePathError(`Invalid / in filename ${name}`);
  if (name.includes('\0')) throw new UnsafePathError(`Invalid NUL in filename ${name}`);
}

/** `.dirtree`: the names in a directory, `(a(say)a(sayay))`, each array strcmp-sorted. */
export class DirTree {
  constructor(
    readonly files: DirTreeFile[],
    readonly dirs: DirTreeDir[],
  ) {}

  /** Build from unsorted entries, sorting them as ostree does. */
  static from(files: DirTreeFile[], dirs: DirTreeDir[]): DirTree {
    return new DirTree([...files].sort((a, b) => compareNames(a.name, b.name)), [...dirs].sort((a, b) => compareNames(a.name, b.name)));
  }

  static parse(bytes: Uint8Array, what = 'dirtree'): DirTree {
    const v = deserialize('(a(say)a(sayay))', bytes, { what }) as [[string, Uint8Array][], [string, Uint8Array, Uint8Array][]];
    const files = v[0].map(([name, c]) => ({ name, checksum: checksumFromBytes(c, `${what} entry '${name}'`) }));
    const dirs = v[1].map(([name, t, m]) => ({
      name,
      treeChecksum: checksumFromBytes(t, `${what} entry '${name}'`),
      metaChecksum: checksumFromBytes(m, `${what} entry '${name}'`),
    }));
    const tree = new DirTree(files, dirs);
    tree.validate(what);
    return tree;
  }

  /** Names valid, arrays sorted, no duplicates (also across files and dirs). */
  validate(what = 'dirtree'): void {
    const seen = new Set<string>();
    const check = (list: { name: string }[]) => {
      for (let i = 0; i < list.length; i++) {
        const n = list[i]!.name;
        try {
          validateFilename(n);
        } catch (e) {
          throw new CorruptionError(`${what}: ${(e as Error).message}`);
        }
        if (i > 0 && compareNames(list[i - 1]!.name, n) >= 0) throw new CorruptionError(`${what}: entries not sorted or duplicated at '${n}'`);
        if (seen.has(n)) throw new CorruptionError(`${what}: '${n}' is both a file and a directory`);
        seen.add(n);
      }
    };
    check(this.files);
    check(this.dirs);
  }

  serialize(): Uint8Array {
    return serialize('(a(say)a(sayay))', [
      this.files.map((f) => [f.name, checksumToBytes(f.checksum)]) as GValue,
      this.dirs.map((d) => [d.name, checksumToBytes(d.treeChecksum), checksumToBytes(d.metaChecksum)]) as GValue,
    ]);
  }

  checksum(): Checksum {
    return sha256Hex(this.serialize());
  }

  findFile(name: string): DirTreeFile | undefined {
    return bsearch(this.files, name);
  }

  findDir(name: string): DirTreeDir | undefined {
    return bsearch(this.dirs, name);
  }
}

function bsearch<T extends { name: string }>(list: T[], name: string): T | undefined {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareNames(list[mid]!.name, name);
    if (c === 0) return list[mid];
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

/** The dirtree of an empty directory; its checksum is a well-known constant. */
export const EMPTY_DIRTREE = new DirTree([], []);
