/**
 * Step 4 of the compose: lay the cached packages down as one root filesystem.
 * Every package commit is checked out in user mode, union, with hardlinks
 * into the pkgcache objects; the hardlinks' (dev, ino) → checksum map (the
 * devino cache) lets the final commit skip re-reading those files.
 *
 * Files are never written through: anything that changes a hardlinked file
 * later must replace it (the scriptlet overlay does).
 *
 * A rebuild recycles the previous build's root instead of starting empty
 * (AssembleOptions.reuse): it is brought to the new plan, keeping every entry
 * that already is what the plan says (the same object's inode, the same
 * symlink, the same directory). Only what changed is created, and the build
 * that ends deletes only what changed. Creating and deleting tens of thousands
 * of inodes per build is most of an otherwise cheap rebuild; on an ext4
 * without a journal every new inode also scans past those freed in the last
 * minutes.
 */
import { chmodSync, constants, copyFileSync, createWriteStream, existsSync, linkSync, lstatSync, mkdirSync, promises as fsp, readlinkSync, renameSync, symlinkSync, unlinkSync, utimesSync, writeFileSync, type BigIntStats } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { AlreadyExistsError, CoreforgeError, CorruptionError, isErrno } from '../errors.js';
import { native } from '../native/index.js';
import { DT_DIR, DT_LNK, DT_REG, NOT_UTF8, direntInoIsStIno, readDirEntries } from '../native/readdir.js';
import { FileHeader, parseBareUserMeta } from '../ostree/objects/content.js';
import { S_IFMT, S_IFREG } from '../ostree/objects/dirmeta.js';
import { ObjectType } from '../ostree/objects/types.js';
import { OSTREEMETA_XATTR } from '../ostree/objects/xattrs.js';
import { removeTreeSync, TaskPool } from '../util/fs.js';
import type { Checksum } from '../ostree/checksum.js';
import type { Repo, ContentObject } from '../ostree/repo/repo.js';
import type { PkgCache } from './pkgcache.js';
import type { CachedPackage, ComposeProgress, DevinoCache, DevinoEntry } from './types.js';

export interface FileConflict {
  path: string;
  /** The package that laid the path down first, then the one that conflicts with it. */
  first: string;
  second: string;
}

/** Two packages ship the same path with different content or type (rpm's "file ... conflicts with file from package ..."). */
export class FileConflictError extends CoreforgeError {
  constructor(readonly conflicts: FileConflict[]) {
    const shown = conflicts.slice(0, 10).map((c) => `file ${c.path} from install of ${c.second} conflicts with file from package ${c.first}`);
    const more = conflicts.length > shown.length ? `; and ${conflicts.length - shown.length} more` : '';
    super('ECONFLICT', `${shown.join('; ')}${more}`);
  }
}

export interface AssembleOptions {
  onProgress?: (p: ComposeProgress) => void;
  /**
   * A previous build's root (any state: a finished root with /etc in
   * /usr/etc, or one a failed build left) to recycle as `dest`, and which of
   * its inodes are which objects (previous-root.ts): it is renamed there,
   * then brought to exactly what a fresh assemble gives.
   */
  reuse?: { root: string; devino: ReadonlyMap<string, DevinoEntry>; plan?: ReadonlyMap<Checksum, FlatPackage> } | null;
}

/** A directory of the merged tree: the dirmeta of the last package that contains it (rpm installs in order). */
interface DirPlan {
  meta: Checksum;
}

/** A file of the merged tree: the first package shipping the path (later ones ship the same object). */
interface FilePlan {
  checksum: Checksum;
  pkg: string;
}

/**
 * One package commit's tree, flattened in the order the plan visits it
 * (a directory's files, then each subdirectory: its entry, then its
 * contents): `[0, path, content checksum]` for a file or symlink,
 * `[1, path, dirmeta checksum]` for a directory. A rebuild keeps these from
 * the previous build (previous-root.ts, by commit checksum) instead of
 * reading and parsing thousands of dirtrees again.
 */
export interface FlatPackage {
  rootMeta: Checksum;
  entries: Array<[0 | 1, string, Checksum]>;
}

