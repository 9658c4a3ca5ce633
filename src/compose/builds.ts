import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError, InvalidInputError, NotFoundError, isErrno } from '../errors.js';
import { assertChecksum, type Checksum } from '../ostree/checksum.js';
import { ObjectType } from '../ostree/objects/types.js';
import type { Repo } from '../ostree/repo/repo.js';
import type { BuildMeta, BuildsJson } from '../publish/builds.js';
import { fsyncDir, randomName, readFileOrNull, writeFileAtomic } from '../util/fs.js';
import { commitMetaToJson } from './commitmeta.js';
import { writeOstreeTar } from './ostree-tar.js';
import { diffPackages, pkgdiffJson, pkglistFromCommitMeta, type PkgDiff, type PkgDiffEntry, type PkgNevra } from './pkgdiff.js';
import { validateBuildId } from './version.js';

/**
 * cosa's builds/ layout (cosalib/builds.py, cmd-build before the OCI switch):
 *   builds/builds.json                {"schema-version":"1.0.0","builds":[{id,arches}…newest first],"timestamp"}
 *   builds/latest -> <id>
 *   builds/<id>/<arch>/meta.json      (src/v1.json)
 *                     commitmeta.json  manifest-lock.generated.<arch>.json  ostree-commit-object
 *                     <name>-<id>-ostree.<arch>.tar
 * A build directory is assembled under tmp/ and renamed into place complete; only then do
 * builds.json and latest move, each atomically, so a crash leaves either the old state or a
 * complete new build (at worst an unlisted directory, which the next build replaces).
 */

export const BUILDS_SCHEMA_VERSION = '1.0.0';

/** An entry of meta.json `images` (v1.json definitions/artifact). */
export interface ImageArtifact {
  path: string;
  sha256: string;
  size?: number;
  'skip-compression'?: boolean;
  'uncompressed-sha256'?: string;
  'uncompressed-size'?: number;
}

/** meta.json as we write it: what src/publish/builds.ts reads, with cosa's artifact fields. */
export type CosaBuildMeta = BuildMeta & { images: Record<string, ImageArtifact> };

/** `%Y-%m-%dT%H:%M:%SZ` (cosa rfc3339_time, rpm-ostree rpmostree_timestamp_str_from_unix_utc). */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function buildsJsonPath(buildDir: string): string {
  return join(buildDir, 'builds', 'builds.json');
}

/** builds/builds.json, or null if there is none yet. Schema major must be 1 (as cosa). */
export async function readBuildsJson(buildDir: string): Promise<BuildsJson | null> {
  const path = buildsJsonPath(buildDir);
  const text = await readFileOrNull(path);
  if (text === null) return null;
  let bj: unknown;
  try {
    bj = JSON.parse(text.toString('utf8'));
  } catch (e) {
    throw new InvalidInputError(`${path}: invalid JSON: ${(e as Error).message}`);
  }
  if (typeof bj !== 'object' || bj === null || !Array.isArray((bj as BuildsJson).builds)) throw new InvalidInputError(`${path}: builds: expected an array`);
  const ver = (bj as BuildsJson)['schema-version'] ?? '0.0.1';
  if (ver.split('.')[0] !== '1') throw new InvalidInputError(`${path}: schema-version: unsupported build metadata version ${ver}`);
  for (const [i, b] of (bj as BuildsJson).builds.entries()) {
    if (typeof b?.id !== 'string' || !Array.isArray(b.arches) || !b.arches.every((a) => typeof a === 'string')) {
      throw new InvalidInputError(`${path}: builds[${i}]: expected {id: string, arches: string[]}`);
    }
  }
  return bj as BuildsJson;
}

/** A previous build, as the next build needs it (parent commit, inputhash, version, packages). */
export interface PreviousBuild {
  id: string;
  arch: string;
  dir: string;
  meta: BuildMeta;
  /** meta.json `ostree-commit`: the parent of the next commit. */
  commit: Checksum;
  /** meta.json `rpm-ostree-inputhash` (the next build with the same hash has no changes). */
  inputhash?: string;
  /** meta.json `ostree-version` (what rpm-ostree increments from). */
  version?: string;
  /** commitmeta.json, or null if the build has none. */
  commitmeta: Record<string, unknown> | null;
  /** From commitmeta.json `rpmostree.rpmdb.pkglist`; null if not recorded. */
  pkglist: PkgNevra[] | null;
}

