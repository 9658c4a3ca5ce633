import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { buildRpms, createrepo, serveDir, type TestServer } from '../repo/testing.js';
import { loadRepo, normalizeRepoSource, HttpClient, type LoadedRepo } from '../repo/index.js';
import { fetchPackages, cachePath } from './index.js';
import { CoreforgeError, CorruptionError } from '../../errors.js';

let tmp: string;
let srv: TestServer;
let repo: LoadedRepo;
const http = new HttpClient({ retries: 2, backoffMs: 5, maxParallel: 4 });

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-dl-'));
  const www = path.join(tmp, 'www');
  // Payload with real content so truncation/resume has something to cut.
  const big = Array.from({ length: 6 }, (_, i) => ({ name: `pkg${i}`, files: [`/usr/share/pkg${i}/blob`] }));
  buildRpms([{ version: '1.0', release: '1', arch: 'noarch', packages: big }], www, tmp);
  createrepo(www, 'gz');
  srv = await serveDir(www);
  repo = await loadRepo(normalizeRepoSource({ id: 'dl', baseurl: [srv.url] }), { cacheDir: path.join(tmp, 'md'), http });
});
after(async () => {
  await srv.close();
  http.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const rpmRequests = () => srv.requests.filter((r) => r.path.endsWith('.rpm'));

test('downloads into a content-addressed cache, verified; second run downloads nothing', async () => {
  const cacheDir = path.join(tmp, 'c1');
  const n0 = rpmRequests().length;
  const r = await fetchPackages(repo.packages, { cacheDir, http, parallel: 3 });
  assert.equal(r.downloaded.length, 6);
  for (const p of repo.packages) {
    const f = cachePath(cacheDir, p);
    assert.equal(createHash('sha256').update(fs.readFileSync(f)).digest('hex'), p.checksum.value);
    assert.equal(r.paths.get(p.nevra), f);
  }
  assert.equal(rpmRequests().length - n0, 6);
  const again = await fetchPackages(repo.packages, { cacheDir, http });
  assert.equal(again.downloaded.length, 0);
  assert.equal(again.cached.length, 6);
  assert.equal(rpmRequests().length - n0, 6, 'no request on the second run');
});

test('parallelism is bounded and connections are kept alive', async () => {
  // Slow answers, so that an unbounded client would have all six in flight.
  const orig = srv.stats;
  const cacheDir = path.join(tmp, 'c-par');
  const client = new HttpClient({ retries: 0, maxParallel: 2 });
  srv.faults.length = 0;
  srv.faults.push({ match: '.rpm', kind: 'slow' });
  orig.maxInFlight = 0;
  const c0 = orig.connections;
  try {
    const r = await fetchPackages(repo.packages, { cacheDir, http: client, parallel: 2 });
    assert.equal(r.downloaded.length, 6);
  } finally {
    client.close();
    srv.faults.length = 0;
  }
  assert.ok(orig.maxInFlight === 2, `max in flight ${orig.maxInFlight}`);
  // 6 downloads over at most 2 sockets: each connection carried several requests.
  assert.ok(orig.connections - c0 <= 2, `${orig.connections - c0} connections for 6 downloads`);
});

test('a truncated transfer is resumed with Range; a 500 is retried', async () => {
  const cacheDir = path.join(tmp, 'c2');
  srv.faults.push({ match: 'pkg1-', kind: 'truncate', times: 1 }, { match: 'pkg2-', kind: '500', times: 1 });
  const n0 = srv.requests.length;
  const r = await fetchPackages(repo.packages, { cacheDir, http });
  assert.equal(r.downloaded.length, 6);
  const pkg1 = srv.requests.slice(n0).filter((q) => q.path.includes('pkg1-'));
  assert.equal(pkg1.length, 2);
  assert.match(pkg1[1]!.range ?? '', /^bytes=\d+-$/, 'second attempt resumes');
  const p1 = repo.packages.find((p) => p.name === 'pkg1')!;
  assert.equal(createHash('sha256').update(fs.readFileSync(cachePath(cacheDir, p1))).digest('hex'), p1.checksum.value);
  srv.faults.length = 0;
});

function noPartials(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(path.join(d, e.name)) : out.push(e.name);
  };
  walk(dir);
  return out;
}

test('404, checksum mismatch, persistent truncation and unreachable repo are one-line typed errors naming the package', async () => {
  const one = (name: string) => [repo.packages.find((p) => p.name === name)!];
  const check = async (name: string, fault: Parameters<typeof srv.faults.push>[0] | undefined, code: string, re: RegExp, pkgs = one(name)) => {
    srv.faults.length = 0;
    if (fault) srv.faults.push(fault);
    const cacheDir = fs.mkdtempSync(path.join(tmp, 'cx-'));
    await assert.rejects(fetchPackages(pkgs, { cacheDir, http }), (e: unknown) => {
      assert.ok(e instanceof CoreforgeError, String(e));
      assert.equal(e.code, code);
      assert.match(e.message, re);
      assert.ok(!e.message.includes('\n'));
      return true;
    });
    const left = noPartials(cacheDir);
    if (code === 'ECORRUPT') assert.deepEqual(left, [], 'bad file removed');
    else assert.ok(!left.some((f) => f.endsWith('.rpm')), 'nothing complete-looking kept');
  };
  await check('pkg3', { match: 'pkg3-', kind: '404' }, 'ENETWORK', /^package pkg3-1\.0-1\.noarch from repo dl: HTTP 404 for http/);
  await check('pkg4', { match: 'pkg4-', kind: 'corrupt' }, 'ECORRUPT', /^package pkg4-1\.0-1\.noarch from repo dl: sha256 checksum mismatch/);
  await check('pkg5', { match: 'pkg5-', kind: 'truncate' }, 'ENETWORK', /^package pkg5-1\.0-1\.noarch from repo dl: truncated download/);
  const dead = repo.packages.map((p) => Object.assign(Object.create(Object.getPrototypeOf(p)), p, { repo: { ...p.repo, baseurls: ['http://127.0.0.1:1/'] } }));
  await check('pkg0', undefined, 'ENETWORK', /^package pkg0-1\.0-1\.noarch from repo dl: cannot fetch http:\/\/127\.0\.0\.1:1\//, [dead[0]]);
  srv.faults.length = 0;
  assert.ok(CorruptionError);
});
