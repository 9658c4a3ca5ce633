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
import { buildRpms, createrepo, serveDir, type TestServer } from '../repo/testing.js';
import { loadRepo, normalizeRepoSource, HttpClient } from '../repo/index.js';
import { resolve, ResolveError } from './index.js';
import { formatEVR } from '../version.js';
import { dnfInstall } from './dnfpeer.js';
import { generate } from './gen.js';

const haveTools = ['rpmbuild', 'createrepo_c', 'dnf'].every((t) => spawnSync('which', [t]).status === 0);
const SEEDS = Number(process.env.CF_DNF_SEEDS ?? 16);

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
    // dnf runs of one seed in parallel (each with its own root and cache).
    const dnfRuns = await Promise.all(
      g.requests.map((req, ri) =>
        dnfInstall({ root: path.join(tmp, `root${seed}-${ri}`), cacheDir: path.join(tmp, `dnfcache${seed}-${ri}`), repos: [{ id: `s${seed}`, url }], packages: req, recommends: (seed + ri) % 2 === 0 }),
      ),
    );
    for (const [ri, req] of g.requests.entries()) {
      const recommends = (seed + ri) % 2 === 0;
      const dnf = dnfRuns[ri]!;
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
