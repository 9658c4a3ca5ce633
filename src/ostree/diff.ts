import { createReadStream, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { UnsupportedError } from '../errors.js';
import { sha256Hex, type Checksum } from './checksum.js';
import { ContentHasher, FileHeader } from './objects/content.js';
import { DirMeta, S_IFDIR, S_IFLNK, S_IFREG } from './objects/dirmeta.js';
import { DirTree } from './objects/dirtree.js';
import { readXattrs } from './objects/xattrs.js';
import type { Repo } from './repo/repo.js';

export interface TreeDiff {
  modified: string[];
  removed: string[];
  added: string[];
}

/** One side of a diff: a directory with its dirtree/dirmeta checksums and a way to list it. */
interface DiffDir {
  tree: Checksum;
  meta: Checksum;
  load(): Promise<{ files: Map<string, Checksum>; dirs: Map<string, DiffDir> }>;
}

function repoDir(repo: Repo, tree: Checksum, meta: Checksum): DiffDir {
  return {
    tree,
    meta,
    async load() {
      const dt = await repo.loadDirTree(tree);
      return {
        files: new Map(dt.files.map((f) => [f.name, f.checksum])),
        dirs: new Map(dt.dirs.map((d) => [d.name, repoDir(repo, d.treeChecksum, d.metaChecksum)])),
      };
    },
  };
}

export interface FsDiffOptions {
  /** Treat local files as owned by this uid/gid (diff --owner-uid/--owner-gid). */
  ownerUid?: number;
  ownerGid?: number;
  /** Leave xattrs of local files out (diff --no-xattrs). */
  noXattrs?: boolean;
}

/** A directory on disk, hashed as a commit of it would be (ostree diff REV ./DIR). */
export async function fsDir(path: string, opts: FsDiffOptions = {}): Promise<DiffDir> {
  const st = await fsp.lstat(path);
  const uid = opts.ownerUid !== undefined && opts.ownerUid >= 0 ? opts.ownerUid : st.uid;
  const gid = opts.ownerGid !== undefined && opts.ownerGid >= 0 ? opts.ownerGid : st.gid;
  const xattrs = opts.noXattrs ? [] : readXattrs(path);
  const meta = new DirMeta(uid, gid, S_IFDIR | (st.mode & 0o7777), xattrs).checksum();
  const files = new Map<string, Checksum>();
  const dirs = new Map<string, DiffDir>();
  for (const name of (await fsp.readdir(path)).sort()) {
    const p = join(path, name);
    const s = await fsp.lstat(p);
    if (s.isDirectory()) {
      dirs.set(name, await fsDir(p, opts));
      continue;
    }
    const fu = opts.ownerUid !== undefined && opts.ownerUid >= 0 ? opts.ownerUid : s.uid;
    const fg = opts.ownerGid !== undefined && opts.ownerGid >= 0 ? opts.ownerGid : s.gid;
    const fx = opts.noXattrs ? [] : readXattrs(p);
    if (s.isSymbolicLink()) {
      files.set(name, new ContentHasher(new FileHeader(fu, fg, S_IFLNK | 0o777, fx, await fsp.readlink(p))).digest());
    } else if (s.isFile()) {
      const h = new ContentHasher(new FileHeader(fu, fg, S_IFREG | (s.mode & 0o7777), fx));
      for await (const c of createReadStream(p, { highWaterMark: 1024 * 1024 })) h.update(c as Buffer);
      files.set(name, h.digest());
    } else throw new UnsupportedError(`Unsupported file type for file: '${p}'`);
  }
  const dt = DirTree.from(
    [...files].map(([name, checksum]) => ({ name, checksum })),
    [...dirs].map(([name, d]) => ({ name, treeChecksum: d.tree, metaChecksum: d.meta })),
  );
  const tree = sha256Hex(dt.serialize());
  return { tree, meta, load: async () => ({ files, dirs }) };
}

export async function commitDir(repo: Repo, commit: Checksum): Promise<DiffDir> {
  const c = await repo.loadCommit(commit);
  return repoDir(repo, c.rootTree, c.rootMeta);
}

/** Paths that differ between two commits' trees (ostree diff); a removed directory is one entry, an added one lists its contents. */
export async function diffCommits(repo: Repo, a: Checksum, b: Checksum): Promise<TreeDiff> {
  return diffDirs(await commitDir(repo, a), await commitDir(repo, b));
}

export async function diffDirs(a: DiffDir, b: DiffDir): Promise<TreeDiff> {
  const out: TreeDiff = { modified: [], removed: [], added: [] };
  await diffTrees(a, b, '', out);
  return out;
}

/** ostree lists an added directory with everything below it (a removed one only by itself). */
async function addedTree(d: DiffDir, path: string, into: string[]): Promise<void> {
  into.push(path);
  const { files, dirs } = await d.load();
  for (const f of files.keys()) into.push(`${path}/${f}`);
  for (const [n, sub] of dirs) await addedTree(sub, `${path}/${n}`, into);
}

async function diffTrees(a: DiffDir, b: DiffDir, prefix: string, out: TreeDiff): Promise<void> {
  if (a.tree === b.tree && a.meta === b.meta) return;
  if (a.meta !== b.meta) out.modified.push(prefix || '/');
  if (a.tree === b.tree) return;
  const { files: fa, dirs: dA } = await a.load();
  const { files: fb, dirs: dB } = await b.load();
  // as ostree_diff_dirs: an entry that changed type is just "modified"
  for (const [n, c] of fa) {
    if (fb.has(n)) {
      if (fb.get(n) !== c) out.modified.push(`${prefix}/${n}`);
    } else if (dB.has(n)) out.modified.push(`${prefix}/${n}`);
    else out.removed.push(`${prefix}/${n}`);
  }
  for (const [n, d] of dA) {
    const e = dB.get(n);
    if (e) await diffTrees(d, e, `${prefix}/${n}`, out);
    else if (fb.has(n)) out.modified.push(`${prefix}/${n}`);
    else out.removed.push(`${prefix}/${n}`);
  }
  for (const n of fb.keys()) if (!fa.has(n) && !dA.has(n)) out.added.push(`${prefix}/${n}`);
  for (const [n, d] of dB) if (!dA.has(n) && !fa.has(n)) await addedTree(d, `${prefix}/${n}`, out.added);
}
