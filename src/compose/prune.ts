/**
 * cosa prune (and the prune at the end of cosa build): keep the newest
 * builds, delete the others' directories under builds/. Tagged builds
 * (builds.json `tags`, cosa tag) are never pruned and do not count. As
 * cosa: builds.json and builds/latest move first (each atomically), then
 * the directories go, so a crash leaves at worst an unlisted directory.
 * A ref named after a pruned build in tmp/repo is deleted with it.
 *
 * pruneBuildRepo is cosa build's `ostree prune --repo=tmp/repo --refs-only
 * --depth=2`: the build repo keeps each ref's commit and two ancestors.
 */
import { existsSync, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { Repo } from '../ostree/repo/repo.js';
import { pruneRepo, type PruneResult } from '../ostree/prune.js';
import { ObjectType } from '../ostree/objects/types.js';
import type { Checksum } from '../ostree/checksum.js';
import { validateRef } from '../ostree/repo/refs.js';
import { writeFileAtomic } from '../util/fs.js';
import { readBuildsJson, rfc3339, setLatest } from './builds.js';

/** cosa's DEFAULT_KEEP_LAST_N. */
export const DEFAULT_KEEP_LAST_N = 3;

export interface PruneBuildsOptions {
  /** Untagged builds to keep, newest first (0 keeps all). Default 3. */
  keepLastN?: number;
  /** Prune exactly these builds instead (cosa prune --build). */
  builds?: string[];
  /** Say what would go; change nothing. */
  dryRun?: boolean;
  now?: Date;
}

export interface PruneBuildsResult {
  kept: string[];
  pruned: string[];
  /** Kept although old: tagged (build id → tag names). */
  tagged: Map<string, string[]>;
}

interface BuildsTag {
  name: string;
  target: string;
}

export async function pruneBuilds(buildDir: string, o: PruneBuildsOptions = {}): Promise<PruneBuildsResult> {
  const bj = await readBuildsJson(buildDir);
  const result: PruneBuildsResult = { kept: [], pruned: [], tagged: new Map() };
  if (!bj) return result;
  const rawTags = (bj as { tags?: unknown }).tags;
  if (rawTags !== undefined && (!Array.isArray(rawTags) || !rawTags.every((t) => typeof t?.name === 'string' && typeof t?.target === 'string'))) {
    throw new InvalidInputError(`${join(buildDir, 'builds', 'builds.json')}: tags: expected [{name: string, target: string}]`);
  }
  for (const t of (rawTags ?? []) as BuildsTag[]) result.tagged.set(t.target, [...(result.tagged.get(t.target) ?? []), t.name]);

  const keepLastN = o.keepLastN ?? DEFAULT_KEEP_LAST_N;
  if (!Number.isInteger(keepLastN) || keepLastN < 0) throw new InvalidInputError(`keep-last-n: expected a whole number ≥ 0, got ${keepLastN}`);
  const doomed = new Set<string>();
  if (o.builds && o.builds.length > 0) {
    for (const id of o.builds) {
      if (!bj.builds.some((b) => b.id === id)) throw new NotFoundError(`Failed to find build ID: ${id}`);
      const tags = result.tagged.get(id);
      if (tags) throw new InvalidInputError(`Build ${id} is tagged (${tags.join(', ')})`);
      doomed.add(id);
    }
  } else if (keepLastN > 0) {
    let left = keepLastN;
    for (const b of bj.builds) {
      if (result.tagged.has(b.id)) continue;
      if (left > 0) left--;
      else doomed.add(b.id);
    }
  }
  result.kept = bj.builds.filter((b) => !doomed.has(b.id)).map((b) => b.id);
  result.pruned = bj.builds.filter((b) => doomed.has(b.id)).map((b) => b.id);
  if (o.dryRun || doomed.size === 0) return result;

  const buildsDir = join(buildDir, 'builds');
  bj.builds = bj.builds.filter((b) => !doomed.has(b.id));
  bj.timestamp = rfc3339(o.now ?? new Date());
  await writeFileAtomic(join(buildsDir, 'builds.json'), JSON.stringify(bj, null, 4));
  if (bj.builds.length > 0) await setLatest(buildsDir, bj.builds[0]!.id);
  else await fsp.rm(join(buildsDir, 'latest'), { force: true });

  const repoPath = join(buildDir, 'tmp', 'repo');
  const repo = existsSync(join(repoPath, 'config')) ? await Repo.open(repoPath) : null;
  try {
    for (const id of result.pruned) {
      if (repo && isRefName(id) && (await repo.readRefFile(repo.refPath(id), id).catch(() => null))) await repo.setRef(id, null);
      await fsp.rm(join(buildsDir, id), { recursive: true, force: true });
    }
  } finally {
    repo?.close();
  }
  return result;
}

function isRefName(s: string): boolean {
  try {
    validateRef(s);
    return true;
  } catch {
    return false;
  }
}

/** History cosa build keeps in tmp/repo below each ref. */
export const BUILD_REPO_DEPTH = 2;

/**
 * Prune the build repository to each ref's commit and its `depth` ancestors
 * (cosa build: `ostree prune --refs-only --depth=2`). The reachability walk
 * reads every dirtree, so it runs only when there is a commit to drop: one
 * older than that, or one no ref reaches. Returns null when there was none.
 * `reachable`: the closure of a commit the caller walked already (the build's tar did), so the walk covers
 * only what the ancestors changed.
 */
export async function pruneBuildRepo(repo: Repo, depth = BUILD_REPO_DEPTH, reachable?: Set<string>): Promise<PruneResult | null> {
  const kept = new Set<Checksum>();
  for (const commit of (await repo.listRefs()).values()) {
    let cur: Checksum | null = commit;
    for (let d = 0; cur && d <= depth && !kept.has(cur); d++) {
      kept.add(cur);
      cur = (await repo.loadCommit(cur).catch(() => null))?.parent ?? null;
    }
  }
  let extra = false;
  for (const o of repo.listObjectsSync()) {
    if (o.type === ObjectType.Commit && !kept.has(o.checksum)) {
      extra = true;
      break;
    }
  }
  return extra ? pruneRepo(repo, { refsOnly: true, depth, ...(reachable ? { reachable } : {}) }) : null;
}