async function readJsonFile<T>(path: string): Promise<T | null> {
  const text = await readFileOrNull(path);
  if (text === null) return null;
  try {
    return JSON.parse(text.toString('utf8')) as T;
  } catch (e) {
    throw new InvalidInputError(`${path}: invalid JSON: ${(e as Error).message}`);
  }
}

function pkglistFromJson(cm: Record<string, unknown> | null, path: string): PkgNevra[] | null {
  const l = cm?.['rpmostree.rpmdb.pkglist'];
  if (l === undefined) return null;
  if (!Array.isArray(l)) throw new InvalidInputError(`${path}: rpmostree.rpmdb.pkglist: expected an array`);
  return l.map((e, i) => {
    if (!Array.isArray(e) || e.length !== 5 || !e.every((x) => typeof x === 'string')) throw new InvalidInputError(`${path}: rpmostree.rpmdb.pkglist[${i}]: expected [name, epoch, version, release, arch]`);
    const [name, epoch, version, release, arch] = e as string[];
    return { name: name!, epoch: epoch!, version: version!, release: release!, arch: arch! };
  });
}

/** Load one build's metadata for an arch. */
export async function loadBuild(buildDir: string, id: string, arch: string): Promise<PreviousBuild> {
  const dir = join(buildDir, 'builds', id, arch);
  const metaPath = join(dir, 'meta.json');
  const meta = await readJsonFile<BuildMeta>(metaPath);
  if (!meta) throw new NotFoundError(`${metaPath} does not exist (builds/builds.json lists build ${id} for ${arch})`);
  if (typeof meta !== 'object' || !/^[0-9a-f]{64}$/.test(String(meta['ostree-commit']))) throw new InvalidInputError(`${metaPath}: ostree-commit: not a checksum`);
  const cmPath = join(dir, 'commitmeta.json');
  const commitmeta = await readJsonFile<Record<string, unknown>>(cmPath);
  const inputhash = meta['rpm-ostree-inputhash'];
  const version = meta['ostree-version'];
  return {
    id, arch, dir, meta,
    commit: meta['ostree-commit'],
    ...(typeof inputhash === 'string' ? { inputhash } : {}),
    ...(typeof version === 'string' ? { version } : {}),
    commitmeta,
    pkglist: pkglistFromJson(commitmeta, cmPath),
  };
}

/** The newest build that has `arch` (cosa get_latest_for_arch), or null if there is none. */
export async function previousBuild(buildDir: string, arch: string): Promise<PreviousBuild | null> {
  const bj = await readBuildsJson(buildDir);
  const b = bj?.builds.find((x) => x.arches.includes(arch));
  return b ? loadBuild(buildDir, b.id, arch) : null;
}

export interface CommitStats {
  metadataTotal: number;
  metadataWritten: number;
  contentTotal: number;
  contentWritten: number;
  cacheHits: number;
  contentBytesWritten: number;
}

export interface GitInfo {
  commit: string;
  origin: string;
  branch?: string;
  /** "true"/"false" as cosa writes it. */
  dirty?: string;
}

export interface NewBuild {
  /** The cosa-style work directory holding builds/ (and tmp/). */
  buildDir: string;
  arch: string;
  /** Build ID = version. */
  id: string;
  /** meta.json `name` (treefile/image name, e.g. fedora-coreos): names the artifacts. */
  name: string;
  /** The repository holding the new commit (tmp/repo). */
  repo: Repo;
  commit: Checksum;
  /** The ref the commit is for (treefile `ref`); also the ref inside the OSTree tar. */
  ref?: string;
  summary?: string;
  /** Default: the commit's `rpmostree.inputhash`. */
  inputhash?: string;
  /** The previous build for this arch: meta.json gets `pkgdiff` against it. */
  previous?: PreviousBuild | null;
  /** A pipeline-chosen parent build (cosa --parent-build): `parent-pkgdiff` when it differs from previous. */
  parent?: PreviousBuild | null;
  /** manifest-lock.generated.<arch>.json: text as is, or an object written as JSON. */
  lockfile?: string | object;
  configGit?: GitInfo;
  /** sha256 of the flattened image.yaml (coreos-assembler.image-config-checksum). */
  imageConfigChecksum?: string;
  buildUrl?: string;
  stats?: CommitStats;
  /** Extra meta.json keys (merged last, as cosa's extra JSON inputs). */
  extraMeta?: Record<string, unknown>;
  /** Build time (default now); SOURCE_DATE_EPOCH makes builds reproducible. */
  now?: Date;
  /** Every entry of the OSTree tar gets this mtime (default: the commit timestamp). */
  tarMtime?: number;
  /** What the commit reaches (CommitRootfsOptions.objects), so the tar need not walk it. */
  reachable?: Set<string>;
}

