import { closeSync, constants as fsConstants, fdatasync, fsyncSync, ftruncateSync, openSync, promises as fsp } from 'node:fs';
import { native } from '../native/index.js';
import { basename, dirname, join } from 'node:path';
import { CorruptionError, InvalidInputError, NotFoundError, isErrno } from '../errors.js';
import { assertChecksum, type Checksum } from '../ostree/checksum.js';
import { ObjectType } from '../ostree/objects/types.js';
import { pullLocal } from '../ostree/pull-local.js';
import { objectKey, parseObjectKey } from '../ostree/traverse.js';
import { validateRef } from '../ostree/repo/refs.js';
import { Repo } from '../ostree/repo/repo.js';
import { fsyncDir, mapLimit, randomName } from '../util/fs.js';
import { TarWriter, entryHead, padding, type TarEntry } from '../util/tar.js';

/**
 * The build's OSTree artifact, `<name>-<version>-ostree.<arch>.tar`, as cosa made it before
 * OCI (`ostree init --mode=archive` + `pull-local` of the commit + `tar -cf X -C repo .`): an
 * uncompressed tar whose root is an archive repository holding exactly the commit, its
 * detached metadata and the objects it reaches, with the ref(s) pointing at it. So the
 * documented import works verbatim:
 *   tar -xf builds/latest/x86_64/*-ostree.x86_64.tar -C tmp/build-repo
 *   ostree --repo=repo pull-local tmp/build-repo my/x86_64/coreos/stable
 * The tar is deterministic (entries sorted, fixed modes, owner 0, one mtime) and streamed.
 */

export interface OstreeTarOptions {
  /** More refs to create (cosa also wrote the build ID as a ref). */
  extraRefs?: readonly string[];
  /** mtime of every entry (default 0; pass SOURCE_DATE_EPOCH for a meaningful date). */
  mtime?: number;
  /** Where to stage the conversion of a non-archive source (default: beside outFile). */
  tmpDir?: string;
  /**
   * The objectKeys of everything the commit reaches except the commit itself, when the caller knows them (it
   * just wrote the commit): no walk of the commit's dirtrees.
   */
  reachable?: Set<string>;
}

export interface OstreeTarResult {
  path: string;
  sha256: string;
  size: number;
  /** Objects in the tar (commit, commitmeta, dirtrees, dirmetas, content). */
  objects: number;
  /** objectKey of every object the commit reaches, the commit itself excluded (see commitObjects). */
  reachable: Set<string>;
}

/** What ostree init --mode=archive writes. */
const ARCHIVE_CONFIG = '[core]\nrepo_version=1\nmode=archive-z2\n';
const SKELETON_DIRS = ['extensions', 'objects', 'refs', 'refs/heads', 'refs/mirrors', 'refs/remotes', 'state', 'tmp', 'tmp/cache'];

/** Bytes gathered before one write(2) (and one hash update). */
const FLUSH_AT = 4 << 20;

/** O_DIRECT alignment of offsets, lengths and memory (the file system block size). */
const DIRECT_ALIGN = 4096;
const roundUp = (n: number, to: number): number => Math.ceil(n / to) * to;

/** Bytes between background fdatasyncs of the tar being written (without O_DIRECT). */
const SYNC_EVERY = 64 * 1024 * 1024;

/** Buffers in flight: one being laid out here, the others being filled, hashed and written on the thread pool. */
const BUFFERS = 6;

/**
 * The tar's sink. Headers, inline data and padding are copied into 4 MiB
 * buffers here; object contents are only noted as pieces (file, offset,
 * length, where in the buffer), since every object's size is known before
 * the first byte (one native stat pass). A full buffer goes to the thread
 * pool as three jobs: the pieces are read into it (several buffers at
 * once, so the copying out of the page cache spreads over the cores), then
 * it is hashed (after the previous buffer's hash) and written. Measured on a
 * 648 MB / 30k-object tar: 9.1 s with async read-ahead, ~5 s with
 * synchronous reads, 1.4-1.7 s with reads here and hash+write in one job;
 * see bench/README.md for this one.
 */
