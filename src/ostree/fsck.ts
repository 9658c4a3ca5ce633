import { promises as fsp, constants as C } from 'node:fs';
import { join } from 'node:path';
import { CorruptionError, isCoreforgeError, isErrno } from '../errors.js';
import { sha256Hex, type Checksum } from './checksum.js';
import { ContentHasher } from './objects/content.js';
import { verifyArchiveFile } from './repo/verify-archive.js';
import { ObjectType, objectTypeName } from './objects/types.js';
import type { Repo } from './repo/repo.js';
import { objectKey } from './traverse.js';
import { Commit, parseCommitMeta } from './objects/commit.js';
import { DirMeta } from './objects/dirmeta.js';
import { DirTree } from './objects/dirtree.js';

export interface FsckOptions {
  /** Remove corrupted objects and mark their commits partial (--delete). */
  delete?: boolean;
  /** Report every corrupted object instead of stopping at the first (--all). */
  all?: boolean;
  /** Check that each ref's commit lists the ref (and collection) in its bindings (--verify-bindings). */
  verifyBindings?: boolean;
  /** Check that the refs each commit is bound to point back at it (--verify-back-refs; implies verifyBindings). */
  verifyBackRefs?: boolean;
  /** Progress callback: objects checked, objects to check. */
  onProgress?: (done: number, total: number) => void;
  /** Sink for ostree's status lines (stdout). */
  log?: (line: string) => void;
  /** Sink for per-object problem reports (stderr), as they are found. */
  warn?: (line: string) => void;
  concurrency?: number;
}

export interface FsckResult {
  /** Complete (non-partial) commits whose objects were verified. */
  commits: number;
  objects: number;
  partialCommits: number;
  /** Partial commits that fsck itself marked (state file holding "f"). */
  fsckPartialCommits: number;
  /** Every problem found, as reported; non-empty means the repository is damaged. */
  errors: string[];
  /** The error that stopped the check early (no --all/--delete); also the last entry of `errors`. */
  fatal: string | null;
}

/** A problem that ends fsck, as a GError propagated out of ostree's builtin would. */
class FsckStop extends Error {}

const isObjectProblem = (e: unknown) => isCoreforgeError(e) && (e.code === 'ENOTFOUND' || e.code === 'ECORRUPT' || e.code === 'EGVARIANT' || e.code === 'ENOTNORMAL' || e.code === 'EBADOBJECT' || e.code === 'EINVAL');
const isMissing = (e: unknown) => isCoreforgeError(e) && e.code === 'ENOTFOUND';

/**
 * ostree fsck: check that every ref's commit loads, then verify every object
 * reachable from the complete (non-partial) commits: metadata re-hashed and
 * parsed, content re-hashed from its stored form. Missing objects mark their
 * commits partial; with `delete`, so do corrupted ones (which are removed).
 */
