import { promises as fsp, constants as C, closeSync, openSync, createReadStream, createWriteStream, writeFileSync, writeSync, mkdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable, Transform } from 'node:stream';
import { createDeflateRaw, deflateRaw } from 'node:zlib';
import { promisify } from 'node:util';
import { CorruptionError, InvalidInputError, isErrno } from '../../errors.js';
import { native } from '../../native/index.js';
import { randomName } from '../../util/fs.js';
import type { VarDict } from '../../gvariant/index.js';
import { sha256Hex, type Checksum } from '../checksum.js';
import { serializeCommitMeta } from '../objects/commit.js';
import { ContentHasher, FileHeader, lenPrefixed } from '../objects/content.js';
import { S_IFLNK, S_IFMT } from '../objects/dirmeta.js';
import { ObjectType, objectExtension } from '../objects/types.js';
import { readXattrs, writeXattrs } from '../objects/xattrs.js';
import type { Repo } from './repo.js';
import { sharedContentPool, type ContentWorkers } from './content-pool.js';
import { bareSymlinkBody, setBareObjectMeta } from './bare-meta.js';

const deflateRawAsync = promisify(deflateRaw);

/** Where a content object's bytes come from. */
export type ContentSource =
  | { kind: 'bytes'; data: Uint8Array }
  /** A regular file on disk; read twice (hash, then store) so known objects cost no compression. */
  | { kind: 'file'; path: string; size: number; adopt?: boolean }
  /** A one-shot stream of exactly `size` bytes; hashed and stored in a single pass. */
  | { kind: 'stream'; size: number; stream: Readable }
  | { kind: 'symlink' };

/** Files up to this size are read whole; larger ones are streamed. */
const SMALL_FILE = 256 * 1024;
/** Staged objects up to this size are written with one synchronous call. */
const SMALL_STAGED = 64 * 1024;

/** Objects become visible in this order, so a ref-less commit object never precedes its tree. */
const VISIBILITY_ORDER = [ObjectType.File, ObjectType.DirMeta, ObjectType.DirTree, ObjectType.CommitMeta, ObjectType.Commit, ObjectType.TombstoneCommit];

interface PendingRef {
  ref: string;
  remote: string | null;
  collection: string | null;
  checksum: Checksum | null;
}

export interface TransactionStats {
  metadataWritten: number;
  contentWritten: number;
  contentBytesWritten: number;
}

/**
 * A write transaction. New objects are written into a private staging
 * directory under tmp/; commit() flushes them (one syncfs), renames them into
 * objects/ content first and commits last, then updates refs. A crash at any
 * point leaves the repository as it was plus, at most, complete objects that
 * nothing references yet.
 */
export class Transaction {
  private readonly staged = new Map<string, ObjectType>();
  private readonly inflight = new Map<string, Promise<Checksum>>();
  /** Objects known to be in the repository already (seen there, or listed): not looked up again. */
  private readonly present = new Set<string>();
  private readonly madeDirs = new Set<string>();
  private readonly refs: PendingRef[] = [];
  private readonly partialMarks = new Set<Checksum>();
  private readonly partialClears = new Set<Checksum>();
  private done = false;
  readonly stats: TransactionStats = { metadataWritten: 0, contentWritten: 0, contentBytesWritten: 0 };

  private constructor(
    readonly repo: Repo,
    readonly stagingDir: string,
    private readonly stagingFd: number,
    private readonly unlock: () => void,
  ) {}

  static async begin(repo: Repo): Promise<Transaction> {
    const unlock = await repo.lock('sh');
    try {
      const tmp = join(repo.path, 'tmp');
      await fsp.mkdir(tmp, { recursive: true });
      await cleanStaleStaging(tmp);
      const dir = join(tmp, randomName('staging'));
      await fsp.mkdir(dir);
      const fd = openSync(dir, C.O_RDONLY | C.O_DIRECTORY);
      native().flock(fd, 'ex');
      return new Transaction(repo, dir, fd, unlock);
    } catch (e) {
      unlock();
      throw e;
    }
  }

  private stagedPath(rel: string): string {
    return join(this.stagingDir, rel);
  }

