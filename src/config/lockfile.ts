import { join } from 'node:path';
import { ConfigError } from './errors.js';
import { configEntryExists } from './links.js';
import { SourceDoc, typeName } from './source.js';

/** One locked package (rpm-ostree lockfile.rs LockedPackage). Exactly one of evra/evr. */
export interface LockedPackage {
  /** `[E:]V-R.ARCH` */
  evra?: string;
  /** `[E:]V-R`, any arch */
  evr?: string;
  /** `<algo>:<hex>` of the package checksum in the repodata */
  digest?: string;
  /** Free-form (sourcerpm; for overrides type/bodhi/reason). */
  metadata?: Record<string, unknown>;
  /** Lockfile the winning entry came from. */
  source: string;
}

export interface LockfileMetadata {
  generated?: string;
  rpmmd_repos?: Record<string, { generated: string }>;
}

export interface Lockfile {
  packages: Map<string, LockedPackage>;
  metadata?: LockfileMetadata;
  /** Files merged, in order. */
  files: string[];
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Parse one lockfile (YAML or JSON by name). Top level and metadata are strict, as in rpm-ostree. */
export function parseLockfile(file: string): { packages: Map<string, LockedPackage>; metadata?: LockfileMetadata } {
  const doc: SourceDoc = SourceDoc.read(file, 'lockfile');
  const v = doc.value;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) doc.fail([], `a lockfile must be a mapping, found ${typeName(v)}`);
  const top = v as Record<string, unknown>;
  for (const k of Object.keys(top)) if (k !== 'packages' && k !== 'metadata') doc.fail([k], `unknown key '${k}' (expected packages, metadata)`, 'key');
  if (top.packages === undefined || top.packages === null) throw new ConfigError(`${file}: Key 'packages' not found`);
  const pk = top.packages;
  const packages = new Map<string, LockedPackage>();
  {
    if (typeof pk !== 'object' || Array.isArray(pk)) doc.fail(['packages'], `expected a mapping of package name to {evra|evr, digest?}, found ${typeName(pk)}`);
    for (const [name, e] of Object.entries(pk as Record<string, unknown>)) {
      const at = ['packages', name];
      if (e === null || typeof e !== 'object' || Array.isArray(e)) doc.fail(at, `expected {evra|evr, digest?, metadata?}, found ${typeName(e)}`);
      const m = e as Record<string, unknown>;
      const out: LockedPackage = { source: file };
      for (const [k, x] of Object.entries(m)) {
        // Optional fields (digest, metadata) may be null, as serde reads None.
        if (x === null && (k === 'digest' || k === 'metadata')) continue;
        if (k === 'evra' || k === 'evr' || k === 'digest') {
          if (typeof x !== 'string') doc.fail([...at, k], `expected a string, found ${typeName(x)}`);
          out[k] = x;
        } else if (k === 'metadata') {
          if (x === null || typeof x !== 'object' || Array.isArray(x)) doc.fail([...at, k], `expected a mapping, found ${typeName(x)}`);
          out.metadata = x as Record<string, unknown>;
        } else doc.fail([...at, k], `unknown key '${k}' (expected evra, evr, digest, metadata)`, 'key');
      }
      if ((out.evra === undefined) === (out.evr === undefined)) doc.fail(at, 'needs exactly one of evra, evr');
      if (out.evra !== undefined && !/^(\d+:)?[^-\s]+-[^-\s]+\.[^.\s]+$/.test(out.evra)) doc.fail([...at, 'evra'], `'${out.evra}' is not [EPOCH:]VERSION-RELEASE.ARCH`);
      if (out.evr !== undefined && !/^(\d+:)?[^-\s]+-[^-\s]+$/.test(out.evr)) doc.fail([...at, 'evr'], `'${out.evr}' is not [EPOCH:]VERSION-RELEASE`);
      if (out.digest !== undefined && !/^[a-z0-9]+:[0-9a-f]+$/.test(out.digest)) doc.fail([...at, 'digest'], `'${out.digest}' is not ALGO:HEX`);
      packages.set(name, out);
    }
  }
  let metadata: LockfileMetadata | undefined;
  if (top.metadata !== undefined) {
    const md = top.metadata;
    if (md === null || typeof md !== 'object' || Array.isArray(md)) doc.fail(['metadata'], `expected a mapping, found ${typeName(md)}`);
    metadata = {};
    for (const [k, x] of Object.entries(md as Record<string, unknown>)) {
      if (k === 'generated') {
        if (typeof x !== 'string' || !RFC3339.test(x)) doc.fail(['metadata', k], `expected an RFC 3339 timestamp, found ${typeName(x)}`);
        metadata.generated = x;
      } else if (k === 'rpmmd_repos') {
        if (x === null || typeof x !== 'object' || Array.isArray(x)) doc.fail(['metadata', k], `expected a mapping, found ${typeName(x)}`);
        metadata.rpmmd_repos = {};
        for (const [id, r] of Object.entries(x as Record<string, unknown>)) {
          const g = (r as { generated?: unknown } | null)?.generated;
          if (typeof g !== 'string' || !RFC3339.test(g) || Object.keys(r as object).length !== 1)
            doc.fail(['metadata', k, id], 'expected {generated: RFC 3339 timestamp}');
          metadata.rpmmd_repos[id] = { generated: g };
        }
      } else doc.fail(['metadata', k], `unknown key '${k}' (expected generated, rpmmd_repos)`, 'key');
    }
  }
  return metadata ? { packages, metadata } : { packages };
}

