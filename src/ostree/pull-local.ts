import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { InvalidInputError, NotFoundError } from '../errors.js';
import type { Checksum } from './checksum.js';
import { ObjectType } from './objects/types.js';
import type { Repo } from './repo/repo.js';
import { Transaction } from './repo/transaction.js';
import { objectKey, traverseTree } from './traverse.js';
import { verifyContent, verifyMetadata } from './fsck.js';

export interface PullLocalOptions {
  /** History depth (0 = only the named commits; -1 = all). */
  depth?: number;
  /** Store refs under refs/remotes/REMOTE/ instead of refs/heads/. */
  remote?: string | null;
  /** Verify every object's checksum instead of trusting the source (--untrusted). */
  untrusted?: boolean;
  /** Don't update refs (like --commit-metadata-only does not apply; used for import). */
  noRefs?: boolean;
  /** Reject regular files with mode bits outside 0775 (--bareuseronly-files). */
  bareuseronlyFiles?: boolean;
  /** Copy only the commit objects, marking new ones partial (--commit-metadata-only). */
  commitMetadataOnly?: boolean;
  onProgress?: (copied: number, scanned: number) => void;
}

export interface PullLocalResult {
  refs: Map<string, Checksum>;
  metadataCopied: number;
  contentCopied: number;
}

/**
 * Copy the objects of refs (or commits) from `src` into `dst` and update
 * refs (ostree pull-local). Objects are staged and only made visible, commits
 * last, when all are present; same-format objects are hardlinked or copied
 * verbatim, otherwise converted and re-verified.
 */
export async function pullLocal(dst: Repo, src: Repo, revs: readonly string[], opts: PullLocalOptions = {}): Promise<PullLocalResult> {
  const resolved = new Map<string, Checksum>();
  for (const rev of revs.length > 0 ? revs : [...(await src.listRefs({ remotes: false })).keys()]) {
    const c = await src.resolveRev(rev, false);
    resolved.set(rev, c!);
  }
  const sameFormat = dst.isArchive === src.isArchive && (dst.isArchive || dst.mode === src.mode);
  const tx = await Transaction.begin(dst);
  let scanned = 0;
  try {
    const seen = new Set<string>();
    const pending = new Set<Promise<void>>();
    let failure: unknown = null;
    const copy = async (type: ObjectType, csum: Checksum) => {
      scanned++;
      const p: Promise<void> = copyObject(tx, src, type, csum, sameFormat, Boolean(opts.untrusted), Boolean(opts.bareuseronlyFiles))
        .then(() => opts.onProgress?.(tx.stats.contentWritten + tx.stats.metadataWritten, scanned))
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => pending.delete(p));
      pending.add(p);
      if (pending.size >= 8) await Promise.race(pending);
    };
    for (const head of resolved.values()) {
      // walk the history to the requested depth; a missing parent ends it, as in ostree
      let depth = opts.depth ?? 0;
      let cur: Checksum | null = head;
      while (cur && !failure) {
        const key = objectKey(ObjectType.Commit, cur);
        if (seen.has(key)) break;
        seen.add(key);
        let commit;
        try {
          commit = await src.loadCommit(cur);
        } catch (e) {
          if (e instanceof NotFoundError && cur !== head) break;
          throw e;
        }
        const inDst = await dst.hasObject(ObjectType.Commit, cur);
        const partial = inDst && (await dst.isCommitPartial(cur));
        await copy(ObjectType.Commit, cur);
        if (await src.hasObject(ObjectType.CommitMeta, cur)) await tx.importRaw(ObjectType.CommitMeta, cur, src.objectPath(ObjectType.CommitMeta, cur));
        if (opts.commitMetadataOnly) {
          if (!inDst) tx.markCommitPartial(cur);
        } else if (!inDst || partial) {
          for await (const o of traverseTree(src, commit.rootTree, commit.rootMeta, seen)) {
            if (failure) break;
            await copy(o.type, o.checksum);
          }
          if (partial) tx.clearCommitPartial(cur);
        }
        if (depth === 0) break;
        if (depth > 0) depth--;
        cur = commit.parent;
      }
    }
    await Promise.all(pending);
    if (failure) throw failure;
    if (!opts.noRefs) {
      for (const [rev, c] of resolved) {
        if (/^[0-9a-f]{64}$/.test(rev)) continue;
        const ref = rev.includes(':') ? rev.slice(rev.indexOf(':') + 1) : rev;
        tx.setRef(ref, c, opts.remote ?? null);
      }
    }
    const stats = await tx.commit();
    return { refs: resolved, metadataCopied: stats.metadataWritten, contentCopied: stats.contentWritten };
  } catch (e) {
    await tx.abort();
    throw e;
  }
}

async function copyObject(tx: Transaction, src: Repo, type: ObjectType, csum: Checksum, sameFormat: boolean, untrusted: boolean, bareuseronlyFiles: boolean): Promise<void> {
  if (await tx.hasObject(type, csum)) return;
  if (type === ObjectType.File && bareuseronlyFiles) {
    const h = (await src.loadContent(csum)).header;
    if (!h.isSymlink && (h.mode & 0o7777 & ~0o775) !== 0) throw new InvalidInputError(`Content object ${csum}: invalid mode 0${(h.mode & 0o7777).toString(8)} with bits 0${(h.mode & 0o7777 & ~0o775).toString(8)}`);
  }
  if (type !== ObjectType.File) {
    // metadata has the same form in every mode: verify it, then hardlink (or copy) it in
    await verifyMetadata(src, type, csum);
    await tx.importRaw(type, csum, src.objectPath(type, csum));
    return;
  }
  if (sameFormat) {
    // a local source is trusted unless --untrusted, as in ostree; either way the object is linked, not rewritten
    if (untrusted) await verifyContent(src, csum);
    try {
      await tx.importRaw(type, csum, src.objectPath(type, csum));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`No such content object ${csum} in source repository`);
      throw e;
    }
  }
  const obj = await src.loadContent(csum);
  if (obj.header.isSymlink) {
    await tx.writeContent(obj.header, { kind: 'symlink' }, csum);
    return;
  }
  const pass = new PassThrough({ highWaterMark: 1024 * 1024 });
  const feeding = pipeline(obj.open(), pass);
  const writing = tx.writeContent(obj.header, { kind: 'stream', size: obj.size, stream: pass }, csum);
  await Promise.all([feeding, writing]);
}
