import { dictGet, type Variant, type VarDict } from '../gvariant/index.js';
import { InvalidInputError } from '../errors.js';
import { compareEVR, parseEVR } from '../rpm/version.js';

/**
 * Package-set differences as `rpm-ostree db diff` computes them
 * (rpmostree-package.c _rpm_ostree_diff_package_lists) and as cosa stores them in
 * meta.json `pkgdiff` (rpmostree-package-variants.cxx: `a(sua{sv})` through json-glib).
 */

/** One package as rpm-ostree's `rpmostree.rpmdb.pkglist` entry `(name, epoch, version, release, arch)`. */
export interface PkgNevra {
  name: string;
  /** '0' or absent = no epoch (libdnf convention). */
  epoch?: string | number;
  version: string;
  release: string;
  arch: string;
}

/** RpmOstreePackageDiffTypes. */
export const PkgDiffType = { Added: 0, Removed: 1, Upgraded: 2, Downgraded: 3 } as const;
export type PkgDiffTypeCode = (typeof PkgDiffType)[keyof typeof PkgDiffType];

/** `[name, evr, arch]` as rpm-ostree's package_variant_new `(sss)`. */
export type PkgTriple = [name: string, evr: string, arch: string];
/** One meta.json `pkgdiff` entry: `[name, type, {PreviousPackage?, NewPackage?}]`. */
export type PkgDiffEntry = [name: string, type: PkgDiffTypeCode, details: { PreviousPackage?: PkgTriple; NewPackage?: PkgTriple }];

export interface PkgDiff {
  removed: PkgNevra[];
  added: PkgNevra[];
  /** Pairs [old, new] with the same name whose EVR (or single-package arch) changed, upgrades and downgrades. */
  modified: Array<[PkgNevra, PkgNevra]>;
}

/** `[epoch:]version-release`, epoch omitted when 0 (rpm-ostree's evr). */
export function pkgEvr(p: PkgNevra): string {
  const e = p.epoch === undefined ? '0' : String(p.epoch);
  return e === '0' || e === '' ? `${p.version}-${p.release}` : `${e}:${p.version}-${p.release}`;
}

export function pkgNevraString(p: PkgNevra): string {
  return `${p.name}-${pkgEvr(p)}.${p.arch}`;
}

function evrCmp(a: PkgNevra, b: PkgNevra): number {
  return compareEVR(parseEVR(pkgEvr(a)), parseEVR(pkgEvr(b)));
}

const strcmp = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** rpm_ostree_package_cmp: name, then EVR, then arch. */
export function comparePkgs(a: PkgNevra, b: PkgNevra): number {
  return strcmp(a.name, b.name) || evrCmp(a, b) || strcmp(a.arch, b.arch);
}

/** Parse `name-[epoch:]version-release.arch`. */
export function parseNevra(s: string): PkgNevra {
  const dot = s.lastIndexOf('.');
  const relDash = s.lastIndexOf('-', dot);
  const verDash = s.lastIndexOf('-', relDash - 1);
  if (dot <= 0 || relDash <= 0 || verDash <= 0 || relDash >= dot - 1) throw new InvalidInputError(`'${s}' is not a NEVRA (name-[epoch:]version-release.arch)`);
  const name = s.slice(0, verDash);
  let ver = s.slice(verDash + 1, relDash);
  let epoch = '0';
  const colon = ver.indexOf(':');
  if (colon >= 0) {
    epoch = ver.slice(0, colon);
    ver = ver.slice(colon + 1);
  }
  if (!/^\d+$/.test(epoch) || ver === '') throw new InvalidInputError(`'${s}' is not a NEVRA (name-[epoch:]version-release.arch)`);
  return { name, epoch, version: ver, release: s.slice(relDash + 1, dot), arch: s.slice(dot + 1) };
}

/** The package list a commit records in `rpmostree.rpmdb.pkglist` (a(sssss)); null if it has none. */
export function pkglistFromCommitMeta(meta: VarDict): PkgNevra[] | null {
  const v: Variant | undefined = dictGet(meta, 'rpmostree.rpmdb.pkglist');
  if (!v) return null;
  if (v.typeString !== 'a(sssss)') throw new InvalidInputError(`commit metadata rpmostree.rpmdb.pkglist: expected type a(sssss), got ${v.typeString}`);
  return (v.value as Array<[string, string, string, string, string]>).map(([name, epoch, version, release, arch]) => ({ name, epoch, version, release, arch }));
}

function sortPkgs(l: readonly PkgNevra[]): PkgNevra[] {
  return [...l].sort((a, b) => strcmp(a.name, b.name) || strcmp(a.arch, b.arch) || evrCmp(a, b));
}

/**
 * Diff two package lists. Same name+arch with another EVR is modified; a package that is the
 * only one of its name on both sides and changed arch is modified too (as yum/dnf report it);
 * multilib sets that change are reported as separate removals and additions.
 */
