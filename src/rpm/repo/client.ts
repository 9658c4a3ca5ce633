/**
 * rpm-md repository client: finds a working mirror (baseurl, mirrorlist or
 * metalink), fetches and verifies repomd.xml (metalink hash, repo_gpgcheck),
 * downloads primary/filelists into a cache keyed by their checksums and parses
 * them into Packages. Parsed metadata is cached as a v8-serialised snapshot
 * beside the XML, so a warm load skips XML entirely; everything is refreshed
 * only when repomd.xml changes.
 */
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { createHash } from 'node:crypto';
import type { RepoSource } from './source.js';
import { nameFilter } from './source.js';
import { HttpClient, hashAlgorithm } from './http.js';
import { NetworkError, RepoError } from './errors.js';
import { parseRepomd, parseMetalink, parseMirrorlist, type Repomd, type RepomdRecord } from './repomd.js';
import { openDecompressed } from './decompress.js';
import { PrimaryParser, FilelistsParser, Interner } from './primary.js';
import { Package, type PackageData, type RepoRef } from './package.js';
import { verifyDetached as defaultVerify, type VerifyDetached } from './gpg.js';
import { encodeStore, decodeStore } from './store.js';
import { CorruptionError } from '../../errors.js';

export interface LoadOptions {
  /** Metadata cache root; each repo gets `<cacheDir>/<id>/`. */
  cacheDir: string;
  http?: HttpClient;
  /** Load filelists now (otherwise on demand via `loadFilelists`). */
  filelists?: boolean;
  verifyDetached?: VerifyDetached;
  /** Seconds a cached repomd.xml is trusted without asking the server; default 0 (always revalidate). */
  metadataExpire?: number;
}

export class LoadedRepo {
  filelistsLoaded = false;
  /** Some package requires a path that only filelists can answer. */
  fileDepsOutsidePrimary = false;
  constructor(
    readonly source: RepoSource,
    readonly ref: RepoRef,
    readonly repomd: Repomd | undefined,
    readonly packages: Package[],
    private readonly dir: string,
    private readonly http: HttpClient,
    /** Set when the repo was unavailable and skip_if_unavailable allowed going on. */
    readonly skipped?: string,
  ) {}

  /** Replace each package's primary file subset with its full file list. */
  async loadFilelists(): Promise<void> {
    if (this.filelistsLoaded || !this.repomd) return;
    const rec = this.repomd.records.get('filelists');
    if (!rec) {
      this.filelistsLoaded = true;
      return;
    }
    const snap = path.join(this.dir, `${rec.checksum.value}.filelists.v8`);
    let byId: Map<string, string[]>;
    if (fs.existsSync(snap)) {
      byId = v8.deserialize(fs.readFileSync(snap)) as Map<string, string[]>;
    } else {
      const file = await fetchRecord(this.http, this.ref, this.dir, rec, this.source.id);
      byId = new Map();
      const parser = new FilelistsParser((e) => byId.set(e.pkgid, e.files), new Interner());
      for await (const c of openDecompressed(file, `repo ${this.source.id}`)) parser.write(c);
      parser.end();
      writeAtomic(snap, v8.serialize(byId));
    }
    for (const p of this.packages) {
      const f = byId.get(p.checksum.value);
      if (f) p.files = f;
      if (p.src) p.src.store.filesReplaced = true;
    }
    this.filelistsLoaded = true;
  }
}

