/**
 * Pool: every installable package for one target arch, indexed for
 * whatprovides lookups (provides by name, files by path) the way libsolv's
 * pool does.
 */
import type { Dep, Package } from '../repo/package.js';
import { rangesOverlap, compareEVR, REL_EQ, type EVR } from '../version.js';
import { isRich } from './rich.js';
import type { StoreData } from '../repo/store.js';

/**
 * Arch policy strings from libsolv's poolarch.c: `:` starts a new colour
 * (different word size, may be co-installed), `>` a lower-preference arch of
 * the same colour.
 */
const ARCH_POLICIES: Record<string, string> = {
  x86_64: 'x86_64:i686:i586:i486:i386',
  i686: 'i686:i586:i486:i386',
  aarch64: 'aarch64',
  ppc64le: 'ppc64le',
  s390x: 's390x',
  riscv64: 'riscv64',
  armv7hl: 'armv7hl>armv7l>armv6hl>armv6l>armv5tejl>armv5tel>armv5tl>armv4tl>armv4l>armv3l',
};

/** Arch scores as libsolv computes them: 0 = not installable, 1 = noarch. */
export function archScores(arch: string): Map<string, number> {
  const m = new Map<string, number>([['noarch', 1]]);
  const policy = ARCH_POLICIES[arch] ?? arch;
  let score = 0x10001;
  let sep = '';
  for (const tok of policy.split(/([:>=])/)) {
    if (tok === ':' || tok === '>' || tok === '=') {
      sep = tok;
      continue;
    }
    if (!m.has(tok)) {
      if (sep === ':') score += 0x10000;
      else if (sep === '>') score += 1;
      m.set(tok, score);
    }
  }
  return m;
}

export class Pool {
  /** Index = package id; slot 0 unused so ids can be SAT variables. */
  readonly packages: (Package | undefined)[] = [undefined];
  readonly byName = new Map<string, Package[]>();
  // Provides index as linked lists in flat arrays: few objects for ~10^6 entries.
  private readonly provHead = new Map<string, number>();
  private provNext = new Int32Array(1 << 16);
  private provPkg = new Int32Array(1 << 16);
  private provFlags = new Uint8Array(1 << 16);
  private readonly provEvr: (EVR | undefined)[] = [];
  private provCount = 0;
  private fileIndex: Map<string, Package[]> | undefined;
  /** Warm-cache stores with their prebuilt reverse indexes; map: store index -> pool id (0 = not in pool). */
  private readonly stores: { store: StoreData; map: Int32Array }[] = [];
  private readonly cache = new Map<string, Package[]>();
  readonly scores: Map<string, number>;

  constructor(
    pkgs: Iterable<Package>,
    readonly arch: string,
  ) {
    this.scores = archScores(arch);
    for (const p of pkgs) {
      if (!this.scores.has(p.arch)) continue;
      p.id = this.packages.length;
      this.packages.push(p);
      let l = this.byName.get(p.name);
      if (!l) this.byName.set(p.name, (l = []));
      l.push(p);
      const id = p.id;
      if (p.src) {
        const st = p.src.store;
        let e = this.stores.find((x) => x.store === st);
        if (!e) this.stores.push((e = { store: st, map: new Int32Array(st.packageCount) }));
        e.map[p.src.index] = id;
      } else p.eachProvide((name, flags, evr) => this.addProvide(name, id, flags, evr));
    }
  }

