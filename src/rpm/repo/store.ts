/**
 * Compact on-disk snapshot of parsed primary metadata, used for warm loads.
 * Strings are stored once in a table; packages, dependencies and files are
 * Int32 columns. Decoding creates one small object per package; dependency
 * lists are materialised lazily, on first access, so a warm load allocates a
 * fraction of what re-parsing XML (or v8.deserialize) would.
 */
import type { Dep, DepKind, PackageData } from './package.js';
import { DEP_KINDS } from './package.js';
import type { EVR } from '../version.js';

const MAGIC = 0x43465334; // "CFS4"
// Per-package fixed columns.
const F_NAME = 0,
  F_ARCH = 1,
  F_EPOCH = 2,
  F_VER = 3,
  F_REL = 4,
  F_CKTYPE = 5,
  F_CKVAL = 6,
  F_SIZE = 7,
  F_ISIZE = 8,
  F_LOC = 9,
  F_LOCBASE = 10,
  F_SRPM = 11,
  F_FILES = 12, // offset, count
  F_DEPS = 14; // 8 kinds × (offset, count)
const NF = F_DEPS + 2 * DEP_KINDS.length;
const DW = 5; // dep: name, flags|pre<<8, epoch(-1), ver(-1), rel(-1)

/** primary only lists /etc/*, *bin/* and /usr/lib/sendmail; other paths need filelists. */
export function primaryHasFile(path: string): boolean {
  return path.startsWith('/etc/') || path.includes('bin/') || path === '/usr/lib/sendmail';
}

export function hasFileDepsOutsidePrimary(pkgs: Iterable<{ requires: Dep[] }>): boolean {
  for (const p of pkgs) for (const d of p.requires) if (d.name.charCodeAt(0) === 47 && !primaryHasFile(d.name)) return true;
  return false;
}

export function encodeStore(pkgs: PackageData[]): Buffer {
  // Sorted string table: ids are ranks, so names can be found by binary search without a Map.
  const set = new Set<string>();
  const add = (x: string | undefined) => {
    if (x !== undefined) set.add(x);
  };
  for (const p of pkgs) {
    add(p.name);
    add(p.arch);
    add(p.version);
    add(p.release);
    add(p.checksum.type);
    add(p.checksum.value);
    add(p.location);
    add(p.locationBase);
    add(p.sourcerpm);
    for (const f of p.files) add(f);
    for (const k of DEP_KINDS)
      for (const d of p[k]) {
        add(d.name);
        if (d.evr) {
          add(d.evr.version);
          add(d.evr.release);
        }
      }
  }
  const strings = [...set].sort();
  const ids = new Map<string, number>();
  strings.forEach((x, i) => ids.set(x, i));
  const sid = (x: string | undefined): number => (x === undefined ? -1 : ids.get(x)!);
  let ndeps = 0;
  let nfiles = 0;
  for (const p of pkgs) {
    for (const k of DEP_KINDS) ndeps += p[k].length;
    nfiles += p.files.length;
  }
  const P = new Int32Array(pkgs.length * NF);
  const D = new Int32Array(ndeps * DW);
  const FL = new Int32Array(nfiles);
  let di = 0;
  let fi = 0;
  pkgs.forEach((p, i) => {
    const o = i * NF;
    P[o + F_NAME] = sid(p.name);
    P[o + F_ARCH] = sid(p.arch);
    P[o + F_EPOCH] = p.epoch;
    P[o + F_VER] = sid(p.version);
    P[o + F_REL] = sid(p.release);
    P[o + F_CKTYPE] = sid(p.checksum.type);
    P[o + F_CKVAL] = sid(p.checksum.value);
    P[o + F_SIZE] = p.size;
    P[o + F_ISIZE] = Math.min(p.installedSize, 0x7fffffff);
    P[o + F_LOC] = sid(p.location);
    P[o + F_LOCBASE] = sid(p.locationBase);
    P[o + F_SRPM] = sid(p.sourcerpm);
    P[o + F_FILES] = fi;
    P[o + F_FILES + 1] = p.files.length;
    for (const f of p.files) FL[fi++] = sid(f);
    DEP_KINDS.forEach((k, ki) => {
      const l = p[k];
      P[o + F_DEPS + 2 * ki] = di;
      P[o + F_DEPS + 2 * ki + 1] = l.length;
      for (const d of l) {
        const b = di * DW;
        D[b] = sid(d.name);
        D[b + 1] = d.flags | (d.pre ? 256 : 0);
        D[b + 2] = d.evr?.epoch ?? -1;
        D[b + 3] = d.evr ? sid(d.evr.version) : -1;
        D[b + 4] = d.evr ? sid(d.evr.release) : -1;
        di++;
      }
    });
  });
  // Reverse indexes (like libsolv's whatprovides): provides and obsoletes by name, files by path.
  const NS = strings.length;
  const csr = (visit: (emit: (key: number, a: number, b: number) => void) => void, withB: boolean) => {
    const start = new Int32Array(NS + 1);
    visit((key) => start[key + 1]!++);
    for (let i = 0; i < NS; i++) start[i + 1]! += start[i]!;
    const fill = start.slice(0, NS);
    const A = new Int32Array(start[NS]!);
    const B = new Int32Array(withB ? start[NS]! : 0);
    visit((key, a, b) => {
      const at = fill[key]!++;
      A[at] = a;
      if (withB) B[at] = b;
    });
    return [start, A, B] as const;
  };
  const provKind = DEP_KINDS.indexOf('provides');
  const obsKind = DEP_KINDS.indexOf('obsoletes');
  const depsOf = (kind: number) => (emit: (key: number, a: number, b: number) => void) => {
    for (let i = 0; i < pkgs.length; i++) {
      const o = i * NF + F_DEPS + 2 * kind;
      for (let k = 0, st = P[o]!, n = P[o + 1]!; k < n; k++) emit(D[(st + k) * DW]!, i, st + k);
    }
  };
  const [provStart, provPkg, provDep] = csr(depsOf(provKind), true);
  const [obsStart, obsPkg] = csr(depsOf(obsKind), false);
  const [fileStart, filePkg] = csr((emit) => {
    for (let i = 0; i < pkgs.length; i++) {
      const o = i * NF + F_FILES;
      for (let k = 0, st = P[o]!, n = P[o + 1]!; k < n; k++) emit(FL[st + k]!, i, 0);
    }
  }, false);
  const sections = [P, D, FL, provStart, provPkg, provDep, obsStart, obsPkg, fileStart, filePkg];
  // XML cannot contain NUL, so it separates the strings (much faster to split than JSON.parse).
  const json = Buffer.from(strings.join('\0'));
  const pad = (4 - ((8 + json.length) % 4)) % 4;
  const head = Buffer.alloc(8);
  head.writeUInt32LE(MAGIC, 0);
  head.writeUInt32LE(json.length, 4);
  const counts = Buffer.alloc(4 * (2 + sections.length));
  counts.writeInt32LE(pkgs.length, 0);
  counts.writeInt32LE(hasFileDepsOutsidePrimary(pkgs) ? 1 : 0, 4);
  sections.forEach((sec, i) => counts.writeInt32LE(sec.length, 8 + 4 * i));
  return Buffer.concat([head, json, Buffer.alloc(pad), counts, ...sections.map((sec) => Buffer.from(sec.buffer, sec.byteOffset, sec.byteLength))]);
}

