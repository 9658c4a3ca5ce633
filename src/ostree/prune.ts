import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Checksum } from './checksum.js';
import { Commit, serializeTombstone } from './objects/commit.js';
import { ObjectType } from './objects/types.js';
import type { Repo } from './repo/repo.js';
import { objectKey, traverseCommit } from './traverse.js';
import { writeFileAtomic } from '../util/fs.js';

export interface PruneOptions {
  /** Only refs keep objects alive; otherwise every commit object is a root. */
  refsOnly?: boolean;
  /** History depth kept below each ref (-1 = all). */
  depth?: number;
  /** Keep commits at least this recent (seconds since epoch); implies refsOnly. */
  keepYoungerThan?: number;
  /** Only prune history of these refs; others keep everything (implies refsOnly). */
  onlyBranches?: string[];
  /** Per-ref depth overrides (--retain-branch-depth). */
  retainBranchDepth?: Map<string, number>;
  /** Only delete commit objects (--commit-only). */
  commitOnly?: boolean;
  /** Report what would go, delete nothing. */
  noPrune?: boolean;
  /**
   * objectKeys known reachable, e.g. a commit's closure the caller just walked (its dirtrees' contents
   * included, its commit object not: the walk from the refs still follows that commit's parents).
   */
  reachable?: Set<string>;
}

export interface PruneResult {
  total: number;
  pruned: number;
  freedBytes: number;
}

/**
 * Delete objects not reachable from the roots (ostree prune). Holds the
 * repository's exclusive lock, so no writer can be mid-transaction: objects
 * it is about to reference are never removed underneath it.
 */
export async function pruneRepo(repo: Repo, opts: PruneOptions = {}): Promise<PruneResult> {
  const unlock = await repo.lock('ex');
  try {
    const reachable = new Set<string>(opts.reachable ?? []);
    const refs = await repo.listRefs({ mirrors: true });
    const advanced = opts.keepYoungerThan !== undefined || opts.onlyBranches !== undefined || opts.retainBranchDepth !== undefined;
    const refsOnly = opts.refsOnly || advanced;
    const depthFor = (ref: string): number => {
      const r = opts.retainBranchDepth?.get(ref);
      if (r !== undefined) return r;
      if (opts.onlyBranches && !opts.onlyBranches.includes(ref)) return -1;
      return opts.depth ?? -1;
    };
    const keep = async (commit: Checksum, depth: number) => {
      for await (const o of traverseCommit(repo, commit, { depth, seen: reachable })) void o;
    };
    for (const [ref, commit] of refs) {
      if (!(await repo.hasObject(ObjectType.Commit, commit))) continue;
      if (opts.keepYoungerThan !== undefined && opts.retainBranchDepth?.get(ref) === undefined && !(opts.onlyBranches && !opts.onlyBranches.includes(ref))) {
        await keep(commit, 0);
        let cur: Checksum | null = commit;
        while (cur) {
          const c: Commit | null = await repo.loadCommit(cur).catch(() => null);
          if (!c || c.timestamp < opts.keepYoungerThan) break;
          await keep(cur, 0);
          cur = c.parent;
        }
        continue;
      }
      await keep(commit, depthFor(ref));
    }
    if (!refsOnly) for (const c of await repo.listCommits()) await keep(c, 0);

    let total = 0;
    let pruned = 0;
    let freed = 0;
    const tombstones = repo.config.getBoolean('core', 'tombstone-commits') ?? false;
    for await (const o of repo.listObjects()) {
      if (o.type === ObjectType.CommitMeta || o.type === ObjectType.TombstoneCommit) continue;
      total++;
      if (reachable.has(objectKey(o.type, o.checksum))) continue;
      if (opts.commitOnly && o.type !== ObjectType.Commit) continue;
      const p = repo.objectPath(o.type, o.checksum);
      const st = await fsp.lstat(p).catch(() => null);
      if (!st) continue;
      pruned++;
      freed += st.size;
      if (opts.noPrune) continue;
      if (o.type === ObjectType.Commit) {
        await fsp.rm(repo.objectPath(ObjectType.CommitMeta, o.checksum), { force: true });
        if (tombstones) await writeFileAtomic(repo.objectPath(ObjectType.TombstoneCommit, o.checksum), serializeTombstone(o.checksum));
        await fsp.rm(join(repo.path, 'state', `${o.checksum}.commitpartial`), { force: true });
      }
      await fsp.rm(p, { force: true });
    }
    return { total, pruned, freedBytes: freed };
  } finally {
    unlock();
  }
}

/** GLib's g_format_size: decimal units, "%u bytes" below 1000. */
export function formatSize(n: number): string {
  if (n < 1000) return n === 1 ? '1 byte' : `${n} bytes`;
  const units = ['kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  let v = n;
  let i = -1;
  do {
    v /= 1000;
    i++;
  } while (v >= 1000 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}
