import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { buildRpms, createrepo, serveDir, type TestServer } from './testing.js';
import { loadRepo, normalizeRepoSource, HttpClient, SignatureError } from './index.js';
import { CorruptionError, CoreforgeError } from '../../errors.js';

let tmp: string;
let srv: TestServer;
const http = new HttpClient({ retries: 1, backoffMs: 10 });

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-repo-'));
  const rpms = path.join(tmp, 'rpms');
  buildRpms(
    [
      {
        version: '1.0',
        release: '1',
        arch: 'noarch',
        packages: [
          { name: 'a', requires: ['b >= 1.0', '(c or d)', '/usr/bin/e'], requiresPre: ['c'], recommends: ['d'], files: ['/usr/share/a/x&y'] },
          { name: 'b', conflicts: ['z < 2'], obsoletes: ['oldb <= 0.9'] },
          { name: 'c', supplements: ['(a and b)'] },
          { name: 'd', files: ['/usr/bin/e', '/etc/d.conf'] },
        ],
      },
      { epoch: 2, version: '2.0~rc1', release: '1', arch: 'x86_64', packages: [{ name: 'b', provides: ['virt = 3'] }] },
    ],
    rpms,
    tmp,
  );
  for (const c of ['gz', 'xz', 'bz2', 'zstd'] as const) {
    fs.cpSync(rpms, path.join(tmp, 'www', c), { recursive: true });
    createrepo(path.join(tmp, 'www', c), c);
  }
});
let srvStarted: Promise<TestServer> | undefined;
async function server(): Promise<TestServer> {
  srvStarted ??= serveDir(path.join(tmp, 'www'));
  srv = await srvStarted;
  return srv;
}
after(async () => {
  if (srvStarted) await (await srvStarted).close();
  http.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

for (const c of ['gz', 'xz', 'bz2', 'zstd'] as const) {
  test(`loads primary and filelists compressed with ${c}`, async () => {
    const s = await server();
    const cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
    const repo = await loadRepo(normalizeRepoSource({ id: `r-${c}`, baseurl: [s.url + c + '/'] }), { cacheDir, http });
    const names = repo.packages.map((p) => p.nevra).sort();
    assert.deepEqual(names, ['a-1.0-1.noarch', 'b-1.0-1.noarch', 'b-2:2.0~rc1-1.x86_64', 'c-1.0-1.noarch', 'd-1.0-1.noarch']);
    const a = repo.packages.find((p) => p.name === 'a')!;
    assert.deepEqual(
      a.requires.map((d) => [d.name, d.flags, d.evr?.version, d.pre ?? false]).filter(([n]) => !String(n).startsWith('rpmlib(')),
      [
        ['(c or d)', 0, undefined, false],
        ['/usr/bin/e', 0, undefined, false],
        ['b', 3, '1.0', false],
        ['c', 0, undefined, true],
      ],
    );
    assert.deepEqual(a.recommends.map((d) => d.name), ['d']);
    assert.deepEqual(a.files, [], 'primary only lists /etc and bin files');
    const d = repo.packages.find((p) => p.name === 'd')!;
    assert.deepEqual(d.files.sort(), ['/etc/d.conf', '/usr/bin/e']);
    const b2 = repo.packages.find((p) => p.name === 'b' && p.arch === 'x86_64')!;
    assert.equal(b2.epoch, 2);
    assert.ok(b2.provides.some((p) => p.name === 'virt' && p.evr?.version === '3'));
    const b1 = repo.packages.find((p) => p.name === 'b' && p.arch === 'noarch')!;
    assert.deepEqual(b1.conflicts.map((x) => [x.name, x.flags, x.evr?.version]), [['z', 4, '2']]);
    assert.deepEqual(b1.obsoletes.map((x) => [x.name, x.flags, x.evr?.version]), [['oldb', 6, '0.9']]);
    const cpk = repo.packages.find((p) => p.name === 'c')!;
    assert.deepEqual(cpk.supplements.map((x) => x.name), ['(a and b)']);
    // checksum and location point at the real file
    const file = path.join(tmp, 'www', c, a.location);
    assert.equal(createHash(a.checksum.type).update(fs.readFileSync(file)).digest('hex'), a.checksum.value);
    assert.equal(a.size, fs.statSync(file).size);
    await repo.loadFilelists();
    assert.deepEqual(a.files, ['/usr/share/a/x&y']);
  });
}

test('metadata cache: second load fetches only repomd.xml; a changed repomd refreshes', async () => {
  const s = await server();
  const cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
  const src = normalizeRepoSource({ id: 'cached', baseurl: [s.url + 'gz/'] });
  await loadRepo(src, { cacheDir, http });
  const n0 = s.requests.length;
  const again = await loadRepo(src, { cacheDir, http });
  assert.equal(again.packages.length, 5);
  assert.deepEqual(s.requests.slice(n0).map((r) => r.path), ['/gz/repodata/repomd.xml']);
  const n1 = s.requests.length;
  await loadRepo(src, { cacheDir, http, metadataExpire: 3600 });
  assert.equal(s.requests.length, n1, 'within metadata_expire nothing is fetched');
  // Rebuild the repo without package c: the new repomd must be picked up.
  const dir = path.join(tmp, 'www', 'gz');
  fs.rmSync(path.join(dir, 'noarch', 'c-1.0-1.noarch.rpm'));
  createrepo(dir, 'gz');
  const fresh = await loadRepo(src, { cacheDir, http });
  assert.equal(fresh.packages.length, 4);
  assert.ok(s.requests.slice(n1).some((r) => r.path.includes('primary')));
  fs.cpSync(path.join(tmp, 'rpms', 'noarch', 'c-1.0-1.noarch.rpm'), path.join(dir, 'noarch', 'c-1.0-1.noarch.rpm'));
  createrepo(dir, 'gz');
});

test('exclude and includepkgs filter packages', async () => {
  const s = await server();
  const cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
  const r1 = await loadRepo(normalizeRepoSource({ id: 'ex', baseurl: [s.url + 'xz/'], exclude: ['b*', 'c'] }), { cacheDir, http });
  assert.deepEqual(r1.packages.map((p) => p.name).sort(), ['a', 'd']);
  const r2 = await loadRepo(normalizeRepoSource({ id: 'inc', baseurl: [s.url + 'xz/'], includepkgs: ['[ab]'] }), { cacheDir, http });
  assert.deepEqual(r2.packages.map((p) => p.name).sort(), ['a', 'b', 'b']);
});

test('mirrorlist skips a dead mirror; metalink hash is verified', async () => {
  const s = await server();
  const www = path.join(tmp, 'www');
  fs.writeFileSync(path.join(www, 'mirrors.txt'), `# comment\n${s.url}nothere/\n${s.url}xz/\n`);
  const cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
  const r = await loadRepo(normalizeRepoSource({ id: 'ml', mirrorlist: s.url + 'mirrors.txt' }), { cacheDir, http });
  assert.equal(r.packages.length, 5);
  const repomd = fs.readFileSync(path.join(www, 'xz', 'repodata', 'repomd.xml'));
  const metalink = (hash: string) => `<?xml version="1.0" encoding="utf-8"?>
<metalink version="3.0" xmlns="http://www.metalinker.org/" xmlns:mm0="http://fedorahosted.org/mirrormanager">
 <files><file name="repomd.xml"><mm0:timestamp>1</mm0:timestamp><size>${repomd.length}</size>
  <verification><hash type="md5">00</hash><hash type="sha256">${hash}</hash></verification>
  <resources maxconnections="1">
   <url protocol="http" type="http" location="XX" preference="100">${s.url}xz/repodata/repomd.xml</url>
  </resources></file></files></metalink>`;
  fs.writeFileSync(path.join(www, 'good.metalink'), metalink(createHash('sha256').update(repomd).digest('hex')));
  fs.writeFileSync(path.join(www, 'bad.metalink'), metalink('ab'.repeat(32)));
  const ok = await loadRepo(normalizeRepoSource({ id: 'mlgood', metalink: s.url + 'good.metalink' }), { cacheDir, http });
  assert.equal(ok.packages.length, 5);
  await assert.rejects(loadRepo(normalizeRepoSource({ id: 'mlbad', metalink: s.url + 'bad.metalink' }), { cacheDir, http }), (e: unknown) => {
    assert.ok(e instanceof CorruptionError);
    assert.match((e as Error).message, /^repo mlbad: repomd\.xml .* does not match the metalink hash$/);
    return true;
  });
});

test('unreachable repo and corrupt primary are one-line typed errors naming the repo', async () => {
  const s = await server();
  const cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
  await assert.rejects(loadRepo(normalizeRepoSource({ id: 'dead', baseurl: ['http://127.0.0.1:1/'] }), { cacheDir, http }), (e: unknown) => {
    assert.ok(e instanceof CoreforgeError && e.code === 'ENETWORK');
    assert.match((e as Error).message, /^repo dead: cannot fetch/);
    assert.ok(!(e as Error).message.includes('\n'));
    return true;
  });
  const skipped = await loadRepo(normalizeRepoSource({ id: 'dead2', baseurl: ['http://127.0.0.1:1/'], skipIfUnavailable: true }), { cacheDir, http });
  assert.equal(skipped.packages.length, 0);
  assert.match(skipped.skipped ?? '', /repo dead2/);
  s.faults.push({ match: 'primary.xml', kind: 'corrupt', times: 1 });
  await assert.rejects(loadRepo(normalizeRepoSource({ id: 'corrupt', baseurl: [s.url + 'bz2/'] }), { cacheDir, http }), (e: unknown) => {
    assert.ok(e instanceof CorruptionError);
    assert.match((e as Error).message, /^repo corrupt: primary .*checksum mismatch/);
    return true;
  });
  assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'corrupt')).filter((f) => f.includes('primary')), [], 'bad file not kept');
});

