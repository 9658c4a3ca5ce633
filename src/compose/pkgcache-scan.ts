/**
 * The heavy half of a pkgcache import: decompress one RPM's payload, parse
 * its cpio entries, hash each file as an OSTree content object and write the
 * new ones as bare-user objects straight into the transaction's staging
 * directory — all synchronous (payload decoding, fs calls): no promise per
 * chunk or object.
 * It runs on a worker thread (pkgcache-worker.ts) when one is available; the
 * main thread then only builds the trees and the commit from the returned
 * entry list (pkgcache.ts).
 */
import { closeSync, existsSync, linkSync, mkdirSync, openSync, renameSync, unlinkSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { join } from 'node:path';
import { CoreforgeError, CorruptionError, InvalidInputError, UnsafePathError } from '../errors.js';
import { readPayloadSync, readRpmHeaders, RpmDigestError, RpmFormatError, RpmUnsafePathError, type RpmPackageHeaders } from '../rpm/file/index.js';
import { ContentHasher, FileHeader, lenPrefixed, serializeBareUserMeta } from '../ostree/objects/content.js';
import { writeAll, writeArchiveBody, writeArchiveFromFile } from '../ostree/repo/archive-write.js';
import { bareSymlinkBody, setBareObjectMeta } from '../ostree/repo/bare-meta.js';
import { S_IFLNK, S_IFREG } from '../ostree/objects/dirmeta.js';
import { PackageImportError } from './pkgcache-errors.js';

export interface ScanJob {
  rpmPath: string;
  /** Keep %doc files. */
  documentation: boolean;
  /** The transaction's staging directory: new objects go to `XX/REST.file` in it. */
  stagingDir: string;
  /** The repository's objects/ directory (objects there are not written again). */
  objectsDir: string;
  /**
   * Also store each new regular-file object in an archive repository
   * (`XX/REST.filez` in its objects/), unless it has it: the build's final
   * commit then finds its content already there instead of compressing it
   * again, and the compression runs here, while unpacking, where a core is
   * otherwise idle. Each object appears whole, renamed into place from a
   * temporary file, as ostree writes objects during a transaction; the caller
   * holds the repository's shared lock meanwhile (no prune can take them).
   */
  prefill?: ArchivePrefill;
}

export interface ArchivePrefill {
  /** The archive repository's objects/ directory. */
  objectsDir: string;
  /** A directory for the temporary files, on the same file system (the repository's tmp/). */
  tmpDir: string;
  /** zlib level of the archive repository. */
  level: number;
}

/** In payload order: a directory's mode, or a file / symlink and its content object. */
export type ScanEntry = { path: string; dirMode: number } | { path: string; csum: string };

export interface ScanResult {
  entries: ScanEntry[];
  /** Objects this job created in staging, with their content sizes. */
  created: Array<[csum: string, size: number]>;
  /** Objects this job uses that another job had staged already. */
  shared: string[];
}

/** Files up to this size are buffered and written in one go; larger ones are streamed to a temporary file. */
const SMALL_FILE = 1024 * 1024;
let tmpSerial = 0;

class ObjectWriter {
  readonly created: Array<[string, number]> = [];
  readonly shared = new Set<string>();
  /** Large objects to compress for the prefill once the payload is read (streamed from the written object). */
  readonly prefillLater: Array<{ csum: string; header: FileHeader; size: number }> = [];
  private readonly madeDirs = new Set<string>();
  private readonly prefillDirs = new Set<string>();
  private readonly metaByMode = new Map<number, { header: FileHeader; meta: Buffer }>();

  constructor(private readonly job: ScanJob) {}

  headerFor(mode: number): { header: FileHeader; meta: Buffer } {
    let m = this.metaByMode.get(mode);
    if (!m) {
      const header = new FileHeader(0, 0, S_IFREG | (mode & 0o7777), []);
      m = { header, meta: Buffer.from(serializeBareUserMeta(header)) };
      this.metaByMode.set(mode, m);
    }
    return m;
  }

  /**
   * Store `chunks` (complete, already digest-checked content) as object
   * `csum` unless it exists. A job that finds the object staged by another
   * still reports it, so the transaction publishes it with this package.
   */
  store(csum: string, header: FileHeader, meta: Buffer | undefined, chunks: Buffer[], size: number): void {
    const rel = join(csum.slice(0, 2), `${csum.slice(2)}.file`);
    if (existsSync(join(this.job.objectsDir, rel))) return;
    const path = join(this.job.stagingDir, rel);
    let fd: number;
    try {
      fd = this.open(csum.slice(0, 2), path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      this.shared.add(csum);
      return;
    }
    try {
      for (const c of chunks) writeAll(fd, c);
      setBareObjectMeta(fd, header, 'bare-user', meta);
    } catch (e) {
      closeSync(fd);
      unlinkSync(path);
      throw e;
    }
    closeSync(fd);
    this.created.push([csum, size]);
    if (!header.isSymlink) this.prefillBytes(csum, header, size, chunks);
  }

  /** A large file: written to a temporary name while it streams, linked into place once its digest checked out. */
  storeStream(hasher: ContentHasher, header: FileHeader, meta: Buffer, content: Iterable<Buffer>, size: number): string {
    const tmp = join(this.job.stagingDir, `stream-${process.pid}-${threadId}-${tmpSerial++}`);
    const fd = openSync(tmp, 'wx', 0o600);
    let closed = false;
    try {
      for (const c of content) {
        hasher.update(c);
        writeAll(fd, c);
      }
      setBareObjectMeta(fd, header, 'bare-user', meta);
      closeSync(fd);
      closed = true;
      const csum = hasher.digest();
      const rel = join(csum.slice(0, 2), `${csum.slice(2)}.file`);
      if (existsSync(join(this.job.objectsDir, rel))) return csum;
      this.ensureDir(csum.slice(0, 2));
      try {
        linkSync(tmp, join(this.job.stagingDir, rel));
        this.created.push([csum, size]);
        if (this.job.prefill) this.prefillLater.push({ csum, header, size });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        this.shared.add(csum);
      }
      return csum;
    } finally {
      if (!closed) closeSync(fd);
      unlinkSync(tmp);
    }
  }

  /** The prefill path of `csum`, or null when there is no prefill or the archive repository has the object. */
  private prefillTarget(csum: string): string | null {
    const p = this.job.prefill;
    if (!p) return null;
    const dir = join(p.objectsDir, csum.slice(0, 2));
    const target = join(dir, `${csum.slice(2)}.filez`);
    if (existsSync(target)) return null;
    if (!this.prefillDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.prefillDirs.add(dir);
    }
    return target;
  }

  /** A whole object under its final name, or nothing: written to a temporary file first. */
  private prefillTmp(csum: string): { fd: number; tmp: string } {
    const tmp = join(this.job.prefill!.tmpDir, `prefill-${csum}.${process.pid}-${threadId}-${tmpSerial++}.tmp`);
    return { fd: openSync(tmp, 'wx', 0o644), tmp };
  }

  private prefillBytes(csum: string, header: FileHeader, size: number, chunks: Buffer[]): void {
    const target = this.prefillTarget(csum);
    if (!target) return;
    const { fd, tmp } = this.prefillTmp(csum);
    try {
      writeArchiveBody(fd, lenPrefixed(header.serializeArchive(size)), chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks), this.job.prefill!.level);
    } catch (e) {
      closeSync(fd);
      unlinkSync(tmp);
      throw e;
    }
    closeSync(fd);
    renameSync(tmp, target);
  }

  /** The large objects noted while streaming, compressed from the objects just written. */
  async prefillStreamed(): Promise<void> {
    for (const { csum, header, size } of this.prefillLater) {
      const target = this.prefillTarget(csum);
      if (!target) continue;
      const src = join(this.job.stagingDir, csum.slice(0, 2), `${csum.slice(2)}.file`);
      const { fd, tmp } = this.prefillTmp(csum);
      try {
        await writeArchiveFromFile(fd, lenPrefixed(header.serializeArchive(size)), src, this.job.prefill!.level);
      } catch (e) {
        unlinkSync(tmp);
        throw e;
      }
      renameSync(tmp, target);
    }
  }

  private ensureDir(dir: string): void {
    if (!this.madeDirs.has(dir)) {
      mkdirSync(join(this.job.stagingDir, dir), { recursive: true });
      this.madeDirs.add(dir);
    }
  }

  private open(dir: string, path: string): number {
    this.ensureDir(dir);
    return openSync(path, 'wx', 0o600);
  }
}

/** Import one package's payload; throws the rpm errors (which name the package) or PackageImportError. */
export async function scanPackage(job: ScanJob, given?: RpmPackageHeaders): Promise<ScanResult> {
  const headers = given ?? (await readRpmHeaders(job.rpmPath));
  const h = headers.header;
  const nevra = h.nevra;
  const keep = (f: { attrs: { doc: boolean } }) => job.documentation || !f.attrs.doc;
  const files = h.files;
  // which members of each hardlink set are laid down (a %doc member may be dropped while another is kept)
  const setWanted = new Map<number[], boolean>();
  for (const s of h.hardlinkSets) setWanted.set(s, s.some((i) => keep(files[i]!)));
  const contentOfSet = new Map<number[], string>();
  const waiting = new Map<number[], ScanEntry[]>();
  const entries: ScanEntry[] = [];
  const w = new ObjectWriter(job);

  for (const e of readPayloadSync(job.rpmPath, headers)) {
    const wanted = keep(e.file);
    const set = e.hardlinkSet;
    if (!wanted && !(set && e.hasContent && setWanted.get(set))) continue;
    switch (e.type) {
      case 'dir':
        entries.push({ path: e.path, dirMode: e.mode });
        break;
      case 'symlink': {
        const header = new FileHeader(0, 0, S_IFLNK | 0o777, [], e.linkTarget);
        const body = bareSymlinkBody(e.linkTarget);
        const hasher = new ContentHasher(header);
        const csum = hasher.digest();
        w.store(csum, header, undefined, [body], 0);
        entries.push({ path: e.path, csum });
        break;
      }
      case 'file': {
        if (set && !e.hasContent) {
          const known = contentOfSet.get(set);
          const entry = { path: e.path, csum: known ?? '' };
          if (wanted) entries.push(entry);
          if (!known) waiting.set(set, [...(waiting.get(set) ?? []), entry]);
          break;
        }
        const { header, meta } = w.headerFor(e.mode);
        const hasher = new ContentHasher(header);
        let csum: string;
        if (e.size <= SMALL_FILE) {
          // the payload iterator checks the file digest at the last chunk: nothing is stored before that
          const chunks: Buffer[] = [];
          for (const c of e.content()) {
            hasher.update(c);
            chunks.push(c);
          }
          csum = hasher.digest();
          w.store(csum, header, meta, chunks, e.size);
        } else {
          csum = w.storeStream(hasher, header, meta, e.content(), e.size);
        }
        if (wanted) entries.push({ path: e.path, csum });
        if (set) {
          contentOfSet.set(set, csum);
          for (const x of waiting.get(set) ?? []) (x as { csum: string }).csum = csum;
          waiting.delete(set);
        }
        break;
      }
      default:
        // ostree stores only files, symlinks and directories (rpm-ostree refuses these too)
        throw new PackageImportError(nevra, `${e.path}: ${e.type} files cannot be stored in an OSTree commit`, { code: 'EUNSUPPORTED' });
    }
  }
  // a hardlink set members of which never got content: openPayload refuses such archives already
  if (waiting.size > 0) throw new PackageImportError(nevra, 'hardlink set without content in the payload', { code: 'ECORRUPT' });
  await w.prefillStreamed();
  return { entries, created: w.created, shared: [...w.shared] };
}

/** The typed errors an import can raise, rebuilt as such on the main thread. */
export const SCAN_ERRORS = [RpmFormatError, RpmDigestError, RpmUnsafePathError, PackageImportError, CorruptionError, InvalidInputError, UnsafePathError, CoreforgeError];
