/**
 * Differential test against the real peer: random repositories built as real
 * RPMs (rpmbuild), indexed by createrepo_c (gz/xz/bz2), served over HTTP on
 * 127.0.0.1; our install set must equal dnf 4's for the same request.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildRpms, createrepo, serveDir, type SpecGroup, type SpecPackage, type TestServer } from '../repo/testing.js';
import { loadRepo, normalizeRepoSource, HttpClient } from '../repo/index.js';
import { resolve, ResolveError } from './index.js';
import { formatEVR } from '../version.js';
import { dnfInstall } from './dnfpeer.js';

const haveTools = ['rpmbuild', 'createrepo_c', 'dnf'].every((t) => spawnSync('which', [t]).status === 0);
const SEEDS = Number(process.env.CF_DNF_SEEDS ?? 24);

function rng(seed: number) {
  let s = seed * 2654435761 + 1;
  return (n: number) => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return Math.floor((s / 2147483648) * n);
  };
}

interface Gen {
  groups: SpecGroup[];
  requests: string[][];
}

/** Random repository: names p0..pN, 1-3 versions each, virtual provides, file deps, rich deps, conflicts, obsoletes, weak deps. */
export function generate(seed: number): Gen {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[r(xs.length)]!;
  const N = 8 + r(10);
  const V = 2 + r(3);
  const versions = ['1.0', '1.1', '2.0'];
  const byKey = new Map<string, SpecGroup>();
  const names = Array.from({ length: N }, (_, i) => `p${i}`);
  const dep = (self: number): string => {
    const k = r(20);
    const other = names[(self + 1 + r(N - 1)) % N]!;
    const o2 = names[r(N)]!;
    if (k < 6) return other;
    if (k < 8) return `${other} ${pick(['>=', '<', '='])} ${pick(versions)}`;
    if (k < 11) return `v${r(V)}`;
    if (k === 11) return `v${r(V)} >= 2`;
    if (k === 12) return `/usr/bin/f${r(4)}`;
    if (k === 13) return `/usr/share/d${r(3)}/data`;
    if (k === 14) return `(${other} or ${o2})`;
    if (k === 15) return `(${other} and v${r(V)})`;
    if (k === 16) return `(${other} if ${o2})`;
    if (k === 17) return `(${other} if ${o2} else v${r(V)})`;
    if (k === 18) return `(${other} with ${other} >= 1.1)`;
    return `(${other} >= 1.1 or v${r(V)})`;
  };
  for (let i = 0; i < N; i++) {
    const nv = 1 + r(3);
    const vs = [...versions].sort(() => r(3) - 1).slice(0, nv);
    const arch = r(4) === 0 ? 'x86_64' : 'noarch';
    for (const v of vs) {
      const epoch = v === '1.0' && r(8) === 0 ? 1 : 0;
      const key = `${epoch}:${v}:${arch}`;
      let g = byKey.get(key);
      if (!g) byKey.set(key, (g = { epoch: epoch || undefined, version: v, release: '1', arch, packages: [] }));
      const p: SpecPackage = { name: names[i]!, requires: [], provides: [], files: [], conflicts: [], obsoletes: [], recommends: [], supplements: [] };
      const nreq = r(4);
      for (let k = 0; k < nreq; k++) p.requires!.push(dep(i));
      if (r(3) === 0) p.provides!.push(r(2) ? `v${r(V)}` : `v${r(V)} = ${1 + r(3)}`);
      if (r(5) === 0) p.files!.push(`/usr/bin/f${r(4)}`);
      if (r(6) === 0) p.files!.push(`/usr/share/d${r(3)}/data`);
      if (r(12) === 0) p.conflicts!.push(`${names[r(N)]!} < ${pick(versions)}`);
      if (r(14) === 0) {
        const victim = names[r(N)]!;
        if (victim !== p.name) p.obsoletes!.push(`${victim} < ${pick(versions)}`);
      }
      if (r(6) === 0) p.recommends!.push(pick([names[r(N)]!, `v${r(V)}`]));
      if (r(10) === 0) p.supplements!.push(names[r(N)]!);
      p.files = [...new Set(p.files)];
      g.packages.push(p);
    }
  }
  // rpmbuild needs distinct files per package within a group
  for (const g of byKey.values()) {
    const seen = new Set<string>();
    for (const p of g.packages) p.files = p.files!.filter((f) => (seen.has(f) ? false : (seen.add(f), true)));
  }
  const requests = Array.from({ length: 3 }, () => {
    const n = 1 + r(3);
    return [...new Set(Array.from({ length: n }, () => (r(8) === 0 ? `v${r(V)}` : names[r(N)]!)))];
  });
  return { groups: [...byKey.values()], requests };
}

