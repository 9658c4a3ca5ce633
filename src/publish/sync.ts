import { promises as fsp } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { TaskPool } from '../util/fs.js';
import type { PublishTarget } from './targets.js';

export interface SyncStats {
  uploaded: number;
  uploadedBytes: number;
  unchanged: number;
  deleted: number;
}

export interface SyncOptions {
  /** Remove published files the local repository no longer has (after the new summary is live). */
  deleteStale?: boolean;
  concurrency?: number;
  onProgress?: (phase: string, done: number, total: number) => void;
}

async function listLocal(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (r: string) => {
    const ents = await fsp.readdir(join(root, r), { withFileTypes: true }).catch(() => []);
    for (const e of ents) {
      const p = r ? `${r}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  await walk(rel);
  return out.sort();
}

/**
 * Publish a local archive repository to a target so that a client reading at
 * any instant sees either the old or the new state: content and tree objects
 * first, then delta parts, superblocks and indexes, then commit metadata and
 * commits, refs and config, summary.sig and finally summary. Only what the
 * target lacks (immutable objects) or holds differently (mutable files) is
 * uploaded, so an interrupted publish simply runs again. Stale files go last.
 */
export async function syncRepo(repoPath: string, target: PublishTarget, opts: SyncOptions = {}): Promise<SyncStats> {
  const stats: SyncStats = { uploaded: 0, uploadedBytes: 0, unchanged: 0, deleted: 0 };
  await target.prepare?.();
  const objects = await listLocal(repoPath, 'objects');
  const deltas = await listLocal(repoPath, 'deltas');
  const phases: Array<[string, string[], boolean]> = [
    ['objects', objects.filter((k) => !k.endsWith('.commit') && !k.endsWith('.commitmeta')), true],
    ['delta parts', deltas.filter((k) => !k.endsWith('/superblock')), true],
    ['delta superblocks', deltas.filter((k) => k.endsWith('/superblock')), false],
    ['delta indexes', await listLocal(repoPath, 'delta-indexes'), false],
    ['commit metadata', objects.filter((k) => k.endsWith('.commitmeta')), false],
    ['commits', objects.filter((k) => k.endsWith('.commit')), true],
    ['refs', [...(await listLocal(repoPath, 'refs/heads')), 'config'], false],
    ['summary.sig', (await fsp.stat(join(repoPath, 'summary.sig')).catch(() => null)) ? ['summary.sig'] : [], false],
    ['summary', (await fsp.stat(join(repoPath, 'summary')).catch(() => null)) ? ['summary'] : [], false],
  ];
  for (const [phase, keys, immutable] of phases) {
    const pool = new TaskPool(opts.concurrency ?? 8);
    let done = 0;
    for (const key of keys) {
      await pool.add(async () => {
        const local = join(repoPath, key);
        const st = await fsp.stat(local);
        const remote = await target.stat(key);
        let same = remote !== null && remote.size === st.size;
        if (same && !immutable && remote!.sha256 !== undefined) {
          same = remote!.sha256 === createHash('sha256').update(await fsp.readFile(local)).digest('hex');
        } else if (same && !immutable) same = false;
        if (same) stats.unchanged++;
        else {
          await target.put(key, local, { immutable });
          stats.uploaded++;
          stats.uploadedBytes += st.size;
        }
        opts.onProgress?.(phase, ++done, keys.length);
      });
    }
    await pool.drain();
  }
  // a summary.sig that no longer exists locally would sign the wrong summary
  if (!(await fsp.stat(join(repoPath, 'summary.sig')).catch(() => null)) && (await target.stat('summary.sig'))) {
    await target.delete('summary.sig');
    stats.deleted++;
  }
  if (opts.deleteStale) {
    const keep = new Set(phases.flatMap(([, keys]) => keys));
    for (const prefix of ['refs/heads', 'objects', 'deltas', 'delta-indexes']) {
      const remoteKeys = await target.list(prefix);
      // refs first, commits before the objects they reference
      remoteKeys.sort((a, b) => Number(!a.endsWith('.commit')) - Number(!b.endsWith('.commit')));
      for (const k of remoteKeys) {
        if (keep.has(k)) continue;
        await target.delete(k);
        stats.deleted++;
      }
    }
  }
  return stats;
}
