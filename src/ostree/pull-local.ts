import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import { NotFoundError } from '../errors.js';
import { sha256Hex, type Checksum } from './checksum.js';
import { ObjectType } from './objects/types.js';
import { CorruptionError } from '../errors.js';
import type { Repo } from './repo/repo.js';
import { Transaction } from './repo/transaction.js';
import { traverseCommit } from './traverse.js';

export interface PullLocalOptions {
  /** History depth (0 = only the named commits; -1 = all). */
  depth?: number;
  /** Store refs under refs/remotes/REMOTE/ instead of refs/heads/. */
  remote?: string | null;
  /** Verify every object's checksum instead of trusting the source (--untrusted). */
  untrusted?: boolean;
  /** Don't update refs (like --commit-metadata-only does not apply; used for import). */
  noRefs?: boolean;
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
    for (const commit of resolved.values()) {
      for await (const o of traverseCommit(src, commit, { depth: opts.depth ?? 0, seen })) {
        if (failure) break;
        scanned++;
        if (o.type === ObjectType.Commit && (await dst.hasObject(ObjectType.Commit, o.checksum)) && !(await dst.isCommitPartial(o.checksum))) {
          // complete in the destination already; its tree is there too
          continue;
        }
        const p: Promise<void> = copyObject(tx, src, o.type, o.checksum, sameFormat, Boolean(opts.untrusted))
          .then(() => opts.onProgress?.(tx.stats.contentWritten + tx.stats.metadataWritten, scanned))
          .catch((e: unknown) => {
            failure ??= e;
          })
          .finally(() => pending.delete(p));
        pending.add(p);
        if (pending.size >= 8) await Promise.race(pending);
        if (o.type === ObjectType.Commit) {
          const meta = src.objectPath(ObjectType.CommitMeta, o.checksum);
          if (await src.hasObject(ObjectType.CommitMeta, o.checksum)) await tx.importRaw(ObjectType.CommitMeta, o.checksum, meta);
        }
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

async function copyObject(tx: Transaction, src: Repo, type: ObjectType, csum: Checksum, sameFormat: boolean, untrusted: boolean): Promise<void> {
  if (await tx.hasObject(type, csum)) return;
  if (type !== ObjectType.File) {
    const bytes = await src.readMetadata(type, csum);
    const actual = sha256Hex(bytes);
    if (actual !== csum) throw new CorruptionError(`Corrupted ${type === ObjectType.Commit ? 'commit' : type === ObjectType.DirTree ? 'dirtree' : 'dirmeta'} object; checksum expected='${csum}' actual='${actual}'`);
    await tx.writeMetadata(type, bytes, csum);
    return;
  }
  if (sameFormat && !untrusted) {
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
