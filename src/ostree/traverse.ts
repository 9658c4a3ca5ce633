import { NotFoundError } from '../errors.js';
import type { Checksum } from './checksum.js';
import { ObjectType } from './objects/types.js';
import type { Repo } from './repo/repo.js';
import type { DirTree } from './objects/dirtree.js';

export interface ObjectRef {
  type: ObjectType;
  checksum: Checksum;
}

export function objectKey(type: ObjectType, csum: Checksum): string {
  return `${csum}.${type}`;
}

/** The object an objectKey names. */
export function parseObjectKey(key: string): ObjectRef {
  const dot = key.indexOf('.');
  return { type: Number(key.slice(dot + 1)) as ObjectType, checksum: key.slice(0, dot) };
}

export interface TraverseOptions {
  /** Follow parents this many levels (0 = just this commit, -1 = all). */
  depth?: number;
  /** Keys (objectKey) already visited; shared across calls to dedupe. */
  seen?: Set<string>;
  /** Treat a missing parent commit as the end of history (ostree does). */
  allowMissingParents?: boolean;
}

/**
 * Every object reachable from a commit (commit, its dirtrees, dirmetas and
 * content), depth-first, each once. Metadata is parsed (and so validated) on
 * the way.
 */
export async function* traverseCommit(repo: Repo, commit: Checksum, opts: TraverseOptions = {}): AsyncGenerator<ObjectRef> {
  const seen = opts.seen ?? new Set<string>();
  let depth = opts.depth ?? 0;
  let cur: Checksum | null = commit;
  while (cur) {
    const key = objectKey(ObjectType.Commit, cur);
    if (seen.has(key)) return;
    seen.add(key);
    let c;
    try {
      c = await repo.loadCommit(cur);
    } catch (e) {
      if (e instanceof NotFoundError && cur !== commit && opts.allowMissingParents !== false) return;
      throw e;
    }
    yield { type: ObjectType.Commit, checksum: cur };
    yield* traverseTree(repo, c.rootTree, c.rootMeta, seen);
    if (depth === 0) return;
    if (depth > 0) depth--;
    cur = c.parent;
  }
}

export async function* traverseTree(repo: Repo, tree: Checksum, meta: Checksum, seen: Set<string>): AsyncGenerator<ObjectRef> {
  // depth-first, parents first, children in order (as a recursion would give) with an explicit stack: a yield*
  // per level would cost every object a hop through each enclosing generator. A dirtree's children start loading
  // as soon as it is read, so the walk does not wait for one file read at a time.
  const loading = new Map<Checksum, Promise<DirTree>>();
  const load = (t: Checksum): Promise<DirTree> => {
    let p = loading.get(t);
    if (!p) {
      p = repo.loadDirTree(t);
      p.catch(() => {});
      loading.set(t, p);
    }
    return p;
  };
  const stack: Array<[Checksum, Checksum]> = [[tree, meta]];
  while (stack.length > 0) {
    const [t, m] = stack.pop()!;
    const mk = objectKey(ObjectType.DirMeta, m);
    if (!seen.has(mk)) {
      seen.add(mk);
      yield { type: ObjectType.DirMeta, checksum: m };
    }
    const tk = objectKey(ObjectType.DirTree, t);
    if (seen.has(tk)) continue;
    seen.add(tk);
    const dt = await load(t);
    loading.delete(t);
    for (const d of dt.dirs) if (!seen.has(objectKey(ObjectType.DirTree, d.treeChecksum))) load(d.treeChecksum);
    yield { type: ObjectType.DirTree, checksum: t };
    for (const f of dt.files) {
      const k = objectKey(ObjectType.File, f.checksum);
      if (seen.has(k)) continue;
      seen.add(k);
      yield { type: ObjectType.File, checksum: f.checksum };
    }
    for (let i = dt.dirs.length - 1; i >= 0; i--) stack.push([dt.dirs[i]!.treeChecksum, dt.dirs[i]!.metaChecksum]);
  }
}
