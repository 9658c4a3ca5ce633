/**
 * Download/cache engine for `coreforge fetch`: packages are stored
 * content-addressed by their primary checksum (`<cache>/<type>/<ab>/<hex>.rpm`),
 * verified while streaming, fetched in parallel (bounded), resumed from
 * `.part` files with Range requests, and never kept when bad. A package
 * already in the cache is not downloaded again.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Package } from '../repo/package.js';
import { HttpClient, Limiter } from '../repo/http.js';
import { NetworkError } from '../repo/errors.js';
import { CorruptionError, CoreforgeError } from '../../errors.js';

export interface FetchOptions {
  cacheDir: string;
  http?: HttpClient;
  /** Concurrent downloads; default 6. */
  parallel?: number;
  onProgress?: (ev: { pkg: Package; done: number; total: number; cached: boolean }) => void;
}

export interface FetchResult {
  /** Path of each package in the cache, by NEVRA. */
  paths: Map<string, string>;
  downloaded: Package[];
  cached: Package[];
}

export function cachePath(cacheDir: string, pkg: Pick<Package, 'checksum'>): string {
  const v = pkg.checksum.value.toLowerCase();
  if (!/^[0-9a-f]{32,128}$/.test(v)) throw new CorruptionError(`invalid checksum '${pkg.checksum.value}'`);
  return path.join(cacheDir, pkg.checksum.type.toLowerCase(), v.slice(0, 2), `${v}.rpm`);
}

function join(base: string, rel: string): string {
  return base.endsWith('/') ? base + rel : `${base}/${rel}`;
}

function urlsFor(pkg: Package): string[] {
  if (pkg.locationBase) return [join(pkg.locationBase, pkg.location)];
  return pkg.repo.baseurls.map((b) => join(b, pkg.location));
}

async function fetchOne(pkg: Package, dest: string, http: HttpClient): Promise<void> {
  const what = `package ${pkg.nevra} from repo ${pkg.repo.id}`;
  const urls = urlsFor(pkg);
  if (urls.length === 0) throw new NetworkError(`${what}: repo has no base URL`);
  let last: unknown;
  for (const url of urls) {
    try {
      await http.download(url, dest, { checksum: pkg.checksum, size: pkg.size || undefined, what });
      return;
    } catch (e) {
      last = e;
      // A corrupt copy on one mirror may be fine on the next; anything else untyped is a bug.
      if (!(e instanceof CoreforgeError)) throw e;
    }
  }
  throw last;
}

export async function fetchPackages(pkgs: Package[], opts: FetchOptions): Promise<FetchResult> {
  const http = opts.http ?? new HttpClient({ maxParallel: opts.parallel ?? 6 });
  const limiter = new Limiter(opts.parallel ?? 6);
  const paths = new Map<string, string>();
  const downloaded: Package[] = [];
  const cached: Package[] = [];
  let done = 0;
  let failure: unknown;
  const total = pkgs.length;
  await Promise.all(
    pkgs.map((pkg) =>
      limiter.run(async () => {
        const dest = cachePath(opts.cacheDir, pkg);
        paths.set(pkg.nevra, dest);
        let st: fs.Stats | undefined;
        try {
          st = fs.statSync(dest);
        } catch {
          st = undefined;
        }
        if (st && (!pkg.size || st.size === pkg.size)) {
          cached.push(pkg);
          opts.onProgress?.({ pkg, done: ++done, total, cached: true });
          return;
        }
        if (failure) return;
        fs.mkdirSync(path.dirname(dest), { recursive: true });
        try {
          await fetchOne(pkg, dest, http);
          downloaded.push(pkg);
          opts.onProgress?.({ pkg, done: ++done, total, cached: false });
        } catch (e) {
          failure ??= e;
        }
      }),
    ),
  );
  if (!opts.http) http.close();
  if (failure) throw failure;
  return { paths, downloaded, cached };
}
