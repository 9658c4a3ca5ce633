import { lstatSync, promises as fsp, readlinkSync, realpathSync } from 'node:fs';
import { DT_REG, NOT_UTF8, direntInoIsStIno, readDirEntries } from '../../native/readdir.js';
import { CoreforgeError, CorruptionError, InvalidInputError, isErrno } from '../../errors.js';
import { TaskPool } from '../../util/fs.js';
import { FileHeader } from '../objects/content.js';
import { DirMeta, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG } from '../objects/dirmeta.js';
import { ObjectType } from '../objects/types.js';
import { readXattrs, type Xattrs } from '../objects/xattrs.js';
import type { Checksum } from '../checksum.js';
import type { Transaction } from '../repo/transaction.js';
import { MutableTree } from './mtree.js';

/** What `ostree commit`'s modifier options change on the way in. */
export interface CommitModifier {
  ownerUid?: number;
  ownerGid?: number;
  /** Do not read or store xattrs. */
  skipXattrs?: boolean;
  /** uid/gid 0 and modes reduced to 0755/0644 (bare-user-only style). */
  canonicalPermissions?: boolean;
  /** Clear write bits of executables (--ro-executables). */
  roExecutables?: boolean;
  /** Path ("/a/b") → bits to OR into the mode (statoverride lines without '='). */
  modeAdds?: Map<string, number>;
  /** Path → mode permission bits replacing the old ones (statoverride '=' lines). */
  modeOverrides?: Map<string, number>;
  /** Paths to leave out. */
  skipList?: Set<string>;
  /** The input tree is deleted afterwards (--consume): bare repositories may adopt its files as objects. */
  consume?: boolean;
  /** Custom filter: return false to skip; may adjust the metadata. */
  filter?: (path: string, info: EntryInfo) => boolean;
  /**
   * The xattrs to commit for a path instead of the on-disk ones (e.g. SELinux
   * labels computed by the caller); `base()` gives what would be committed
   * otherwise. Undefined keeps the default.
   */
  xattrsFor?: (path: string, info: EntryInfo, base: () => Xattrs) => Xattrs | undefined;
  /**
   * ostree's devino cache: regular files hardlinked from a repository,
   * `${st.dev}:${st.ino}` → their content checksum (and the object's header
   * when the caller has it). Such a file is not read: its metadata comes from
   * the object's header, the modifier applies on top, and when that leaves
   * the header unchanged the checksum is reused (the object is written from
   * the file only if this repository lacks it).
   */
  devino?: {
    cache: ReadonlyMap<string, DevinoEntry>;
    /** The object's header when the entry has none, or null to treat the file as not cached. */
    header?: (fsPath: string, checksum: Checksum) => FileHeader | null | Promise<FileHeader | null>;
  };
  /** Counters filled in by the walk. */
  counters?: CommitCounters;
}

/** A devino cache entry: the object a hardlinked file is, and its header if known (null: not usable). */
export interface DevinoEntry {
  checksum: Checksum;
  header?: FileHeader | null;
}

export interface CommitCounters {
  /** Regular files whose content was read and hashed. */
  filesHashed: number;
  /** Regular files taken from the devino cache without reading them. */
  devinoReused: number;
}

export interface EntryInfo {
  uid: number;
  gid: number;
  mode: number;
}

/** How many files are hashed/compressed at once (zlib runs on the libuv pool). */
const FILE_CONCURRENCY = Math.max(4, Number(process.env.COREFORGE_COMMIT_JOBS) || 0);

export class UnsupportedFileTypeError extends CoreforgeError {
  constructor(path: string) {
    super('EUNSUPPORTED', `Unsupported file type for file: '${path}'`);
  }
}

function applyModifier(path: string, st: EntryInfo, mod: CommitModifier): EntryInfo | null {
  const info: EntryInfo = { uid: st.uid, gid: st.gid, mode: st.mode & (S_IFMT | 0o7777) };
  if (mod.ownerUid !== undefined && mod.ownerUid >= 0) info.uid = mod.ownerUid;
  if (mod.ownerGid !== undefined && mod.ownerGid >= 0) info.gid = mod.ownerGid;
  if ((info.mode & S_IFMT) === S_IFREG && mod.roExecutables && info.mode & 0o111) info.mode &= ~0o222;
  const add = mod.modeAdds?.get(path);
  if (add !== undefined) {
    info.mode |= add;
    mod.modeAdds!.delete(path);
  } else {
    const ov = mod.modeOverrides?.get(path);
    if (ov !== undefined) info.mode = (info.mode & S_IFMT) | ov;
  }
  if (mod.skipList?.has(path)) {
    mod.skipList.delete(path);
    return null;
  }
  if (mod.canonicalPermissions) {
    // as _ostree_repo_commit_modifier_apply: after the filter, owner 0:0 and modes masked with 0755
    info.uid = 0;
    info.gid = 0;
    const fmt = info.mode & S_IFMT;
    if (fmt === S_IFDIR || fmt === S_IFREG) info.mode = fmt | (info.mode & 0o755);
  }
  if (mod.filter && !mod.filter(path, info)) return null;
  return info;
}

