import { promises as fsp, createWriteStream, readFileSync, writeFileSync } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { join, dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AlreadyExistsError, CorruptionError, InvalidInputError, NotFoundError, isErrno } from '../errors.js';
import { TaskPool, randomName } from '../util/fs.js';
import type { Checksum } from './checksum.js';
import { S_IFMT } from './objects/dirmeta.js';
import { writeXattrs } from './objects/xattrs.js';
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
      await fsp.mkdir(dirname(dest), { recursive: true });
      const obj = await repo.loadContent(f.checksum);
      const st = await fsp.lstat(dest).catch(() => null);
      if (st?.isDirectory()) dest = join(dest, sub[i]!);
      await checkoutFile(repo, obj, dest, opts, canHardlink(repo, opts));
      return;
    }
    throw new NotFoundError(`No such file or directory: ${opts.subpath}`);
  }
  await checkoutTree(repo, tree, meta, dest, opts);
}

function canHardlink(repo: Repo, opts: CheckoutOptions): boolean {
  if (opts.forceCopy) return false;
  if (repo.mode === 'bare-user' || repo.mode === 'bare-user-only') return Boolean(opts.userMode);
  if (repo.mode === 'bare') return !opts.userMode || process.getuid?.() === 0;
  return false;
}

export async function checkoutTree(repo: Repo, tree: Checksum, meta: Checksum, dest: string, opts: CheckoutOptions = {}): Promise<void> {
  const pool = new TaskPool(FILE_CONCURRENCY);
  const hardlink = canHardlink(repo, opts);
  const dirsForMtime: string[] = [];

  const mkdirFor = async (path: string, metaCsum: Checksum, isRoot: boolean) => {
    const dm = await repo.loadDirMeta(metaCsum);
    // ostree -U keeps a directory's mode as committed (setgid/sticky included)
    const mode = dm.mode & 0o7777;
    try {
      await fsp.mkdir(path, { mode: 0o700 });
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e;
      const st = await fsp.lstat(path);
      if (!st.isDirectory()) throw new AlreadyExistsError(`Can't check out directory over existing non-directory ${path}`);
      if (!(opts.union || opts.unionAdd) && !isRoot) throw new AlreadyExistsError(`File exists: ${path}`);
      if (!(opts.union || opts.unionAdd) && isRoot && (await fsp.readdir(path)).length > 0) throw new AlreadyExistsError(`File exists: ${path}`);
    }
    if (!opts.userMode) {
      await fsp.lchown(path, dm.uid, dm.gid);
      if (!opts.noXattrs && dm.xattrs.length > 0) writeXattrs(path, dm.xattrs);
    }
    await fsp.chmod(path, mode);
    dirsForMtime.push(path);
  };

  const walk = async (treeCsum: Checksum, metaCsum: Checksum, path: string, isRoot: boolean): Promise<void> => {
    await mkdirFor(path, metaCsum, isRoot);
    const dt = await repo.loadDirTree(treeCsum);
    for (const f of dt.files) {
      if (pool.failed) return;
      await pool.add(async () => {
        const obj = await repo.loadContent(f.checksum);
        await checkoutFile(repo, obj, join(path, f.name), opts, hardlink);
      });
    }
    for (const d of dt.dirs) {
      if (pool.failed) return;
      await walk(d.treeChecksum, d.metaChecksum, join(path, d.name), false);
    }
  };

  try {
    await walk(tree, meta, dest, true);
  } catch (e) {
    pool.fail(e);
  }
  await pool.drain();
  if (!opts.keepDirMtimes) {
    // ostree leaves checked-out directories at mtime 0, like the objects
    for (const d of dirsForMtime.reverse()) await fsp.utimes(d, 0, 0).catch(() => undefined);
  }
}

async function checkoutFile(repo: Repo, obj: ContentObject, path: string, opts: CheckoutOptions, hardlink: boolean): Promise<void> {
  const h = obj.header;
  const existing = await fsp.lstat(path).catch(() => null);
  if (existing) {
    if (opts.unionAdd) return;
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
    } else if (hardlink && (repo.mode !== 'bare-user' || !h.isSymlink)) {
      try {
        await fsp.link(obj.path, target);
      } catch (e) {
        if (!(isErrno(e, 'EXDEV') || isErrno(e, 'EMLINK') || isErrno(e, 'EPERM'))) throw e;
        await writeRegular(obj, target, opts);
      }
    } else {
      await writeRegular(obj, target, opts);
    }
    if (existing) await fsp.rename(target, path);
  } catch (e) {
    if (existing) await fsp.rm(target, { force: true });
    throw e;
  }
}

/** Archive objects up to this size are inflated in one synchronous step. */
const SMALL_FILEZ = 1024 * 1024;

/**
 * The payload of a small .filez, read and inflated in one go: per object, a
 * read stream + inflate stream + write stream cost several times the actual
 * work (measured: checkout used ~7× ostree's CPU). Null for other objects.
 */
function readSmallArchivePayload(obj: ContentObject): Buffer | null {
  if (obj.size > SMALL_FILEZ || !obj.path.endsWith('.filez')) return null;
  const raw = readFileSync(obj.path);
  // header length and layout were validated by loadContent
  const hlen = raw.readUInt32BE(0);
  let data: Buffer;
  try {
    data = inflateRawSync(raw.subarray(8 + hlen));
  } catch (e) {
    throw new CorruptionError(`Corrupted file object ${obj.checksum}: ${(e as Error).message}`);
  }
  if (data.length !== obj.size) throw new CorruptionError(`Corrupted file object ${obj.checksum}: size ${data.length}, header says ${obj.size}`);
  return data;
}

async function writeRegular(obj: ContentObject, path: string, opts: CheckoutOptions): Promise<void> {
  const h = obj.header;
  if ((h.mode & S_IFMT) === 0) throw new InvalidInputError(`bad mode for ${path}`);
  let mode = h.mode & 0o7777;
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