export async function fsckRepo(repo: Repo, opts: FsckOptions = {}): Promise<FsckResult> {
  const log = opts.log ?? (() => undefined);
  const warn = opts.warn ?? (() => undefined);
  const errors: string[] = [];
  const result: FsckResult = { commits: 0, objects: 0, partialCommits: 0, fsckPartialCommits: 0, errors, fatal: null };
  const stop = (msg: string): never => {
    errors.push(msg);
    result.fatal = msg;
    throw new FsckStop(msg);
  };

  /** ostree's fsck_one_object; `parents` are the commits that reach the object. */
  const fsckOne = async (type: ObjectType, csum: Checksum, parentsOf: (() => Promise<Checksum[]>) | null): Promise<void> => {
    try {
      if (type === ObjectType.File) await verifyContent(repo, csum);
      else await verifyMetadata(repo, type, csum);
      return;
    } catch (e) {
      if (!isObjectProblem(e)) throw e;
      const name = `${csum}.${objectTypeName(type)}`;
      const parents = parentsOf ? await parentsOf() : null;
      const inCommits = parents && parents.length > 0 ? parents.join(', ') : null;
      let missing = false;
      if (isMissing(e)) {
        const msg = inCommits ? `Object missing in commits ${inCommits}: ${name}` : `Object missing: ${name}`;
        warn(msg);
        errors.push(msg);
        missing = true;
      } else {
        const prefix = type === ObjectType.File ? `fsck content object ${csum}: ` : `fsck ${name}: `;
        const msg = (inCommits ? `In commits ${inCommits}: ` : '') + prefix + (e as Error).message;
        if (opts.delete) {
          warn(msg);
          errors.push(msg);
          await fsp.rm(repo.objectPath(type, csum), { force: true });
          missing = true;
        } else if (opts.all) {
          warn(msg);
          errors.push(msg);
        } else stop(msg);
      }
      if (missing && parents && type !== ObjectType.Commit) {
        for (const c of parents) {
          if (await repo.isCommitPartial(c)) continue;
          warn(`Marking commit as partial: ${c}`);
          await markFsckPartial(repo, c);
        }
      }
    }
  };

  try {
    const verifyBindings = Boolean(opts.verifyBindings || opts.verifyBackRefs);
    const bindingsOrStop = (commit: Commit, csum: Checksum, collection: string | null, ref: string) => {
      if (!verifyBindings) return;
      const problem = bindingProblem(commit, collection, ref);
      if (problem) stop(`Commit ${csum}: ${problem}`);
    };
    log('Validating refs...');
    for (const [name, csum] of await repo.listRefs()) {
      const ref = name.includes(':') ? name.slice(name.indexOf(':') + 1) : name;
      const commit = await checkRefCommit(repo, csum, `ref ${ref}`, fsckOne, stop);
      bindingsOrStop(commit, csum, null, ref);
    }
    log('Validating refs in collections...');
    const collectionRefs: Array<[string, string, Checksum]> = [];
    if (repo.collectionId) for (const [n, c] of await repo.listRefs({ remotes: false })) collectionRefs.push([repo.collectionId, n, c]);
    for (const [name, csum] of await repo.listRefs({ local: false, remotes: false, mirrors: true })) {
      const m = /^\((.*), (.*)\)$/.exec(name);
      if (m) collectionRefs.push([m[1]!, m[2]!, csum]);
    }
    for (const [col, ref, csum] of collectionRefs) {
      const commit = await checkRefCommit(repo, csum, `ref (${col}, ${ref})`, fsckOne, stop);
      bindingsOrStop(commit, csum, col, ref);
    }
    log('Enumerating commits...');
    const complete: Array<[Checksum, Commit]> = [];
    for (const csum of await repo.listCommits()) {
      const commit = await loadOrStop(repo, csum, null, stop);
      if (opts.verifyBackRefs) {
        const problem = await backRefProblem(repo, commit, csum);
        if (problem) stop(problem);
      }
      const state = await commitPartialState(repo, csum);
      if (state) {
        result.partialCommits++;
        if (state === 'fsck') result.fsckPartialCommits++;
      } else complete.push([csum, commit]);
    }
    result.commits = complete.length;
    log(`Verifying content integrity of ${complete.length} commit objects...`);

    // the union of reachable objects; the commits reaching a bad object are found only when needed
    const objects = new Map<string, { type: ObjectType; csum: Checksum }>();
    const reach = (type: ObjectType, csum: Checksum): boolean => {
      const k = objectKey(type, csum);
      if (objects.has(k)) return false;
      objects.set(k, { type, csum });
      return true;
    };
    for (const [csum, commit] of complete) {
      reach(ObjectType.Commit, csum);
      // detached metadata has no checksum of its own, but must still be a well-formed a{sv}
      const meta = await fsp.readFile(repo.objectPath(ObjectType.CommitMeta, csum)).catch(() => null);
      if (meta) {
        try {
          parseCommitMeta(new Uint8Array(meta), `commitmeta ${csum}`);
        } catch (e) {
          if (isCoreforgeError(e)) stop(`fsck ${csum}.commitmeta: ${e.message}`);
          throw e;
        }
      }
      await walkTree(repo, commit.rootTree, commit.rootMeta, reach, stop);
    }
    result.objects = objects.size;
    const parentsOf = (type: ObjectType, csum: Checksum) => async () => {
      const out: Checksum[] = [];
      for (const [c, commit] of complete) if (c === csum || (await treeReaches(repo, commit.rootTree, commit.rootMeta, type, csum, new Set()))) out.push(c);
      return out;
    };

    const limit = opts.concurrency ?? 8;
    const inflight = new Set<Promise<void>>();
    let failure: unknown = null;
    let done = 0;
    for (const { type, csum } of objects.values()) {
      if (failure) break;
      const p: Promise<void> = fsckOne(type, csum, parentsOf(type, csum))
        .catch((e: unknown) => {
          failure ??= e;
        })
        .finally(() => {
          inflight.delete(p);
          opts.onProgress?.(++done, objects.size);
        });
      inflight.add(p);
      if (inflight.size >= limit) await Promise.race(inflight);
    }
    await Promise.all(inflight);
    if (failure) throw failure;
  } catch (e) {
    if (!(e instanceof FsckStop)) throw e;
  }
  return result;
}

