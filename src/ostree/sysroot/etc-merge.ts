import { promises as fsp, type Stats } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../native/index.js';

/**
 * Copy a tree as real files (no hardlinks into the repository): /etc of a
 * deployment must be writable without touching the shared objects.
 * Ownership, modes, symlinks and xattrs are preserved.
 */
export async function copyTree(src: string, dst: string): Promise<void> {
  const st = await fsp.lstat(src);
  await copyEntry(src, dst, st);
}

async function copyEntry(src: string, dst: string, st: Stats): Promise<void> {
  if (st.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(src), dst);
    await fsp.lchown(dst, st.uid, st.gid).catch(() => undefined);
    return;
  }
  if (st.isDirectory()) {
    await fsp.mkdir(dst, { mode: 0o700 });
    for (const name of await fsp.readdir(src)) await copyEntry(join(src, name), join(dst, name), await fsp.lstat(join(src, name)));
  } else if (st.isFile()) {
    await fsp.copyFile(src, dst);
  } else {
    return; // sockets, fifos and devices are not part of /etc content
  }
  copyXattrs(src, dst);
  await fsp.chown(dst, st.uid, st.gid).catch(() => undefined);
  await fsp.chmod(dst, st.mode & 0o7777);
}

function copyXattrs(src: string, dst: string): void {
  const n = native();
  for (const name of n.listXattrs(src)) {
    if (name === 'user.ostreemeta') continue;
    const v = n.getXattr(src, name);
    if (v) n.setXattr(dst, name, v);
  }
}

async function sameEntry(a: string, sa: Stats, b: string, sb: Stats): Promise<boolean> {
  if ((sa.mode & 0o170000) !== (sb.mode & 0o170000)) return false;
  if ((sa.mode & 0o7777) !== (sb.mode & 0o7777) || sa.uid !== sb.uid || sa.gid !== sb.gid) return false;
  if (sa.isSymbolicLink()) return (await fsp.readlink(a)) === (await fsp.readlink(b));
  if (sa.isFile()) {
    if (sa.size !== sb.size) return false;
    if (sa.ino === sb.ino && sa.dev === sb.dev) return true;
    const [x, y] = await Promise.all([fsp.readFile(a), fsp.readFile(b)]);
    return x.equals(y);
  }
  return true;
}

export interface EtcMergeStats {
  modified: number;
  added: number;
  removed: number;
}

/**
 * ostree's three-way /etc merge (merge_configuration_from): the changes the
 * admin made in the old deployment — its `etc` against its pristine
 * `usr/etc` — are applied onto the new deployment's `etc`. Modified and added
 * entries are copied over (the admin's version wins); removed ones are
 * deleted. No line-level merging, as in ostree.
 */
export async function mergeEtc(origEtc: string, modifiedEtc: string, newEtc: string): Promise<EtcMergeStats> {
  const stats: EtcMergeStats = { modified: 0, added: 0, removed: 0 };
  const walk = async (rel: string) => {
    const o = join(origEtc, rel);
    const m = join(modifiedEtc, rel);
    const origNames = new Set(await fsp.readdir(o).catch(() => [] as string[]));
    const modNames = await fsp.readdir(m).catch(() => [] as string[]);
    for (const name of modNames) {
      const mp = join(m, name);
      const op = join(o, name);
      const np = join(newEtc, rel, name);
      const ms = await fsp.lstat(mp);
      const os = origNames.has(name) ? await fsp.lstat(op) : null;
      if (!os) {
        await fsp.rm(np, { recursive: true, force: true });
        await copyEntry(mp, np, ms);
        stats.added++;
        continue;
      }
      if (ms.isDirectory() && os.isDirectory()) {
        if ((ms.mode & 0o7777) !== (os.mode & 0o7777) || ms.uid !== os.uid || ms.gid !== os.gid) {
          await fsp.mkdir(np, { recursive: true });
          await fsp.chmod(np, ms.mode & 0o7777);
          await fsp.chown(np, ms.uid, ms.gid).catch(() => undefined);
          stats.modified++;
        }
        await walk(join(rel, name));
        continue;
      }
      if (!(await sameEntry(mp, ms, op, os))) {
        await fsp.rm(np, { recursive: true, force: true });
        await copyEntry(mp, np, ms);
        stats.modified++;
      }
    }
    const modSet = new Set(modNames);
    for (const name of origNames) {
      if (modSet.has(name)) continue;
      await fsp.rm(join(newEtc, rel, name), { recursive: true, force: true });
      stats.removed++;
    }
  };
  await walk('');
  return stats;
}
