/**
 * Filesystem helpers for editing a compose rootfs. The rootfs is full of
 * hardlinks into the pkgcache, so nothing here ever opens an existing file for
 * writing: new content goes to a temporary name in the same directory and is
 * renamed over the old entry (which only replaces the directory entry).
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp, type Stats } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import { InvalidInputError, UnsafePathError, isErrno } from '../errors.js';

export async function lstatOrNull(p: string): Promise<Stats | null> {
  try {
    return await fsp.lstat(p);
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return null;
    throw e;
  }
}

function tmpName(dest: string): string {
  return join(dirname(dest), `.cf-tmp-${randomBytes(6).toString('hex')}`);
}

/** Write `data` as a new file with `mode` and rename it over `dest`. */
export async function replaceFile(dest: string, data: string | Buffer, mode: number): Promise<void> {
  const tmp = tmpName(dest);
  try {
    await fsp.writeFile(tmp, data, { mode, flag: 'wx' });
    await fsp.chmod(tmp, mode); // the umask applied to the create
    await fsp.rename(tmp, dest);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** Copy `src` to a new file with `mode` and rename it over `dest`. */
export async function replaceWithCopy(src: string, dest: string, mode: number): Promise<void> {
  const tmp = tmpName(dest);
  try {
    await fsp.copyFile(src, tmp, 1 /* COPYFILE_EXCL */);
    await fsp.chmod(tmp, mode);
    await fsp.rename(tmp, dest);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** Create (or replace a non-directory at) `dest` as a symlink to `target`. */
export async function replaceSymlink(target: string, dest: string): Promise<void> {
  const tmp = tmpName(dest);
  await fsp.symlink(target, tmp);
  try {
    await fsp.rename(tmp, dest);
  } catch (e) {
    await fsp.rm(tmp, { force: true });
    throw e;
  }
}

/** mkdir -p with an explicit mode for the directories created (existing ones untouched). */
export async function ensureDir(p: string, mode = 0o755): Promise<void> {
  const st = await lstatOrNull(p);
  if (st?.isDirectory()) return;
  if (st) throw new InvalidInputError(`${p}: exists and is not a directory`);
  await ensureDir(dirname(p), mode);
  try {
    await fsp.mkdir(p, { mode });
  } catch (e) {
    if (!isErrno(e, 'EEXIST')) throw e;
  }
  await fsp.chmod(p, mode);
}

/** A relative path inside the rootfs, as treefiles spell them: no `..`, no leading `/` unless allowed. */
export function checkRelPath(p: string, what: string, allowAbsolute = false): string {
  if (p.startsWith('/') && !allowAbsolute) throw new InvalidInputError(`${what}: invalid absolute path: ${p}`);
  if (p.includes('..')) throw new InvalidInputError(`${what}: invalid '..' in path: ${p}`);
  const r = p.replace(/^\/+/, '');
  if (r === '') throw new InvalidInputError(`${what}: empty path`);
  return r;
}

/**
 * Resolve `rel` inside `rootfs` the way a chroot would: absolute symlink
 * targets are taken relative to the rootfs and `..` never climbs above it.
 * The last component is followed only with `followLast`. Returns the host path.
 */
export async function resolveInRoot(rootfs: string, rel: string, followLast = true): Promise<string> {
  let parts = rel.split('/').filter((x) => x !== '' && x !== '.');
  const done: string[] = [];
  let hops = 0;
  while (parts.length > 0) {
    const name = parts.shift()!;
    if (name === '..') {
      done.pop();
      continue;
    }
    const host = join(rootfs, ...done, name);
    const st = await lstatOrNull(host);
    if (st?.isSymbolicLink() && (parts.length > 0 || followLast)) {
      if (++hops > 40) throw new UnsafePathError(`${rel}: too many levels of symbolic links in ${rootfs}`);
      const target = await fsp.readlink(host);
      if (target.startsWith('/')) done.length = 0;
      parts = [...target.split('/').filter((x) => x !== '' && x !== '.'), ...parts];
      continue;
    }
    done.push(name);
  }
  return join(rootfs, ...done);
}

/** `/` + posix join of the parts; the key form of FileMetaMap. */
export function treePath(...parts: string[]): string {
  return posix.join('/', ...parts);
}

/** Remove `p` (file, symlink or tree) if it exists. */
export async function rmrf(p: string): Promise<void> {
  await fsp.rm(p, { recursive: true, force: true });
}