export function diffPackages(from: readonly PkgNevra[], to: readonly PkgNevra[]): PkgDiff {
  const a = sortPkgs(from);
  const b = sortPkgs(to);
  const out: PkgDiff = { removed: [], added: [], modified: [] };
  const single = (l: PkgNevra[], i: number) => i + 1 >= l.length || l[i + 1]!.name !== l[i]!.name;
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const pa = a[i]!;
    const pb = b[j]!;
    const c = strcmp(pa.name, pb.name);
    if (c < 0) {
      out.removed.push(pa);
      i++;
    } else if (c > 0) {
      out.added.push(pb);
      j++;
    } else {
      const ac = strcmp(pa.arch, pb.arch);
      if (ac === 0) {
        if (evrCmp(pa, pb) !== 0) out.modified.push([pa, pb]);
        i++;
        j++;
      } else if (single(a, i) && single(b, j)) {
        out.modified.push([pa, pb]);
        i++;
        j++;
      } else if (ac < 0) {
        out.removed.push(pa);
        i++;
      } else {
        out.added.push(pb);
        j++;
      }
    }
  }
  for (; i < a.length; i++) out.removed.push(a[i]!);
  for (; j < b.length; j++) out.added.push(b[j]!);
  return out;
}

const triple = (p: PkgNevra): PkgTriple => [p.name, pkgEvr(p), p.arch];

/** meta.json `pkgdiff`: entries sorted by type, then name (rpm_ostree_db_diff_variant). */
export function pkgdiffJson(d: PkgDiff): PkgDiffEntry[] {
  const found: PkgDiffEntry[] = [];
  for (const [o, n] of d.modified) {
    found.push([o.name, comparePkgs(o, n) > 0 ? PkgDiffType.Downgraded : PkgDiffType.Upgraded, { PreviousPackage: triple(o), NewPackage: triple(n) }]);
  }
  for (const p of d.removed) found.push([p.name, PkgDiffType.Removed, { PreviousPackage: triple(p) }]);
  for (const p of d.added) found.push([p.name, PkgDiffType.Added, { NewPackage: triple(p) }]);
  // g_ptr_array_sort is a stable merge sort
  return found.sort((x, y) => x[1] - y[1] || strcmp(x[0], y[0]));
}

export interface PkgDiffCounts {
  upgraded: number;
  downgraded: number;
  removed: number;
  added: number;
}

export function pkgdiffCounts(d: PkgDiff): PkgDiffCounts {
  const down = d.modified.filter(([o, n]) => comparePkgs(o, n) > 0).length;
  return { upgraded: d.modified.length - down, downgraded: down, removed: d.removed.length, added: d.added.length };
}

/** `3 upgraded, 1 added` (rpmostree_generate_diff_summary); '' when nothing changed. */
export function pkgdiffSummary(d: PkgDiff): string {
  const c = pkgdiffCounts(d);
  return (['upgraded', 'downgraded', 'removed', 'added'] as const)
    .filter((k) => c[k] > 0)
    .map((k) => `${c[k]} ${k}`)
    .join(', ');
}

/**
 * `rpm-ostree db diff` block output (RPMOSTREE_DIFF_PRINT_FORMAT_FULL_MULTILINE): Upgraded,
 * Downgraded (name old -> new), Removed, Added (NEVRA), each under its heading.
 */
export function formatPkgDiff(d: PkgDiff): string {
  let s = '';
  const up = d.modified.filter(([o, n]) => comparePkgs(o, n) <= 0);
  const down = d.modified.filter(([o, n]) => comparePkgs(o, n) > 0);
  if (up.length) s += 'Upgraded:\n' + up.map(([o, n]) => `  ${o.name} ${pkgEvr(o)} -> ${pkgEvr(n)}\n`).join('');
  if (down.length) s += 'Downgraded:\n' + down.map(([o, n]) => `  ${o.name} ${pkgEvr(o)} -> ${pkgEvr(n)}\n`).join('');
  if (d.removed.length) s += 'Removed:\n' + d.removed.map((p) => `  ${pkgNevraString(p)}\n`).join('');
  if (d.added.length) s += 'Added:\n' + d.added.map((p) => `  ${pkgNevraString(p)}\n`).join('');
  return s;
}

/** Back from meta.json `pkgdiff` (e.g. a previous build's) to a PkgDiff. */
export function pkgdiffFromJson(entries: unknown, what = 'pkgdiff'): PkgDiff {
  if (!Array.isArray(entries)) throw new InvalidInputError(`${what}: expected an array`);
  const out: PkgDiff = { removed: [], added: [], modified: [] };
  const fromTriple = (t: unknown): PkgNevra => {
    if (!Array.isArray(t) || t.length !== 3 || !t.every((x) => typeof x === 'string')) throw new InvalidInputError(`${what}: expected [name, evr, arch]`);
    const evr = parseEVR(t[1] as string);
    return { name: t[0] as string, epoch: String(evr.epoch ?? 0), version: evr.version, release: evr.release ?? '', arch: t[2] as string };
  };
  for (const e of entries) {
    if (!Array.isArray(e) || e.length !== 3 || typeof e[0] !== 'string' || typeof e[1] !== 'number' || typeof e[2] !== 'object' || e[2] === null) {
      throw new InvalidInputError(`${what}: expected [name, type, {PreviousPackage?, NewPackage?}] entries`);
    }
    const det = e[2] as { PreviousPackage?: unknown; NewPackage?: unknown };
    if (e[1] === PkgDiffType.Added) out.added.push(fromTriple(det.NewPackage));
    else if (e[1] === PkgDiffType.Removed) out.removed.push(fromTriple(det.PreviousPackage));
    else if (e[1] === PkgDiffType.Upgraded || e[1] === PkgDiffType.Downgraded) out.modified.push([fromTriple(det.PreviousPackage), fromTriple(det.NewPackage)]);
    else throw new InvalidInputError(`${what}: unknown diff type ${String(e[1])}`);
  }
  return out;
}