  private relFor(type: ObjectType, csum: Checksum): string {
    return `${csum.slice(0, 2)}/${csum.slice(2)}.${objectExtension(type, this.repo.isArchive)}`;
  }

  private async ensureStagingDir(csum: Checksum): Promise<void> {
    const d = csum.slice(0, 2);
    if (this.madeDirs.has(d)) return;
    await fsp.mkdir(join(this.stagingDir, d), { recursive: true });
    this.madeDirs.add(d);
  }

  /** Staged here, or known to be in the repository (notePresent, or seen there): no file system call. */
  knows(type: ObjectType, csum: Checksum): boolean {
    const rel = this.relFor(type, csum);
    return this.staged.has(rel) || this.present.has(rel);
  }

  async hasObject(type: ObjectType, csum: Checksum): Promise<boolean> {
    const rel = this.relFor(type, csum);
    if (this.staged.has(rel) || this.present.has(rel)) return true;
    if (!(await this.repo.hasObject(type, csum))) return false;
    this.present.add(rel);
    return true;
  }

  /**
   * Objects the repository holds now (a listing): a commit that will ask about most of them (a rebuild's
   * thousands of unchanged dirmetas and dirtrees) then needs no lookup each.
   */
  notePresent(objects: Iterable<{ type: ObjectType; checksum: Checksum }>): void {
    for (const o of objects) this.present.add(this.relFor(o.type, o.checksum));
  }

  /** Write a metadata object; returns its checksum. `expected` makes a mismatch an error. */
  async writeMetadata(type: ObjectType, bytes: Uint8Array, expected?: Checksum): Promise<Checksum> {
    if (type === ObjectType.File || type === ObjectType.CommitMeta) throw new InvalidInputError('writeMetadata: not a hashed metadata type');
    const csum = sha256Hex(bytes);
    if (expected && expected !== csum) throw new CorruptionError(`Corrupted ${objectExtension(type, false)} object; checksum expected='${expected}' actual='${csum}'`);
    return this.dedupe(type, csum, async () => {
      await this.stageBytes(type, csum, bytes);
      this.stats.metadataWritten++;
    });
  }

  /** Detached metadata is named by its commit, not by its own hash; it replaces any previous one. */
  async writeCommitMeta(commit: Checksum, dict: VarDict | null): Promise<void> {
    const rel = this.relFor(ObjectType.CommitMeta, commit);
    if (dict === null) {
      this.staged.delete(rel);
      await fsp.rm(this.repo.objectPath(ObjectType.CommitMeta, commit), { force: true });
      return;
    }
    await this.ensureStagingDir(commit);
    await fsp.writeFile(this.stagedPath(rel), serializeCommitMeta(dict));
    this.staged.set(rel, ObjectType.CommitMeta);
  }

  private async stageBytes(type: ObjectType, csum: Checksum, bytes: Uint8Array): Promise<void> {
    await this.ensureStagingDir(csum);
    const rel = this.relFor(type, csum);
    // small objects (metadata, tiny files): one synchronous write beats three thread-pool round trips
    if (bytes.length <= SMALL_STAGED) writeFileSync(this.stagedPath(rel), bytes);
    else await fsp.writeFile(this.stagedPath(rel), bytes);
    this.staged.set(rel, type);
  }

  private async dedupe(type: ObjectType, csum: Checksum, write: () => Promise<void>): Promise<Checksum> {
    const rel = this.relFor(type, csum);
    if (this.staged.has(rel) || this.present.has(rel)) return csum;
    const running = this.inflight.get(rel);
    if (running) return running;
    const p = (async () => {
      if (!(await this.repo.hasObject(type, csum))) await write();
      else this.present.add(rel);
      return csum;
    })();
    this.inflight.set(rel, p);
    try {
      return await p;
    } finally {
      this.inflight.delete(rel);
    }
  }