  private addProvide(name: string, pkg: number, flags: number, evr: EVR | undefined): void {
    const i = this.provCount++;
    if (i >= this.provPkg.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T): T => {
        const b = new (a.constructor as new (n: number) => T)(a.length * 2);
        b.set(a);
        return b;
      };
      this.provNext = grow(this.provNext);
      this.provPkg = grow(this.provPkg);
      this.provFlags = grow(this.provFlags);
    }
    this.provPkg[i] = pkg;
    this.provFlags[i] = flags;
    this.provEvr.push(evr); // kept dense: holes would put the array in dictionary mode
    const head = this.provHead.get(name);
    this.provNext[i] = head === undefined ? -1 : head;
    this.provHead.set(name, i);
  }

  get size(): number {
    return this.packages.length - 1;
  }

  archScore(arch: string): number {
    return this.scores.get(arch) ?? 0;
  }

  /** libsolv arch colour: noarch matches everything; otherwise same high word. */
  colorMatch(a: Package, b: Package): boolean {
    if (a.arch === b.arch) return true;
    const sa = this.archScore(a.arch);
    const sb = this.archScore(b.arch);
    if (sa === 1 || sb === 1) return true;
    return ((sa ^ sb) & 0xffff0000) === 0;
  }

  private files(): Map<string, Package[]> {
    if (!this.fileIndex) {
      const m = new Map<string, Package[]>();
      for (let i = 1; i < this.packages.length; i++) {
        const p = this.packages[i]!;
        if (p.src && !p.src.store.filesReplaced) continue;
        p.eachFile((f) => {
          let l = m.get(f);
          if (!l) m.set(f, (l = []));
          l.push(p);
        });
      }
      this.fileIndex = m;
    }
    return this.fileIndex;
  }

  /** Drop the file index (after filelists were loaded into packages). */
  invalidateFiles(): void {
    this.fileIndex = undefined;
    for (const k of this.cache.keys()) if (k.startsWith('/')) this.cache.delete(k);
  }

  /** Packages that satisfy a simple (non-rich) dependency, in pool order. */
  whatProvides(dep: Dep): Package[] {
    const key = dep.flags && dep.evr ? `${dep.name}\0${dep.flags}\0${dep.evr.epoch ?? ''}:${dep.evr.version}-${dep.evr.release ?? ''}` : dep.name;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const out: Package[] = [];
    const seen = new Set<number>();
    for (let i = this.provHead.get(dep.name) ?? -1; i >= 0; i = this.provNext[i]!) {
      const id = this.provPkg[i]!;
      if (seen.has(id)) continue;
      if (rangesOverlap(this.provFlags[i]!, this.provEvr[i], dep.flags, dep.evr)) {
        seen.add(id);
        out.push(this.packages[id]!);
      }
    }
    for (const { store, map } of this.stores) {
      store.eachProvider(dep.name, (pi, flags, evr) => {
        const id = map[pi]!;
        if (id > 0 && !seen.has(id) && rangesOverlap(flags, evr, dep.flags, dep.evr)) {
          seen.add(id);
          out.push(this.packages[id]!);
        }
      });
    }
    if (dep.name.charCodeAt(0) === 47 /* / */ && !dep.flags) {
      for (const p of this.files().get(dep.name) ?? []) if (!seen.has(p.id)) (seen.add(p.id), out.push(p));
      for (const { store, map } of this.stores) {
        if (store.filesReplaced) continue;
        for (const pi of store.fileOwners(dep.name)) {
          const id = map[pi]!;
          if (id > 0 && !seen.has(id)) (seen.add(id), out.push(this.packages[id]!));
        }
      }
    }
    out.sort((a, b) => a.id - b.id);
    this.cache.set(key, out);
    return out;
  }

  private obsIndex: Map<string, Package[]> | undefined;
  /** Packages with an Obsoletes on `name`. */
  obsoletersOf(name: string): Package[] {
    if (!this.obsIndex) {
      const m = new Map<string, Package[]>();
      for (const p of this.packages) {
        if (!p || p.src) continue;
        for (const d of p.obsoletes) {
          let l = m.get(d.name);
          if (!l) m.set(d.name, (l = []));
          l.push(p);
        }
      }
      this.obsIndex = m;
    }
    const out = [...(this.obsIndex.get(name) ?? [])];
    for (const { store, map } of this.stores) for (const pi of store.obsoleters(name)) if (map[pi]! > 0) out.push(this.packages[map[pi]!]!);
    return out;
  }

  /** Obsoletes match package name and EVR, not provides (dnf's default). */
  matchNevr(p: Package, dep: Dep): boolean {
    if (p.name !== dep.name) return false;
    if (!dep.flags || !dep.evr) return true;
    return rangesOverlap(REL_EQ, p.evr, dep.flags, dep.evr);
  }

  /** Whether a file dependency could need filelists (primary lacks the path). */
  static needsFilelists(path: string): boolean {
    return !(path.startsWith('/etc/') || path.includes('bin/') || path === '/usr/lib/sendmail');
  }

  isRichName(name: string): boolean {
    return isRich(name);
  }

  compare(a: Package, b: Package): number {
    return compareEVR(a.evr, b.evr);
  }
}
