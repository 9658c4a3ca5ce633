import { promises as fsp, constants as C, createReadStream, openSync, closeSync, lstatSync, fstatSync, readSync, readdirSync } from 'node:fs';
import { join, dirname, relative, resolve as resolvePath } from 'node:path';
import { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { AlreadyExistsError, CoreforgeError, CorruptionError, InvalidInputError, NotFoundError, isErrno } from '../../errors.js';
import { native } from '../../native/index.js';
import { KeyFile } from '../../util/keyfile.js';
import { exists, fsyncDir, randomName, readFileOrNull, writeFileAtomic } from '../../util/fs.js';
import type { VarDict } from '../../gvariant/index.js';
import { assertChecksum, isChecksum, sha256Hex, type Checksum } from '../checksum.js';
import { Commit, parseCommitMeta } from '../objects/commit.js';
import { DirMeta, S_IFLNK, S_IFMT, S_IFREG } from '../objects/dirmeta.js';
import { DirTree } from '../objects/dirtree.js';
import { FileHeader, parseBareUserMeta, parseLenPrefix } from '../objects/content.js';
import { MAX_METADATA_SIZE, ObjectType, objectExtension, objectTypeFromName } from '../objects/types.js';
import { OSTREEMETA_XATTR, readXattrs } from '../objects/xattrs.js';
import { parseRepoMode, repoModeConfigString, type RepoMode } from './mode.js';
import { isValidRefFragment, isValidRemoteName, parseRefspec, validateRef, validateRemoteName } from './refs.js';

/** A content object as stored: its header and a way to read its bytes. */
export interface ContentObject {
  checksum: Checksum;
  header: FileHeader;
  /** Uncompressed payload size (0 for symlinks). */
  size: number;
  /** Path of the loose object file. */
  path: string;
  /** Storage mode of the repository holding the file (a parent repository's may differ). */
  storedMode?: RepoMode;
  /** The payload (uncompressed); empty for a symlink. */
  open(): Readable;
}

export interface ObjectName {
  type: ObjectType;
  checksum: Checksum;
}

export class RepoError extends CoreforgeError {
  constructor(message: string) {
    super('EREPO', message);
  }
}

/**
 * An OSTree repository on disk: config, objects, refs. Writes go through a
 * Transaction (transaction.ts) so that a crash never exposes a partial
 * commit. Storage layout is exactly ostree's, so the real `ostree` and
 * coreforge can share a repository.
 */
export class Repo {
  private lockFd: number | null = null;
  private lockDepth = { sh: 0, ex: 0 };

  private constructor(
    readonly path: string,
    readonly mode: RepoMode,
    public config: KeyFile,
  ) {}

  private parentRepo: Repo | null | undefined;

  /** The repository named by `core.parent`, consulted for objects and refs this one lacks (as ostree). */
  async parent(): Promise<Repo | null> {
    if (this.parentRepo === undefined) {
      const p = this.config.getString('core', 'parent');
      this.parentRepo = p ? await Repo.open(resolvePath(this.path, p)) : null;
      if (this.parentRepo && this.parentRepo.path === this.path) this.parentRepo = null;
    }
    return this.parentRepo;
  }

  get isArchive(): boolean {
    return this.mode === 'archive';
  }

  static async create(path: string, mode: RepoMode, opts: { collectionId?: string } = {}): Promise<Repo> {
    await fsp.mkdir(path, { recursive: true });
    const configPath = join(path, 'config');
    const existing = await readFileOrNull(configPath);
    if (existing) {
      // ostree init on an existing repo is a no-op if the mode matches
      const repo = await Repo.open(path);
      if (repo.mode !== mode) throw new AlreadyExistsError(`repository at ${path} already exists with mode ${repoModeConfigString(repo.mode)}`);
      return repo;
    }
    for (const d of ['objects', 'tmp', 'tmp/cache', 'extensions', 'state', 'refs', 'refs/heads', 'refs/mirrors', 'refs/remotes']) {
      await fsp.mkdir(join(path, d), { recursive: true, mode: 0o775 });
    }
    const kf = new KeyFile();
    kf.setRaw('core', 'repo_version', '1');
    kf.setRaw('core', 'mode', repoModeConfigString(mode));
    if (opts.collectionId) kf.setString('core', 'collection-id', opts.collectionId);
    await fsp.writeFile(join(path, '.lock'), '', { mode: 0o640 });
    // config last: its presence marks a complete repository
    await writeFileAtomic(configPath, kf.toString());
    return new Repo(path, mode, kf);
  }

  static async open(path: string): Promise<Repo> {
    const configPath = join(path, 'config');
    const text = await readFileOrNull(configPath).catch((e: unknown) => {
      if (isErrno(e, 'ENOTDIR')) return null;
      throw e;
    });
    if (text === null) throw new NotFoundError(`${path} is not an OSTree repository (no config file)`);
    const kf = KeyFile.parse(text.toString('utf8'), configPath);
    const version = kf.getString('core', 'repo_version');
    if (version !== '1') throw new RepoError(`${configPath}: unsupported repo_version '${version ?? ''}'`);
    const modeStr = kf.getString('core', 'mode') ?? 'bare';
    const mode = parseRepoMode(modeStr, `${configPath}: [core] mode`);
    // like ostree_repo_open, recreate tmp/ if someone removed it (read-only repos are fine without)
    await fsp.mkdir(join(path, 'tmp'), { mode: 0o775 }).catch((e: unknown) => {
      if (!(isErrno(e, 'EEXIST') || isErrno(e, 'EROFS') || isErrno(e, 'EACCES') || isErrno(e, 'EPERM'))) throw e;
    });
    return new Repo(path, mode, kf);
  }

  async reloadConfig(): Promise<void> {
    const text = await fsp.readFile(join(this.path, 'config'), 'utf8');
    this.config = KeyFile.parse(text, join(this.path, 'config'));
  }

  async writeConfig(kf: KeyFile = this.config): Promise<void> {
    await writeFileAtomic(join(this.path, 'config'), kf.toString(), { tmpDir: join(this.path, 'tmp') });
    this.config = kf;
  }

  get collectionId(): string | undefined {
    return this.config.getString('core', 'collection-id') || undefined;
  }

  get fsyncEnabled(): boolean {
    if (process.env.OSTREE_REPO_DISABLE_FSYNC === '1') return false;
    return this.config.getBoolean('core', 'fsync', 'repo config') ?? true;
  }

  get zlibLevel(): number {
    return this.config.getInteger('archive', 'zlib-level', 'repo config') ?? 6;
  }

  // -------------------------------------------------------------------------
  // Locking: flock(2) on `.lock`, shared for writers, exclusive for prune.
  // -------------------------------------------------------------------------

  async lock(kind: 'sh' | 'ex', timeoutSecs = this.config.getInteger('core', 'lock-timeout-secs') ?? 300): Promise<() => void> {
    if (this.lockFd === null) {
      try {
        this.lockFd = openSync(join(this.path, '.lock'), C.O_RDWR | C.O_CREAT, 0o640);
      } catch (e) {
        if (isErrno(e, 'EROFS') || isErrno(e, 'EACCES')) this.lockFd = openSync(join(this.path, '.lock'), C.O_RDONLY);
        else throw e;
      }
    }
    const fd = this.lockFd;
    const want: 'sh' | 'ex' = kind === 'ex' || this.lockDepth.ex > 0 ? 'ex' : 'sh';
    const have = this.lockDepth.ex > 0 ? 'ex' : this.lockDepth.sh > 0 ? 'sh' : null;
    if (have !== want && !(have === 'ex' && want === 'sh')) {
      const deadline = Date.now() + timeoutSecs * 1000;
      while (!native().flock(fd, want)) {
        if (Date.now() > deadline) throw new CoreforgeError('ELOCKED', `Locking repo ${this.path} timed out (${timeoutSecs}s)`);
        await new Promise((r) => setTimeout(r, 25));
      }
    }
    this.lockDepth[kind]++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.lockDepth[kind]--;
      if (this.lockDepth.ex === 0 && this.lockDepth.sh === 0) {
        native().flock(fd, 'un');
      } else if (this.lockDepth.ex === 0 && kind === 'ex') {
        native().flock(fd, 'sh');
      }
    };
  }

  close(): void {
    if (this.lockFd !== null) {
      closeSync(this.lockFd);
      this.lockFd = null;
    }
  }

  // -------------------------------------------------------------------------
  // Objects
  // -------------------------------------------------------------------------

  objectRelPath(type: ObjectType, csum: Checksum): string {
    return `objects/${csum.slice(0, 2)}/${csum.slice(2)}.${objectExtension(type, this.isArchive)}`;
  }

  objectPath(type: ObjectType, csum: Checksum): string {
    return join(this.path, this.objectRelPath(type, csum));
  }

  async hasObject(type: ObjectType, csum: Checksum): Promise<boolean> {
    // synchronous on purpose: a cached dentry lookup costs microseconds, a thread-pool
    // round trip costs tens of them, and pull and commit ask this once per object
    return lstatSync(this.objectPath(type, csum), { throwIfNoEntry: false }) !== undefined;
  }

  /**
   * Raw bytes of a metadata object, size-capped like ostree's. Synchronous
   * reads on purpose: metadata objects are small and their inodes cached, and
   * walks (checkout, assemble, fsck, pull) load thousands of them one after
   * another — four thread-pool round trips each cost far more than the calls.
   */
  async readMetadata(type: ObjectType, csum: Checksum): Promise<Uint8Array> {
    const p = this.objectPath(type, csum);
    let fd: number;
    try {
      fd = openSync(p, 'r');
    } catch (e) {
      if (isErrno(e, 'ENOENT')) {
        const parent = await this.parent();
        if (parent) return parent.readMetadata(type, csum);
        throw new NotFoundError(`No such metadata object ${csum}.${objectExtension(type, this.isArchive)}`);
      }
      throw e;
    }
    try {
      const { size } = fstatSync(fd);
      if (size > MAX_METADATA_SIZE) throw new CorruptionError(`metadata object ${csum} is ${size} bytes, more than the ${MAX_METADATA_SIZE} limit`);
      // its own ArrayBuffer (not a slice of the shared pool): callers may keep or view the bytes
      const buf = Buffer.allocUnsafeSlow(size);
      let n = 0;
      while (n < size) {
        const r = readSync(fd, buf, n, size - n, n);
        if (r === 0) break;
        n += r;
      }
      return new Uint8Array(buf.buffer, buf.byteOffset, n);
    } finally {
      closeSync(fd);
    }
  }

  /** Metadata bytes, checked against their name. */
  async readMetadataVerified(type: ObjectType, csum: Checksum): Promise<Uint8Array> {
    const b = await this.readMetadata(type, csum);
    const actual = sha256Hex(b);
    if (actual !== csum) throw new CorruptionError(`corrupted object ${csum}.${objectExtension(type, false)}: actual checksum ${actual}`);
    return b;
  }

  async loadCommit(csum: Checksum): Promise<Commit> {
    return Commit.parse(await this.readMetadata(ObjectType.Commit, assertChecksum(csum)), `commit ${csum}`);
  }

  async loadDirTree(csum: Checksum): Promise<DirTree> {
    return DirTree.parse(await this.readMetadata(ObjectType.DirTree, csum), `dirtree ${csum}`);
  }

  async loadDirMeta(csum: Checksum): Promise<DirMeta> {
    return DirMeta.parse(await this.readMetadata(ObjectType.DirMeta, csum), `dirmeta ${csum}`);
  }

  /** Detached metadata of a commit, or null if there is none. */
  async loadCommitMeta(csum: Checksum): Promise<VarDict | null> {
    const b = await readFileOrNull(this.objectPath(ObjectType.CommitMeta, csum));
    if (!b) return null;
    return parseCommitMeta(new Uint8Array(b), `commitmeta ${csum}`);
  }

  /** True if `state/<csum>.commitpartial` marks the commit as incompletely pulled. */
  async isCommitPartial(csum: Checksum): Promise<boolean> {
    return exists(join(this.path, 'state', `${csum}.commitpartial`));
  }

  async loadContent(csum: Checksum): Promise<ContentObject> {
    const path = this.objectPath(ObjectType.File, csum);
    const what = `content object ${csum}`;
    try {
      let obj: ContentObject;
      switch (this.mode) {
        case 'archive':
          obj = await this.loadArchiveContent(csum, path, what);
          break;
        case 'bare-user':
          obj = await this.loadBareUserContent(csum, path, what);
          break;
        case 'bare':
        case 'bare-user-only':
          obj = await this.loadBareContent(csum, path, this.mode === 'bare');
          break;
      }
      obj.storedMode = this.mode;
      return obj;
    } catch (e) {
      if (isErrno(e, 'ENOENT')) {
        const parent = await this.parent();
        if (parent) return parent.loadContent(csum);
        throw new NotFoundError(`No such content object ${csum}`);
      }
      throw e;
    }
  }

  private async loadArchiveContent(csum: Checksum, path: string, what: string): Promise<ContentObject> {
    const fh = await fsp.open(path, 'r');
    let header: FileHeader;
    let size: number;
    let dataStart: number;
    try {
      const st = await fh.stat();
      const prefix = Buffer.alloc(8);
      await fh.read(prefix, 0, 8, 0);
      const hlen = parseLenPrefix(prefix, st.size, what);
      if (hlen > MAX_METADATA_SIZE) throw new CorruptionError(`${what}: header too large`);
      const hb = Buffer.alloc(hlen);
      const { bytesRead } = await fh.read(hb, 0, hlen, 8);
      if (bytesRead !== hlen) throw new CorruptionError(`${what}: truncated header`);
      ({ header, size } = FileHeader.parseArchive(new Uint8Array(hb.buffer, hb.byteOffset, hlen), what));
      dataStart = 8 + hlen;
      if (header.isSymlink && st.size !== dataStart) throw new CorruptionError(`${what}: symlink with trailing data`);
    } finally {
      await fh.close();
    }
    return {
      checksum: csum,
      header,
      size,
      path,
      open: () => {
        if (header.isSymlink) return Readable.from([]);
        const raw = createReadStream(path, { start: dataStart, highWaterMark: 256 * 1024 });
        const inflate = createInflateRaw();
        raw.on('error', (e) => inflate.destroy(e));
        return raw.pipe(inflate);
      },
    };
  }

  private async loadBareUserContent(csum: Checksum, path: string, what: string): Promise<ContentObject> {
    const st = await fsp.lstat(path);
    if (!st.isFile()) throw new CorruptionError(`${what}: not a regular file in a bare-user repo`);
    const meta = native().getXattr(path, OSTREEMETA_XATTR);
    if (!meta) throw new CorruptionError(`${what}: missing ${OSTREEMETA_XATTR} xattr`);
    // the symlink target is the file content, NUL-terminated
    const provisional = parseBareUserMeta(new Uint8Array(meta), what + ' (user.ostreemeta)');
    let header: FileHeader;
    if ((provisional.mode & S_IFMT) === S_IFLNK) {
      const body = await fsp.readFile(path);
      const nul = body.indexOf(0);
      const target = (nul >= 0 ? body.subarray(0, nul) : body).toString('utf8');
      header = new FileHeader(provisional.uid, provisional.gid, provisional.mode, provisional.xattrs, target);
    } else {
      header = new FileHeader(provisional.uid, provisional.gid, provisional.mode, provisional.xattrs, '');
    }
    header.validate(what);
    const size = header.isSymlink ? 0 : st.size;
    return { checksum: csum, header, size, path, open: () => (header.isSymlink ? Readable.from([]) : createReadStream(path, { highWaterMark: 256 * 1024 })) };
  }

  private async loadBareContent(csum: Checksum, path: string, withOwnership: boolean): Promise<ContentObject> {
    const st = await fsp.lstat(path);
    let header: FileHeader;
    const xattrs = withOwnership ? readXattrs(path) : [];
    const uid = withOwnership ? st.uid : 0;
    const gid = withOwnership ? st.gid : 0;
    if (st.isSymbolicLink()) {
      header = new FileHeader(uid, gid, S_IFLNK | 0o777, xattrs, await fsp.readlink(path));
    } else if (st.isFile()) {
      header = new FileHeader(uid, gid, S_IFREG | (st.mode & 0o7777), xattrs);
    } else {
      throw new CorruptionError(`content object ${csum} is neither a file nor a symlink`);
    }
    return { checksum: csum, header, size: header.isSymlink ? 0 : st.size, path, open: () => (header.isSymlink ? Readable.from([]) : createReadStream(path, { highWaterMark: 256 * 1024 })) };
  }

  /** Every loose object, as (type, checksum), in objects/ directory order. */
  async *listObjects(): AsyncGenerator<ObjectName> {
    yield* this.listObjectsSync();
  }

  /**
   * listObjects with synchronous directory reads: one readdir per prefix
   * directory, no promise per object (a commit walk lists every object of
   * the repository before it starts).
   */
  *listObjectsSync(): Generator<ObjectName> {
    const objdir = join(this.path, 'objects');
    let prefixes: string[];
    try {
      prefixes = readdirSync(objdir).filter((d) => /^[0-9a-f]{2}$/.test(d)).sort();
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return;
      throw e;
    }
    for (const p of prefixes) {
      const names = readdirSync(join(objdir, p)).sort();
      for (const n of names) {
        const dot = n.indexOf('.');
        if (dot !== 62) continue;
        const csum = p + n.slice(0, 62);
        if (!isChecksum(csum)) continue;
        const ext = n.slice(dot + 1);
        const type = ext === 'filez' || ext === 'file' ? ObjectType.File : objectTypeFromName(ext);
        if (type === undefined) continue;
        yield { type, checksum: csum };
      }
    }
  }

  async listCommits(): Promise<Checksum[]> {
    const out: Checksum[] = [];
    for await (const o of this.listObjects()) if (o.type === ObjectType.Commit) out.push(o.checksum);
    return out;
  }

  // -------------------------------------------------------------------------
  // Refs
  // -------------------------------------------------------------------------

  /** Path of a ref file: refs/heads/REF, refs/remotes/REMOTE/REF or refs/mirrors/COLLECTION/REF. */
  refPath(ref: string, remote: string | null = null, collection: string | null = null): string {
    validateRef(ref);
    if (collection) return join(this.path, 'refs', 'mirrors', collection, ref);
    if (remote) return join(this.path, 'refs', 'remotes', validateRemoteName(remote), ref);
    return join(this.path, 'refs', 'heads', ref);
  }

  async readRefFile(path: string, name: string): Promise<Checksum | null> {
    let text: string;
    try {
      text = await fsp.readFile(path, 'utf8');
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'EISDIR') || isErrno(e, 'ENOTDIR')) return null;
      throw e;
    }
    const c = text.trim();
    if (!isChecksum(c)) throw new CorruptionError(`ref '${name}' (${path}) does not hold a checksum`);
    return c;
  }

  /**
   * Resolve a revision as ostree_repo_resolve_rev does: a full checksum, a
   * unique prefix of a commit checksum, `REV^` for the parent, `REMOTE:REF`,
   * a local ref, then refs/remotes fallbacks.
   */
  async resolveRev(rev: string, allowNoent = false, opts: { localOnly?: boolean } = {}): Promise<Checksum | null> {
    if (isChecksum(rev)) return rev;
    if (/^[0-9a-f]{1,63}$/.test(rev)) {
      const matches = await this.commitsStartingWith(rev);
      if (matches.length > 1) throw new InvalidInputError(`Refspec ${rev} not unique`);
      if (matches.length === 1) return matches[0]!;
    }
    if (rev.endsWith('^')) {
      const base = await this.resolveRev(rev.slice(0, -1), false);
      const c = await this.loadCommit(base!);
      if (!c.parent) throw new NotFoundError(`Commit ${base} has no parent`);
      return c.parent;
    }
    const { remote, ref } = parseRefspec(rev);
    let csum: Checksum | null;
    if (remote) {
      csum = await this.readRefFile(this.refPath(ref, remote), rev);
    } else {
      csum = await this.readRefFile(this.refPath(ref), rev);
      if (!csum && !opts.localOnly) csum = await this.readRefFile(join(this.path, 'refs', 'remotes', ref), rev);
      if (!csum && !opts.localOnly) {
        for (const r of await this.remoteRefDirs()) {
          csum = await this.readRefFile(join(this.path, 'refs', 'remotes', r, ref), rev);
          if (csum) break;
        }
      }
    }
    if (!csum) {
      const parent = await this.parent();
      if (parent) return parent.resolveRev(rev, allowNoent, opts);
    }
    if (!csum && !allowNoent) throw new NotFoundError(`Refspec '${rev}' not found`);
    return csum;
  }

  private async remoteRefDirs(): Promise<string[]> {
    try {
      return (await fsp.readdir(join(this.path, 'refs', 'remotes'))).sort();
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw e;
    }
  }

  private async commitsStartingWith(prefix: string): Promise<Checksum[]> {
    const out: Checksum[] = [];
    const dirs = prefix.length >= 2 ? [prefix.slice(0, 2)] : Array.from({ length: 16 }, (_, i) => prefix + i.toString(16));
    for (const d of dirs) {
      let names: string[];
      try {
        names = await fsp.readdir(join(this.path, 'objects', d));
      } catch (e) {
        if (isErrno(e, 'ENOENT')) continue;
        throw e;
      }
      for (const n of names) {
        if (!n.endsWith('.commit')) continue;
        const c = d + n.slice(0, 62);
        if (c.startsWith(prefix)) out.push(c);
      }
    }
    return out;
  }

  /**
   * All refs as a map from name to checksum: local refs by name, remote refs
   * as `REMOTE:REF`, mirrors under their collection. `prefix` limits to refs
   * under a path (as `ostree refs PREFIX`).
   */
  async listRefs(opts: { prefix?: string; remotes?: boolean; local?: boolean; mirrors?: boolean } = {}): Promise<Map<string, Checksum>> {
    const out = new Map<string, Checksum>();
    if (opts.local !== false) {
      if (opts.prefix && !opts.prefix.includes(':')) {
        for (const [k, v] of await this.listRefsExt(opts.prefix, { excludeRemotes: true })) out.set(k, v);
      } else if (!opts.prefix) {
        await this.enumerateRefs(join(this.path, 'refs', 'heads'), '', null, false, out);
      }
    }
    if (opts.remotes !== false && !(opts.prefix && !opts.prefix.includes(':'))) {
      const want = opts.prefix?.split(':')[0];
      for (const remote of await this.remoteRefDirs()) {
        if (want !== undefined && want !== remote) continue;
        await this.enumerateRefs(join(this.path, 'refs', 'remotes', remote), '', remote, false, out);
      }
    }
    if (opts.mirrors) {
      let cols: string[] = [];
      try {
        cols = await fsp.readdir(join(this.path, 'refs', 'mirrors'));
      } catch {
        /* none */
      }
      for (const col of cols) {
        const m = new Map<string, Checksum>();
        await this.enumerateRefs(join(this.path, 'refs', 'mirrors', col), '', null, false, m);
        for (const [n, c] of m) out.set(`(${col}, ${n})`, c);
      }
    }
    return sortedMap(out);
  }

  /**
   * ostree_repo_list_refs / list_refs_ext: with a prefix, the refs under that
   * path (or the ref itself); `cutPrefix` strips the prefix from the names as
   * `ostree refs PREFIX` prints them. With `aliasesOnly` the values are the
   * alias targets rather than checksums.
   */
  async listRefsExt(prefix: string | null, opts: { cutPrefix?: boolean; aliasesOnly?: boolean; excludeRemotes?: boolean } = {}): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const aliases = opts.aliasesOnly ?? false;
    if (prefix === null) {
      // like ostree, a repository without refs/heads or refs/remotes is an error, not an empty list
      for (const d of opts.excludeRemotes ? ['refs/heads'] : ['refs/heads', 'refs/remotes']) {
        const st = await fsp.stat(join(this.path, d)).catch(() => null);
        if (!st?.isDirectory()) throw new RepoError(`Listing refs: opendir(${d}): No such file or directory`);
      }
      await this.enumerateRefs(join(this.path, 'refs', 'heads'), '', null, aliases, out);
      if (!opts.excludeRemotes) {
        for (const remote of await this.remoteRefDirs()) await this.enumerateRefs(join(this.path, 'refs', 'remotes', remote), '', remote, aliases, out);
      }
      return sortedMap(out);
    }
    let remote: string | null = null;
    let refPrefix: string | null = null;
    // "REMOTE:" and "REMOTE:." list all of a remote's refs
    const m = /^(.*):\.?$/.exec(prefix);
    if (m && isValidRemoteName(m[1]!)) {
      remote = m[1]!;
      refPrefix = '.';
    }
    if (refPrefix === null) ({ remote, ref: refPrefix } = parseRefspec(prefix));
    const base = !opts.excludeRemotes && remote ? join(this.path, 'refs', 'remotes', remote) : join(this.path, 'refs', 'heads');
    const st = await fsp.stat(join(base, refPrefix)).catch((e: unknown) => {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return null;
      throw e;
    });
    if (!st) return out;
    if (st.isDirectory()) {
      if (opts.cutPrefix) await this.enumerateRefs(join(base, refPrefix), '', remote, aliases, out);
      else await this.enumerateRefs(join(base, refPrefix), `${refPrefix}/`, remote, aliases, out);
    } else {
      const c = await this.readRefFile(join(base, refPrefix), refPrefix);
      if (c) out.set(remote ? `${remote}:${refPrefix}` : refPrefix, c);
    }
    return sortedMap(out);
  }

  /** Walk a refs directory as ostree's enumerate_refs_recurse does (entries that are not valid ref fragments are ignored). */
  private async enumerateRefs(dir: string, rel: string, remote: string | null, aliasesOnly: boolean, out: Map<string, string>): Promise<void> {
    let ents;
    try {
      ents = await fsp.readdir(dir, { withFileTypes: true });
    } catch (e) {
      if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return;
      throw e;
    }
    for (const e of ents) {
      if (!isValidRefFragment(e.name)) continue;
      const name = rel + e.name;
      const full = join(dir, e.name);
      if (e.isDirectory()) await this.enumerateRefs(full, `${name}/`, remote, aliasesOnly, out);
      else if (aliasesOnly && e.isSymbolicLink()) {
        let target = await fsp.readlink(full);
        while (target.startsWith('../')) target = target.slice(3);
        out.set(name, target);
      } else if ((!aliasesOnly && e.isFile()) || e.isSymbolicLink()) {
        const c = await this.readRefFile(full, name);
        if (c) out.set(remote ? `${remote}:${name}` : name, c);
      }
    }
  }

  /**
   * Point a ref at a commit (or delete it with null). Atomic: temp file,
   * fsync, rename. Callers must only do this after the commit is complete.
   */
  async setRef(ref: string, csum: Checksum | null, remote: string | null = null, collection: string | null = null): Promise<void> {
    if (isChecksum(ref)) throw new InvalidInputError(`Rev name '${ref}' looks like a checksum`);
    const p = this.refPath(ref, remote, collection);
    if (csum === null) {
      // like ostree, leave the (possibly now empty) parent directories in place
      await fsp.rm(p, { force: true });
      return;
    }
    assertChecksum(csum);
    await fsp.mkdir(dirname(p), { recursive: true });
    const st = await fsp.lstat(p).catch(() => null);
    if (st?.isDirectory()) {
      const inside = await this.listRefsExt(remote ? `${remote}:${ref}` : ref, { excludeRemotes: !remote });
      const other = [...inside.keys()].find((k) => k !== ref);
      if (other !== undefined) throw new InvalidInputError(`Conflict: ${other} exists under ${ref} when attempting write`);
      await fsp.rm(p, { recursive: true });
    }
    await writeFileAtomic(p, `${csum}\n`, { fsync: this.fsyncEnabled, tmpDir: join(this.path, 'tmp') });
  }

  /**
   * After refs changed: regenerate the summary when `core.auto-update-summary`
   * (or its deprecated alias `core.commit-update-summary`) is set, as ostree does.
   */
  async maybeRegenerateSummary(): Promise<void> {
    const auto = this.config.getBoolean('core', 'auto-update-summary', 'repo config') ?? false;
    const onCommit = this.config.getBoolean('core', 'commit-update-summary', 'repo config') ?? false;
    if (!auto && !onCommit) return;
    const { regenerateSummary } = await import('../summary.js');
    await regenerateSummary(this);
  }

  /** Make local ref `ref` an alias (a relative symlink in refs/heads) of local ref `target`. */
  async setAliasRef(ref: string, target: string): Promise<void> {
    validateRef(ref);
    validateRef(target);
    const p = this.refPath(ref);
    await fsp.mkdir(dirname(p), { recursive: true });
    const rel = '../'.repeat(ref.split('/').length - 1) + target;
    const tmp = join(this.path, 'tmp', randomName('.tmplink'));
    await fsp.symlink(rel, tmp);
    try {
      await fsp.rename(tmp, p);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    await this.fsyncDir(relative(this.path, dirname(p)));
  }

  async deleteRemoteRefs(remote: string): Promise<void> {
    await fsp.rm(join(this.path, 'refs', 'remotes', validateRemoteName(remote)), { recursive: true, force: true });
  }

  async syncfs(): Promise<void> {
    if (!this.fsyncEnabled) return;
    const fh = await fsp.open(this.path, C.O_RDONLY | C.O_DIRECTORY);
    try {
      native().syncfs(fh.fd);
    } finally {
      await fh.close();
    }
  }

  async fsyncDir(rel: string): Promise<void> {
    if (this.fsyncEnabled) await fsyncDir(join(this.path, rel));
  }
}

function sortedMap<V>(m: Map<string, V>): Map<string, V> {
  return new Map([...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
