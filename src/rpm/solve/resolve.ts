/**
 * Resolution entry point: turns a flattened treefile request (packages,
 * exclude-packages, repo-packages, recommends, arch, lockfile) plus loaded
 * repos into an install set, or a ResolveError with dnf-style problem text.
 */
import { CoreforgeError } from '../../errors.js';
import type { LoadedRepo } from '../repo/client.js';
import type { Package } from '../repo/package.js';
import { globToRegExp } from '../repo/source.js';
import { formatEVR } from '../version.js';
import { Pool } from './pool.js';
import { Solver, parseSpecDep, type SolveJob } from './solver.js';

export interface LockEntry {
  evra?: string;
  evr?: string;
  /** `sha256:<hex>` as rpm-ostree lockfiles write it. */
  digest?: string;
}

export interface Lock {
  packages: Map<string, LockEntry>;
}

export interface ResolveRequest {
  /** Names, provides, file paths, globs or `name >= ver` specs. */
  packages: string[];
  excludePackages: string[];
  repoPackages: { repo: string; packages: string[] }[];
  recommends: boolean;
  arch: string;
  lock?: Lock;
  lockStrict?: boolean;
  /**
   * Treefile `lockfile-repos`: only packages the lock names (at the locked
   * version) are visible from these repos, as rpm-ostree restricts them.
   */
  lockfileRepos?: string[];
}

export interface ResolveResult {
  /** Install set sorted by name, then arch. */
  packages: Package[];
}

export class ResolveError extends CoreforgeError {
  constructor(readonly problems: string[]) {
    super('EDEPSOLVE', `cannot resolve packages: ${problems.join('; ')}`);
  }
}

function lockMatches(p: Package, e: LockEntry): boolean {
  if (e.evra !== undefined) {
    const want = e.evra.replace(/^0:/, '');
    if (`${formatEVR(p.evr)}.${p.arch}` !== want) return false;
  }
  if (e.evr !== undefined && formatEVR(p.evr) !== e.evr.replace(/^0:/, '')) return false;
  if (e.digest !== undefined) {
    const [type, value] = e.digest.includes(':') ? e.digest.split(':', 2) : ['sha256', e.digest];
    if (p.checksum.type === type && p.checksum.value !== value) return false;
  }
  return true;
}

const ARCH_SUFFIX = /^(.*)\.([a-z0-9_]+)$/;