test('repo_gpgcheck verifies repomd.xml.asc with gpgv', async (t) => {
  if (spawnSync('gpg', ['--version']).status !== 0) return t.skip('gpg not installed');
  const s = await server();
  const home = fs.mkdtempSync(path.join(tmp, 'gnupg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const g = (args: string[], input?: string) => spawnSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env, input, encoding: 'utf8' });
  assert.equal(g(['--quick-gen-key', 'Test Repo <repo@example.com>', 'ed25519', 'sign', 'never']).status, 0);
  const key = g(['--armor', '--export']).stdout;
  fs.writeFileSync(path.join(tmp, 'www', 'key.asc'), key);
  const repomd = path.join(tmp, 'www', 'xz', 'repodata', 'repomd.xml');
  fs.rmSync(repomd + '.asc', { force: true });
  assert.equal(g(['--armor', '--detach-sign', '-o', repomd + '.asc', repomd]).status, 0);
  const cacheDir = fs.mkdtempSync(path.join(tmp, 'cache-'));
  const src = normalizeRepoSource({ id: 'signed', baseurl: [s.url + 'xz/'], repoGpgcheck: true, gpgkey: [s.url + 'key.asc'] });
  const r = await loadRepo(src, { cacheDir, http });
  assert.equal(r.packages.length, 5);
  // Signature made by another key: rejected.
  const other = fs.mkdtempSync(path.join(tmp, 'gnupg-'));
  const g2 = (args: string[]) => spawnSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { env: { ...process.env, GNUPGHOME: other }, encoding: 'utf8' });
  assert.equal(g2(['--quick-gen-key', 'Other <o@example.com>', 'ed25519', 'sign', 'never']).status, 0);
  fs.rmSync(repomd + '.asc');
  assert.equal(g2(['--armor', '--detach-sign', '-o', repomd + '.asc', repomd]).status, 0);
  await assert.rejects(loadRepo({ ...src, id: 'signed2' }, { cacheDir, http }), (e: unknown) => {
    assert.ok(e instanceof SignatureError, String(e));
    assert.match((e as Error).message, /^repo signed2: repomd\.xml: signature verification failed/);
    return true;
  });
  fs.rmSync(repomd + '.asc');
});