async function checkRefCommit(
  repo: Repo,
  csum: Checksum,
  what: string,
  fsckOne: (type: ObjectType, csum: Checksum, parentsOf: (() => Promise<Checksum[]>) | null) => Promise<void>,
  stop: (msg: string) => never,
): Promise<Commit> {
  await fsckOne(ObjectType.Commit, csum, null);
  return loadOrStop(repo, csum, `Loading commit for ${what}: `, stop);
}

/** _ostree_repo_verify_bindings: the commit's ref (and collection) bindings must cover how it was reached. */
function bindingProblem(commit: Commit, collection: string | null, ref: string | null): string | null {
  const refs = commit.meta('ostree.ref-binding');
  if (!refs) return collection === null ? null : 'Expected commit metadata to have ref binding information, found none';
  const list = refs.value as string[];
  if (ref !== null && !list.includes(ref)) {
    const shown = list.length > 0 ? list.map((r) => `‘${r}’`).join(', ') : 'no refs';
    return `Commit has no requested ref ‘${ref}’ in ref binding metadata (${shown})`;
  }
  if (collection !== null) {
    const bound = commit.meta('ostree.collection-binding');
    if (!bound) return 'Expected commit metadata to have collection ID binding information, found none';
    if (bound.value !== collection) return `Commit has collection ID ‘${bound.value as string}’ in collection binding metadata, while the remote it came from has collection ID ‘${collection}’`;
  }
  return null;
}

/** fsck --verify-back-refs: every ref a commit is bound to must exist and point at it. */
async function backRefProblem(repo: Repo, commit: Commit, csum: Checksum): Promise<string | null> {
  const refs = commit.meta('ostree.ref-binding');
  if (!refs) return null;
  const collection = commit.meta('ostree.collection-binding')?.value as string | undefined;
  for (const ref of refs.value as string[]) {
    let target: Checksum | null;
    if (collection !== undefined) {
      const path = collection === repo.collectionId ? repo.refPath(ref) : repo.refPath(ref, null, collection);
      target = await repo.readRefFile(path, ref);
      if (target === null) return `Collection–ref (${collection}, ${ref}) in bindings for commit ${csum} does not exist`;
      if (target !== csum) return `Collection–ref (${collection}, ${ref}) in bindings for commit ${csum} does not resolve to that commit`;
    } else {
      target = await repo.resolveRev(ref, true);
      if (target === null) return `Ref ‘${ref}’ in bindings for commit ${csum} does not exist`;
      if (target !== csum) return `Ref ‘${ref}’ in bindings for commit ${csum} does not resolve to that commit`;
    }
  }
  return null;
}

async function loadOrStop(repo: Repo, csum: Checksum, prefix: string | null, stop: (msg: string) => never): Promise<Commit> {
  try {
    // verify before parsing, so a damaged commit is named as such rather than by what it now points to
    const bytes = await repo.readMetadata(ObjectType.Commit, csum);
    const actual = sha256Hex(bytes);
    if (actual !== csum) throw new CorruptionError(`fsck ${csum}.commit: Corrupted commit object; checksum expected='${csum}' actual='${actual}'`);
    return Commit.parse(bytes, `commit ${csum}`);
  } catch (e) {
    if (isObjectProblem(e)) return stop((prefix ?? '') + (e as Error).message);
    throw e;
  }
}

/** Depth-first over a commit's tree, recording objects; a dirtree that cannot be loaded ends fsck, as ostree's traversal does. */
async function walkTree(repo: Repo, tree: Checksum, meta: Checksum, reach: (type: ObjectType, csum: Checksum) => boolean, stop: (msg: string) => never): Promise<void> {
  reach(ObjectType.DirMeta, meta);
  if (!reach(ObjectType.DirTree, tree)) return;
  const dt = await loadTreeOrStop(repo, tree, stop);
  if (!dt) return;
  for (const f of dt.files) reach(ObjectType.File, f.checksum);
  for (const d of dt.dirs) await walkTree(repo, d.treeChecksum, d.metaChecksum, reach, stop);
}