let tmp: string;
let srv: TestServer;
const http = new HttpClient({ retries: 1, backoffMs: 10 });

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-dnfcmp-'));
  srv = await serveDir(tmp);
});
after(async () => {
  await srv?.close();
  http.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const norm = (p: { name: string; arch: string; evr: { epoch?: number; version: string; release?: string } }) => `${p.name}.${p.arch} ${formatEVR(p.evr)}`;

test(`install sets equal dnf's on ${SEEDS} random repositories`, { skip: !haveTools && 'rpmbuild/createrepo_c/dnf missing', timeout: 300_000 }, async () => {
  let compared = 0;
  let solvable = 0;
  const mismatches: string[] = [];
  for (let seed = 1; seed <= SEEDS; seed++) {
    const g = generate(seed);
    const dir = path.join(tmp, `s${seed}`);
    const work = path.join(tmp, `w${seed}`);
    fs.mkdirSync(work, { recursive: true });
    buildRpms(g.groups, dir, work);
    const comp = (['gz', 'xz', 'bz2'] as const)[seed % 3]!;
    createrepo(dir, comp);
    const url = `${srv.url}s${seed}/`;
    const repo = await loadRepo(normalizeRepoSource({ id: `s${seed}`, baseurl: [url] }), { cacheDir: path.join(tmp, 'cache'), http });
    for (const [ri, req] of g.requests.entries()) {
      const recommends = (seed + ri) % 2 === 0;
      const dnf = await dnfInstall({ root: path.join(tmp, `root${seed}`), cacheDir: path.join(tmp, `dnfcache${seed}`), repos: [{ id: `s${seed}`, url }], packages: req, recommends });
      let ours: string[] | undefined;
      let err = '';
      try {
        ours = (await resolve([repo], { packages: req, excludePackages: [], repoPackages: [], recommends, arch: 'x86_64' })).packages.map(norm).sort();
      } catch (e) {
        if (!(e instanceof ResolveError)) throw e;
        err = e.message;
      }
      compared++;
      const label = `seed ${seed} request [${req.join(' ')}] recommends=${recommends}`;
      if (dnf.ok !== (ours !== undefined)) {
        mismatches.push(`${label}: dnf ${dnf.ok ? 'resolved ' + dnf.install.join(', ') : 'failed: ' + dnf.problems.join(' | ')}; we ${ours ? 'resolved ' + ours.join(', ') : 'failed: ' + err}`);
        continue;
      }
      if (ours && dnf.ok) {
        solvable++;
        if (ours.join(',') !== dnf.install.join(',')) mismatches.push(`${label}: dnf [${dnf.install.join(', ')}] vs ours [${ours.join(', ')}]`);
      } else if (!dnf.ok) {
        // Both fail: dnf's first "nothing provides"/"No match" line must appear in ours too when present.
        const np = dnf.problems.find((p) => p.startsWith('nothing provides') || p.startsWith('No match for argument'));
        if (np && !err.includes(np)) mismatches.push(`${label}: dnf problem '${np}' missing from ours: ${err}`);
      }
    }
  }
  assert.ok(compared >= SEEDS * 3);
  assert.ok(solvable >= SEEDS, `too few solvable cases (${solvable}) for a meaningful comparison`);
  assert.deepEqual(mismatches, []);
});
