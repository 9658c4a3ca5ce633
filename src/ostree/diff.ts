import type { Checksum } from './checksum.js';
import type { Repo } from './repo/repo.js';

export interface TreeDiff {
  modified: string[];
  removed: string[];
  added: string[];
}

/** Paths that differ between two commits' trees (ostree diff); a removed directory is one entry, an added one lists its contents. */
export async function diffCommits(repo: Repo, a: Checksum, b: Checksum): Promise<TreeDiff> {
  const ca = await repo.loadCommit(a);
  const cb = await repo.loadCommit(b);
  const out: TreeDiff = { modified: [], removed: [], added: [] };
  await diffTrees(repo, ca.rootTree, ca.rootMeta, cb.rootTree, cb.rootMeta, '', out);
  return out;
}

/** ostree lists an added directory with everything below it (a removed one only by itself). */
async function addedTree(repo: Repo, tree: Checksum, path: string, into: string[]): Promise<void> {
  into.push(path);
  const dt = await repo.loadDirTree(tree);
  for (const f of dt.files) into.push(`${path}/${f.name}`);
  for (const d of dt.dirs) await addedTree(repo, d.treeChecksum, `${path}/${d.name}`, into);
}

async function diffTrees(repo: Repo, ta: Checksum, ma: Checksum, tb: Checksum, mb: Checksum, prefix: string, out: TreeDiff): Promise<void> {
  if (ta === tb && ma === mb) return;
  if (ma !== mb) out.modified.push(prefix || '/');
  if (ta === tb) return;
  const da = await repo.loadDirTree(ta);
  const db = await repo.loadDirTree(tb);
  const fa = new Map(da.files.map((f) => [f.name, f.checksum]));
  const fb = new Map(db.files.map((f) => [f.name, f.checksum]));
  const dA = new Map(da.dirs.map((d) => [d.name, d]));
  const dB = new Map(db.dirs.map((d) => [d.name, d]));
  for (const [n, c] of fa) {
    if (fb.has(n)) {
      if (fb.get(n) !== c) out.modified.push(`${prefix}/${n}`);
    } else {
      out.removed.push(`${prefix}/${n}`);
      if (dB.has(n)) await addedTree(repo, dB.get(n)!.treeChecksum, `${prefix}/${n}`, out.added);
    }
  }
  for (const n of fb.keys()) if (!fa.has(n)) {
    out.added.push(`${prefix}/${n}`);
    if (dA.has(n)) out.removed.push(`${prefix}/${n}`);
  }
  for (const [n, d] of dA) {
    const e = dB.get(n);
    if (e) await diffTrees(repo, d.treeChecksum, d.metaChecksum, e.treeChecksum, e.metaChecksum, `${prefix}/${n}`, out);
    else if (!fb.has(n)) out.removed.push(`${prefix}/${n}`);
  }
  for (const [n, d] of dB) if (!dA.has(n) && !fa.has(n)) await addedTree(repo, d.treeChecksum, `${prefix}/${n}`, out.added);
}