/** A package commit's FlatPackage, walking its dirtrees. */
async function flatten(repo: Repo, commit: Checksum): Promise<FlatPackage> {
  const c = await repo.loadCommit(commit);
  const entries: FlatPackage['entries'] = [];
  const walk = async (tree: Checksum, rel: string): Promise<void> => {
    const dt = await repo.loadDirTree(tree);
    for (const f of dt.files) entries.push([0, `${rel}/${f.name}`, f.checksum]);
    for (const d of dt.dirs) {
      entries.push([1, `${rel}/${d.name}`, d.metaChecksum]);
      await walk(d.treeChecksum, `${rel}/${d.name}`);
    }
  };
  await walk(c.rootTree, '');
  return { rootMeta: c.rootMeta, entries };
}

/**
 * The merged tree of every package, refusing paths two packages ship
 * differently: regular files or symlinks with different content objects, or a
 * directory in one and not in the other. Directories merge (their metadata is
 * the last package's, as when rpm installs them in order). Directories come
 * out parents first. `known`: packages flattened before (by commit); `flat`
 * receives every package's.
 */
async function planTree(
  repo: Repo,
  pkgs: CachedPackage[],
  known: ReadonlyMap<Checksum, FlatPackage>,
  flat: Map<Checksum, FlatPackage>,
): Promise<{ conflicts: FileConflict[]; sharedDirs: Set<string>; dirs: Map<string, DirPlan>; files: Map<string, FilePlan> }> {
  const dirs = new Map<string, DirPlan>();
  const files = new Map<string, FilePlan>();
  const conflicts: FileConflict[] = [];
  const sharedDirs = new Set<string>();
  // the package that laid a directory down first (named in conflicts)
  const dirOwner = new Map<string, string>();
  dirs.set('', { meta: '' });
  for (const p of pkgs) {
    let fp = flat.get(p.commit) ?? known.get(p.commit);
    if (!fp) fp = await flatten(repo, p.commit);
    flat.set(p.commit, fp);
    dirs.get('')!.meta = fp.rootMeta;
    const pkg = p.nevra;
    // a directory that conflicts with a file is not entered
    let skip: string | null = null;
    for (const [kind, path, csum] of fp.entries) {
      if (skip !== null) {
        if (path.startsWith(skip)) continue;
        skip = null;
      }
      if (kind === 0) {
        const prev = files.get(path);
        if (!prev) {
          if (dirs.has(path)) conflicts.push({ path, first: dirOwner.get(path)!, second: pkg });
          else files.set(path, { checksum: csum, pkg });
        } else if (prev.checksum !== csum) conflicts.push({ path, first: prev.pkg, second: pkg });
        continue;
      }
      const prevFile = files.get(path);
      if (prevFile) {
        conflicts.push({ path, first: prevFile.pkg, second: pkg });
        skip = `${path}/`;
        continue;
      }
      const prev = dirs.get(path);
      if (!prev) {
        dirs.set(path, { meta: csum });
        dirOwner.set(path, pkg);
      } else {
        prev.meta = csum;
        sharedDirs.add(path);
      }
    }
  }
  return { conflicts, sharedDirs, dirs, files };
}

/**
 * Modes of directories several packages contain, from the packages whose
 * headers declare them (the last one wins, as rpm installs in order): a
 * package that only implies a directory (0755) must not override the mode
 * another package gives it, whatever the checkout order.
 */
function declaredDirModes(pkgs: CachedPackage[], shared: Set<string>): Map<string, number> {
  const out = new Map<string, number>();
  if (shared.size === 0) return out;
  for (const p of pkgs) {
    for (const f of p.header.files) {
      if (f.type === 'dir' && !f.attrs.ghost && shared.has(f.path)) out.set(f.path, f.mode & 0o7777);
    }
  }
  return out;
}

/** What laying a file down needs of its object: header, size, where it is and its inode. */
interface ObjectInfo {
  header: FileHeader;
  size: number;
  path: string;
  /** `${st_dev}:${st_ino}` of the object file. */
  devino: string;
  /** A bare-user object of this repository: user mode can hardlink it (a parent repository's may have another form). */
  local: boolean;
}

/**
 * A bare-user object's header and inode with synchronous calls (lstat and
 * getxattr of a cached inode take microseconds; a thread-pool round trip
 * each costs far more). Other modes, and objects not stored here (a parent
 * repository), go through the repository's loader.
 */