export interface WrittenBuild {
  id: string;
  arch: string;
  dir: string;
  meta: CosaBuildMeta;
  ostreeTar: string;
  /** Objects the commit reaches (OstreeTarResult.reachable). */
  reachable: Set<string>;
  /** Against `previous`; null when there was no previous build (or it recorded no packages). */
  pkgdiff: PkgDiff | null;
}

const ARCH_RE = /^[A-Za-z0-9_]+$/;

export function ostreeTarName(name: string, id: string, arch: string): string {
  return `${name}-${id}-ostree.${arch}.tar`;
}

/** Write a new build (see the module comment for the crash-safe order). */
export async function writeBuild(o: NewBuild): Promise<WrittenBuild> {
  validateBuildId(o.id, 'build ID');
  if (!ARCH_RE.test(o.arch)) throw new InvalidInputError(`arch: '${o.arch}' is not an architecture name`);
  if (!o.name || /[/\0]/.test(o.name)) throw new InvalidInputError(`name: '${o.name}' cannot be used in artifact file names`);
  assertChecksum(o.commit, 'ostree-commit');
  const buildsDir = join(o.buildDir, 'builds');
  await fsp.mkdir(buildsDir, { recursive: true });
  const bj: BuildsJson = (await readBuildsJson(o.buildDir)) ?? { 'schema-version': BUILDS_SCHEMA_VERSION, builds: [] };
  const listed = bj.builds.find((b) => b.id === o.id);
  if (listed?.arches.includes(o.arch)) throw new AlreadyExistsError(`build ${o.id} for ${o.arch} already exists in ${buildsJsonPath(o.buildDir)}`);

  const commit = await o.repo.loadCommit(o.commit);
  const now = o.now ?? new Date();
  const version = commit.version;
  const inputhash = o.inputhash ?? (commit.meta('rpmostree.inputhash')?.value as string | undefined);
  const pkglist = pkglistFromCommitMeta(commit.metadata);
  const pkgdiff = o.previous?.pkglist && pkglist ? diffPackages(o.previous.pkglist, pkglist) : null;
  const parentDiff =
    o.parent && o.parent.meta['ostree-commit'] !== o.previous?.meta['ostree-commit'] && o.parent.pkglist && pkglist ? diffPackages(o.parent.pkglist, pkglist) : null;

  const tmpRoot = join(o.buildDir, 'tmp');
  await fsp.mkdir(tmpRoot, { recursive: true });
  const staging = join(tmpRoot, randomName(`build-${o.arch}`));
  await fsp.mkdir(staging);
  try {
    const tarName = ostreeTarName(o.name, o.id, o.arch);
    const tar = await writeOstreeTar(o.repo, o.commit, o.ref ?? null, join(staging, tarName), { mtime: o.tarMtime ?? commit.timestamp, ...(o.reachable ? { reachable: o.reachable } : {}) });

    const meta: CosaBuildMeta = {
      ...(o.ref ? { ref: o.ref } : {}),
      ...(o.stats
        ? {
            'ostree-n-metadata-total': o.stats.metadataTotal,
            'ostree-n-metadata-written': o.stats.metadataWritten,
            'ostree-n-content-total': o.stats.contentTotal,
            'ostree-n-content-written': o.stats.contentWritten,
            'ostree-n-cache-hits': o.stats.cacheHits,
            'ostree-content-bytes-written': o.stats.contentBytesWritten,
          }
        : {}),
      'ostree-commit': o.commit,
      'ostree-content-checksum': commit.contentChecksum(),
      ...(version !== undefined ? { 'ostree-version': version } : {}),
      'ostree-timestamp': rfc3339(new Date(commit.timestamp * 1000)),
      ...(inputhash ? { 'rpm-ostree-inputhash': inputhash } : {}),
      ...(pkgdiff ? { pkgdiff: pkgdiffJson(pkgdiff) satisfies PkgDiffEntry[] } : {}),
      buildid: o.id,
      'coreos-assembler.image-genver': 0,
      name: o.name,
      ...(o.summary ? { summary: o.summary } : {}),
      'coreos-assembler.build-timestamp': rfc3339(now),
      ...(o.imageConfigChecksum
        ? {
            'coreos-assembler.image-config-checksum': o.imageConfigChecksum,
            // cmd-build: (echo $commit; echo $image_config_checksum) | sha256sum
            'coreos-assembler.image-input-checksum': createHash('sha256').update(`${o.commit}\n${o.imageConfigChecksum}\n`).digest('hex'),
          }
        : {}),
      ...(o.configGit ? { 'coreos-assembler.container-config-git': { ...o.configGit } } : {}),
      ...(parentDiff ? { 'parent-pkgdiff': pkgdiffJson(parentDiff) } : {}),
      images: { ostree: { path: tarName, sha256: tar.sha256, size: tar.size, 'skip-compression': true } },
      ...(o.configGit ? { 'coreos-assembler.config-gitrev': o.configGit.commit, 'coreos-assembler.config-dirty': o.configGit.dirty ?? 'false' } : {}),
      'coreos-assembler.basearch': o.arch,
      ...(o.buildUrl ? { 'build-url': o.buildUrl } : {}),
      ...(o.extraMeta ?? {}),
    };

    await writeFileAtomic(join(staging, 'commitmeta.json'), commitMetaToJson(commit.metadata));
    // cosa keeps the raw commit object so later builds can diff against it without the tar
    await writeFileAtomic(join(staging, 'ostree-commit-object'), await o.repo.readMetadata(ObjectType.Commit, o.commit));
    if (o.lockfile !== undefined) {
      const text = typeof o.lockfile === 'string' ? o.lockfile : JSON.stringify(o.lockfile, null, 2) + '\n';
      await writeFileAtomic(join(staging, `manifest-lock.generated.${o.arch}.json`), text);
    }
    // meta.json last: a build dir with meta.json is complete
    await writeFileAtomic(join(staging, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');

    const idDir = join(buildsDir, o.id);
    const dir = join(idDir, o.arch);
    await fsp.mkdir(idDir, { recursive: true });
    // an unlisted directory is the leftover of a build that crashed before builds.json moved
    await fsp.rm(dir, { recursive: true, force: true });
    await fsp.rename(staging, dir);
    await fsyncDir(idDir);
    await fsyncDir(buildsDir);

    insertBuild(bj, o.id, o.arch);
    bj.timestamp = rfc3339(now);
    await writeFileAtomic(buildsJsonPath(o.buildDir), JSON.stringify(bj, null, 4));
    await setLatest(buildsDir, bj.builds[0]!.id);
    return { id: o.id, arch: o.arch, dir, meta, ostreeTar: join(dir, tarName), pkgdiff, reachable: tar.reachable };
  } catch (e) {
    await fsp.rm(staging, { recursive: true, force: true });
    throw e;
  }
}

/** cosa Builds.insert_build: a new ID goes first; another arch of an existing ID is appended to it. */
export function insertBuild(bj: BuildsJson, id: string, arch: string): void {
  const b = bj.builds.find((x) => x.id === id);
  if (b) {
    if (b.arches.includes(arch)) throw new AlreadyExistsError(`build ${id} for ${arch} already exists`);
    b.arches.push(arch);
  } else bj.builds.unshift({ id, arches: [arch] });
  bj['schema-version'] ??= BUILDS_SCHEMA_VERSION;
}

/** Point builds/latest at `id` atomically (symlink beside it, renamed over). */
export async function setLatest(buildsDir: string, id: string): Promise<void> {
  const tmp = join(buildsDir, randomName('.latest'));
  await fsp.symlink(id, tmp);
  try {
    await fsp.rename(tmp, join(buildsDir, 'latest'));
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    if (isErrno(e, 'EISDIR') || isErrno(e, 'ENOTEMPTY')) throw new InvalidInputError(`${join(buildsDir, 'latest')}: is a directory, expected a symlink`);
    throw e;
  }
  await fsyncDir(buildsDir);
}
