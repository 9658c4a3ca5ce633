/**
 * Apply an overlayfs upper directory to its (unmounted) lower directory, so the lower tree ends up as the merged
 * view was: whiteouts delete, opaque directories drop the lower contents, and every non-directory in the upper dir
 * *replaces* the lower entry by rename — the lower entry is typically a hardlink into the pkgcache, so its inode must
 * never be opened for writing. Overlay bookkeeping xattrs (`trusted.overlay.*`, `user.overlay.*`) are stripped.
 *
 * The upper dir is consumed (entries are moved out of it).
 */
import fs from 'node:fs';
import path from 'node:path';
import { native } from '../native/index.js';
import { CoreforgeError, UnsupportedError, isErrno } from '../errors.js';

export interface MergeOptions {
  /**
   * Paths relative to the root ('tmp', 'sysroot/tmp') ignored when they are empty directories in the upper dir and
   * absent from the lower (mountpoints the sandbox created: dev, proc, run, tmp).
   */
  skipNewEmptyTopDirs?: string[];
}

export interface MergeStats {
  deleted: number;
  replaced: number;
  added: number;
  dirs: number;
}

const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;

function overlayXattr(p: string, name: 'opaque' | 'whiteout'): Buffer | null {
  const n = native();
  return n.getXattr(p, `trusted.overlay.${name}`) ?? n.getXattr(p, `user.overlay.${name}`);
}