/** Shared decoded columns; packages point into them. */
export class StoreData {
  readonly evrCache = new Map<number, EVR>();
  fileDepsOutsidePrimary = false;
  /** Set once filelists replaced the packages' file lists: the file index is then stale. */
  filesReplaced = false;
  readonly P: Int32Array;
  readonly D: Int32Array;
  readonly FL: Int32Array;
  private readonly provStart: Int32Array;
  private readonly provPkg: Int32Array;
  private readonly provDep: Int32Array;
  private readonly obsStart: Int32Array;
  private readonly obsPkg: Int32Array;
  private readonly fileStart: Int32Array;
  private readonly filePkg: Int32Array;
  constructor(
    readonly strings: string[],
    sections: Int32Array[],
  ) {
    [this.P, this.D, this.FL, this.provStart, this.provPkg, this.provDep, this.obsStart, this.obsPkg, this.fileStart, this.filePkg] = sections as [
      Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array, Int32Array,
    ];
  }

  nameOf(i: number): string {
    return this.strings[this.P[i * NF + F_NAME]!]!;
  }

  /** Copy a package's scalar fields onto `p`. */
  readInto(p: PackageData, i: number): void {
    const S = this.strings;
    const P = this.P;
    const o = i * NF;
    p.name = S[P[o + F_NAME]!]!;
    p.arch = S[P[o + F_ARCH]!]!;
    p.epoch = P[o + F_EPOCH]!;
    p.version = S[P[o + F_VER]!]!;
    p.release = S[P[o + F_REL]!]!;
    p.checksum = { type: S[P[o + F_CKTYPE]!]!, value: S[P[o + F_CKVAL]!]! };
    p.size = P[o + F_SIZE]!;
    p.installedSize = P[o + F_ISIZE]!;
    p.location = S[P[o + F_LOC]!]!;
    if (P[o + F_LOCBASE]! >= 0) p.locationBase = S[P[o + F_LOCBASE]!];
    if (P[o + F_SRPM]! >= 0) p.sourcerpm = S[P[o + F_SRPM]!];
  }

  get packageCount(): number {
    return this.P.length / NF;
  }