function writeAtomic(file: string, data: Buffer | string): void {
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function join(base: string, rel: string): string {
  return base.endsWith('/') ? base + rel : `${base}/${rel}`;
}

/** Download a repomd record into the cache (named by checksum) unless already there. */
async function fetchRecord(http: HttpClient, ref: RepoRef, dir: string, rec: RepomdRecord, id: string): Promise<string> {
  const base = path.basename(rec.location);
  const file = path.join(dir, base.startsWith(rec.checksum.value) ? base : `${rec.checksum.value}-${base}`);
  if (fs.existsSync(file)) return file;
  let last: unknown;
  for (const base of ref.baseurls) {
    try {
      await http.download(join(base, rec.location), file, { checksum: rec.checksum, size: rec.size, what: `repo ${id}` });
      return file;
    } catch (e) {
      last = e;
      if (e instanceof CorruptionError) throw new CorruptionError(`repo ${id}: ${rec.type} ${(e as Error).message.replace(/^repo \S+: /, '')}`);
    }
  }
  throw last ?? new NetworkError(`repo ${id}: no base URL`);
}

async function resolveBaseurls(src: RepoSource, http: HttpClient): Promise<{ baseurls: string[]; repomdHashes?: { type: string; value: string }[] }> {
  if (src.baseurl.length > 0) return { baseurls: src.baseurl };
  if (src.metalink) {
    const ml = parseMetalink((await http.get(src.metalink, `repo ${src.id}`)).toString('utf8'), `repo ${src.id}: metalink`);
    if (ml.baseurls.length === 0) throw new RepoError(`repo ${src.id}: metalink lists no mirrors`);
    return { baseurls: ml.baseurls, repomdHashes: ml.hashes };
  }
  if (src.mirrorlist) {
    const body = (await http.get(src.mirrorlist, `repo ${src.id}`)).toString('utf8');
    // A mirrorlist URL may actually serve a metalink document.
    if (body.trimStart().startsWith('<')) {
      const ml = parseMetalink(body, `repo ${src.id}: metalink`);
      return { baseurls: ml.baseurls, repomdHashes: ml.hashes };
    }
    const urls = parseMirrorlist(body);
    if (urls.length === 0) throw new RepoError(`repo ${src.id}: mirrorlist is empty`);
    return { baseurls: urls };
  }
  throw new RepoError(`repo ${src.id}: no baseurl, mirrorlist or metalink`);
}

async function fetchKeys(http: HttpClient, src: RepoSource): Promise<string[]> {
  const keys: string[] = [];
  for (const k of src.gpgkey) {
    const url = k.startsWith('/') ? `file://${k}` : k;
    keys.push((await http.get(url, `repo ${src.id}: gpgkey`)).toString('utf8'));
  }
  return keys;
}

export async function loadRepo(src: RepoSource, opts: LoadOptions): Promise<LoadedRepo> {
  const http = opts.http ?? new HttpClient();
  const dir = path.join(opts.cacheDir, src.id);
  fs.mkdirSync(dir, { recursive: true });
  const cachedRepomd = path.join(dir, 'repomd.xml');
  const cachedBase = path.join(dir, 'baseurls.json');
  try {
    let repomdXml: Buffer | undefined;
    let baseurls: string[] | undefined;
    const expire = opts.metadataExpire ?? 0;
    if (expire > 0 && fs.existsSync(cachedRepomd) && fs.existsSync(cachedBase) && (Date.now() - fs.statSync(cachedRepomd).mtimeMs) / 1000 < expire) {
      repomdXml = fs.readFileSync(cachedRepomd);
      baseurls = JSON.parse(fs.readFileSync(cachedBase, 'utf8')) as string[];
    } else {
      const r = await resolveBaseurls(src, http);
      let last: unknown;
      for (const base of r.baseurls) {
        try {
          const body = await http.get(join(base, 'repodata/repomd.xml'), `repo ${src.id}`);
          if (r.repomdHashes && r.repomdHashes.length > 0) {
            const ok = r.repomdHashes.some((h) => {
              try {
                return createHash(hashAlgorithm(h.type)).update(body).digest('hex') === h.value;
              } catch {
                return false;
              }
            });
            // A stale mirror: try the next one.
            if (!ok) {
              last = new CorruptionError(`repo ${src.id}: repomd.xml from ${base} does not match the metalink hash`);
              continue;
            }
          }
          if (src.repoGpgcheck) {
            const sig = await http.get(join(base, 'repodata/repomd.xml.asc'), `repo ${src.id}: repomd.xml.asc`);
            await (opts.verifyDetached ?? defaultVerify)(body, sig, await fetchKeys(http, src), `repo ${src.id}: repomd.xml`);
          }
          repomdXml = body;
          baseurls = [base, ...r.baseurls.filter((b) => b !== base)];
          break;
        } catch (e) {
          last = e;
          if (!(e instanceof NetworkError) && !(e instanceof CorruptionError)) throw e;
        }
      }
      if (!repomdXml || !baseurls) throw last ?? new NetworkError(`repo ${src.id}: no mirror answered`);
    }
    const repomd = parseRepomd(repomdXml.toString('utf8'), `repo ${src.id}: repomd.xml`);
    const ref: RepoRef = { id: src.id, priority: src.priority, cost: src.cost, baseurls };
    const prev = fs.existsSync(cachedRepomd) ? fs.readFileSync(cachedRepomd) : undefined;
    if (!prev || !prev.equals(repomdXml)) {
      writeAtomic(cachedRepomd, repomdXml);
      // Drop metadata the new repomd no longer references.
      const keep = new Set([...repomd.records.values()].map((r) => r.checksum.value));
      for (const f of fs.readdirSync(dir)) {
        const m = /^([0-9a-f]{32,128})[-.]/.exec(f);
        if (m && !keep.has(m[1]!)) fs.rmSync(path.join(dir, f), { force: true });
      }
    }
    writeAtomic(cachedBase, JSON.stringify(baseurls));
    const { packages, fileDeps } = await loadPrimary(src, ref, repomd, dir, http);
    const repo = new LoadedRepo(src, ref, repomd, packages, dir, http);
    repo.fileDepsOutsidePrimary = fileDeps;
    if (opts.filelists) await repo.loadFilelists();
    return repo;
  } catch (e) {
    if (src.skipIfUnavailable && (e instanceof NetworkError || e instanceof RepoError || e instanceof CorruptionError)) {
      return new LoadedRepo(src, { id: src.id, priority: src.priority, cost: src.cost, baseurls: [] }, undefined, [], dir, http, (e as Error).message);
    }
    throw e;
  }
}

async function loadPrimary(src: RepoSource, ref: RepoRef, repomd: Repomd, dir: string, http: HttpClient): Promise<{ packages: Package[]; fileDeps: boolean }> {
  const rec = repomd.records.get('primary')!;
  const snap = path.join(dir, `${rec.checksum.value}.primary.cfs`);
  const visible = nameFilter(src);
  const out: Package[] = [];
  if (fs.existsSync(snap)) {
    const store = decodeStore(fs.readFileSync(snap));
    if (store) {
      for (let i = 0, n = store.packageCount; i < n; i++) if (visible(store.nameOf(i))) out.push(new Package({ store, index: i }, ref));
      return { packages: out, fileDeps: store.fileDepsOutsidePrimary };
    }
  }
  const file = await fetchRecord(http, ref, dir, rec, src.id);
  const data: PackageData[] = [];
  const parser = new PrimaryParser((p) => data.push(p));
  try {
    for await (const c of openDecompressed(file, `repo ${src.id}`)) parser.write(c);
    parser.end();
  } catch (e) {
    if (e instanceof RepoError) throw e;
    throw new RepoError(`repo ${src.id}: cannot parse primary: ${(e as Error).message}`);
  }
  const buf = encodeStore(data);
  writeAtomic(snap, buf);
  // Continue from the compact form: fewer live objects and the prebuilt provides index.
  const store = decodeStore(buf)!;
  for (let i = 0, n = store.packageCount; i < n; i++) if (visible(store.nameOf(i))) out.push(new Package({ store, index: i }, ref));
  return { packages: out, fileDeps: store.fileDepsOutsidePrimary };
}

/** Load several repos in parallel; disabled repos are ignored. */
export async function loadRepos(sources: RepoSource[], opts: LoadOptions): Promise<LoadedRepo[]> {
  const http = opts.http ?? new HttpClient();
  return Promise.all(sources.filter((s) => s.enabled).map((s) => loadRepo(s, { ...opts, http })));
}
