/**
 * The package cache (rpm-ostree's pkgcache): every RPM of a compose is
 * imported once into a bare-user OSTree repository as a commit of its files,
 * on ref `rpmostree/pkg/<name>/<evr>.<arch>`. Later steps check those commits
 * out as hardlinks, so a package is decompressed and hashed once, not once
 * per build.
 *
 * Files are stored root-owned with the header's modes and no xattrs;
 * non-root owners and file capabilities are applied at the final commit from
 * the header (FileMeta). %ghost entries are not in the payload, %doc entries
 * are dropped when documentation is off.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { NotFoundError, isCoreforgeError } from '../errors.js';
import { mapLimit } from '../util/fs.js';
import { V, Variant, dictGet, type VarDict } from '../gvariant/index.js';
import { readRpmHeaders, type RpmPackageHeaders } from '../rpm/file/index.js';
import { PackageImportError } from './pkgcache-errors.js';
import { pkgcacheWorkers } from './pkgcache-pool.js';
import { scanPackage, type ArchivePrefill, type ScanJob } from './pkgcache-scan.js';
import { Repo } from '../ostree/repo/repo.js';
import { Transaction } from '../ostree/repo/transaction.js';
import { MutableTree } from '../ostree/commit/mtree.js';
import { writeCommit } from '../ostree/commit/write-commit.js';
import { DirMeta, S_IFDIR } from '../ostree/objects/dirmeta.js';
import { ObjectType } from '../ostree/objects/types.js';
import type { Checksum } from '../ostree/checksum.js';
import type { CachedPackage, ComposePackage, ComposeProgress } from './types.js';

/** Bumped when the import rules change, so older cached commits are re-imported. */
const IMPORT_VERSION = 1;

/** Packages imported at once (each on one of the pkgcache worker threads when there are some). */
const PKG_JOBS = Math.max(2, Number(process.env.COREFORGE_PKGCACHE_JOBS) || 4);
/** Cache lookups (header reads) at once. */
const LOOKUP_JOBS = 8;

const META_IDENTITY = 'coreforge.pkgcache.identity';
const META_HEADER_SHA256 = 'coreforge.pkgcache.header-sha256';
const META_DOCS = 'coreforge.pkgcache.documentation';
const META_VERSION = 'coreforge.pkgcache.version';

export { PackageImportError };