  /** String id by binary search over the sorted table; -1 if absent. */
  lookup(s: string): number {
    const S = this.strings;
    let lo = 0;
    let hi = S.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = S[mid]!;
      if (v === s) return mid;
      if (v < s) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** Packages (store indexes) providing `name`, with the provide's flags and EVR. */
  eachProvider(name: string, cb: (pkg: number, flags: number, evr: EVR | undefined) => void): void {
    const id = this.lookup(name);
    if (id < 0) return;
    for (let k = this.provStart[id]!, e = this.provStart[id + 1]!; k < e; k++) {
      const b = this.provDep[k]! * DW;
      cb(this.provPkg[k]!, this.D[b + 1]! & 255, this.D[b + 3]! >= 0 ? this.evrAt(b) : undefined);
    }
  }

  /** Packages (store indexes) with an Obsoletes on `name`. */
  obsoleters(name: string): Int32Array {
    const id = this.lookup(name);
    if (id < 0) return new Int32Array(0);
    return this.obsPkg.subarray(this.obsStart[id]!, this.obsStart[id + 1]!);
  }

  /** Packages (store indexes) whose primary file list has `path`. */
  fileOwners(path: string): Int32Array {
    const id = this.lookup(path);
    if (id < 0) return new Int32Array(0);
    return this.filePkg.subarray(this.fileStart[id]!, this.fileStart[id + 1]!);
  }

  deps(pkg: number, kind: DepKind): Dep[] {
    const ki = DEP_KINDS.indexOf(kind);
    const o = pkg * NF + F_DEPS + 2 * ki;
    const start = this.P[o]!;
    const n = this.P[o + 1]!;
    const out: Dep[] = new Array(n);
    const S = this.strings;
    const D = this.D;
    for (let i = 0; i < n; i++) {
      const b = (start + i) * DW;
      const fl = D[b + 1]!;
      const dep: Dep = { name: S[D[b]!]!, flags: fl & 255 };
      if (fl & 256) dep.pre = true;
      if (D[b + 3]! >= 0) dep.evr = this.evrAt(b);
      out[i] = dep;
    }
    return out;
  }

  /** Visit one dependency list without materialising Dep objects. */
  eachDep(pkg: number, kind: DepKind, cb: (name: string, flags: number, evr: EVR | undefined) => void): void {
    const ki = DEP_KINDS.indexOf(kind);
    const o = pkg * NF + F_DEPS + 2 * ki;
    const start = this.P[o]!;
    const n = this.P[o + 1]!;
    const S = this.strings;
    const D = this.D;
    for (let i = 0; i < n; i++) {
      const b = (start + i) * DW;
      cb(S[D[b]!]!, D[b + 1]! & 255, D[b + 3]! >= 0 ? this.evrAt(b) : undefined);
    }
  }

  private evrAt(b: number): EVR {
    const D = this.D;
    const S = this.strings;
    const key = (D[b + 2]! + 1) * 0x100000000 + D[b + 3]! * 0x10000 + (D[b + 4]! + 1);
    let evr = Number.isSafeInteger(key) ? this.evrCache.get(key) : undefined;
    if (!evr) {
      evr = { version: S[D[b + 3]!]! };
      if (D[b + 2]! >= 0) evr.epoch = D[b + 2]!;
      if (D[b + 4]! >= 0) evr.release = S[D[b + 4]!]!;
      if (Number.isSafeInteger(key)) this.evrCache.set(key, evr);
    }
    return evr;
  }

  eachFile(pkg: number, cb: (path: string) => void): void {
    const o = pkg * NF + F_FILES;
    const start = this.P[o]!;
    const n = this.P[o + 1]!;
    for (let i = 0; i < n; i++) cb(this.strings[this.FL[start + i]!]!);
  }

  files(pkg: number): string[] {
    const o = pkg * NF + F_FILES;
    const start = this.P[o]!;
    const n = this.P[o + 1]!;
    const out: string[] = new Array(n);
    for (let i = 0; i < n; i++) out[i] = this.strings[this.FL[start + i]!]!;
    return out;
  }
}

/** A package's record in a store: fields are read by the Package constructor, deps lazily. */
export interface StoredPackage {
  store: StoreData;
  index: number;
}

export function decodeStore(buf: Buffer): StoreData | undefined {
  if (buf.length < 8 || buf.readUInt32LE(0) !== MAGIC) return undefined;
  const jlen = buf.readUInt32LE(4);
  const strings = jlen === 0 ? [] : buf.toString('utf8', 8, 8 + jlen).split('\0');
  let off = 8 + jlen;
  off += (4 - (off % 4)) % 4;
  const fileDeps = buf.readInt32LE(off + 4) === 1;
  const NSEC = 10;
  const lens: number[] = [];
  for (let i = 0; i < NSEC; i++) lens.push(buf.readInt32LE(off + 8 + 4 * i));
  off += 8 + 4 * NSEC;
  // One aligned copy of all sections (the file Buffer may not be 4-byte aligned).
  const total = lens.reduce((x, y) => x + y, 0);
  const all = new Int32Array(total);
  Buffer.from(all.buffer).set(buf.subarray(off, off + total * 4));
  const sections: Int32Array[] = [];
  let at = 0;
  for (const l of lens) {
    sections.push(all.subarray(at, at + l));
    at += l;
  }
  const store = new StoreData(strings, sections);
  store.fileDepsOutsidePrimary = fileDeps;
  return store;
}