  /** Write a content object (regular file or symlink); returns its checksum. */
  async writeContent(header: FileHeader, src: ContentSource, expected?: Checksum): Promise<Checksum> {
    header.validate();
    if (header.isSymlink !== (src.kind === 'symlink')) throw new InvalidInputError('writeContent: symlink header needs a symlink source and vice versa');
    if (this.repo.mode === 'bare-user-only') validateBareUserOnly(header);
    let csum: Checksum;
    if (src.kind === 'stream') return this.writeContentSinglePass(header, src.size, src.stream, expected);
    const pool = src.kind === 'file' && this.repo.isArchive ? sharedContentPool() : null;
    if (pool && src.kind === 'file') return this.writeContentInWorker(pool, header, src.path, src.size, expected);
    if (src.kind === 'file' && src.size > SMALL_FILE) {
      const h = new ContentHasher(header);
      for await (const chunk of createReadStream(src.path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
      csum = h.digest();
      this.checkExpected(csum, expected);
      return this.dedupe(ObjectType.File, csum, () => this.storeContent(csum, header, src.size, () => createReadStream(src.path, { highWaterMark: 1024 * 1024 })));
    }
    if (src.kind === 'file' && src.adopt && (this.repo.mode === 'bare' || this.repo.mode === 'bare-user-only')) {
      const h = new ContentHasher(header);
      for await (const chunk of createReadStream(src.path, { highWaterMark: 1024 * 1024 })) h.update(chunk as Buffer);
      csum = h.digest();
      this.checkExpected(csum, expected);
      const c = csum;
      return this.dedupe(ObjectType.File, csum, () => this.adoptContent(c, header, src.path, src.size));
    }
    let data: Uint8Array | null = null;
    if (src.kind === 'bytes') data = src.data;
    else if (src.kind === 'file') data = await fsp.readFile(src.path);
    const h = new ContentHasher(header);
    if (data) h.update(data);
    csum = h.digest();
    this.checkExpected(csum, expected);
    const d = data;
    return this.dedupe(ObjectType.File, csum, () => this.storeContentBytes(csum, header, d));
  }

  /** Archive mode: hash and compress on a worker thread; the result is adopted into staging here. */
  private async writeContentInWorker(pool: ContentWorkers, header: FileHeader, path: string, size: number, expected?: Checksum): Promise<Checksum> {
    const r = await pool.run({
      path,
      hashPrefix: lenPrefixed(header.serialize()),
      archivePrefix: lenPrefixed(header.serializeArchive(size)),
      size,
      objectsDir: join(this.repo.path, 'objects'),
      tmpDir: this.stagingDir,
      level: this.repo.zlibLevel,
    });
    if ('error' in r) {
      if (r.code === 'ENOENT') throw new InvalidInputError(`${path}: file vanished while being committed`);
      if (r.code === 'ECHANGED') throw new InvalidInputError(r.error);
      throw new Error(`content worker failed on ${path}: ${r.error}`);
    }
    const csum = r.checksum;
    const rel = this.relFor(ObjectType.File, csum);
    try {
      this.checkExpected(csum, expected);
    } catch (e) {
      if (r.staged) await fsp.rm(this.stagedPath(rel), { force: true });
      throw e;
    }
    if (r.staged && !this.staged.has(rel)) {
      this.staged.set(rel, ObjectType.File);
      this.stats.contentWritten++;
      this.stats.contentBytesWritten += size;
    }
    return csum;
  }

  private checkExpected(csum: Checksum, expected?: Checksum): void {
    if (expected && expected !== csum) throw new CorruptionError(`Corrupted file object; checksum expected='${expected}' actual='${csum}'`);
  }

  private async storeContentBytes(csum: Checksum, header: FileHeader, data: Uint8Array | null): Promise<void> {
    await this.ensureStagingDir(csum);
    const rel = this.relFor(ObjectType.File, csum);
    const path = this.stagedPath(rel);
    const size = data ? data.length : 0;
    if (this.repo.isArchive) {
      const hdr = lenPrefixed(header.serializeArchive(size));
      const body = header.isSymlink ? null : await deflateRawAsync(data ?? new Uint8Array(0), { level: this.repo.zlibLevel });
      await fsp.writeFile(path, body ? Buffer.concat([hdr, body]) : hdr);
    } else if (size <= SMALL_STAGED && !header.isSymlink) {
      this.writeSmallBareFileSync(path, header, data);
    } else {
      await this.writeBareFile(path, header, async (fh) => {
        if (data && data.length > 0) await fh.writeFile(data);
      });
    }
    this.staged.set(rel, ObjectType.File);
    this.stats.contentWritten++;
    this.stats.contentBytesWritten += size;
  }

  private async storeContent(csum: Checksum, header: FileHeader, size: number, open: () => Readable): Promise<void> {
    await this.ensureStagingDir(csum);
    const rel = this.relFor(ObjectType.File, csum);
    const path = this.stagedPath(rel);
    if (this.repo.isArchive) {
      const out = createWriteStream(path);
      out.write(lenPrefixed(header.serializeArchive(size)));
      await pipeline(open(), createDeflateRaw({ level: this.repo.zlibLevel }), out);
    } else {
      await this.writeBareFile(path, header, async (fh) => {
        await pipeline(open(), (src: AsyncIterable<Buffer>) => drainTo(fh, src));
      });
    }
    this.staged.set(rel, ObjectType.File);
    this.stats.contentWritten++;
    this.stats.contentBytesWritten += size;
  }

  /**
   * --consume in a bare or bare-user-only repository: hardlink the input file
   * itself into staging (ostree "adopts" it) and give it the object's on-disk
   * metadata; falls back to a copy across filesystems.
   */
  private async adoptContent(csum: Checksum, header: FileHeader, path: string, size: number): Promise<void> {
    await this.ensureStagingDir(csum);
    const rel = this.relFor(ObjectType.File, csum);
    const staged = this.stagedPath(rel);
    // in bare mode the inode's xattrs become the object's: adopt only when they are exactly the header's
    const copy = () => this.storeContent(csum, header, size, () => createReadStream(path, { highWaterMark: 1024 * 1024 }));
    if (this.repo.mode === 'bare' && JSON.stringify(readXattrs(path).map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')])) !== JSON.stringify(header.xattrs.map(([k, v]) => [Buffer.from(k).toString('hex'), Buffer.from(v).toString('hex')]))) return copy();
    try {
      await fsp.link(path, staged);
    } catch (e) {
      if (!(isErrno(e, 'EXDEV') || isErrno(e, 'EPERM') || isErrno(e, 'EMLINK'))) throw e;
      return copy();
    }
    if (this.repo.mode === 'bare') await fsp.chown(staged, header.uid, header.gid);
    await fsp.chmod(staged, header.mode & 0o7777);
    await fsp.utimes(staged, 0, 0);
    this.staged.set(rel, ObjectType.File);
    this.stats.contentWritten++;
    this.stats.contentBytesWritten += size;
  }

  /** Hash and store in one pass, for streams that cannot be re-read. */
  private async writeContentSinglePass(header: FileHeader, size: number, stream: Readable, expected?: Checksum): Promise<Checksum> {
    const tmpRel = randomName('stream');
    const tmpPath = this.stagedPath(tmpRel);
    const h = new ContentHasher(header);
    let seen = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        seen += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      if (this.repo.isArchive) {
        const out = createWriteStream(tmpPath);
        out.write(lenPrefixed(header.serializeArchive(size)));
        await pipeline(stream, tap, createDeflateRaw({ level: this.repo.zlibLevel }), out);
      } else {
        await this.writeBareFile(tmpPath, header, async (fh) => {
          await pipeline(stream, tap, (src: AsyncIterable<Buffer>) => drainTo(fh, src));
        });
      }
      if (seen !== size) throw new CorruptionError(`content stream was ${seen} bytes, expected ${size}`);
      const csum = h.digest();
      this.checkExpected(csum, expected);
      await this.dedupe(ObjectType.File, csum, async () => {
        await this.ensureStagingDir(csum);
        const rel = this.relFor(ObjectType.File, csum);
        await fsp.rename(tmpPath, this.stagedPath(rel));
        this.staged.set(rel, ObjectType.File);
        this.stats.contentWritten++;
        this.stats.contentBytesWritten += size;
      });
      return csum;
    } finally {
      await fsp.rm(tmpPath, { force: true });
    }
  }

  /** Create a bare / bare-user / bare-user-only object file with ostree's on-disk metadata. */
  /**
   * A small object in a bare repository with synchronous calls: creating it
   * costs ~0.2 ms whichever thread does it (ext4's journal serializes
   * creations), while the asynchronous path costs five thread-pool round
   * trips (open, write, chmod, utimes, close).
   */
  private writeSmallBareFileSync(path: string, header: FileHeader, data: Uint8Array | null): void {
    const fd = openSync(path, 'wx', 0o600);
    try {
      for (let off = 0; data && off < data.length; ) off += writeSync(fd, data, off, data.length - off);
      setBareObjectMeta(fd, header, this.repo.mode);
    } finally {
      closeSync(fd);
    }
  }

  private async writeBareFile(path: string, header: FileHeader, fill: (fh: fsp.FileHandle) => Promise<void>): Promise<void> {
    const mode = this.repo.mode;
    if (header.isSymlink && (mode === 'bare' || mode === 'bare-user-only')) {
      await fsp.symlink(header.symlinkTarget, path);
      if (mode === 'bare') {
        await fsp.lchown(path, header.uid, header.gid);
        writeXattrs(path, header.xattrs);
        await fsp.lutimes(path, 0, 0);
      }
      return;
    }
    const fh = await fsp.open(path, 'wx', 0o600);
    try {
      if (header.isSymlink) await fh.writeFile(bareSymlinkBody(header.symlinkTarget));
      else await fill(fh);
      setBareObjectMeta(fh.fd, header, this.repo.mode);
    } finally {
      await fh.close();
    }
  }

  /**
   * Bring in an object verbatim from another repository of the same storage
   * format (pull-local): hardlink when possible, else copy.
   */
  async importRaw(type: ObjectType, csum: Checksum, fromPath: string): Promise<void> {
    const rel = this.relFor(type, csum);
    if (type === ObjectType.CommitMeta) {
      await this.ensureStagingDir(csum);
      await fsp.copyFile(fromPath, this.stagedPath(rel));
      this.staged.set(rel, type);
      return;
    }
    await this.dedupe(type, csum, async () => {
      await this.ensureStagingDir(csum);
      const dest = this.stagedPath(rel);
      try {
        await fsp.link(fromPath, dest);
      } catch (e) {
        if (!(isErrno(e, 'EXDEV') || isErrno(e, 'EPERM') || isErrno(e, 'EMLINK'))) throw e;
        await copyPreserving(fromPath, dest, this.repo.mode);
      }
      this.staged.set(rel, type);
      if (type === ObjectType.File) this.stats.contentWritten++;
      else this.stats.metadataWritten++;
    });
  }

  /** Stage an object's stored bytes verbatim (already verified by the caller), e.g. a pulled `.filez`. */
  async importRawBytes(type: ObjectType, csum: Checksum, bytes: Uint8Array): Promise<void> {
    await this.dedupe(type, csum, async () => {
      await this.stageBytes(type, csum, bytes);
      if (type === ObjectType.File) this.stats.contentWritten++;
      else this.stats.metadataWritten++;
    });
  }

  /**
   * Where a caller that writes an object's stored bytes itself (a pull
   * streaming a download) puts it; `markStaged` once it is complete and verified.
   */
  async stagingPath(type: ObjectType, csum: Checksum): Promise<string> {
    await this.ensureStagingDir(csum);
    return this.stagedPath(this.relFor(type, csum));
  }

  /**
   * `size`: content bytes, for the stats. `counted: false` when another
   * writer of this transaction staged (and counted) the same object already.
   */
  markStaged(type: ObjectType, csum: Checksum, size = 0, counted = true): void {
    this.staged.set(this.relFor(type, csum), type);
    if (!counted) return;
    if (type === ObjectType.File) {
      this.stats.contentWritten++;
      this.stats.contentBytesWritten += size;
    } else this.stats.metadataWritten++;
  }

  setRef(ref: string, checksum: Checksum | null, remote: string | null = null, collection: string | null = null): void {
    this.refs.push({ ref, remote, collection, checksum });
  }

  /**
   * Mark a commit as incompletely fetched (state/CSUM.commitpartial), as
   * ostree does for --commit-metadata-only pulls. The marker is in place
   * before the commit object becomes visible.
   */
  markCommitPartial(csum: Checksum): void {
    this.partialMarks.add(csum);
    this.partialClears.delete(csum);
  }

  /** Drop a commit's partial marker once its whole tree is visible. */
  clearCommitPartial(csum: Checksum): void {
    this.partialClears.add(csum);
    this.partialMarks.delete(csum);
  }

  /** Make the staged objects visible (content first, commits last), then update refs. */
  async commit(): Promise<TransactionStats> {
    if (this.done) throw new Error('transaction already finished');
    try {
      if (this.partialMarks.size > 0) {
        const state = join(this.repo.path, 'state');
        await fsp.mkdir(state, { recursive: true, mode: 0o775 });
        for (const c of this.partialMarks) await fsp.writeFile(join(state, `${c}.commitpartial`), '');
      }
      await this.repo.syncfs();
      const byType = new Map<ObjectType, string[]>();
      for (const [rel, type] of this.staged) {
        const l = byType.get(type) ?? [];
        l.push(rel);
        byType.set(type, l);
      }
      const objdir = join(this.repo.path, 'objects');
      const made = new Set<string>();
      for (const type of VISIBILITY_ORDER) {
        // synchronous: tens of thousands of renames, each far cheaper than a thread-pool round trip
        for (const rel of byType.get(type) ?? []) {
          const d = rel.slice(0, 2);
          if (!made.has(d)) {
            mkdirSync(join(objdir, d), { recursive: true, mode: 0o775 });
            made.add(d);
          }
          renameSync(this.stagedPath(rel), join(objdir, rel));
        }
        if (type === ObjectType.CommitMeta) await this.repo.syncfs();
      }
      if (made.size > 0) await this.repo.syncfs();
      for (const c of this.partialClears) await fsp.rm(join(this.repo.path, 'state', `${c}.commitpartial`), { force: true });
      for (const r of this.refs) await this.repo.setRef(r.ref, r.checksum, r.remote, r.collection);
      if (this.refs.length > 0) await this.repo.maybeRegenerateSummary();
      return this.stats;
    } finally {
      await this.finish();
    }
  }

  async abort(): Promise<void> {
    if (!this.done) await this.finish();
  }

  private async finish(): Promise<void> {
    this.done = true;
    await fsp.rm(this.stagingDir, { recursive: true, force: true });
    try {
      closeSync(this.stagingFd);
    } finally {
      this.unlock();
    }
  }
}

/**
 * Write a stream into an open FileHandle. (fh.createWriteStream({autoClose:
 * false}) keeps a reference on the handle that makes fh.close() hang forever
 * on Node 20, so the process exits with 13 mid-commit.)
 */
async function drainTo(fh: fsp.FileHandle, src: AsyncIterable<Buffer>): Promise<void> {
  for await (const chunk of src) {
    let off = 0;
    while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
  }
}

function validateBareUserOnly(h: FileHeader): void {
  if ((h.mode & S_IFMT) !== S_IFLNK && h.mode & ~(S_IFMT | 0o775)) {
    throw new InvalidInputError(`Content object of mode 0${h.mode.toString(8)} is invalid in a bare-user-only repository (only 0775 bits allowed)`);
  }
}

async function copyPreserving(from: string, to: string, mode: string): Promise<void> {
  const st = await fsp.lstat(from);
  if (st.isSymbolicLink()) {
    await fsp.symlink(await fsp.readlink(from), to);
    if (mode === 'bare') await fsp.lchown(to, st.uid, st.gid);
    return;
  }
  await fsp.copyFile(from, to, C.COPYFILE_FICLONE);
  if (mode === 'bare' || mode === 'bare-user' || mode === 'bare-user-only') {
    const n = native();
    for (const name of n.listXattrs(from)) {
      const v = n.getXattr(from, name);
      if (v) n.setXattr(to, name, v);
    }
    if (mode === 'bare') await fsp.chown(to, st.uid, st.gid);
    await fsp.chmod(to, st.mode & 0o7777);
    await fsp.utimes(to, 0, 0);
  }
}

/** Remove staging directories left by crashed writers (their flock is gone). */
async function cleanStaleStaging(tmp: string): Promise<void> {
  let names: string[];
  try {
    names = await fsp.readdir(tmp);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith('staging-')) continue;
    const p = join(tmp, n);
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(p, C.O_RDONLY | C.O_DIRECTORY);
      if (native().flock(fh.fd, 'ex')) await fsp.rm(p, { recursive: true, force: true });
    } catch {
      /* raced with another cleaner */
    } finally {
      await fh?.close();
    }
  }
}
