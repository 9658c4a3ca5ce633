/**
 * Step 4 of the compose: lay the cached packages down as one root filesystem.
 * Every package commit is checked out in user mode, union, with hardlinks
 * into the pkgcache objects; the hardlinks' (dev, ino) → checksum map (the
 * devino cache) lets the final commit skip re-reading those files.
 *
 * Files are never written through: anything that changes a hardlinked file
 * later must replace it (the scriptlet overlay does).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError, CoreforgeError, isErrno } from '../errors.js';
import { checkoutCommit } from '../ostree/checkout.js';
import type { Checksum } from '../ostree/checksum.js';
import type { Repo, ContentObject } from '../ostree/repo/repo.js';
import type { DirTree } from '../ostree/objects/dirtree.js';
import type { PkgCache } from './pkgcache.js';
import type { CachedPackage, ComposeProgress, DevinoCache } from './types.js';

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
}

type Claim = { dir: true; pkg: string } | { dir: false; pkg: string; checksum: Checksum };

/**
 * Every path of every package, refusing paths two packages ship differently:
 * regular files or symlinks with different content objects, or a directory
 * in one and not in the other. Directories merge (their metadata is the last
 * package's, as when rpm installs them in order).
 */
async function findConflicts(repo: Repo, pkgs: CachedPackage[]): Promise<{ conflicts: FileConflict[]; sharedDirs: Set<string> }> {
  const claims = new Map<string, Claim>();
  const conflicts: FileConflict[] = [];
  const sharedDirs = new Set<string>();
  const trees = new Map<Checksum, Promise<DirTree>>();
  const load = (c: Checksum) => {
    let p = trees.get(c);
    if (!p) {
      p = repo.loadDirTree(c);
      trees.set(c, p);
    }
    return p;
  };
  const walk = async (tree: Checksum, rel: string, pkg: string): Promise<void> => {
    const dt = await load(tree);
    for (const f of dt.files) {
      const path = `${rel}/${f.name}`;
      const prev = claims.get(path);
      if (!prev) claims.set(path, { dir: false, pkg, checksum: f.checksum });
      else if (prev.dir || prev.checksum !== f.checksum) conflicts.push({ path, first: prev.pkg, second: pkg });
    }
    for (const d of dt.dirs) {
      const path = `${rel}/${d.name}`;
      const prev = claims.get(path);
      if (!prev) claims.set(path, { dir: true, pkg });
      else if (!prev.dir) {
        conflicts.push({ path, first: prev.pkg, second: pkg });
        continue;
      } else sharedDirs.add(path);
      await walk(d.treeChecksum, path, pkg);
    }
  };
  for (const p of pkgs) await walk((await repo.loadCommit(p.commit)).rootTree, '', p.nevra);
  return { conflicts, sharedDirs };
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

/**
 * Union checkout of the packages (in order) into `dest`, which must not
 * exist or be empty. Returns the devino cache of the hardlinked files.
 */
export async function assembleRoot(cache: PkgCache, pkgs: CachedPackage[], dest: string, opts: AssembleOptions = {}): Promise<{ devino: DevinoCache }> {
  const repo = cache.repo;
  const { conflicts, sharedDirs } = await findConflicts(repo, pkgs);
  if (conflicts.length > 0) throw new FileConflictError(conflicts);

  try {
    const names = await fsp.readdir(dest);
    if (names.length > 0) throw new AlreadyExistsError(`${dest}: the root to assemble into is not empty`);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }

  const devino: DevinoCache = new Map();
  // hardlinks of one object share its inode: stat it once
  const keyOf = new Map<Checksum, Promise<string>>();
  const onFile = async (path: string, obj: ContentObject, linked: boolean): Promise<void> => {
    if (obj.header.isSymlink) return;
    if (!linked) {
      // user mode writes copies (empty and unreadable files) without setuid bits and readable: give them the
      // real permissions back, so the final commit sees them on disk (copies are not in the devino cache:
      // a freed inode number could be reused by an unrelated file)
      await fsp.chmod(path, obj.header.mode & 0o7777);
      return;
    }
    let k = keyOf.get(obj.checksum);
    if (!k) {
      k = fsp.lstat(obj.path, { bigint: true }).then((st) => `${st.dev}:${st.ino}`);
      keyOf.set(obj.checksum, k);
    }
    devino.set(await k, obj.checksum);
  };

  let done = 0;
  for (const p of pkgs) {
    await checkoutCommit(repo, p.commit, dest, { userMode: true, union: true, onFile });
    done++;
    opts.onProgress?.({ phase: 'assemble', done, total: pkgs.length, item: p.nevra });
  }
  for (const [path, mode] of declaredDirModes(pkgs, sharedDirs)) await fsp.chmod(join(dest, path), mode);
  return { devino };
}
