import { promises as fsp, createReadStream, createWriteStream, readFileSync, writeFileSync, type Stats } from 'node:fs';
import { join, dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AlreadyExistsError, InvalidInputError, NotFoundError, isErrno } from '../errors.js';
import { Semaphore, randomName } from '../util/fs.js';
import type { Checksum } from './checksum.js';
import { S_IFMT, S_IFREG } from './objects/dirmeta.js';
import { readXattrs, writeXattrs } from './objects/xattrs.js';
import { ContentHasher, FileHeader, decodeArchiveObject } from './objects/content.js';
import { spawnSync } from 'node:child_process';
import type { Repo, ContentObject } from './repo/repo.js';

export interface CheckoutOptions {
  /** -U: don't change ownership or set xattrs; strip setuid/setgid. */
  userMode?: boolean;
  /** --union: overwrite files that already exist in the destination. */
  union?: boolean;
  /** --union-add: keep files that already exist. */
  unionAdd?: boolean;
  /** --subpath: check out only this path of the commit. */
  subpath?: string;
  /** Never hardlink from the repository (--force-copy). */
  forceCopy?: boolean;
  /** Skip xattrs even as root. */
  noXattrs?: boolean;
  /** Do not reset directory mtimes to 0. */
  keepDirMtimes?: boolean;
  /** -H: fail instead of copying when a file cannot be hardlinked from the repository. */
  requireHardlinks?: boolean;
  /** --union-identical: existing files must be identical to the checked-out ones. */
  unionIdentical?: boolean;
  /** --whiteouts: `.wh.NAME` entries delete NAME instead of being checked out. */
  processWhiteouts?: boolean;
  /** --process-passthrough-whiteouts: `.ostree-wh.NAME` entries become 0:0 character devices named NAME. */
  processPassthroughWhiteouts?: boolean;
  /** Paths ("/a/b") to leave out (--skip-list). */
  skipList?: Set<string>;
  /** -M: suppress directory mode bits outside 0775. */
  bareuseronlyDirs?: boolean;
  /**
   * Called for every file this checkout placed at `path`: `linked` when it is
   * a hardlink of the repository object, false when it was written (copied).
   * Not called for existing files a union checkout kept.
   */
  onFile?: (path: string, obj: ContentObject, linked: boolean) => void | Promise<void>;
}

/** Why a file of this repository mode cannot be hardlinked in this checkout mode (ostree's no_copy_fallback messages). */
function hardlinkRefusal(repo: Repo): string {
  return repo.mode === 'bare-user' || repo.mode === 'bare-user-only' ? 'User repository mode requires user checkout mode to hardlink' : 'Bare repository mode cannot hardlink in user checkout mode';
}

const FILE_CONCURRENCY = 8;

/**
 * Check out a commit (or a subpath of it) into `dest`. Objects of bare and
 * bare-user repositories are hardlinked when the result would be identical
 * (same ownership semantics, same filesystem); otherwise files are written
 * from the objects, inflating archive content on the thread pool.
 */
export async function checkoutCommit(repo: Repo, commit: Checksum, dest: string, opts: CheckoutOptions = {}): Promise<void> {
  const c = await repo.loadCommit(commit);
  let tree = c.rootTree;
  let meta = c.rootMeta;
  const sub = (opts.subpath ?? '/').split('/').filter((s) => s !== '');
  for (let i = 0; i < sub.length; i++) {
    const dt = await repo.loadDirTree(tree);
    const d = dt.findDir(sub[i]!);
    if (d) {
      tree = d.treeChecksum;
      meta = d.metaChecksum;
      continue;
    }
    const f = dt.findFile(sub[i]!);
    if (f && i === sub.length - 1) {
      // a single file lands inside the destination directory, under its own name (as ostree)
      await fsp.mkdir(dest, { recursive: true });
      dest = join(dest, sub[i]!);
      const obj = await repo.loadContent(f.checksum);
      await checkoutFile(repo, obj, dest, opts, canHardlink(repo, opts));
      return;
    }
    throw new NotFoundError(`No such file or directory: ${opts.subpath}`);
  }
  await checkoutTree(repo, tree, meta, dest, opts);
}

