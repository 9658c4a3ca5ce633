import { createHash } from 'node:crypto';
import { close, createReadStream, createWriteStream, fstat, open, read, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { finished } from 'node:stream/promises';
import { CorruptionError, InvalidInputError, NotFoundError, isErrno } from '../errors.js';
import { assertChecksum, type Checksum } from '../ostree/checksum.js';
import { ObjectType } from '../ostree/objects/types.js';
import { pullLocal } from '../ostree/pull-local.js';
import { validateRef } from '../ostree/repo/refs.js';
import { Repo } from '../ostree/repo/repo.js';
import { fsyncDir, mapLimit, randomName } from '../util/fs.js';
import { TarWriter, type TarEntry } from '../util/tar.js';

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
  /** Object files opened and read ahead of the writer (default 64). */
  concurrency?: number;
}

export interface OstreeTarResult {
  path: string;
  sha256: string;
  size: number;
  /** Objects in the tar (commit, commitmeta, dirtrees, dirmetas, content). */
  objects: number;
}

/** What ostree init --mode=archive writes. */
const ARCHIVE_CONFIG = '[core]\nrepo_version=1\nmode=archive-z2\n';
const SKELETON_DIRS = ['extensions', 'objects', 'refs', 'refs/heads', 'refs/mirrors', 'refs/remotes', 'state', 'tmp', 'tmp/cache'];

/**
 * Hashes and counts what passes through, and coalesces the tar's many small writes (512-byte
 * headers, padding, small objects) into large ones: one write(2) per header is what made a
 * 50k-object tar take a minute.
 */
class Digest extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  constructor(private readonly flushAt = 1 << 20) {
    super({ writableHighWaterMark: 1 << 20, readableHighWaterMark: 1 << 20 });
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= this.flushAt) {
      const out = Buffer.concat(this.pending, this.pendingBytes);
      this.pending = [];
      this.pendingBytes = 0;
      cb(null, out);
    } else cb();
  }
  override _flush(cb: TransformCallback): void {
    if (this.pendingBytes > 0) this.push(Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    cb();
  }
}

/** Objects up to this size are read in one call instead of streamed. */
const SMALL_FILE = 256 * 1024;

/** An object file opened ahead of its turn: its size, and its bytes if small (fd closed) or the open fd. */
interface OpenedObject {
  size: number;
  data?: Buffer;
  fd?: number;
}

/** open + fstat (+ one read + close when small), with the callback API: the least per-file overhead. */
function openObject(path: string, what: string): Promise<OpenedObject> {
  return new Promise((resolve, reject) => {
    open(path, 'r', (err, fd) => {
      if (err) return reject(isErrno(err, 'ENOENT') ? new NotFoundError(`missing object ${what}`, { cause: err }) : err);
      const fail = (e: Error) => close(fd, () => reject(e));
      fstat(fd, (se, st) => {
        if (se) return fail(se);
        const size = st.size;
        if (size > SMALL_FILE) return resolve({ size, fd });
        const buf = Buffer.allocUnsafe(size);
        const done = (re: Error | null, n: number) => {
          close(fd, (ce) => {
            if (re || ce) reject(re ?? ce);
            else if (n !== size) reject(new CorruptionError(`${path}: changed size while being read (${n} of ${size} bytes)`));
            else resolve({ size, data: buf });
          });
        };
        if (size === 0) done(null, 0);
        else read(fd, buf, 0, size, 0, done);
      });
    });
  });
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

/** Every object of one commit (no parents), dirtrees loaded concurrently level by level. */
async function commitObjects(repo: Repo, commit: Checksum, concurrency: number): Promise<string[]> {
  const c = await repo.loadCommit(commit);
  const out = [repo.objectRelPath(ObjectType.Commit, commit)];
  const seen = new Set<string>();
  let level: Array<[Checksum, Checksum]> = [[c.rootTree, c.rootMeta]];
  while (level.length > 0) {
    const todo: Checksum[] = [];
    for (const [tree, meta] of level) {
      if (!seen.has(`m${meta}`)) {
        seen.add(`m${meta}`);
        out.push(repo.objectRelPath(ObjectType.DirMeta, meta));
      }
      if (!seen.has(`t${tree}`)) {
        seen.add(`t${tree}`);
        out.push(repo.objectRelPath(ObjectType.DirTree, tree));
        todo.push(tree);
      }
    }
    const trees = await mapLimit(todo, concurrency, (t) => repo.loadDirTree(t));
    level = [];
    for (const dt of trees) {
      for (const f of dt.files) {
        if (seen.has(`f${f.checksum}`)) continue;
        seen.add(`f${f.checksum}`);
        out.push(repo.objectRelPath(ObjectType.File, f.checksum));
      }
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

    const objects = await commitObjects(repo, commit, 16);
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

    const tmpOut = join(dirname(outFile), `.${basename(outFile)}.${randomName('tmp')}`);
    const digest = new Digest();
    const file = createWriteStream(tmpOut, { mode: 0o644, flags: 'wx' });
    digest.pipe(file);
    const done = finished(file);
    done.catch(() => undefined);
    try {
      const tar = new TarWriter(digest);
      const mtime = opts.mtime ?? 0;
      // objects are opened (and small ones read) ahead, concurrently; the tar is still written
      // in order, but one open/stat/read/close round trip at a time would leave the disk idle
      const ahead = new Map<number, Promise<OpenedObject>>();
      let next = 0;
      const window = opts.concurrency ?? 64;
      try {
        for (const [i, e] of sorted.entries()) {
          for (; next < sorted.length && next <= i + window; next++) {
            const f = sorted[next]!;
            if (f.src) {
              const p = openObject(f.src, `${f.path} of commit ${commit}`);
              p.catch(() => undefined);
              ahead.set(next, p);
            }
          }
          const path = e.path === '.' ? '.' : `./${e.path}`;
          const base: TarEntry = { path, type: e.kind, mode: e.kind === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime, size: e.size };
          if (e.kind === 'dir') await tar.add(base);
          else if (e.data) await tar.add(base, e.data);
          else {
            const o = await ahead.get(i)!;
            ahead.delete(i);
            if (o.data) await tar.add({ ...base, size: o.size }, o.data);
            else await tar.add({ ...base, size: o.size }, createReadStream('', { fd: o.fd!, start: 0, highWaterMark: 1 << 20 }));
          }
        }
      } finally {
        // close what was opened ahead when something failed
        for (const p of ahead.values()) void p.then((o) => o.fd !== undefined && close(o.fd, () => undefined), () => undefined);
      }
      await tar.finish();
      digest.end();
      await done;
      const fh = await fsp.open(tmpOut, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmpOut, outFile);
      await fsyncDir(dirname(outFile));
    } catch (e) {
      digest.destroy();
      file.destroy();
      await fsp.rm(tmpOut, { force: true });
      throw e;
    }
    return { path: outFile, sha256: digest.hash.digest('hex'), size: digest.size, objects: objects.length };
  } finally {
    if (staging) {
      repo.close();
      await fsp.rm(staging, { recursive: true, force: true });
    }
  }
}