/**
 * Merge lockfiles in order; a later file replaces a package's whole entry.
 * Like rpm-ostree (lockfile.rs), only `packages` merge: metadata is the first file's.
 */
export function mergeLockfiles(files: string[]): Lockfile {
  const packages = new Map<string, LockedPackage>();
  let metadata: LockfileMetadata | undefined;
  for (const f of files) {
    const l = parseLockfile(f);
    for (const [k, v] of l.packages) packages.set(k, v);
    if (f === files[0] && l.metadata) metadata = l.metadata;
  }
  return metadata ? { packages, metadata, files } : { packages, files };
}

/** cosa `pick_yaml_or_else_json`: both spellings present is an error. */
function pick(dir: string, base: string, dflt: 'json' | 'yaml'): string | undefined {
  const y = join(dir, `${base}.yaml`);
  const j = join(dir, `${base}.json`);
  // A lockfile linked into an unchecked-out submodule is an error: an unlocked build is not what was asked for.
  const hasY = configEntryExists(y);
  const hasJ = configEntryExists(j);
  if (hasY && hasJ) throw new ConfigError(`${dir}: both ${base}.yaml and ${base}.json exist; keep one`);
  if (hasY) return y;
  if (hasJ) return j;
  void dflt;
  return undefined;
}

/** The lockfiles cosa passes to rpm-ostree for arch, in its order (cmdlib.sh prepare_build). */
export function lockfilePaths(configDir: string, arch: string): string[] {
  return [pick(configDir, `manifest-lock.${arch}`, 'json'), pick(configDir, 'manifest-lock.overrides', 'yaml'), pick(configDir, `manifest-lock.overrides.${arch}`, 'yaml')].filter(
    (p): p is string => p !== undefined,
  );
}

export function loadLockfiles(configDir: string, arch: string): Lockfile {
  return mergeLockfiles(lockfilePaths(configDir, arch));
}

/** `[E:]V-R.A` → evr and arch, split at the last dot as rpm-ostree does. */
export function splitEvra(evra: string): { evr: string; arch: string } {
  const i = evra.lastIndexOf('.');
  if (i <= 0) throw new ConfigError(`'${evra}' is not [EPOCH:]VERSION-RELEASE.ARCH`);
  return { evr: evra.slice(0, i), arch: evra.slice(i + 1) };
}

/** One installed package, as a compose's depsolve reports it. */
export interface LockfileInputPackage {
  name: string;
  /** `[E:]V-R` (epoch only when non-zero) */
  evr: string;
  arch: string;
  /** `<algo>:<hex>` of the package in the repodata */
  digest?: string;
  /** The SRPM file name (`NetworkManager-1.46.2-1.fc40.src.rpm`); only its name part is kept. */
  sourcerpm?: string;
}

/**
 * The lockfile `rpm-ostree compose tree --ex-write-lockfile-to` writes
 * (lockfile.rs lockfile_write): packages by name with evra + digest +
 * metadata.sourcerpm (SRPM name), `generated` = today 00:00:00Z, each repo's
 * repodata timestamp. `stripDigests` does what cosa does afterwards
 * (`jq 'del(.packages[].digest)'`); cosa's files end with jq's newline.
 */
export function formatLockfile(input: {
  packages: LockfileInputPackage[];
  repos?: { id: string; generated: number | Date }[];
  now?: Date;
  stripDigests?: boolean;
}): string {
  const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const now = input.now ?? new Date();
  const today = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const byName = [...input.packages].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  const packages: Record<string, unknown> = {};
  for (const p of byName) {
    const e: Record<string, unknown> = { evra: `${p.evr}.${p.arch}` };
    if (!input.stripDigests) e.digest = p.digest ?? null;
    const parts = p.sourcerpm?.split('-');
    if (parts && parts.length >= 3) e.metadata = { sourcerpm: parts.slice(0, -2).join('-') };
    packages[p.name] = e;
  }
  const repos: Record<string, { generated: string }> = {};
  for (const r of [...(input.repos ?? [])].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)))
    repos[r.id] = { generated: iso(typeof r.generated === 'number' ? new Date(r.generated * 1000) : r.generated) };
  return JSON.stringify({ packages, metadata: { generated: iso(today), rpmmd_repos: repos } }, null, 2) + '\n';
}