/** ostree's is_hardlinkable: the checkout mode matches the repository mode. */
function canHardlink(repo: Repo, opts: CheckoutOptions): boolean {
  if (opts.forceCopy) return false;
  if (repo.mode === 'bare-user' || repo.mode === 'bare-user-only') return Boolean(opts.userMode);
  if (repo.mode === 'bare') return !opts.userMode;
  return false;
}

export async function checkoutTree(repo: Repo, tree: Checksum, meta: Checksum, dest: string, opts: CheckoutOptions = {}): Promise<void> {
  const sem = new Semaphore(FILE_CONCURRENCY);
  const pending = new Set<Promise<void>>();
  let failure: unknown = null;
  const hardlink = canHardlink(repo, opts);
  const dirsForMtime: string[] = [];

  const mkdirFor = async (path: string, metaCsum: Checksum, isRoot: boolean) => {
    const dm = await repo.loadDirMeta(metaCsum);
    // user mode strips setuid/setgid from files only; directories keep theirs (as ostree)
    const mode = opts.bareuseronlyDirs ? dm.mode & 0o775 : dm.mode & 0o7777;
    try {
      await fsp.mkdir(path, { mode: 0o700 });
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
      const st = await fsp.lstat(path);
      if (!st.isDirectory()) throw new AlreadyExistsError(`Can't check out directory over existing non-directory ${path}`);
      if (!(opts.union || opts.unionAdd || opts.unionIdentical) && !isRoot) throw new AlreadyExistsError(`File exists: ${path}`);
      if (!(opts.union || opts.unionAdd || opts.unionIdentical) && isRoot && (await fsp.readdir(path)).length > 0) throw new AlreadyExistsError(`File exists: ${path}`);
    }
    if (!opts.userMode) {
      await fsp.lchown(path, dm.uid, dm.gid);
      if (!opts.noXattrs && dm.xattrs.length > 0) writeXattrs(path, dm.xattrs);
    }
    await fsp.chmod(path, mode);
    dirsForMtime.push(path);
  };

  const walk = async (treeCsum: Checksum, metaCsum: Checksum, path: string, isRoot: boolean, rel: string): Promise<void> => {
    await mkdirFor(path, metaCsum, isRoot);
    const dt = await repo.loadDirTree(treeCsum);
    for (const f of dt.files) {
      if (failure) return;
      if (opts.skipList?.has(`${rel}/${f.name}`)) continue;
      await sem.acquire();
      const p: Promise<void> = (async () => {
        const obj = await repo.loadContent(f.checksum);
        if (!obj.header.isSymlink && opts.processWhiteouts && f.name.startsWith('.wh.')) {
          const victim = f.name.slice(4);
          if (victim === '') throw new InvalidInputError(`Invalid empty whiteout '${victim}'`);
          await fsp.rm(join(path, victim), { recursive: true, force: true });
          return;
        }
        if (!obj.header.isSymlink && opts.processPassthroughWhiteouts && f.name.startsWith('.ostree-wh.')) {
          const name = f.name.slice('.ostree-wh.'.length);
          if (name === '') throw new InvalidInputError(`Invalid empty overlayfs whiteout '${name}'`);
          await checkoutWhiteoutDevice(obj, join(path, name), opts);
          return;
        }
        await checkoutFile(repo, obj, join(path, f.name), opts, hardlink);
      })()
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => {
          sem.release();
          pending.delete(p);
        });
      pending.add(p);
    }
    for (const d of dt.dirs) {
      if (failure) return;
      if (opts.skipList?.has(`${rel}/${d.name}`)) continue;
      await walk(d.treeChecksum, d.metaChecksum, join(path, d.name), false, `${rel}/${d.name}`);
    }
  };

  try {
    // skip-list paths are relative to the checked-out tree (the subpath, if any)
    await walk(tree, meta, dest, true, '');
  } catch (e) {
    failure ??= e;
  }
  while (pending.size > 0) await Promise.all([...pending]);
  if (failure) throw failure;
  if (!opts.keepDirMtimes) {
    // ostree leaves checked-out directories at mtime 0, like the objects
    for (const d of dirsForMtime.reverse()) await fsp.utimes(d, 0, 0).catch(() => undefined);
  }
}

