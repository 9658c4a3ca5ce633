import { join } from 'node:path';
import { ConfigRepo } from '../config/configrepo.js';
import { formatLockfile } from '../config/lockfile.js';
import { loadRepos, type RepoSource } from '../rpm/repo/index.js';
import { resolve as resolvePackages, type Lock } from '../rpm/solve/index.js';
import { fetchPackages } from '../rpm/download/index.js';
import type { Package } from '../rpm/repo/index.js';
import { writeFileAtomic } from '../util/fs.js';
import { readFile, rm } from 'node:fs/promises';
import { InvalidInputError } from '../errors.js';
import { verifyRpm } from '../rpm/file/index.js';
import { PgpKeyring } from '../rpm/pgp/index.js';

export interface FetchRunOptions {
  configDir: string;
  buildDir: string;
  arch: string;
  /** Resolve afresh (ignoring the lockfile) and write manifest-lock.$arch.json. */
  updateLockfile?: boolean;
  onProgress?: (ev: { phase: 'metadata' | 'resolve' | 'download'; done?: number; total?: number; name?: string }) => void;
}

export interface FetchRunResult {
  packages: Package[];
  /** NEVRA → the RPM file in cache/pkgs. */
  paths: Map<string, string>;
  downloaded: number;
  cached: number;
  lockfileWritten?: string;
}

/**
 * cosa fetch: load the config's repos (metadata cached in cache/repomd),
 * resolve the manifest's packages — pinned by the lockfiles, strictly, as
 * cosa runs rpm-ostree — and download every RPM into the content-addressed
 * cache (cache/pkgs). With updateLockfile the lock is ignored and rewritten.
 */
export async function fetchForBuild(o: FetchRunOptions): Promise<FetchRunResult> {
  const config = ConfigRepo.load(o.configDir, { arch: o.arch });
  const tf = config.manifest.treefile;
  // cosa fetch --update-lockfile feeds rpm-ostree only the override lockfiles (not the base lock it replaces), relaxed.
  const baseLock = new RegExp(`(^|/)manifest-lock\\.${o.arch}\\.(json|yaml)$`);
  const entries = [...config.lockfile.packages].filter(([, e]) => !o.updateLockfile || !baseLock.test(e.source));
  const lock: Lock | undefined = entries.length > 0 ? { packages: new Map(entries.map(([n, e]) => [n, { ...(e.evra ? { evra: e.evra } : {}), ...(e.evr ? { evr: e.evr } : {}), ...(e.digest ? { digest: e.digest } : {}) }])) } : undefined;
  // The compose enables exactly the repos the treefile names, whatever the .repo file says;
  // lockfile-repos only when a lockfile is in use (rpm-ostree).
  const sources: RepoSource[] = config.repos.filter((r) => !r.lockfileRepo || lock).map((r) => ({ ...r, enabled: true }));
  o.onProgress?.({ phase: 'metadata' });
  const repos = await loadRepos(sources, { cacheDir: join(o.buildDir, 'cache', 'repomd') });
  o.onProgress?.({ phase: 'resolve' });
  const lockfileRepos = config.repos.filter((r) => r.lockfileRepo).map((r) => r.id);
  const result = await resolvePackages(repos, {
    packages: tf.packages ?? [],
    excludePackages: tf['exclude-packages'] ?? [],
    repoPackages: (tf['repo-packages'] ?? []).map((rp) => ({ repo: rp.repo, packages: rp.packages })),
    recommends: tf.recommends ?? true,
    arch: o.arch,
    // Strict only against a base lock: override files alone pin just what they name.
    ...(lock ? { lock, lockStrict: !o.updateLockfile && config.lockfile.files.some((f) => baseLock.test(f)) } : {}),
    ...(lockfileRepos.length ? { lockfileRepos } : {}),
  });
  const pkgs = result.packages;
  const fr = await fetchPackages(pkgs, {
    cacheDir: join(o.buildDir, 'cache', 'pkgs'),
    onProgress: (ev) => o.onProgress?.({ phase: 'download', done: ev.done, total: ev.total, name: ev.pkg.name }),
  });
  await verifyDownloaded(fr.downloaded, fr.paths, config.repos);
  const out: FetchRunResult = { packages: pkgs, paths: fr.paths, downloaded: fr.downloaded.length, cached: fr.cached.length };
  if (o.updateLockfile) {
    const path = join(o.configDir, `manifest-lock.${o.arch}.json`);
    const text = formatLockfile({
      packages: pkgs.map((p: Package) => ({
        name: p.name,
        evr: `${p.evr.epoch ? `${p.evr.epoch}:` : ''}${p.evr.version}-${p.evr.release ?? ''}`,
        arch: p.arch,
        ...(p.sourcerpm ? { sourcerpm: p.sourcerpm } : {}),
      })),
      // cosa strips the digests rpm-ostree writes (strip_out_lockfile_digests)
      stripDigests: true,
      // rpm-ostree records each repo's repomd revision (a timestamp) as "generated"
      repos: repos.map((r) => ({ id: r.source.id, generated: new Date(Number(r.repomd?.revision ?? Math.floor(Date.now() / 1000)) * 1000) })),
    });
    await writeFileAtomic(path, text);
    out.lockfileWritten = path;
  }
  return out;
}

/**
 * Check what was just downloaded beyond the repodata checksum: the RPM's own
 * header and payload digests, and its OpenPGP signature against the repo's
 * gpgkey when gpgcheck is on. A package that fails is removed from the cache.
 */
async function verifyDownloaded(pkgs: Package[], paths: Map<string, string>, repos: ConfigRepo['repos']): Promise<void> {
  const keyrings = new Map<string, PgpKeyring | null>();
  // Check every file before failing: a package left unchecked would count as cached next run.
  let first: unknown;
  for (const p of pkgs) {
    const repo = repos.find((r) => r.id === p.repo.id);
    const path = paths.get(p.nevra);
    if (!path) continue;
    try {
      let keyring: PgpKeyring | undefined;
      if (repo?.gpgcheck) {
        if (!keyrings.has(repo.id)) keyrings.set(repo.id, await loadKeyring(repo));
        keyring = keyrings.get(repo.id) ?? undefined;
      }
      await verifyRpm(path, { label: p.nevra, ...(keyring ? { keyring, requireSignature: true } : {}) });
    } catch (e) {
      await rm(path, { force: true });
      first ??= e;
    }
  }
  if (first) throw first;
}

async function loadKeyring(repo: ConfigRepo['repos'][number]): Promise<PgpKeyring> {
  const texts: string[] = [];
  for (const k of repo.gpgkey) {
    if (/^https?:/.test(k)) throw new InvalidInputError(`repo ${repo.id}: gpgkey ${k}: only keys shipped in the config (file paths) are supported; download it into the config`);
    texts.push(await readFile(k.replace(/^file:\/\//, ''), 'utf8').catch(() => {
      throw new InvalidInputError(`repo ${repo.id}: gpgkey ${k} does not exist`);
    }));
  }
  if (texts.length === 0) throw new InvalidInputError(`repo ${repo.id}: gpgcheck=1 but no gpgkey is configured`);
  return PgpKeyring.fromArmored(texts.join('\n'));
}
