/**
 * Step 7 of the compose: commit the finished root filesystem into the build
 * repository. Files hardlinked from the pkgcache (the devino cache) are not
 * read again; everything else is root-owned with its on-disk mode, except
 * where the FileMeta overrides (RPM owners, file capabilities, SELinux
 * labels) say otherwise. The result is what `ostree commit --owner-uid=0
 * --owner-gid=0` gives for the same tree with those overrides applied.
 */
import { CorruptionError } from '../errors.js';
import type { VarDict } from '../gvariant/index.js';
import { native } from '../native/index.js';
import type { Checksum } from '../ostree/checksum.js';
import { MutableTree } from '../ostree/commit/mtree.js';
import { writeCommit } from '../ostree/commit/write-commit.js';
import { writeDirectoryToMtree, type CommitCounters, type CommitModifier } from '../ostree/commit/write-dir.js';
import { FileHeader, parseBareUserMeta } from '../ostree/objects/content.js';
import { S_IFMT, S_IFREG } from '../ostree/objects/dirmeta.js';
import { OSTREEMETA_XATTR, canonicalizeXattrs, xattrNameString, type Xattrs } from '../ostree/objects/xattrs.js';
import type { Repo } from '../ostree/repo/repo.js';
import { Transaction } from '../ostree/repo/transaction.js';
import type { ComposeProgress, DevinoCache, FileMetaMap } from './types.js';

export interface CommitRootfsOptions {
  devino: DevinoCache;
  meta: FileMetaMap;
  /** Ref to point at the new commit. */
  branch?: string;
  parent?: Checksum | null;
  subject?: string;
  body?: string;
  metadata: VarDict;
  /** Seconds since the epoch. */
  timestamp: number;
  onProgress?: (p: ComposeProgress) => void;
  /** Filled in: files read and hashed vs. reused from the devino cache. */
  counters?: CommitCounters;
  /** Filled in: objectKey of every dirtree, dirmeta and file the commit reaches (left empty if not known). */
  objects?: Set<string>;
}

/** xattrs that describe how a checkout or an overlay stored a file, never the file itself. */
function isStorageXattr(name: Uint8Array): boolean {
  const n = xattrNameString(name);
  return n === OSTREEMETA_XATTR || n.startsWith('user.overlay.') || n.startsWith('trusted.overlay.');
}

/** Override xattrs replace on-disk ones of the same name. */
function mergeXattrs(base: Xattrs, over: Xattrs | undefined): Xattrs {
  const kept = base.filter(([n]) => !isStorageXattr(n));
  if (!over || over.length === 0) return kept;
  const names = new Set(over.map(([n]) => Buffer.from(n).toString('latin1')));
  return canonicalizeXattrs([...kept.filter(([n]) => !names.has(Buffer.from(n).toString('latin1'))), ...over]);
}

/** A bare-user object's header, from the `user.ostreemeta` xattr of its hardlink (for cache entries without one). */
function bareUserHeader(fsPath: string): FileHeader | null {
  const raw = native().getXattr(fsPath, OSTREEMETA_XATTR);
  if (!raw) return null;
  let m: ReturnType<typeof parseBareUserMeta>;
  try {
    m = parseBareUserMeta(new Uint8Array(raw), `${fsPath} (${OSTREEMETA_XATTR})`);
  } catch (e) {
    if (e instanceof CorruptionError) return null;
    throw e;
  }
  if ((m.mode & S_IFMT) !== S_IFREG) return null;
  return new FileHeader(m.uid, m.gid, m.mode, m.xattrs);
}

const PROGRESS_EVERY = 1000;

/** Commit `rootfs` into `repo` (and set `branch`); returns the commit checksum. */
export async function commitRootfs(repo: Repo, rootfs: string, opts: CommitRootfsOptions): Promise<Checksum> {
  const counters: CommitCounters = opts.counters ?? { filesHashed: 0, devinoReused: 0 };
  let seen = 0;
  const mod: CommitModifier = {
    ownerUid: 0,
    ownerGid: 0,
    filter: (path, info) => {
      if (++seen % PROGRESS_EVERY === 0) opts.onProgress?.({ phase: 'commit', done: seen, item: path });
      const m = opts.meta.get(path);
      if (m) {
        if (m.uid !== undefined) info.uid = m.uid;
        if (m.gid !== undefined) info.gid = m.gid;
        if (m.mode !== undefined) info.mode = (info.mode & S_IFMT) | (m.mode & 0o7777);
      }
      return true;
    },
    xattrsFor: (path, _info, base) => mergeXattrs(base(), opts.meta.get(path)?.xattrs),
    devino: { cache: opts.devino, header: (fsPath) => bareUserHeader(fsPath) },
    counters,
  };
  const tx = await Transaction.begin(repo);
  try {
    const root = new MutableTree();
    await writeDirectoryToMtree(tx, rootfs, root, mod);
    const commit = await writeCommit(tx, root, {
      parent: opts.parent ?? null,
      subject: opts.subject ?? '',
      body: opts.body ?? '',
      metadata: opts.metadata,
      timestamp: opts.timestamp,
    });
    if (opts.objects && !root.collectObjects(opts.objects)) opts.objects.clear();
    if (opts.branch) tx.setRef(opts.branch, commit);
    await tx.commit();
    opts.onProgress?.({ phase: 'commit', done: seen, total: seen });
    return commit;
  } catch (e) {
    await tx.abort();
    throw e;
  }
}