async function objectInfo(repo: Repo, csum: Checksum): Promise<ObjectInfo> {
  const path = repo.objectPath(ObjectType.File, csum);
  if (repo.mode === 'bare-user') {
    let st: BigIntStats | undefined;
    try {
      st = lstatSync(path, { bigint: true });
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
    if (st?.isFile()) {
      const what = `content object ${csum}`;
      const raw = native().getXattr(path, OSTREEMETA_XATTR);
      if (!raw) throw new CorruptionError(`${what}: missing ${OSTREEMETA_XATTR} xattr`);
      const m = parseBareUserMeta(new Uint8Array(raw), `${what} (${OSTREEMETA_XATTR})`);
      if ((m.mode & S_IFMT) === S_IFREG) {
        const header = new FileHeader(m.uid, m.gid, m.mode, m.xattrs, '');
        header.validate(what);
        return { header, size: Number(st.size), path, devino: `${st.dev}:${st.ino}`, local: true };
      }
      // symlinks (stored as files holding the target) are rare: the repository's loader reads them
    }
  }
  const obj: ContentObject = await repo.loadContent(csum);
  const st = await fsp.lstat(obj.path, { bigint: true });
  return { header: obj.header, size: obj.size, path: obj.path, devino: `${st.dev}:${st.ino}`, local: repo.mode === 'bare-user' && (obj.storedMode ?? repo.mode) === repo.mode };
}

/** Objects loaded a few at a time (only the fallback loader has round trips to overlap). */
const LOAD_CONCURRENCY = 16;

/**
 * Union checkout of the packages (in order) into `dest`, which must not
 * exist or be empty: the result of `ostree checkout -U --union` of each
 * package commit in turn, then the declared modes of shared directories.
 * Returns the devino cache of the hardlinked files.
 *
 * The merged tree is planned first, then every directory is created and
 * every file hardlinked once, with synchronous calls: per-package checkouts
 * are latency-bound on thousands of tiny awaited operations.
 */
export async function assembleRoot(cache: PkgCache, pkgs: CachedPackage[], dest: string, opts: AssembleOptions = {}): Promise<{ devino: DevinoCache; plan: Map<Checksum, FlatPackage>; recycled?: RecycleStats }> {
  const repo = cache.repo;
  const plan = new Map<Checksum, FlatPackage>();
  const { conflicts, sharedDirs, dirs, files } = await planTree(repo, pkgs, opts.reuse?.plan ?? new Map(), plan);
  if (conflicts.length > 0) throw new FileConflictError(conflicts);

  const reuse = opts.reuse && existsSync(opts.reuse.root) ? opts.reuse : null;
  if (reuse) renameSync(reuse.root, dest);
  else {
    try {
      const names = await fsp.readdir(dest);
      if (names.length > 0) throw new AlreadyExistsError(`${dest}: the root to assemble into is not empty`);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
    }
  }

  // directory modes: the last package's dirmeta, then what headers declare for shared ones (user mode keeps
  // setuid/setgid on directories, as ostree)
  const metaModes = new Map<Checksum, number>();
  for (const m of new Set([...dirs.values()].map((d) => d.meta))) metaModes.set(m, (await repo.loadDirMeta(m)).mode & 0o7777);
  const declared = declaredDirModes(pkgs, sharedDirs);

  const devino: DevinoCache = new Map();
  const infos = new Map<Checksum, Promise<ObjectInfo>>();
  const info = (c: Checksum): Promise<ObjectInfo> => {
    let p = infos.get(c);
    if (!p) {
      p = objectInfo(repo, c);
      infos.set(c, p);
    }
    return p;
  };

  const kept = reuse ? await recycle(dest, dirs, files, info, reuse.devino, devino) : null;
  // owner-only while files go in; final modes (which may lack the write bit) once they are in
  if (!kept) mkdirSync(dest, { recursive: true, mode: 0o700 });
  for (const path of dirs.keys()) if (path !== '' && !kept?.dirs.has(path)) mkdirSync(dest + path, { mode: 0o700 });

  const total = files.size;
  let done = 0;
  const place = async (rel: string, csum: Checksum): Promise<void> => {
    const obj = await info(csum);
    const path = dest + rel;
    const h = obj.header;
    if (h.isSymlink) {
      symlinkSync(h.symlinkTarget, path);
      return;
    }
    // zero-sized files are always copied (hardlinking them all could hit EMLINK), as are files user mode must
    // make readable; an object of a parent repository of another mode has another on-disk form
    if (linkable(obj)) {
      try {
        linkSync(obj.path, path);
        devino.set(obj.devino, { checksum: csum, header: h });
        return;
      } catch (e) {
        if (!(isErrno(e, 'EXDEV') || isErrno(e, 'EMLINK') || isErrno(e, 'EPERM'))) throw e;
      }
    }
    // a copy (not in the devino cache: a freed inode number could be reused by an unrelated file), with the
    // object's real permissions so the final commit sees them on disk
    if (obj.size === 0) writeFileSync(path, '', { flag: 'wx', mode: 0o600 });
    else if (obj.local) copyFileSync(obj.path, path, constants.COPYFILE_EXCL);
    else {
      const o = await repo.loadContent(csum);
      await pipeline(o.open(), createWriteStream(path, { flags: 'wx', mode: 0o600 }));
    }
    chmodSync(path, h.mode & 0o7777);
  };

  const pool = new TaskPool(LOAD_CONCURRENCY);
  for (const [rel, f] of files) {
    if (pool.failed) break;
    if (kept?.files.has(rel)) {
      if (++done % PROGRESS_EVERY === 0) opts.onProgress?.({ phase: 'assemble', done, total, item: rel });
      continue;
    }
    await pool.add(() =>
      place(rel, f.checksum).then(() => {
        if (++done % PROGRESS_EVERY === 0) opts.onProgress?.({ phase: 'assemble', done, total, item: rel });
      }),
    );
  }
  await pool.drain();
  opts.onProgress?.({ phase: 'assemble', done, total });

  const ordered = [...dirs.keys()];
  for (const path of ordered) {
    const mode = declared.get(path) ?? metaModes.get(dirs.get(path)!.meta)!;
    chmodSync(path === '' ? dest : dest + path, mode);
  }
  // ostree leaves checked-out directories at mtime 0, like the objects (children first: it survives nothing else)
  for (let i = ordered.length - 1; i >= 0; i--) {
    try {
      utimesSync(ordered[i] === '' ? dest : dest + ordered[i], 0, 0);
    } catch {
      // as ostree, best effort
    }
  }
  return kept ? { devino, plan, recycled: { keptDirs: kept.dirs.size, keptFiles: kept.files.size, removed: kept.removed } } : { devino, plan };
}

/** A file laid down as a hardlink to its object (else a copy). */
function linkable(obj: ObjectInfo): boolean {
  return obj.size > 0 && (obj.header.mode & 0o400) !== 0 && obj.local;
}

/** What recycling a previous root kept (the rest was created anew) and how many entries it removed. */
export interface RecycleStats {
  keptDirs: number;
  keptFiles: number;
  removed: number;
}

/**
 * Bring a recycled root to the plan, deleting what it must not hold. Kept:
 * planned directories (made owner-accessible while files go in, their
 * xattrs dropped: a fresh directory has none), hardlinks to the planned
 * object (an inode `known` names as that object, else the object's own
 * inode), symlinks with the planned target, empty
 * single-link files without xattrs where an empty file is planned (its mode is
 * set again). Everything else is removed, whatever it is, and the caller
 * creates what is missing.
 */
async function recycle(
  dest: string,
  dirs: Map<string, DirPlan>,
  files: Map<string, FilePlan>,
  info: (c: Checksum) => Promise<ObjectInfo>,
  known: ReadonlyMap<string, DevinoEntry>,
  devino: DevinoCache,
): Promise<{ dirs: Set<string>; files: Set<string>; removed: number } | null> {
  const rootSt = lstatSync(dest, { bigint: true });
  if (!rootSt.isDirectory()) {
    unlinkSync(dest);
    return null;
  }
  // a finished root has /etc at /usr/etc (postprocess moved it): move it back so it is recycled too
  if (dirs.has('/etc') && !lexists(`${dest}/etc`) && lstatSync(`${dest}/usr/etc`, { throwIfNoEntry: false })?.isDirectory()) {
    chmodSync(`${dest}/usr`, 0o700);
    renameSync(`${dest}/usr/etc`, `${dest}/etc`);
  }
  // getdents gives each entry's inode: no lstat per file where that is st_ino
  const inoExact = direntInoIsStIno(dest);
  const dev = String(rootSt.dev);
  const keptDirs = new Set<string>(['']);
  const keptFiles = new Set<string>();
  let removed = 0;
  // the common case, synchronously: a hardlink the previous build made, to the planned object (no look at the object)
  const keepsKnown = (fsPath: string, type: number, ino: number | null, csum: Checksum): boolean => {
    if (type !== DT_REG) return false;
    const key = ino !== null ? `${dev}:${ino}` : devinoKey(lstatSync(fsPath, { bigint: true }));
    const prev = known.get(key);
    if (prev?.checksum !== csum || !prev.header) return false;
    devino.set(key, prev);
    return true;
  };
  const keeps = async (fsPath: string, type: number, csum: Checksum): Promise<boolean> => {
    const obj = await info(csum);
    const h = obj.header;
    if (h.isSymlink) return type === DT_LNK && readlinkSync(fsPath, { encoding: 'buffer' }).equals(Buffer.from(h.symlinkTarget));
    if (type !== DT_REG) return false;
    const fst = lstatSync(fsPath, { bigint: true });
    if (linkable(obj)) {
      if (devinoKey(fst) !== obj.devino) return false;
      devino.set(obj.devino, { checksum: csum, header: h });
      return true;
    }
    if (obj.size !== 0 || fst.size !== 0n || fst.nlink !== 1n || native().listXattrs(fsPath).length > 0) return false;
    chmodSync(fsPath, h.mode & 0o7777);
    return true;
  };
  const visit = async (rel: string): Promise<void> => {
    const fsDir = rel === '' ? dest : dest + rel;
    chmodSync(fsDir, 0o700);
    for (const x of native().listXattrs(fsDir)) native().removeXattr(fsDir, x);
    const { names, kinds, inos } = readDirEntries(fsDir);
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (kinds[i]! & NOT_UTF8) {
        // no package path is anything but UTF-8
        const raw = Buffer.concat([Buffer.from(`${fsDir}/`), Buffer.from(name, 'latin1')]);
        removeEntry(raw, entryType(raw, kinds[i]! & ~NOT_UTF8) === DT_DIR);
        removed++;
        continue;
      }
      const path = `${rel}/${name}`;
      const fsPath = dest + path;
      const type = entryType(fsPath, kinds[i]!);
      if (dirs.has(path)) {
        if (type === DT_DIR) {
          keptDirs.add(path);
          await visit(path);
          continue;
        }
      } else {
        const f = files.get(path);
        if (f && (keepsKnown(fsPath, type, inoExact ? inos[i]! : null, f.checksum) || (await keeps(fsPath, type, f.checksum)))) {
          keptFiles.add(path);
          continue;
        }
      }
      removeEntry(fsPath, type === DT_DIR);
      removed++;
    }
  };
  await visit('');
  return { dirs: keptDirs, files: keptFiles, removed };
}

const devinoKey = (st: BigIntStats): string => `${st.dev}:${st.ino}`;

/** An entry's d_type, from lstat where getdents did not say (DT_UNKNOWN on some file systems). */
function entryType(p: string | Buffer, kind: number): number {
  if (kind !== DT_UNKNOWN) return kind;
  const st = lstatSync(p);
  return st.isDirectory() ? DT_DIR : st.isFile() ? DT_REG : st.isSymbolicLink() ? DT_LNK : DT_OTHER;
}

/** Not a directory, file or symlink (a device, a fifo…): always removed. */
const DT_OTHER = 255;
const DT_UNKNOWN = 0;

function lexists(p: string): boolean {
  return lstatSync(p, { throwIfNoEntry: false }) !== undefined;
}

/** Delete an entry of a recycled root; directories in it may lack the owner's permissions (rootless builds). */
function removeEntry(p: string | Buffer, isDir: boolean): void {
  if (isDir) removeTreeSync(p);
  else unlinkSync(p);
}

const PROGRESS_EVERY = 1000;