class TarSink {
  private readonly sha = native().sha256Create();
  private readonly bufs: Buffer[] = [];
  /** Per buffer: its pending fill, hash and write (it is reused once they settle). */
  private readonly busy: Array<Promise<unknown> | null> = [];
  private hashing: Promise<void> = Promise.resolve();
  private cur = 0;
  private used = 0;
  private pos = 0;
  /** The current buffer's file pieces: paths, and [buffer offset, file offset, length, file size] each. */
  private paths: string[] = [];
  private table: number[] = [];
  /** Background fdatasyncs, so the final fsync waits only for the tail (writeback overlaps the rest of the writing). */
  private syncing: Promise<void> = Promise.resolve();
  private syncedTo = 0;
  /**
   * `direct`: fd was opened with O_DIRECT. The tar then bypasses the page
   * cache: no page is allocated and copied per 4 KiB (on these VMs that
   * costs more than the disk write), nothing is left dirty to flush. Every
   * write is a whole aligned buffer; the last is padded, then truncated.
   */
  constructor(
    private readonly fd: number,
    private readonly direct: boolean,
  ) {
    for (let i = 0; i < BUFFERS; i++) {
      this.bufs.push(direct ? native().alignedBuffer(FLUSH_AT) : Buffer.allocUnsafe(FLUSH_AT));
      this.busy.push(null);
    }
  }

  /** Bytes of tar so far. */
  get size(): number {
    return this.pos + this.used;
  }

  private get buf(): Buffer {
    return this.bufs[this.cur]!;
  }

  async put(chunk: Uint8Array): Promise<void> {
    for (let off = 0; off < chunk.length; ) {
      if (this.used === FLUSH_AT) await this.flush();
      const n = Math.min(FLUSH_AT - this.used, chunk.length - off);
      this.buf.set(chunk.subarray(off, off + n), this.used);
      this.used += n;
      off += n;
    }
  }

  async zeros(n: number): Promise<void> {
    for (let left = n; left > 0; ) {
      if (this.used === FLUSH_AT) await this.flush();
      const k = Math.min(FLUSH_AT - this.used, left);
      this.buf.fill(0, this.used, this.used + k);
      this.used += k;
      left -= k;
    }
  }

  /** The `size` bytes of the file at `path`, read later on the thread pool (the file must still have that size). */
  async file(path: string, size: number): Promise<void> {
    for (let off = 0; off < size; ) {
      if (this.used === FLUSH_AT) await this.flush();
      const n = Math.min(FLUSH_AT - this.used, size - off);
      this.paths.push(path);
      this.table.push(this.used, off, n, size);
      this.used += n;
      off += n;
    }
  }

  /** Hand the full buffer (or, at the end, what there is) to the thread pool and move to the next free buffer. */
  async flush(): Promise<void> {
    if (this.used === 0) return;
    const buf = this.buf;
    const len = this.used;
    // O_DIRECT writes whole blocks: the tail is padded here and truncated away at the end
    const outLen = this.direct ? roundUp(len, DIRECT_ALIGN) : len;
    if (outLen > len) buf.fill(0, len, outLen);
    const filled = this.paths.length > 0 ? native().fillFromFiles(buf, this.paths, Float64Array.from(this.table)) : Promise.resolve();
    this.paths = [];
    this.table = [];
    const hashed = Promise.all([this.hashing, filled]).then(() => native().hashWrite(-1, buf, 0, 0, this.sha, len));
    const at = this.pos;
    const written = filled.then(() => native().hashWrite(this.fd, buf, outLen, at, null, 0));
    this.hashing = hashed;
    const all = Promise.all([hashed, written]);
    all.catch(() => {});
    this.busy[this.cur] = all;
    this.pos += len;
    this.used = 0;
    if (!this.direct && this.pos - this.syncedTo >= SYNC_EVERY) {
      this.syncedTo = this.pos;
      this.syncing = Promise.all([this.syncing, written]).then(() => new Promise<void>((resolve, reject) => fdatasync(this.fd, (e) => (e ? reject(e) : resolve()))));
      this.syncing.catch(() => {});
    }
    this.cur = (this.cur + 1) % BUFFERS;
    await this.busy[this.cur];
    this.busy[this.cur] = null;
  }

  /** The tar's sha256, once `end` has resolved. */
  digest(): string {
    return native().sha256Digest(this.sha).toString('hex');
  }

