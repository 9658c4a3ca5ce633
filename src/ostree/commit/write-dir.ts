import { promises as fsp, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CoreforgeError, InvalidInputError, isErrno } from '../../errors.js';
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
  /** Extra xattrs per path (e.g. SELinux labels computed by the caller). */
  xattrsFor?: (path: string, info: EntryInfo) => Xattrs | undefined;
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

function applyModifier(path: string, st: Stats, mod: CommitModifier): EntryInfo | null {
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

function xattrsOf(fsPath: string, path: string, info: EntryInfo, mod: CommitModifier): Xattrs {
  const extra = mod.xattrsFor?.(path, info);
  if (extra) return extra;
  if (mod.skipXattrs) return [];
  return readXattrs(fsPath);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A directory entry name; ostree rejects names that are not UTF-8 (node would silently mangle them). */
function utf8Name(raw: Buffer, dir: string): string {
  try {
    return strictUtf8.decode(raw);
  } catch {
    throw new InvalidInputError(`Invalid UTF-8 in filename ${raw.toString('latin1')} (in ${dir})`);
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

  const walk = async (fsDir: string, relDir: string, node: MutableTree): Promise<void> => {
    const names = (await fsp.readdir(fsDir, { encoding: 'buffer' })).map((raw) => utf8Name(raw, fsDir)).sort();
    for (const name of names) {
      if (pool.failed) return;
      const fsPath = join(fsDir, name);
      const path = relDir === '/' ? `/${name}` : `${relDir}/${name}`;
      const st = await fsp.lstat(fsPath).catch((e: unknown) => {
        // something else changed the tree under the walk (ostree fails the same way)
        if (isErrno(e, 'ENOENT')) throw new InvalidInputError(`${fsPath}: removed while it was being committed`);
        throw e;
      });
      const info = applyModifier(path, st, mod);
      if (!info) continue;
      const fmt = st.mode & S_IFMT;
      if (fmt === S_IFDIR) {
        const meta = new DirMeta(info.uid, info.gid, (info.mode & 0o7777) | S_IFDIR, xattrsOf(fsPath, path, info, mod));
        const child = await node.ensureDir(name);
        child.setMeta(await tx.writeMetadata(ObjectType.DirMeta, meta.serialize()));
        await walk(fsPath, path, child);
      } else if (fmt === S_IFREG) {
        const header = new FileHeader(info.uid, info.gid, (info.mode & 0o7777) | S_IFREG, xattrsOf(fsPath, path, info, mod));
        await pool.add(async () => {
          const csum: Checksum = await tx.writeContent(header, { kind: 'file', path: fsPath, size: st.size, adopt: Boolean(mod.consume) });
          await node.replaceFile(name, csum);
        });
      } else if (fmt === S_IFLNK) {
        const target = await fsp.readlink(fsPath);
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
