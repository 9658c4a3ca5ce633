/**
 * Compose unpack benchmark (steps 3, 4 and 7 of `coreforge build`): import
 * generated RPMs into the pkgcache, import them again (cache hits), assemble
 * the root with hardlinks, commit it into an archive repo with the devino
 * cache, then commit again (all objects present). Baselines from the real
 * tools on the same inputs: `rpm2cpio | cpio -idm` of every package
 * (sequential, no hashing) and `ostree commit` of the assembled tree.
 *
 *   node dist/bench/compose-unpack.js
 *
 * Environment: BENCH_PKGS (300), BENCH_FILES_PER_PKG (60), BENCH_BYTES (total payload, 1e9),
 * BENCH_DIR (keep everything there; the RPMs are reused by the next run).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PkgCache } from '../src/compose/pkgcache.js';
import { assembleRoot } from '../src/compose/assemble.js';
import { commitRootfs } from '../src/compose/commit-rootfs.js';
import { composePackage } from '../src/compose/pkgfixtures.test-helper.js';
import { Repo } from '../src/ostree/repo/repo.js';
import type { CommitCounters } from '../src/ostree/commit/write-dir.js';

const PKGS = Number(process.env.BENCH_PKGS ?? 300);
const FILES = Number(process.env.BENCH_FILES_PER_PKG ?? 60);
const BYTES = Number(process.env.BENCH_BYTES ?? 1e9);
const keep = process.env.BENCH_DIR;
const work = keep ?? mkdtempSync(join(tmpdir(), 'coreforge-bench-compose-'));
mkdirSync(work, { recursive: true });

function buildRpms(): string[] {
  const out = join(work, 'rpms');
  if (existsSync(out) && readdirSync(out).length >= PKGS) return readdirSync(out).sort().slice(0, PKGS).map((f) => join(out, f));
  const per = Math.max(1, Math.floor(BYTES / PKGS / FILES));
  const lines = ['Name: benchsrc', 'Version: 1', 'Release: 1', 'Summary: bench', 'License: MIT', 'BuildArch: noarch', '%description', 'bench', '%install'];
  // half compressible text, half random bytes, like real packages' mix of text and binaries
  for (let p = 0; p < PKGS; p++) {
    lines.push(`mkdir -p %{buildroot}/usr/lib/bench${p}`);
    lines.push(`for i in $(seq 1 ${FILES}); do if [ $((i % 2)) = 0 ]; then head -c ${per} /dev/urandom; else yes "bench ${p} line $i" | head -c ${per}; fi > %{buildroot}/usr/lib/bench${p}/f$i; done`);
    lines.push(`ln -s f1 %{buildroot}/usr/lib/bench${p}/link`);
  }
  for (let p = 0; p < PKGS; p++) lines.push(`%package -n bench${p}`, `Summary: bench${p}`, `%description -n bench${p}`, 'x', `%files -n bench${p}`, `/usr/lib/bench${p}`);
  const spec = join(work, 'bench.spec');
  writeFileSync(spec, lines.join('\n') + '\n');
  mkdirSync(out, { recursive: true });
  execFileSync('rpmbuild', ['-bb', '--quiet', '--define', `_topdir ${join(work, 'top')}`, '--define', `_rpmdir ${out}`, '--define', '_build_name_fmt %%{NAME}.rpm', '--define', 'debug_package %{nil}', '--define', '__os_install_post %{nil}', '--define', '_binary_payload w6.gzdio', spec], { stdio: 'inherit' });
  return readdirSync(out).filter((f) => f.endsWith('.rpm')).sort().map((f) => join(out, f));
}

async function time<T>(label: string, fn: () => Promise<T> | T): Promise<T> {
  spawnSync('sync');
  const t0 = performance.now();
  const r = await fn();
  console.log(`${label.padEnd(44)} ${((performance.now() - t0) / 1000).toFixed(2).padStart(8)} s`);
  return r;
}

const rpms = buildRpms();
console.log(`${rpms.length} packages, ${FILES} files each, ~${(BYTES / 1e6).toFixed(0)} MB payload, in ${work}`);
const pkgs = await Promise.all(rpms.map(composePackage));
for (const d of ['pkgcache', 'cpio', 'root', 'repo', 'theirs']) rmSync(join(work, d), { recursive: true, force: true });

await time('baseline: rpm2cpio | cpio -idm (sequential)', () => {
  mkdirSync(join(work, 'cpio'));
  for (const r of rpms) execFileSync('sh', ['-c', `rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet)`, 'sh', r, join(work, 'cpio')]);
});
const cache = await PkgCache.open(join(work, 'pkgcache'));
const cached = await time('pkgcache import (cold)', () => cache.importPackages(pkgs, { documentation: true }));
console.log(`  ${JSON.stringify(cache.lastStats)}`);
await time('pkgcache import again (all cache hits)', () => cache.importPackages(pkgs, { documentation: true }));
const { devino } = await time('assembleRoot (hardlink union checkout)', () => assembleRoot(cache, cached, join(work, 'root')));
console.log(`  devino entries: ${devino.size}`);
const repo = await Repo.create(join(work, 'repo'), 'archive');
const c1: CommitCounters = { filesHashed: 0, devinoReused: 0 };
const commit = await time('commitRootfs → archive (objects new)', () => commitRootfs(repo, join(work, 'root'), { devino, meta: new Map(), metadata: [], timestamp: 0, counters: c1 }));
console.log(`  ${JSON.stringify(c1)}`);
const c2: CommitCounters = { filesHashed: 0, devinoReused: 0 };
await time('commitRootfs again (devino, objects present)', () => commitRootfs(repo, join(work, 'root'), { devino, meta: new Map(), metadata: [], timestamp: 0, counters: c2 }));
console.log(`  ${JSON.stringify(c2)}`);
await time('commitRootfs again without devino', () => commitRootfs(repo, join(work, 'root'), { devino: new Map(), meta: new Map(), metadata: [], timestamp: 0 }));
const theirs = await time('baseline: ostree commit → archive (new repo)', () => {
  execFileSync('ostree', [`--repo=${join(work, 'theirs')}`, 'init', '--mode=archive']);
  return execFileSync('ostree', [`--repo=${join(work, 'theirs')}`, 'commit', '--no-bindings', '--no-xattrs', '--owner-uid=0', '--owner-gid=0', '--timestamp=1970-01-01T00:00:00Z', '-b', 'x', `--tree=dir=${join(work, 'root')}`]).toString().trim();
});
console.log(`same commit as ostree: ${theirs === commit}`);
if (!keep) rmSync(work, { recursive: true, force: true });