function xattrsOf(fsPath: string, path: string, info: EntryInfo, mod: CommitModifier, base: () => Xattrs = () => (mod.skipXattrs ? [] : readXattrs(fsPath))): Xattrs {
  return mod.xattrsFor?.(path, info, base) ?? base();
}

interface EntryStat extends EntryInfo {
  size: number;
  /** `${dev}:${ino}` (exact, from bigint stats) when asked for. */
  devino?: string;
}

/**
 * lstat(2) of one walk entry. Synchronous on purpose (as ostree's fstatat):
 * the walk awaits each entry anyway, and a thread-pool round trip per entry,
 * behind the hashing jobs, costs far more than the call.
 */
function lstatEntry(fsPath: string, wantDevino: boolean): EntryStat {
  try {
    if (!wantDevino) {
      const st = lstatSync(fsPath);
      return { uid: st.uid, gid: st.gid, mode: st.mode & (S_IFMT | 0o7777), size: st.size };
    }
    const st = lstatSync(fsPath, { bigint: true });
    return { uid: Number(st.uid), gid: Number(st.gid), mode: Number(st.mode) & (S_IFMT | 0o7777), size: Number(st.size), devino: `${st.dev}:${st.ino}` };
  } catch (e) {
    // something else changed the tree under the walk (ostree fails the same way)
    if (isErrno(e, 'ENOENT')) throw new InvalidInputError(`${fsPath}: removed while it was being committed`);
    throw e;
  }
}

function realpathOrNull(p: string): string | null {
  try {
    return realpathSync(p);
  } catch {
    return null;
  }
}


/**
 * Commit the contents of directory `dir` into `mtree` (ostree's
 * write_dfd_to_mtree). Files are hashed and compressed concurrently; the walk
 * waits whenever FILE_CONCURRENCY files are in flight, so memory stays bounded
 * whatever the tree size.
 */
