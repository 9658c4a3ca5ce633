import { promises as fsp } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CoreforgeError, InvalidInputError } from '../errors.js';
import { randomName } from '../util/fs.js';
import { Repo } from '../ostree/repo/repo.js';
import { pullLocal } from '../ostree/pull-local.js';
import { signCommit, signSummary, type SignWith } from '../ostree/sign/index.js';
import { deleteDelta, generateDelta, listDeltas } from '../ostree/deltas/index.js';
import { pruneRepo } from '../ostree/prune.js';
import { regenerateSummary } from '../ostree/summary.js';
import { ObjectType } from '../ostree/objects/types.js';
import type { Checksum } from '../ostree/checksum.js';
import { findBuild } from './builds.js';
import { syncRepo, type SyncStats } from './sync.js';
import type { PublishTarget } from './targets.js';

export interface PublishOptions {
  buildDir: string;
  repo: string;
  buildId?: string;
  arch?: string;
  sign?: SignWith;
  /** Commits of history kept on the ref (default: all). */
  keep?: number;
  /** Also generate a delta from scratch to the new commit. */
  scratchDelta?: boolean;
  target?: PublishTarget;
  log?: (line: string) => void;
}

export interface PublishResult {
  build: string;
  ref: string;
  commit: Checksum;
  previous: Checksum | null;
  imported: boolean;
  deltas: string[];
  pruned: number;
  sync?: SyncStats;
}

/**
 * Publish the newest build to the distribution repository (cosa's
 * documented import, signing, deltas, summary and pruning in one step),
 * then sync the repository to a target in a reader-safe order.
 */
export async function publishBuild(o: PublishOptions): Promise<PublishResult> {
  const log = o.log ?? (() => undefined);
  const build = await findBuild(o.buildDir, { ...(o.buildId ? { id: o.buildId } : {}), ...(o.arch ? { arch: o.arch } : {}) });
  const commit = build.meta['ostree-commit'];
  const ref = build.meta.ref;
  if (!ref) throw new InvalidInputError(`${join(build.dir, 'meta.json')}: ref: missing`);
  let repo: Repo;
  try {
    repo = await Repo.open(o.repo);
  } catch {
    repo = await Repo.create(o.repo, 'archive');
    log(`Created archive repository ${o.repo}`);
  }
  if (!repo.isArchive) throw new InvalidInputError(`${o.repo}: a published repository must be in archive mode`);
  const previous = await repo.resolveRev(ref, true);
  let imported = false;
  if (previous !== commit) {
    if (!(await repo.hasObject(ObjectType.Commit, commit)) || (await repo.isCommitPartial(commit))) {
      const tmp = join(o.buildDir, 'tmp', randomName('publish-import'));
      await fsp.mkdir(tmp, { recursive: true });
      try {
        const r = spawnSync('tar', ['-xf', build.ostreeTar, '-C', tmp], { encoding: 'utf8' });
        if (r.status !== 0) throw new CoreforgeError('EIO', `cannot extract ${build.ostreeTar}: ${r.stderr.trim()}`);
        const src = await Repo.open(tmp);
        await pullLocal(repo, src, [commit], { noRefs: true });
      } finally {
        await fsp.rm(tmp, { recursive: true, force: true });
      }
      imported = true;
    }
    log(`Imported build ${build.id} (${commit}) onto ${ref}`);
  }
  if (o.sign && ((o.sign.gpg?.length ?? 0) > 0 || (o.sign.ed25519?.length ?? 0) > 0)) {
    const meta = await repo.loadCommitMeta(commit);
    const already = meta?.some(([k]) => k === 'ostree.gpgsigs' || k === 'ostree.sign.ed25519');
    if (!already) {
      await signCommit(repo, commit, o.sign);
      log(`Signed ${commit}`);
    }
  }
  // the ref moves only once the commit is complete and signed
  if (previous !== commit) await repo.setRef(ref, commit);
  const deltas: string[] = [];
  const existing = new Set((await listDeltas(repo)).map((d) => d.name));
  if (previous && previous !== commit && (await repo.hasObject(ObjectType.Commit, previous))) {
    if (!existing.has(`${previous}-${commit}`)) {
      await generateDelta(repo, { from: previous, to: commit });
      deltas.push(`${previous}-${commit}`);
    }
  }
  if (o.scratchDelta && !existing.has(commit)) {
    await generateDelta(repo, { from: null, to: commit });
    deltas.push(commit);
  }
  let pruned = 0;
  if (o.keep !== undefined) {
    if (o.keep < 1) throw new InvalidInputError('--keep must be at least 1');
    const r = await pruneRepo(repo, { refsOnly: true, retainBranchDepth: new Map([[ref, o.keep - 1]]) });
    pruned = r.pruned;
    for (const d of await listDeltas(repo)) {
      if (!(await repo.hasObject(ObjectType.Commit, d.to)) || (d.from && !(await repo.hasObject(ObjectType.Commit, d.from)))) await deleteDelta(repo, d);
    }
  }
  await regenerateSummary(repo);
  if (o.sign && ((o.sign.gpg?.length ?? 0) > 0 || (o.sign.ed25519?.length ?? 0) > 0)) await signSummary(repo, o.sign);
  const result: PublishResult = { build: build.id, ref, commit, previous, imported, deltas, pruned };
  if (o.target) {
    result.sync = await syncRepo(repo.path, o.target, { deleteStale: o.keep !== undefined });
    log(`Synced to ${o.target.description}: ${result.sync.uploaded} files (${result.sync.uploadedBytes} bytes) uploaded, ${result.sync.unchanged} unchanged, ${result.sync.deleted} deleted`);
  }
  return result;
}