function safeGetOverlayXattr(p: string, name: 'opaque' | 'whiteout'): Buffer | null {
  try {
    return overlayXattr(p, name);
  } catch (e) {
    // Symlinks cannot carry user.* xattrs; an unprivileged reader gets EPERM on trusted.*.
    if (isErrno(e) && (e.code === 'EPERM' || e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP')) return null;
    throw e;
  }
}

function isWhiteout(p: string, st: fs.Stats): boolean {
  if (st.isCharacterDevice() && st.rdev === 0) return true;
  // Kernel ≥ 6.7 "xattr whiteouts" (used for lower layers, but accept them anywhere).
  return st.isFile() && st.size === 0 && safeGetOverlayXattr(p, 'whiteout') !== null;
}

function stripOverlayXattrs(p: string): void {
  const n = native();
  let names: string[];
  try {
    names = n.listXattrs(p);
  } catch (e) {
    if (isErrno(e) && (e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP')) return;
    throw e;
  }
  const strip = names.filter((x) => OVERLAY_XATTR.test(x));
  if (strip.length === 0) return;
  try {
    for (const x of strip) n.removeXattr(p, x);
  } catch (e) {
    if (!(isErrno(e) && e.code === 'EACCES')) throw e;
    // rootless: user.* xattrs need write permission, which a 0000/0400 file (shadow, gshadow) lacks for its owner
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) throw e;
    fs.chmodSync(p, (st.mode & 0o7777) | 0o200);
    try {
      for (const x of strip) if (n.getXattr(p, x) !== null) n.removeXattr(p, x);
    } finally {
      fs.chmodSync(p, st.mode & 0o7777);
    }
  }
}

/** Make a directory's non-overlay xattrs equal to the upper one's (copy-up copied them all, then scripts changed some). */
function syncDirXattrs(up: string, low: string): void {
  const n = native();
  let want: string[];
  let have: string[];
  try {
    want = n.listXattrs(up).filter((x) => !OVERLAY_XATTR.test(x));
    have = n.listXattrs(low);
  } catch (e) {
    if (isErrno(e) && (e.code === 'ENOTSUP' || e.code === 'EOPNOTSUPP')) return;
    throw e;
  }
  const tolerate = (f: () => void) => {
    try {
      f();
    } catch (e) {
      // trusted.*/security.* are root-only; rootless merges keep what they cannot change.
      if (!(isErrno(e) && (e.code === 'EPERM' || e.code === 'EACCES'))) throw e;
    }
  };
  for (const x of want) {
    const v = n.getXattr(up, x);
    const cur = n.getXattr(low, x);
    if (v !== null && (cur === null || !cur.equals(v))) tolerate(() => n.setXattr(low, x, v));
  }
  for (const x of have) if (!want.includes(x)) tolerate(() => n.removeXattr(low, x));
}

function lstatOrNull(p: string): fs.Stats | null {
  return fs.lstatSync(p, { throwIfNoEntry: false }) ?? null;
}

function removeTree(p: string): void {
  fs.rmSync(p, { recursive: true, force: true });
}

function emptyDir(dir: string): void {
  for (const name of fs.readdirSync(dir)) removeTree(path.join(dir, name));
}

/** Move a non-directory from upper to lower, replacing what is there (rename never writes into the old inode). */
function moveInto(up: string, low: string, st: fs.Stats): void {
  try {
    fs.renameSync(up, low);
    return;
  } catch (e) {
    if (!isErrno(e, 'EXDEV')) throw e;
  }
  // Scratch on another filesystem: copy to a temp name beside the target, then rename over it.
  const tmp = `${low}.coreforge-merge-${process.pid}`;
  fs.rmSync(tmp, { force: true });
  if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(up), tmp);
  else if (st.isFile()) {
    fs.copyFileSync(up, tmp);
    fs.chmodSync(tmp, st.mode & 0o7777);
  } else throw new UnsupportedError(`cannot move special file ${up} across filesystems into ${low}; put the scratch dir on the tree's filesystem`);
  if (process.getuid?.() === 0) fs.lchownSync(tmp, st.uid, st.gid);
  fs.renameSync(tmp, low);
}

function mergeDir(upDir: string, lowDir: string, top: boolean, opts: MergeOptions, stats: MergeStats, rel = ''): void {
  for (const name of fs.readdirSync(upDir)) {
    const relName = rel === '' ? name : `${rel}/${name}`;
    const up = path.join(upDir, name);
    const low = path.join(lowDir, name);
    const st = fs.lstatSync(up);
    const lst = lstatOrNull(low);
    // rootless: reading or removing user.* xattrs needs read/write permission, which shadow (0000) denies its owner
    const locked = st.isFile() && (st.mode & 0o600) !== 0o600 && process.getuid?.() !== 0;
    if (locked) fs.chmodSync(up, (st.mode & 0o7777) | 0o600);
    if (isWhiteout(up, st)) {
      if (lst) {
        removeTree(low);
        stats.deleted++;
      }
      continue;
    }
    if (st.isDirectory()) {
      if (!lst && opts.skipNewEmptyTopDirs?.includes(relName) && fs.readdirSync(up).length === 0) continue;
      let isDir = lst?.isDirectory() ?? false;
      if (lst && !isDir) {
        fs.unlinkSync(low);
      }
      if (isDir && safeGetOverlayXattr(up, 'opaque')?.toString() === 'y') emptyDir(low);
      if (!isDir) {
        fs.mkdirSync(low);
        isDir = true;
        stats.added++;
      }
      mergeDir(up, low, false, opts, stats, relName);
      stats.dirs++;
      if (((lstatOrNull(low)?.mode ?? 0) & 0o7777) !== (st.mode & 0o7777)) fs.chmodSync(low, st.mode & 0o7777);
      if (process.getuid?.() === 0) {
        const now = fs.lstatSync(low);
        if (now.uid !== st.uid || now.gid !== st.gid) fs.lchownSync(low, st.uid, st.gid);
      }
      syncDirXattrs(up, low);
      fs.utimesSync(low, st.atime, st.mtime);
      continue;
    }
    stripOverlayXattrs(up);
    if (lst?.isDirectory()) removeTree(low);
    moveInto(up, low, st);
    if (locked) fs.chmodSync(low, st.mode & 0o7777);
    if (lst) stats.replaced++;
    else stats.added++;
  }
}

/** Merge `upper` into `lower` (see the module comment). */
export function mergeOverlayUpper(upper: string, lower: string, opts: MergeOptions = {}): MergeStats {
  const stats: MergeStats = { deleted: 0, replaced: 0, added: 0, dirs: 0 };
  try {
    mergeDir(upper, lower, true, opts, stats);
  } catch (e) {
    if (e instanceof CoreforgeError) throw e;
    throw new CoreforgeError('EIO', `merging the sandbox's changes into ${lower} failed: ${(e as Error).message}`, { cause: e });
  }
  return stats;
}