async function checkoutFile(repo: Repo, obj: ContentObject, path: string, opts: CheckoutOptions, hardlinkable: boolean): Promise<void> {
  const h = obj.header;
  const bareUserSymlink = h.isSymlink && (repo.mode === 'bare-user' || repo.mode === 'bare-user-only');
  const unreadable = !h.isSymlink && (h.mode & 0o400) === 0;
  // zero-sized files are always copied (hardlinking them all could hit EMLINK), as are files user mode must make readable
  const copyAnyway = (!h.isSymlink && obj.size === 0) || (opts.userMode && unreadable);
  if (!copyAnyway && !opts.forceCopy && opts.requireHardlinks && !hardlinkable && !bareUserSymlink) throw new InvalidInputError(hardlinkRefusal(repo));
  // an object found in a parent repository of another mode has another on-disk form: copy it
  if (!copyAnyway && hardlinkable && (obj.storedMode ?? repo.mode) === repo.mode && !bareUserSymlink && !(h.isSymlink && repo.mode !== 'bare')) {
    const r = await hardlinkObject(obj, path, opts, repo.mode);
    if (r === 'linked') await opts.onFile?.(path, obj, true);
    if (r) return;
  }
  const existing = await fsp.lstat(path).catch(() => null);
  if (existing) {
    if (opts.unionAdd) return;
    if (opts.unionIdentical && h.isSymlink && existing.isSymbolicLink() && (await fsp.readlink(path)) === h.symlinkTarget) return;
    if (opts.unionIdentical && !h.isSymlink && existing.isFile() && existing.size === obj.size && (await checksumOnDisk(path, existing, repo.mode)) === obj.checksum) return;
    if (!opts.union) throw new AlreadyExistsError(`File exists: ${path}`);
    if (existing.isDirectory()) throw new AlreadyExistsError(`Can't replace directory ${path} with a file`);
  }
  // when replacing, build beside the target and rename over it so the swap is atomic
  const target = existing ? join(dirname(path), randomName('.coreforge-checkout')) : path;
  try {
    if (h.isSymlink) {
      await fsp.symlink(h.symlinkTarget, target);
      if (!opts.userMode) {
        await fsp.lchown(target, h.uid, h.gid);
        if (!opts.noXattrs && h.xattrs.length > 0) writeXattrs(target, h.xattrs);
      }
    } else {
      await writeRegular(obj, target, opts, opts.userMode && unreadable ? 0o400 : 0);
    }
    if (existing) await fsp.rename(target, path);
  } catch (e) {
    if (existing) await fsp.rm(target, { force: true });
    throw e;
  }
  await opts.onFile?.(path, obj, false);
}

/**
 * Hardlink a bare object into place (ostree's checkout_file_hardlink): 'linked'
 * when `path` is now the object, 'kept' when an existing file stays, false
 * when a copy is needed instead.
 */
