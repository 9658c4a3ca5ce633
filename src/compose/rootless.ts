import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { FileMetaMap } from './types.js';

/** The modes entries really have (they were made owner-accessible on disk). */
export interface LockedModes {
  /** Directories by (dev:ino): they keep their inode when later steps rename them. */
  dirs: Map<string, number>;
  /** Files by final path: later steps rewrite them (new inode) keeping the on-disk mode. */
  files: Map<string, number>;
}

const etcToUsrEtc = (rel: string): string => (rel === 'etc' || rel.startsWith('etc/') ? `usr/${rel}` : rel);

/**
 * Rootless builds: the packages' directories keep their modes on disk
 * (Fedora ships /usr/lib, /boot, /proc as 0555), and an unprivileged owner
 * cannot create entries in or rename such directories, which every later
 * step does; nor read owner-unreadable files (shadow, 0000). Make them owner
 * accessible and remember the real mode by inode, which survives the renames
 * of the later steps (etc → usr/etc, boot → usr/lib/ostree-boot).
 * Directories and unreadable files are real entries in the checkout, never
 * pkgcache hardlinks (those are at least 0400), so changing their mode is
 * safe. As root nothing is needed.
 */
export async function unlockTree(root: string, locked: LockedModes = { dirs: new Map(), files: new Map() }, mapPath: (rel: string) => string = etcToUsrEtc): Promise<LockedModes> {
  if (process.getuid?.() === 0) return locked;
  const visit = async (path: string, rel: string, isDir: boolean): Promise<void> => {
    const st = await fsp.lstat(path);
    const mode = st.mode & 0o7777;
    const want = isDir ? 0o700 : 0o600;
    if ((mode & want) !== want && (isDir || st.nlink === 1)) {
      if (isDir) {
        const key = `${st.dev}:${st.ino}`;
        if (!locked.dirs.has(key)) locked.dirs.set(key, mode);
      } else {
        const key = `/${mapPath(rel)}`;
        if (!locked.files.has(key)) locked.files.set(key, mode);
      }
      await fsp.chmod(path, mode | want);
    }
    if (!isDir) return;
    for (const e of await fsp.readdir(path, { withFileTypes: true })) {
      const r = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) await visit(join(path, e.name), r, true);
      else if (e.isFile()) await visit(join(path, e.name), r, false);
    }
  };
  await visit(root, '', true);
  return locked;
}

/** FileMeta modes for the entries of `root` that unlockTree changed, under their current paths (existing modes win). */
export async function lockedModesMeta(root: string, locked: LockedModes, meta: FileMetaMap): Promise<void> {
  if (locked.dirs.size === 0 && locked.files.size === 0) return;
  const visit = async (path: string, rel: string): Promise<void> => {
    const st = await fsp.lstat(path);
    const mode = st.isDirectory() ? locked.dirs.get(`${st.dev}:${st.ino}`) : locked.files.get(rel);
    if (mode !== undefined && meta.get(rel)?.mode === undefined) meta.set(rel, { ...meta.get(rel), mode });
    if (!st.isDirectory()) return;
    for (const e of await fsp.readdir(path, { withFileTypes: true })) {
      if (e.isDirectory() || e.isFile()) await visit(join(path, e.name), rel === '/' ? `/${e.name}` : `${rel}/${e.name}`);
    }
  };
  await visit(root, '/');
}
