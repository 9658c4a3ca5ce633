import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { buildRpms, createrepo, serveDir, type TestServer } from '../repo/testing.js';
import { loadRepo, normalizeRepoSource, HttpClient, type LoadedRepo } from '../repo/index.js';
import { resolve, ResolveError, parseRich, richToString, type ResolveRequest } from './index.js';
import { dnfInstall, type DnfRepo } from './dnfpeer.js';

const haveTools = ['rpmbuild', 'createrepo_c', 'dnf'].every((t) => spawnSync('which', [t]).status === 0);
let tmp: string;
let srv: TestServer;
let A: LoadedRepo;
let B: LoadedRepo;
const http = new HttpClient({ retries: 1, backoffMs: 5 });

before(async () => {
  if (!haveTools) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-solve-'));
  const a = path.join(tmp, 'www', 'a');
  const b = path.join(tmp, 'www', 'b');
  buildRpms(
    [
      {
        version: '1.0',
        release: '1',
        arch: 'noarch',
        packages: [
          { name: 'needsmissing', requires: ['doesnotexist >= 2'] },
          { name: 'c1', conflicts: ['c2'] },
          { name: 'c2' },
          { name: 'app', requires: ['libfoo'], recommends: ['extra'] },
          { name: 'extra' },
          { name: 'web', requires: ['webserver'] },
          { name: 'httpd', provides: ['webserver'] },
          { name: 'nginx', provides: ['webserver'] },
          { name: 'pinned', requires: ['pinlib'] },
          { name: 'tool' },
        ],
      },
      { version: '2.0', release: '1', arch: 'noarch', packages: [{ name: 'tool' }, { name: 'pinlib' }] },
      { version: '1.0', release: '1', arch: 'noarch', packages: [{ name: 'pinlib' }] },
      { version: '1.0', release: '1', arch: 'x86_64', packages: [{ name: 'libfoo' }] },
      { version: '1.0', release: '1', arch: 'i686', packages: [{ name: 'libfoo' }] },
    ].map((g, i) => (i === 2 ? { ...g, release: '0' } : g)),
    a,
    path.join(tmp, 'wa'),
  );
  // Repo b: an older `tool` at a better (lower) priority.
  buildRpms([{ version: '1.5', release: '1', arch: 'noarch', packages: [{ name: 'tool' }] }], b, path.join(tmp, 'wb'));
  createrepo(a, 'xz');
  createrepo(b, 'gz');
  srv = await serveDir(path.join(tmp, 'www'));
  A = await loadRepo(normalizeRepoSource({ id: 'a', baseurl: [srv.url + 'a/'] }), { cacheDir: path.join(tmp, 'md'), http });
  B = await loadRepo(normalizeRepoSource({ id: 'b', baseurl: [srv.url + 'b/'], priority: 10 }), { cacheDir: path.join(tmp, 'md'), http });
});
after(async () => {
  await srv?.close();
  http.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

const req = (packages: string[], extra: Partial<ResolveRequest> = {}): ResolveRequest => ({ packages, excludePackages: [], repoPackages: [], recommends: false, arch: 'x86_64', ...extra });
const names = (r: { packages: { name: string; arch: string; evrString: string }[] }) => r.packages.map((p) => `${p.name}.${p.arch} ${p.evrString}`);
let n = 0;
const dnf = (packages: string[], repos: DnfRepo[], o: { recommends?: boolean; excludes?: string[] } = {}) =>
  dnfInstall({ root: path.join(tmp, `root${++n}`), cacheDir: path.join(tmp, `dc${n}`), repos, packages, recommends: !!o.recommends, excludes: o.excludes });
const repoA = () => ({ id: 'a', url: srv.url + 'a/' });
const repoB = () => ({ id: 'b', url: srv.url + 'b/', priority: 10 });

test('rich dependency parser', () => {
  const d = parseRich('(a >= 1.0 and (b or c) and (d if e else f) and (g with g < 2) and (h unless i))');
  assert.equal(d.kind, 'op');
  assert.equal(richToString(d), '(a >= 1.0 and (b or c) and (d if e else f) and (g with g < 2) and (h unless i))');
  assert.throws(() => parseRich('(a and'), /invalid rich dependency/);
});

test('"nothing provides" problem text matches dnf', { skip: !haveTools }, async () => {
  const d = await dnf(['needsmissing'], [repoA()]);
  assert.equal(d.ok, false);
  await assert.rejects(resolve([A], req(['needsmissing'])), (e: unknown) => {
    assert.ok(e instanceof ResolveError);
    const line = 'nothing provides doesnotexist >= 2 needed by needsmissing-1.0-1.noarch';
    assert.ok(e.problems.includes(line), e.message);
    assert.ok(d.problems.some((p) => p.includes(line)), d.output);
    return true;
  });
});

test('conflict problem text matches dnf', { skip: !haveTools }, async () => {
  const d = await dnf(['c1', 'c2'], [repoA()]);
  assert.equal(d.ok, false);
  await assert.rejects(resolve([A], req(['c1', 'c2'])), (e: unknown) => {
    assert.ok(e instanceof ResolveError);
    const line = 'package c1-1.0-1.noarch conflicts with c2 provided by c2-1.0-1.noarch';
    assert.ok(e.problems.includes(line), e.message);
    assert.ok(d.problems.some((p) => p.includes(line)), d.output);
    return true;
  });
  await assert.rejects(resolve([A], req(['nosuchthing'])), /No match for argument: nosuchthing/);
});

test('multilib: x86_64 preferred over i686; weak deps follow the recommends flag (as dnf)', { skip: !haveTools }, async () => {
  for (const recommends of [false, true]) {
    const ours = names(await resolve([A], req(['app'], { recommends })));
    const theirs = (await dnf(['app'], [repoA()], { recommends })).install;
    assert.deepEqual(ours, theirs);
    assert.ok(ours.includes('libfoo.x86_64 1.0-1'));
    assert.equal(ours.includes('extra.noarch 1.0-1'), recommends);
  }
});

test('virtual provides, excludes, priorities: same answers as dnf', { skip: !haveTools }, async () => {
  assert.deepEqual(names(await resolve([A], req(['web']))), (await dnf(['web'], [repoA()])).install);
  const ex = names(await resolve([A], req(['web'], { excludePackages: ['httpd'] })));
  assert.deepEqual(ex, (await dnf(['web'], [repoA()], { excludes: ['httpd'] })).install);
  assert.ok(ex.includes('nginx.noarch 1.0-1'));
  // Repo b (priority 10) wins over a's newer tool-2.0.
  const pr = names(await resolve([A, B], req(['tool'])));
  assert.deepEqual(pr, ['tool.noarch 1.5-1']);
  assert.deepEqual(pr, (await dnf(['tool'], [repoA(), repoB()])).install);
  // Without priorities the best version wins.
  assert.deepEqual(names(await resolve([A], req(['tool']))), ['tool.noarch 2.0-1']);
  // repo-packages: tool only from repo a, despite b's priority.
  assert.deepEqual(names(await resolve([A, B], req([], { repoPackages: [{ repo: 'a', packages: ['tool'] }] }))), ['tool.noarch 2.0-1']);
});

test('lockfile pins versions; strict mode names packages the lock misses', { skip: !haveTools }, async () => {
  const lock = { packages: new Map([['pinlib', { evra: '1.0-0.noarch' }], ['pinned', { evra: '1.0-1.noarch' }]]) };
  assert.deepEqual(names(await resolve([A], req(['pinned'], { lock }))), ['pinlib.noarch 1.0-0', 'pinned.noarch 1.0-1']);
  assert.deepEqual(names(await resolve([A], req(['pinned']))), ['pinlib.noarch 2.0-1', 'pinned.noarch 1.0-1']);
  const partial = { packages: new Map([['pinned', { evra: '1.0-1.noarch' }]]) };
  assert.deepEqual(names(await resolve([A], req(['pinned'], { lock: partial }))), ['pinlib.noarch 2.0-1', 'pinned.noarch 1.0-1']);
  await assert.rejects(resolve([A], req(['pinned'], { lock: partial, lockStrict: true })), (e: unknown) => {
    assert.ok(e instanceof ResolveError);
    assert.deepEqual(e.problems, ['package pinlib-2.0-1.noarch is not in the lockfile']);
    return true;
  });
  const wrongDigest = { packages: new Map([['pinlib', { evra: '1.0-0.noarch', digest: 'sha256:' + '0'.repeat(64) }], ['pinned', { evra: '1.0-1.noarch' }]]) };
  await assert.rejects(resolve([A], req(['pinned'], { lock: wrongDigest, lockStrict: true })), ResolveError);
});

test('repo cost, unless/without rich deps, ~ and ^ versions: same answers as dnf', { skip: !haveTools, timeout: 240_000 }, async () => {
  const www = path.join(tmp, 'www');
  const x = path.join(www, 'x');
  const ver = (version: string, packages: Parameters<typeof buildRpms>[0][number]['packages']) => ({ version, release: '1', arch: 'noarch', packages });
  buildRpms(
    [
      ver('1.0', [
        { name: 'dup' },
        // rpm allows `unless` only in conflicts-like dependencies
        { name: 'rw', requires: ['(feat without feat-bad)', '(ua if ud else ue)'], conflicts: ['(ub unless uc)'] },
        { name: 'ud' },
        { name: 'ue' },
        { name: 'ua' },
        { name: 'ub' },
        { name: 'uc' },
        { name: 'fx', provides: ['feat', 'feat-bad'] },
        { name: 'fy', provides: ['feat'] },
        { name: 'tvold', requires: ['tv < 1.0'] },
        { name: 'tvmid', requires: ['tv <= 1.0'] },
      ]),
      ver('1.0~rc1', [{ name: 'tv' }]),
      ver('1.0', [{ name: 'tv' }]),
      ver('1.0^git1', [{ name: 'tv' }]),
    ],
    x,
    path.join(tmp, 'wx'),
  );
  createrepo(x, 'zstd');
  // The identical dup-1.0-1 in two more repos that differ only in cost.
  const dupRpm = path.join(x, 'noarch', 'dup-1.0-1.noarch.rpm');
  for (const id of ['k1', 'k2']) {
    fs.mkdirSync(path.join(www, id), { recursive: true });
    fs.copyFileSync(dupRpm, path.join(www, id, 'dup-1.0-1.noarch.rpm'));
    createrepo(path.join(www, id), 'gz');
  }
  const md = path.join(tmp, 'md-x');
  const X = await loadRepo(normalizeRepoSource({ id: 'x', baseurl: [srv.url + 'x/'] }), { cacheDir: md, http });
  const cases: string[][] = [['rw'], ['rw', 'ub', 'uc'], ['tv'], ['tvold'], ['tvmid'], ['rw', 'ud'], ['rw', 'ub']];
  const theirs = await Promise.all(cases.map((c) => dnf(c, [{ id: 'x', url: srv.url + 'x/' }])));
  for (const [i, c] of cases.entries()) {
    const d = theirs[i]!;
    if (!d.ok) {
      await assert.rejects(resolve([X], req(c)), ResolveError, c.join(' '));
      continue;
    }
    assert.deepEqual(names(await resolve([X], req(c))), d.install, c.join(' '));
  }
  // The answers are the interesting ones (not just equal): ~ sorts before the release, ^ after it.
  assert.ok(theirs[2]!.install.includes('tv.noarch 1.0^git1-1'));
  assert.ok(theirs[3]!.install.includes('tv.noarch 1.0~rc1-1'));
  assert.ok(theirs[4]!.install.includes('tv.noarch 1.0-1'));
  assert.ok(theirs[0]!.install.includes('fy.noarch 1.0-1') && !theirs[0]!.install.includes('fx.noarch 1.0-1'), 'without');
  const has = (i: number, n: string) => theirs[i]!.install.includes(`${n}.noarch 1.0-1`);
  assert.ok(has(0, 'ud') ? has(0, 'ua') : has(0, 'ue'), `if/else: ${theirs[0]!.install.join(', ')}`);
  assert.ok(theirs[5]!.install.includes('ua.noarch 1.0-1'), 'if');
  assert.ok(theirs[1]!.ok, 'unless: uc lifts the conflict');
  // Equal packages in two repos: the lower cost wins, in dnf and here.
  for (const [c1, c2] of [[500, 2000], [2000, 500]] as const) {
    const K = await Promise.all([['k1', c1], ['k2', c2]].map(([id, cost]) => loadRepo(normalizeRepoSource({ id: id as string, baseurl: [`${srv.url}${id}/`], cost: cost as number }), { cacheDir: md, http })));
    const ours = (await resolve(K, req(['dup']))).packages.map((p) => p.repo.id);
    const d = await dnf(['dup'], [{ id: 'k1', url: srv.url + 'k1/', cost: c1 }, { id: 'k2', url: srv.url + 'k2/', cost: c2 }]);
    const dnfRepo = /^\s*dup\s+noarch\s+1\.0-1\s+(\S+)/m.exec(d.output)?.[1];
    const want = c1 < c2 ? 'k1' : 'k2';
    assert.equal(dnfRepo, want, d.output);
    assert.deepEqual(ours, [want]);
  }
});