/** Whether an object is reachable from a tree (used to name the commits a bad object belongs to). */
async function treeReaches(repo: Repo, tree: Checksum, meta: Checksum, type: ObjectType, csum: Checksum, visited: Set<string>): Promise<boolean> {
  if (type === ObjectType.DirMeta && meta === csum) return true;
  if (type === ObjectType.DirTree && tree === csum) return true;
  if (visited.has(tree)) return false;
  visited.add(tree);
  let dt: DirTree;
  try {
    dt = await repo.loadDirTree(tree);
  } catch {
    return false;
  }
  if (type === ObjectType.File && dt.files.some((f) => f.checksum === csum)) return true;
  for (const d of dt.dirs) if (await treeReaches(repo, d.treeChecksum, d.metaChecksum, type, csum, visited)) return true;
  return false;
}

/** A dirtree for the walk: missing ends fsck; malformed is left for its own object check to report. */
async function loadTreeOrStop(repo: Repo, tree: Checksum, stop: (msg: string) => never): Promise<DirTree | null> {
  try {
    // a damaged dirtree must be reported itself, not by the bogus children it now names
    const bytes = await repo.readMetadata(ObjectType.DirTree, tree);
    const actual = sha256Hex(bytes);
    if (actual !== tree) return stop(`fsck ${tree}.dirtree: Corrupted dirtree object; checksum expected='${tree}' actual='${actual}'`);
    return DirTree.parse(bytes, `dirtree ${tree}`);
  } catch (e) {
    if (isMissing(e)) return stop((e as Error).message);
    if (isObjectProblem(e)) return null;
    throw e;
  }
}

/** null for a complete commit; 'fsck' when fsck marked it partial (the state file holds "f"). */
async function commitPartialState(repo: Repo, csum: Checksum): Promise<null | 'pull' | 'fsck'> {
  let b: Buffer;
  try {
    b = await fsp.readFile(join(repo.path, 'state', `${csum}.commitpartial`));
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
  return b.length > 0 && b[0] === 0x66 ? 'fsck' : 'pull';
}

/** ostree_repo_mark_commit_partial_reason(FSCK_PARTIAL): create the state file with "f", leaving an existing one alone. */
async function markFsckPartial(repo: Repo, csum: Checksum): Promise<void> {
  await fsp.mkdir(join(repo.path, 'state'), { recursive: true, mode: 0o775 });
  let fh;
  try {
    fh = await fsp.open(join(repo.path, 'state', `${csum}.commitpartial`), C.O_EXCL | C.O_CREAT | C.O_WRONLY, 0o644);
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return;
    throw e;
  }
  try {
    await fh.write('f');
  } finally {
    await fh.close();
  }
}

export async function verifyMetadata(repo: Repo, type: ObjectType, csum: Checksum): Promise<void> {
  const bytes = await repo.readMetadata(type, csum);
  const actual = sha256Hex(bytes);
  if (actual !== csum) throw new CorruptionError(`Corrupted ${objectTypeName(type)} object; checksum expected='${csum}' actual='${actual}'`);
  const what = `${objectTypeName(type)} ${csum}`;
  try {
    if (type === ObjectType.DirMeta) DirMeta.parse(bytes, what);
    else if (type === ObjectType.DirTree) DirTree.parse(bytes, what);
    else if (type === ObjectType.Commit) Commit.parse(bytes, what);
  } catch (e) {
    // fsck names the object itself ("fsck CSUM.dirtree: ..."), as ostree does
    if (isCoreforgeError(e) && e.message.startsWith(`${what}: `)) throw new CorruptionError(e.message.slice(what.length + 2), { cause: e });
    throw e;
  }
}

/** Archive objects up to this size are read in one go and inflated on the thread pool. */
/** Re-hash a content object from its stored form. */
export async function verifyContent(repo: Repo, csum: Checksum): Promise<void> {
  if (repo.isArchive) {
    try {
      await verifyArchiveFile(repo.objectPath(ObjectType.File, csum), csum);
      return;
    } catch (e) {
      // not here: maybe in the parent repository (loadContent looks there)
      if (!(isCoreforgeError(e) && e.code === 'ENOTFOUND')) throw e;
    }
  }
  const obj = await repo.loadContent(csum);
  const h = new ContentHasher(obj.header);
  let n = 0;
  try {
    for await (const chunk of obj.open()) {
      h.update(chunk as Buffer);
      n += (chunk as Buffer).length;
    }
  } catch (e) {
    if (isCoreforgeError(e)) throw e;
    throw new CorruptionError(`Corrupted file object ${csum}: ${(e as Error).message}`);
  }
  if (n !== obj.size) throw new CorruptionError(`Corrupted file object ${csum}: size ${n}, header says ${obj.size}`);
  const actual = h.digest();
  if (actual !== csum) throw new CorruptionError(`Corrupted file object; checksum expected='${csum}' actual='${actual}'`);
}