async function hardlinkObject(obj: ContentObject, path: string, opts: CheckoutOptions, repoMode: string): Promise<'linked' | 'kept' | false> {
  try {
    await fsp.link(obj.path, path);
    return 'linked';
  } catch (e) {
    if (isErrno(e, 'EXDEV') || isErrno(e, 'EMLINK') || isErrno(e, 'EPERM')) {
      if (opts.requireHardlinks) throw new InvalidInputError(`Hardlinking ${obj.path} to ${path}: ${(e as Error).message}`);
      return false;
    }
    if (!isErrno(e, 'EEXIST')) throw e;
  }
  if (opts.unionAdd) return 'kept';
  if (opts.union || opts.unionIdentical) {
    const [src, dst] = await Promise.all([fsp.lstat(obj.path), fsp.lstat(path)]);
    if (src.dev === dst.dev && src.ino === dst.ino) return 'linked';
    // as ostree: when the existing file looks the same, a checksum comparison decides
    if (dst.isFile() && src.size === dst.size && (await checksumOnDisk(path, dst, repoMode)) === obj.checksum) return 'kept';
    if (opts.unionIdentical) throw new AlreadyExistsError(`Hardlinking ${obj.path} to ${path}: File exists`);
    if (dst.isDirectory()) throw new AlreadyExistsError(`Can't replace directory ${path} with a file`);
    const tmp = join(dirname(path), randomName('.coreforge-checkout'));
    await fsp.link(obj.path, tmp);
    try {
      await fsp.rename(tmp, path);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    return 'linked';
  }
  throw new AlreadyExistsError(`Hardlinking ${obj.path} to ${path}: File exists`);
}

/** The content checksum of a regular file on disk (xattrs left out for bare-user-only, as ostree does). */
async function checksumOnDisk(path: string, st: Stats, repoMode: string): Promise<string> {
  const xattrs = repoMode === 'bare-user-only' ? [] : readXattrs(path);
  const mode = S_IFREG | (st.mode & (repoMode === 'bare-user-only' ? 0o755 : 0o7777));
  const h = new ContentHasher(new FileHeader(repoMode === 'bare-user-only' ? 0 : st.uid, repoMode === 'bare-user-only' ? 0 : st.gid, mode, xattrs));
  for await (const c of createReadStream(path, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer);
  return h.digest();
}

/** An overlayfs whiteout: a 0:0 character device with the entry's mode (and, outside user mode, its ownership). */
async function checkoutWhiteoutDevice(obj: ContentObject, path: string, opts: CheckoutOptions): Promise<void> {
  const h = obj.header;
  const existing = await fsp.lstat(path).catch(() => null);
  if (existing) {
    if (opts.unionAdd || opts.unionIdentical) return;
    if (!opts.union) throw new AlreadyExistsError(`File exists: ${path}`);
    await fsp.rm(path, { recursive: true, force: true });
  }
  // node has no mknod(2); the native helper lacks one too, so use coreutils' mknod for this rare case
  const r = spawnSync('mknod', ['-m', (h.mode & 0o7777).toString(8), path, 'c', '0', '0'], { encoding: 'utf8' });
  if (r.status !== 0) throw new InvalidInputError(`Creating whiteout char device ${path}: ${(r.stderr || String(r.error ?? '')).trim()}`);
  if (!opts.userMode) {
    await fsp.lchown(path, h.uid, h.gid);
    await fsp.chmod(path, h.mode & 0o7777);
  }
}

/** Archive objects up to this size are inflated in one synchronous step. */
const SMALL_FILEZ = 1024 * 1024;

/**
 * The payload of a small .filez, read and inflated in one go: per object, a
 * read stream + inflate stream + write stream cost several times the actual
 * work. Null for other objects.
 */
function readSmallArchivePayload(obj: ContentObject): Uint8Array | null {
  if (obj.size > SMALL_FILEZ || !obj.path.endsWith('.filez')) return null;
  return decodeArchiveObject(readFileSync(obj.path), `Corrupted file object ${obj.checksum}`).data;
}

async function writeRegular(obj: ContentObject, path: string, opts: CheckoutOptions, extraBits = 0): Promise<void> {
  const h = obj.header;
  if ((h.mode & S_IFMT) === 0) throw new InvalidInputError(`bad mode for ${path}`);
  let mode = (h.mode & 0o7777) | extraBits;
  // ostree -U drops setuid/setgid on files and always leaves them readable by their owner
  if (opts.userMode) mode = (mode & ~0o6000) | 0o400;
  const small = readSmallArchivePayload(obj);
  if (small) writeFileSync(path, small, { flag: 'wx', mode: 0o600 });
  else await pipeline(obj.open(), createWriteStream(path, { flags: 'wx', mode: 0o600 }));
  if (!opts.userMode) {
    await fsp.chown(path, h.uid, h.gid);
    if (!opts.noXattrs && h.xattrs.length > 0) writeXattrs(path, h.xattrs);
  }
  await fsp.chmod(path, mode);
}
