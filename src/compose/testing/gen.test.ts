/**
 * The synthetic RPM set generator: exact installed size, the requested
 * package count and shape (checked with the real rpm), deterministic bytes
 * from a seed, the cache, the one-package-changed variant, and (as root) that
 * the whole set with its base installs with the real rpm — dependencies
 * resolve and the scriptlets run.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bumpOnePackage, generateRpms, type GeneratedSet } from './gen.js';
import { EXAMPLE_PACKAGES, exampleRpmsAvailable } from './example.js';
import { extractTo } from '../../rpm/file/index.js';

const skip = !exampleRpmsAvailable() && 'rpmbuild, createrepo_c, cpio or /bin/busybox missing';
const OPTS = { seed: 11, packages: 40, totalBytes: 12 * 1024 * 1024 + 12345 };
let work: string;
let set: GeneratedSet;

function q(files: string[], fmt: string): string {
  return execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', fmt, ...files], { env: { ...process.env, LC_ALL: 'C' }, maxBuffer: 1 << 28 }).toString();
}
function sha(f: string): string {
  return createHash('sha256').update(fs.readFileSync(f)).digest('hex');
}
const genRpms = (s: GeneratedSet) => s.rpms.filter((f) => path.basename(f).startsWith('gen-'));

before(async () => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-gen-'));
  set = await generateRpms({ ...OPTS, cacheDir: path.join(work, 'a') });
});
after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('the set has the requested packages and exactly the requested installed bytes (per rpm)', { skip }, () => {
  assert.equal(set.packages.length, OPTS.packages);
  assert.equal(genRpms(set).length, OPTS.packages);
  assert.deepEqual(set.base.sort(), [...EXAMPLE_PACKAGES].sort());
  assert.equal(set.rpms.length, OPTS.packages + EXAMPLE_PACKAGES.length);
  assert.ok(fs.existsSync(path.join(set.repoDir, 'repodata', 'repomd.xml')));
  // sum of regular file sizes, as the real rpm reports them
  let bytes = 0;
  let files = 0;
  let links = 0;
  for (const line of q(genRpms(set), '[%{FILEMODES:perms} %{FILESIZES}\n]').trim().split('\n')) {
    const [perms, size] = line.split(' ');
    if (perms!.startsWith('-')) {
      bytes += Number(size);
      files++;
    } else if (perms!.startsWith('l')) links++;
  }
  assert.equal(bytes, OPTS.totalBytes);
  assert.equal(set.totalBytes, OPTS.totalBytes);
  assert.equal(files, set.fileCount);
  assert.ok(links > 0, 'some symlinks');
  // shape: sizes spread (log-normal), requires between packages, some scriptlets, noarch and x86_64
  const sizes = set.packages.map((p) => p.bytes).sort((a, b) => a - b);
  assert.ok(sizes[sizes.length - 1]! > 10 * sizes[Math.floor(sizes.length / 2)]!, `heavy tail: ${sizes}`);
  assert.ok(set.packages.some((p) => p.requires.length > 0));
  const arches = new Set(q(genRpms(set), '%{ARCH}\n').trim().split('\n'));
  assert.deepEqual([...arches].sort(), ['noarch', 'x86_64']);
  const withScripts = q(genRpms(set), '%{NAME} %|PREIN?{pre}:{}|%|POSTIN?{post}:{}|%|POSTTRANS?{posttrans}:{}|\n').split('\n').filter((l) => l && !l.endsWith(' '));
  assert.equal(withScripts.length, set.packages.filter((p) => p.scriptlets.length > 0).length);
  // mixed content: the zstd payloads are smaller than the files, but far from tiny
  const payload = genRpms(set).reduce((a, f) => a + fs.statSync(f).size, 0);
  assert.ok(payload < 0.95 * OPTS.totalBytes && payload > 0.2 * OPTS.totalBytes, `payload ${payload} for ${OPTS.totalBytes}`);
});

test('the same seed gives byte-identical RPMs; a second call is served from the cache', { skip }, async () => {
  const again = await generateRpms({ ...OPTS, cacheDir: path.join(work, 'b'), jobs: 1 });
  assert.equal(again.cached, false);
  assert.deepEqual(again.rpms.map((f) => path.basename(f)), set.rpms.map((f) => path.basename(f)));
  for (let i = 0; i < set.rpms.length; i++) assert.equal(sha(again.rpms[i]!), sha(set.rpms[i]!), path.basename(set.rpms[i]!));
  const t0 = Date.now();
  const cached = await generateRpms({ ...OPTS, cacheDir: path.join(work, 'a') });
  assert.equal(cached.cached, true);
  assert.equal(cached.repoDir, set.repoDir);
  assert.ok(Date.now() - t0 < 2000);
  const other = await generateRpms({ ...OPTS, seed: OPTS.seed + 1, packages: 5, totalBytes: 100000, base: false, cacheDir: path.join(work, 'a') });
  assert.equal(other.rpms.length, 5);
  assert.notEqual(other.repoDir, set.repoDir);
  assert.equal(other.packages.filter((p) => p.scriptlets.length > 0).length, 0, 'no scriptlets without a base shell');
});

test('bumpOnePackage: one package gets release+1 and new content; every other RPM is the same file', { skip }, async () => {
  const v = await bumpOnePackage(set, { cacheDir: path.join(work, 'a') });
  assert.equal(v.rpms.length, set.rpms.length);
  const before = new Map(set.rpms.map((f) => [path.basename(f), sha(f)]));
  const after = new Map(v.rpms.map((f) => [path.basename(f), sha(f)]));
  const gone = [...before.keys()].filter((k) => !after.has(k));
  const added = [...after.keys()].filter((k) => !before.has(k));
  assert.deepEqual(gone, [v.previous.rpm]);
  assert.deepEqual(added, [v.changed.rpm]);
  for (const [k, h] of after) if (k !== v.changed.rpm) assert.equal(h, before.get(k), k);
  assert.equal(v.changed.name, v.previous.name);
  assert.equal(Number(v.changed.release.split('.')[0]), Number(v.previous.release.split('.')[0]) + 1);
  const newFile = v.rpms.find((f) => path.basename(f) === v.changed.rpm)!;
  const oldFile = set.rpms.find((f) => path.basename(f) === v.previous.rpm)!;
  const digests = (f: string) => q([f], '[%{FILENAMES} %{FILEDIGESTS}\n]').trim().split('\n');
  const changedFiles = digests(newFile).filter((l, i) => l !== digests(oldFile)[i]);
  assert.equal(changedFiles.length, 1, 'exactly one file changed');
  assert.match(fs.readFileSync(path.join(v.repoDir, 'repodata', 'repomd.xml'), 'utf8'), /primary/);
  assert.equal((await bumpOnePackage(set, { cacheDir: path.join(work, 'a') })).cached, true);
});

test('as root: the set with its base installs with the real rpm (deps resolve, scriptlets run)', { skip: skip || (process.getuid?.() !== 0 && 'needs root') }, () => {
  const root = fs.mkdtempSync(path.join(work, 'root-'));
  const rpm = (...a: string[]) => spawnSync('rpm', ['--root', root, '--dbpath', '/usr/share/rpm', ...a], { encoding: 'utf8', maxBuffer: 1 << 26 });
  assert.equal(rpm('--initdb').status, 0);
  const r = rpm('-i', ...set.rpms);
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /scriptlet failed|warning: user|warning: group/);
  assert.ok(set.packages.some((p) => p.user) && set.packages.some((p) => p.scriptlets.includes('post')), 'the seed gives users and %post');
  for (const p of set.packages) {
    if (p.scriptlets.includes('post')) assert.match(fs.readFileSync(path.join(root, 'etc', `${p.name}.d`, 'generated'), 'utf8'), new RegExp(`configured ${p.name} 1`));
    if (p.user) {
      const u = fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8');
      const m = new RegExp(`^${p.user}:x:(\\d+):`, 'm').exec(u);
      assert.ok(m, u);
      assert.equal(fs.statSync(path.join(root, 'var/lib', p.name)).uid, Number(m[1]));
    }
  }
});

test("coreforge's own RPM reader extracts the whole set (zstd payloads, base included) to the same bytes", { skip }, async () => {
  const dir = fs.mkdtempSync(path.join(work, 'x-'));
  let bytes = 0;
  let links = 0;
  for (const f of set.rpms) {
    const r = await extractTo(f, dir);
    if (path.basename(f).startsWith('gen-')) {
      bytes += r.bytes;
      links += r.symlinks;
    }
  }
  assert.equal(bytes, OPTS.totalBytes);
  assert.equal(links, set.packages.reduce((a, p) => a + p.symlinks, 0));
  assert.equal(fs.readlinkSync(path.join(dir, 'usr/bin/sh')), 'busybox');
});