  /** Everything written (and the background syncs settled). */
  async end(): Promise<void> {
    await this.flush();
    for (const b of this.busy) await b;
    await this.syncing;
    if (this.direct) ftruncateSync(this.fd, this.pos);
  }
}

/** A thread-pool read's failure as our error: a missing object, or one that changed while the tar was written. */
function fillError(e: unknown, repoPath: string, commit: Checksum): unknown {
  const err = e as NodeJS.ErrnoException & { path?: string };
  if (typeof err?.path !== 'string') return e;
  const rel = err.path.startsWith(`${repoPath}/`) ? err.path.slice(repoPath.length + 1) : err.path;
  if (err.code === 'ENOENT') return new NotFoundError(`missing object ${rel} of commit ${commit}`, { cause: e });
  if (err.code === 'ECHANGED') return new CorruptionError(`${err.path}: changed size while being read`, { cause: e });
  return e;
}

/** The new tar, with O_DIRECT where the file system takes it (not tmpfs, for one). */
function openTarFile(path: string): { fd: number; direct: boolean } {
  const flags = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL;
  if (process.env.COREFORGE_TAR_DIRECT !== '0' && fsConstants.O_DIRECT !== undefined) {
    try {
      return { fd: openSync(path, flags | fsConstants.O_DIRECT, 0o644), direct: true };
    } catch (e) {
      if (!isErrno(e, 'EINVAL')) throw e;
    }
  }
  return { fd: openSync(path, flags, 0o644), direct: false };
}

interface PlannedEntry {
  path: string;
  kind: 'dir' | 'file';
  /** Object file to copy (size known once opened), or inline bytes. */
  src?: string;
  data?: Buffer;
  size: number;
}

/**
 * Sort key giving component-wise byte order (a directory right before its contents): every
 * path here is ASCII (object paths, validated ref names, fixed names), so mapping '/' below
 * every other character makes plain string order the component order.
 */
const sortKey = (p: string): string => p.replaceAll('/', '\u0001');

/**
 * Every object of one commit (no parents), dirtrees loaded concurrently level by level. `reachable` receives
 * their keys (objectKey), except the commit's own: a closed set a prune can start from (pruneRepo `reachable`).
 */
async function commitObjects(repo: Repo, commit: Checksum, concurrency: number, reachable: Set<string>): Promise<string[]> {
  const c = await repo.loadCommit(commit);
  const out = [repo.objectRelPath(ObjectType.Commit, commit)];
  const first = (type: ObjectType, csum: Checksum): boolean => {
    const k = objectKey(type, csum);
    if (reachable.has(k)) return false;
    reachable.add(k);
    out.push(repo.objectRelPath(type, csum));
    return true;
  };
  let level: Array<[Checksum, Checksum]> = [[c.rootTree, c.rootMeta]];
  while (level.length > 0) {
    const todo: Checksum[] = [];
    for (const [tree, meta] of level) {
      first(ObjectType.DirMeta, meta);
      if (first(ObjectType.DirTree, tree)) todo.push(tree);
    }
    const trees = await mapLimit(todo, concurrency, (t) => repo.loadDirTree(t));
    level = [];
    for (const dt of trees) {
      for (const f of dt.files) first(ObjectType.File, f.checksum);
      for (const d of dt.dirs) level.push([d.treeChecksum, d.metaChecksum]);
    }
  }
  return out;
}

