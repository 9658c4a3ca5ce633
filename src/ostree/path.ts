import { NotFoundError } from '../errors.js';
import type { Checksum } from './checksum.js';
import type { Repo } from './repo/repo.js';

export type TreeEntry =
  | { kind: 'dir'; name: string; tree: Checksum; meta: Checksum }
  | { kind: 'file'; name: string; checksum: Checksum };

/** Resolve a path ("/usr/bin") inside a commit to a directory or a file. */
export async function resolvePath(repo: Repo, commit: Checksum, path: string): Promise<TreeEntry> {
  const c = await repo.loadCommit(commit);
  let cur: TreeEntry = { kind: 'dir', name: '/', tree: c.rootTree, meta: c.rootMeta };
  const parts = path.split('/').filter((p) => p !== '' && p !== '.');
  for (let i = 0; i < parts.length; i++) {
    // a path through a file is ENOTDIR, as the GFile lookups in ostree report it
    if (cur.kind !== 'dir') throw new NotFoundError(`${path}: Not a directory`);
    const dt = await repo.loadDirTree(cur.tree);
    const name = parts[i]!;
    const d = dt.findDir(name);
    if (d) {
      cur = { kind: 'dir', name, tree: d.treeChecksum, meta: d.metaChecksum };
      continue;
    }
    const f = dt.findFile(name);
    if (f) {
      cur = { kind: 'file', name, checksum: f.checksum };
      continue;
    }
    throw new NotFoundError(`No such file or directory: ${path}`);
  }
  return cur;
}