export async function writeDirectoryToMtree(tx: Transaction, dir: string, mtree: MutableTree, mod: CommitModifier = {}): Promise<void> {
  const pool = new TaskPool(FILE_CONCURRENCY);

  const rootSt = await fsp.stat(dir).catch((e: unknown) => {
    if (isErrno(e, 'ENOENT')) throw new InvalidInputError(`No such directory: ${dir}`);
    throw e;
  });
  if (!rootSt.isDirectory()) throw new InvalidInputError(`Not a directory: ${dir}`);
  const rootInfo = applyModifier('/', rootSt, mod);
  if (rootInfo) {
    const meta = new DirMeta(rootInfo.uid, rootInfo.gid, rootInfo.mode, xattrsOf(dir, '/', rootInfo, mod));
    mtree.setMeta(await tx.writeMetadata(ObjectType.DirMeta, meta.serialize()));
  }

  // the repository's objects, listed once: devino hits of a rebuild, and most of its dirmetas, dirtrees and
  // symlinks, are there already (without a parent repository the listing is complete: an object it lacks is
  // written without asking again; writing dedupes against objects staged or stored since)
  let listingComplete = false;
  // devino objects this walk stores (several paths can be links of one object)
  const storing = new Map<Checksum, Promise<void>>();
  if (mod.devino && mod.devino.cache.size > 0) {
    tx.notePresent(tx.repo.listObjectsSync());
    listingComplete = (await tx.repo.parent()) === null;
  }

  // committing a tree that contains this repository (ostree commit in the repo's parent dir) would otherwise
  // walk into this very transaction's staging dir, whose files are still being written
  const ownStaging = realpathSync(tx.stagingDir);
  const isOwnStaging = (name: string, fsPath: string): boolean => name.startsWith('staging-') && realpathOrNull(fsPath) === ownStaging;

  // With a devino cache, getdents' d_ino finds hardlinked files without an lstat each, where d_ino is st_ino and
  // the tree is one file system (a tree with mounts in it is not committed with a devino cache).
  const inoDev = mod.devino && mod.devino.cache.size > 0 && direntInoIsStIno(dir) ? String(lstatSync(dir, { bigint: true }).dev) : null;

  // a tree has a handful of distinct directory metadata: each is serialized and hashed once
  const dirMetas = new Map<string, Promise<Checksum>>();
  const dirMeta = (info: EntryInfo, xattrs: Xattrs): Promise<Checksum> => {
    const mode = (info.mode & 0o7777) | S_IFDIR;
    const write = () => tx.writeMetadata(ObjectType.DirMeta, new DirMeta(info.uid, info.gid, mode, xattrs).serialize());
    if (xattrs.length > 0) return write();
    const key = `${info.uid}:${info.gid}:${mode}`;
    let p = dirMetas.get(key);
    if (!p) {
      p = write();
      dirMetas.set(key, p);
    }
    return p;
  };

  const walk = async (fsDir: string, relDir: string, node: MutableTree): Promise<void> => {
    // synchronous, like the lstat of each entry (see lstatEntry)
    const ents = readDirEntries(fsDir);
    const order = ents.names.map((n, i) => {
      if (ents.kinds[i]! & NOT_UTF8) throw new InvalidInputError(`Invalid UTF-8 in filename ${n} (in ${fsDir})`);
      return i;
    });
    order.sort((a, b) => (ents.names[a]! < ents.names[b]! ? -1 : ents.names[a]! > ents.names[b]! ? 1 : 0));
    for (const i of order) {
      if (pool.failed) return;
      const name = ents.names[i]!;
      const fsPath = `${fsDir}/${name}`;
      const path = relDir === '/' ? `/${name}` : `${relDir}/${name}`;
      // a file hardlinked from a repository: its metadata is the object's, not the checkout's
      const known = inoDev !== null && ents.kinds[i] === DT_REG ? mod.devino!.cache.get(`${inoDev}:${ents.inos[i]!}`) : undefined;
      let stat: EntryStat | null = known?.header ? null : lstatEntry(fsPath, Boolean(mod.devino));
      const lstatNow = (): EntryStat => (stat ??= lstatEntry(fsPath, false));
      const fmt = stat ? stat.mode & S_IFMT : S_IFREG;
      const entry = known?.header ? known : fmt === S_IFREG && mod.devino ? mod.devino.cache.get(stat!.devino!) : undefined;
      const cached = entry?.checksum;
      const objHeader = entry ? (entry.header !== undefined ? entry.header : ((await mod.devino!.header?.(fsPath, entry.checksum)) ?? null)) : null;
      const base: EntryInfo = objHeader?.isRegular ? { uid: objHeader.uid, gid: objHeader.gid, mode: objHeader.mode } : lstatNow();
      const info = applyModifier(path, base, mod);
      if (!info) continue;
      if (fmt === S_IFDIR) {
        if (isOwnStaging(name, fsPath)) continue;
        const child = await node.ensureDir(name);
        child.setMeta(await dirMeta(info, xattrsOf(fsPath, path, info, mod)));
        await walk(fsPath, path, child);
      } else if (fmt === S_IFREG && cached && objHeader?.isRegular) {
        const xattrs = xattrsOf(fsPath, path, info, mod, () => (mod.skipXattrs ? [] : objHeader.xattrs));
        const header = new FileHeader(info.uid, info.gid, (info.mode & 0o7777) | S_IFREG, xattrs);
        const same = header.equals(objHeader);
        if (same && tx.knows(ObjectType.File, cached)) {
          // the common case: nothing to read or write, nothing to wait for
          if (mod.counters) mod.counters.devinoReused++;
          await node.replaceFile(name, cached);
          continue;
        }
        await pool.add(async () => {
          let csum: Checksum;
          if (!same) {
            csum = await tx.writeContent(header, { kind: 'file', path: fsPath, size: lstatNow().size, adopt: Boolean(mod.consume) });
            if (mod.counters) mod.counters.filesHashed++;
          } else {
            csum = cached;
            // the common case (object already stored) without a file system call
            if (!tx.knows(ObjectType.File, cached)) {
              let w = storing.get(cached);
              if (!w) {
                w = (async () => {
                  if (!listingComplete && (await tx.hasObject(ObjectType.File, cached))) return;
                  await tx.writeContent(objHeader, { kind: 'file', path: fsPath, size: lstatNow().size }, cached).catch((e: unknown) => {
                    if (e instanceof CorruptionError) throw new CorruptionError(`${fsPath}: content differs from object ${cached} it was checked out from (modified in place?)`);
                    throw e;
                  });
                  if (mod.counters) mod.counters.filesHashed++;
                })();
                storing.set(cached, w);
              }
              await w;
            }
            if (mod.counters) mod.counters.devinoReused++;
          }
          await node.replaceFile(name, csum);
        });
      } else if (fmt === S_IFREG) {
        const header = new FileHeader(info.uid, info.gid, (info.mode & 0o7777) | S_IFREG, xattrsOf(fsPath, path, info, mod));
        const size = lstatNow().size;
        await pool.add(async () => {
          const csum: Checksum = await tx.writeContent(header, { kind: 'file', path: fsPath, size, adopt: Boolean(mod.consume) });
          if (mod.counters) mod.counters.filesHashed++;
          await node.replaceFile(name, csum);
        });
      } else if (fmt === S_IFLNK) {
        const target = readlinkSync(fsPath);
        const header = new FileHeader(info.uid, info.gid, S_IFLNK | 0o777, xattrsOf(fsPath, path, info, mod), target);
        const csum = await tx.writeContent(header, { kind: 'symlink' });
        await node.replaceFile(name, csum);
      } else {
        throw new UnsupportedFileTypeError(path.slice(1));
      }
    }
  };

  try {
    await walk(dir, '/', mtree);
  } catch (e) {
    pool.fail(e);
  }
  await pool.drain();
}