/** dnf-style package spec matching: name, glob, NEVRA forms, provides, then files. */
function jobFor(pool: Pool, spec: string): SolveJob | undefined {
  const dep = parseSpecDep(spec);
  if (dep) {
    const c = pool.whatProvides(dep);
    return c.length ? { spec, candidates: c } : undefined;
  }
  const byName = pool.byName.get(spec);
  let cands: Package[] | undefined = byName ? [...byName] : undefined;
  if (!cands && /[*?[]/.test(spec)) {
    const re = globToRegExp(spec);
    const names = [...pool.byName.keys()].filter((n) => re.test(n));
    if (names.length) cands = names.flatMap((n) => pool.byName.get(n)!);
  }
  if (!cands) {
    const m = ARCH_SUFFIX.exec(spec);
    const all = pool.packages.filter((p): p is Package => !!p);
    const hits = all.filter((p) => {
      const evr = formatEVR(p.evr);
      return (
        spec === `${p.name}-${p.version}` ||
        spec === `${p.name}-${p.version}-${p.release}` ||
        spec === `${p.name}-${evr}` ||
        (m && m[2] === p.arch && (m[1] === p.name || m[1] === `${p.name}-${evr}` || m[1] === `${p.name}-${p.version}-${p.release}`))
      );
    });
    if (hits.length) return { spec, candidates: hits };
  } else {
    // dnf adds packages that obsolete a plainly named package to the selection.
    const ids = new Set(cands.map((p) => p.id));
    for (const p of pool.obsoletersOf(spec)) {
      if (ids.has(p.id)) continue;
      if (p.obsoletes.some((d) => cands!.some((c) => c.name !== p.name && pool.matchNevr(c, d)))) (cands.push(p), ids.add(p.id));
    }
    return { spec, candidates: cands };
  }
  const prov = pool.whatProvides({ name: spec, flags: 0 });
  return prov.length ? { spec, candidates: prov } : undefined;
}

/** Resolve against packages already in memory (no filelists loading). Throws ResolveError. */
export function resolvePackages(all: Package[], req: ResolveRequest): ResolveResult {
  const r = tryResolve(all, req);
  if ('error' in r) throw r.error;
  return r;
}

function tryResolve(all: Package[], req: ResolveRequest): ResolveResult | { error: ResolveError; missingFiles: boolean } {
  const excl = req.excludePackages.map(globToRegExp);
  const pinnedRepo = new Map<string, string>();
  for (const rp of req.repoPackages) for (const n of rp.packages) pinnedRepo.set(n, rp.repo);
  const lockOnly = new Set(req.lockfileRepos ?? []);
  const base = all.filter((p) => {
    if (excl.some((r) => r.test(p.name))) return false;
    if (lockOnly.has(p.repo.id)) {
      const e = req.lock?.packages.get(p.name);
      if (!e || !lockMatches(p, e)) return false;
    }
    const repo = pinnedRepo.get(p.name);
    return repo === undefined || repo === p.repo.id;
  });
  const requested = [...req.packages, ...req.repoPackages.flatMap((rp) => rp.packages)];
  const lock = req.lock;
  const attempt = (pkgs: Package[]) => {
    const pool = new Pool(pkgs, req.arch);
    const jobs: SolveJob[] = [];
    const missing: string[] = [];
    for (const spec of requested) {
      const j = jobFor(pool, spec);
      if (j) jobs.push(j);
      else missing.push(`No match for argument: ${spec}`);
    }
    if (missing.length) return { ok: false as const, problems: missing, missingFiles: requested.some((x) => x.startsWith('/')) };
    const solver = new Solver(pool, jobs, { recommends: req.recommends });
    const r = solver.solve();
    if (r.ok) return { ok: true as const, install: r.install };
    return { ok: false as const, problems: r.problems, missingFiles: r.problems.some((x) => /^nothing provides \//.test(x)) };
  };
  const locked = (p: Package, strict: boolean) => {
    const e = lock!.packages.get(p.name);
    return e ? lockMatches(p, e) : !strict;
  };
  const r = attempt(lock ? base.filter((p) => locked(p, !!req.lockStrict)) : base);
  if (!r.ok && lock && req.lockStrict) {
    // Name the packages the lock is missing.
    const loose = attempt(base.filter((p) => locked(p, false)));
    if (loose.ok) {
      const extra = loose.install.filter((p) => !lock.packages.has(p.name)).map((p) => `package ${p.nevra} is not in the lockfile`);
      if (extra.length) return { error: new ResolveError(extra), missingFiles: false };
    }
  }
  if (!r.ok) return { error: new ResolveError(r.problems), missingFiles: r.missingFiles };
  const packages = [...r.install].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.arch < b.arch ? -1 : a.arch > b.arch ? 1 : 0));
  return { packages };
}

/**
 * Resolve against loaded repos. Filelists are loaded only when a file
 * dependency cannot be answered from primary's file subset.
 */
export async function resolve(repos: LoadedRepo[], req: ResolveRequest): Promise<ResolveResult> {
  const all = () => repos.flatMap((r) => r.packages);
  // Like dnf, answer file dependencies outside primary's file subset from filelists.
  const fileDeps = req.packages.some((s) => s.startsWith('/') && Pool.needsFilelists(s)) || repos.some((r) => r.fileDepsOutsidePrimary);
  if (fileDeps) await Promise.all(repos.map((r) => r.loadFilelists()));
  const first = tryResolve(all(), req);
  if (!('error' in first)) return first;
  if (!first.missingFiles || repos.every((r) => r.filelistsLoaded)) throw first.error;
  await Promise.all(repos.map((r) => r.loadFilelists()));
  return resolvePackages(all(), req);
}