/** rpm-ostree's append_quoted: keep [A-Za-z0-9.-], `_` → `__`, any other byte → `_XX` (upper-case hex). */
function quoteRefPart(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || c === '.' || c === '-') out += c;
    else if (c === '_') out += '__';
    else out += '_' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * The pkgcache ref of a package (rpm-ostree's cache_branch_for_n_evr_a): an
 * explicit epoch 0 is dropped, as libdnf spells the EVR.
 */
export function cacheBranch(name: string, evr: string, arch: string): string {
  const e = evr.startsWith('0:') ? evr.slice(2) : evr;
  return `rpmostree/pkg/${quoteRefPart(name)}/${quoteRefPart(e)}.${quoteRefPart(arch)}`;
}

/** Inverse of cacheBranch (rpm-ostree's cache_branch_to_nevra): the NEVRA a ref stands for. */
export function cacheBranchToNevra(ref: string): string {
  const prefix = 'rpmostree/pkg/';
  if (!ref.startsWith(prefix)) throw new NotFoundError(`not a pkgcache ref: ${ref}`);
  const s = ref.slice(prefix.length);
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '/') bytes.push(0x2d);
    else if (c !== '_') bytes.push(c.charCodeAt(0));
    else if (s[i + 1] === '_') {
      bytes.push(0x5f);
      i++;
    } else {
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 2;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

export interface ImportOptions {
  /** Keep %doc files (the treefile's `documentation`, default true there). */
  documentation: boolean;
  onProgress?: (p: ComposeProgress) => void;
  /** Compress new content for this archive repository while unpacking (see ScanJob.prefill). */
  prefill?: ArchivePrefill;
}

export interface ImportStats {
  /** Packages reused from the cache. */
  cached: number;
  imported: number;
  /** Content objects newly written (files shared between packages are written once). */
  objectsWritten: number;
  bytesWritten: number;
}

/** What makes a cached commit the same package: the header's digest (which covers the payload digest). */
function identityOf(h: RpmPackageHeaders): { identity: string; headerSha256: string } {
  const headerSha256 = h.signature.sha256?.toLowerCase() ?? createHash('sha256').update(h.header.blob.bytes).digest('hex');
  // packages older than rpm 4.14 have no payload digest in the header: the signature MD5 covers the payload then
  const md5 = h.header.payloadDigest === undefined ? h.signature.md5?.toString('hex') : undefined;
  return { identity: `sha256:${headerSha256}${md5 ? `;md5:${md5}` : ''}`, headerSha256 };
}

function metaString(meta: VarDict, key: string): string | undefined {
  const v = dictGet(meta, key);
  return v && typeof v.value === 'string' ? v.value : undefined;
}

export class PkgCache {
  /** Counters of the last importPackages call. */
  lastStats: ImportStats = { cached: 0, imported: 0, objectsWritten: 0, bytesWritten: 0 };

  private constructor(readonly repo: Repo) {}

  /** Open the cache at `dir`, creating a bare-user repository there if there is none. */
  static async open(dir: string): Promise<PkgCache> {
    let repo: Repo;
    try {
      repo = await Repo.open(dir);
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      repo = await Repo.create(dir, 'bare-user');
    }
    if (repo.mode !== 'bare-user') throw new PackageImportError(dir, `the package cache must be a bare-user repository, this one is ${repo.mode}`, { code: 'EINVAL' });
    return new PkgCache(repo);
  }

  /** The cached commit of `pkg` when it holds exactly this RPM imported with these options; else null. */
  async lookup(pkg: ComposePackage, opts: { documentation: boolean }, headers?: RpmPackageHeaders): Promise<Checksum | null> {
    const h = headers ?? (await readRpmHeaders(pkg.rpmPath));
    const ref = cacheBranch(pkg.name, pkg.evr, pkg.arch);
    const commit = await this.repo.resolveRev(ref, true, { localOnly: true });
    if (!commit) return null;
    let meta: VarDict;
    try {
      meta = (await this.repo.loadCommit(commit)).metadata;
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
    const docs = dictGet(meta, META_DOCS);
    const ver = dictGet(meta, META_VERSION);
    if (metaString(meta, META_IDENTITY) !== identityOf(h).identity) return null;
    if (!docs || docs.value !== opts.documentation) return null;
    if (!ver || ver.value !== IMPORT_VERSION) return null;
    return commit;
  }

  /**
   * Import packages not already cached (same NEVRA and same header digest),
   * several at once, in one transaction. The first failure is thrown after
   * the packages in flight finish; packages imported before it keep their
   * refs, the failed one gets none.
   */
  async importPackages(pkgs: ComposePackage[], opts: ImportOptions): Promise<CachedPackage[]> {
    const stats: ImportStats = { cached: 0, imported: 0, objectsWritten: 0, bytesWritten: 0 };
    this.lastStats = stats;
    const out = new Array<CachedPackage>(pkgs.length);
    const todo: Array<{ i: number; headers: RpmPackageHeaders }> = [];
    let done = 0;
    const progress = (item: string) => opts.onProgress?.({ phase: 'unpack', done, total: pkgs.length, item });
    // cache lookups read only the headers: run several at once
    const looked = await mapLimit(pkgs, LOOKUP_JOBS, async (pkg) => {
      const headers = await readHeadersFor(pkg);
      return { headers, hit: await this.lookup(pkg, opts, headers) };
    });
    looked.forEach(({ headers, hit }, i) => {
      const pkg = pkgs[i]!;
      if (hit) {
        out[i] = { ...pkg, commit: hit };
        stats.cached++;
        done++;
        progress(pkg.nevra);
      } else {
        todo.push({ i, headers });
      }
    });
    if (todo.length === 0) return out;
    // largest payloads first, so the workers finish together instead of one of them unpacking the biggest package last
    todo.sort((a, b) => payloadBytes(b.headers) - payloadBytes(a.headers));

    const tx = await Transaction.begin(this.repo);
    let failure: unknown = null;
    try {
      let next = 0;
      const worker = async () => {
        while (failure === null && next < todo.length) {
          const { i, headers } = todo[next++]!;
          const pkg = pkgs[i]!;
          try {
            const commit = await importOne(tx, pkg, headers, opts);
            tx.setRef(cacheBranch(pkg.name, pkg.evr, pkg.arch), commit);
            out[i] = { ...pkg, commit };
            stats.imported++;
            done++;
            progress(pkg.nevra);
          } catch (e) {
            failure ??= wrapError(pkg, e);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(PKG_JOBS, todo.length) }, worker));
      // objects of a failed package may be staged too; unreferenced, they are harmless (and prunable)
      const s = await tx.commit();
      stats.objectsWritten = s.contentWritten;
      stats.bytesWritten = s.contentBytesWritten;
    } catch (e) {
      await tx.abort();
      throw e;
    }
    if (failure !== null) throw failure;
    return out;
  }
}

function payloadBytes(h: RpmPackageHeaders): number {
  return h.signature.payloadSize ?? h.header.installedSize ?? 0;
}

async function readHeadersFor(pkg: ComposePackage): Promise<RpmPackageHeaders> {
  if (pkg.headers) return pkg.headers;
  let h: RpmPackageHeaders;
  try {
    h = await readRpmHeaders(pkg.rpmPath);
  } catch (e) {
    throw wrapError(pkg, e);
  }
  if (h.header.nevra !== pkg.header.nevra) {
    throw new PackageImportError(pkg.nevra, `${pkg.rpmPath} now holds ${h.header.nevra}, not the package that was resolved`, { code: 'ECHANGED' });
  }
  return h;
}

function wrapError(pkg: ComposePackage, e: unknown): unknown {
  if (isCoreforgeError(e)) return e;
  return new PackageImportError(pkg.nevra, `importing ${pkg.rpmPath}: ${(e as Error).message ?? String(e)}`, { cause: e });
}

/**
 * Import one RPM: its payload becomes content objects (scanPackage, on a
 * worker thread when there is one), then its trees and commit are written
 * here from the entry list; returns the commit checksum.
 */
async function importOne(tx: Transaction, pkg: ComposePackage, headers: RpmPackageHeaders, opts: ImportOptions): Promise<Checksum> {
  const documentation = opts.documentation;
  const h = headers.header;
  const nevra = h.nevra;
  const job: ScanJob = { rpmPath: pkg.rpmPath, documentation, stagingDir: tx.stagingDir, objectsDir: join(tx.repo.path, 'objects'), ...(opts.prefill ? { prefill: opts.prefill } : {}) };
  const inWorker = pkgcacheWorkers();
  const scanned = inWorker ? await inWorker(job) : await scanPackage(job, headers);
  for (const [csum, size] of scanned.created) tx.markStaged(ObjectType.File, csum, size);
  for (const csum of scanned.shared) tx.markStaged(ObjectType.File, csum, 0, false);

  const dirMetas = new Map<number, Promise<Checksum>>();
  const dirMeta = (mode: number): Promise<Checksum> => {
    const m = S_IFDIR | (mode & 0o7777);
    let p = dirMetas.get(m);
    if (!p) {
      p = tx.writeMetadata(ObjectType.DirMeta, new DirMeta(0, 0, m, []).serialize());
      dirMetas.set(m, p);
    }
    return p;
  };
  const implied = await dirMeta(0o755);
  const root = new MutableTree();
  root.setMeta(implied);
  for (const e of scanned.entries) {
    const comps = e.path.split('/').filter((c) => c !== '');
    if ('dirMode' in e) {
      const meta = await dirMeta(e.dirMode);
      if (comps.length === 0) root.setMeta(meta);
      else (await (await root.ensureParents(comps.slice(0, -1), implied)).ensureDir(comps[comps.length - 1]!)).setMeta(meta);
      continue;
    }
    if (comps.length === 0) throw new PackageImportError(nevra, `"/" is a file or symlink`, { code: 'EPATH' });
    const dir = await root.ensureParents(comps.slice(0, -1), implied);
    await dir.replaceFile(comps[comps.length - 1]!, e.csum);
  }

  const { identity, headerSha256 } = identityOf(headers);
  const metadata: VarDict = [
    ['rpmostree.nevra', new Variant('(sstsss)', [nevra, h.name, BigInt(h.epoch ?? 0), h.version, h.release, h.arch])],
    [META_IDENTITY, V.s(identity)],
    [META_HEADER_SHA256, V.s(headerSha256)],
    [META_DOCS, V.b(documentation)],
    [META_VERSION, V.u(IMPORT_VERSION)],
  ];
  // the build time keeps the commit reproducible: the same RPM always gives the same commit
  return writeCommit(tx, root, { metadata, subject: nevra, timestamp: h.buildTime ?? 0 });
}

/** The content checksum a cached package stores for a path (tests and diagnostics). */
export async function cachedFileChecksum(repo: Repo, commit: Checksum, path: string): Promise<Checksum | null> {
  const c = await repo.loadCommit(commit);
  let tree = c.rootTree;
  const comps = path.split('/').filter(Boolean);
  for (let i = 0; i < comps.length; i++) {
    const dt = await repo.loadDirTree(tree);
    if (i === comps.length - 1) {
      const f = dt.findFile(comps[i]!);
      if (f) return f.checksum;
    }
    const d = dt.findDir(comps[i]!);
    if (!d) return null;
    tree = d.treeChecksum;
  }
  return null;
}