export async function writeOstreeTar(srcRepo: Repo, commit: Checksum, ref: string | null, outFile: string, opts: OstreeTarOptions = {}): Promise<OstreeTarResult> {
  assertChecksum(commit);
  const refs = [...new Set([...(ref ? [ref] : []), ...(opts.extraRefs ?? [])])];
  for (const r of refs) {
    validateRef(r);
    const clash = refs.find((o) => o.startsWith(`${r}/`));
    if (clash) throw new InvalidInputError(`refs '${r}' and '${clash}' cannot both exist (one would be a file, the other a directory)`);
  }
  if (!(await srcRepo.hasObject(ObjectType.Commit, commit))) throw new NotFoundError(`${srcRepo.path}: no commit ${commit}`);
  if (await srcRepo.isCommitPartial(commit)) throw new InvalidInputError(`${srcRepo.path}: commit ${commit} is partial; cannot write a complete OSTree artifact`);
  // ostree pull-local checks ostree.ref-binding: a ref the commit is not bound to would fail at import
  const binding = (await srcRepo.loadCommit(commit)).meta('ostree.ref-binding');
  if (binding && binding.typeString === 'as') {
    const bound = binding.value as string[];
    for (const r of refs) if (!bound.includes(r)) throw new InvalidInputError(`commit ${commit} has ref binding [${bound.join(', ')}]; '${r}' is not among them, so ostree pull-local would refuse it`);
  }

  let repo = srcRepo;
  let staging: string | null = null;
  try {
    if (!srcRepo.isArchive) {
      // archive objects are compressed per file: convert once through pull-local
      staging = join(opts.tmpDir ?? dirname(outFile), randomName('.ostree-tar'));
      repo = await Repo.create(staging, 'archive');
      await pullLocal(repo, srcRepo, [commit], { noRefs: true });
    }

    let reachable: Set<string>;
    let objects: string[];
    if (opts.reachable && opts.reachable.size > 0 && repo === srcRepo) {
      reachable = opts.reachable;
      objects = [repo.objectRelPath(ObjectType.Commit, commit)];
      for (const k of reachable) {
        const o = parseObjectKey(k);
        objects.push(repo.objectRelPath(o.type, o.checksum));
      }
    } else {
      reachable = new Set<string>();
      objects = await commitObjects(repo, commit, 16, reachable);
    }
    if (await repo.hasObject(ObjectType.CommitMeta, commit)) objects.push(repo.objectRelPath(ObjectType.CommitMeta, commit));

    const planned: PlannedEntry[] = [{ path: '.', kind: 'dir', size: 0 }, { path: 'config', kind: 'file', data: Buffer.from(ARCHIVE_CONFIG), size: ARCHIVE_CONFIG.length }];
    const dirs = new Set(SKELETON_DIRS);
    for (const rel of objects) dirs.add(dirname(rel));
    for (const r of refs) {
      const parts = `refs/heads/${r}`.split('/');
      for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join('/'));
      const data = Buffer.from(`${commit}\n`);
      planned.push({ path: `refs/heads/${r}`, kind: 'file', data, size: data.length });
    }
    for (const d of dirs) planned.push({ path: d, kind: 'dir', size: 0 });
    for (const rel of objects) planned.push({ path: rel, kind: 'file', src: join(repo.path, rel), size: -1 });
    const keyed = planned.map((e) => [sortKey(e.path), e] as const);
    keyed.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const sorted = keyed.map((k) => k[1]);

    // every object's size before the first byte: the layout is known, the contents are read on the thread pool
    const sources = sorted.filter((e) => e.src !== undefined);
    const sizes = native().fileSizes(sources.map((e) => e.src!));
    sources.forEach((e, i) => {
      if (sizes[i]! < 0) throw new NotFoundError(`missing object ${e.path} of commit ${commit}`);
      e.size = sizes[i]!;
    });

    const tmpOut = join(dirname(outFile), `.${basename(outFile)}.${randomName('tmp')}`);
    const { fd, direct } = openTarFile(tmpOut);
    const sink = new TarSink(fd, direct);
    try {
      const mtime = opts.mtime ?? 0;
      for (const e of sorted) {
        const path = e.path === '.' ? '.' : `./${e.path}`;
        const base: TarEntry = { path, type: e.kind, mode: e.kind === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime, size: e.size };
        if (e.kind === 'dir') await sink.put(entryHead(base));
        else if (e.data) {
          await sink.put(entryHead(base));
          await sink.put(e.data);
          await sink.zeros(padding(e.data.length));
        } else {
          await sink.put(entryHead(base));
          await sink.file(e.src!, e.size);
          await sink.zeros(padding(e.size));
        }
      }
      await sink.zeros(TarWriter.TRAILER);
      await sink.end();
      fsyncSync(fd);
      closeSync(fd);
      await fsp.rename(tmpOut, outFile);
      await fsyncDir(dirname(outFile));
    } catch (e) {
      await sink.end().catch(() => {});
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      await fsp.rm(tmpOut, { force: true });
      throw fillError(e, repo.path, commit);
    }
    return { path: outFile, sha256: sink.digest(), size: sink.size, objects: objects.length, reachable };
  } finally {
    if (staging) {
      repo.close();
      await fsp.rm(staging, { recursive: true, force: true });
    }
  }
}
