import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatLockfile, parseLockfile, lockfilePaths, loadLockfiles, mergeLockfiles, parseRepoFile, resolveRepos, splitEvra, substituteRepoVars, gpgcheckOffUnlessShipped } from '../../src/config/index.js';
import { FCOS, tmp, write } from './helpers.js';

test('.repo files: sections, continuation lines, vars, defaults, gpgkey resolution', (t) => {
  const d = tmp(t);
  write(d, {
    'keys/my.asc': 'key',
    'x.repo': [
      '# comment',
      '[one]',
      'name=One $releasever ${basearch}',
      'baseurl=http://a/$releasever/$basearch/',
      '  http://b/$basearch/, http://c/',
      '; another comment',
      'gpgcheck=yes',
      'repo_gpgcheck=True',
      'gpgkey=file://keys/my.asc https://example.com/key.asc',
      '       file:///usr/share/k.asc',
      'excludepkgs=kernel*, foo',
      'includepkgs=a b',
      'skip_if_unavailable=on',
      'priority=10',
      'cost=500',
      'enabled=0',
      '',
      '[two]',
      'metalink=https://mirrors.example.com/metalink?repo=f$releasever&arch=$basearch',
      'mirrorlist=http://m/$unknownvar',
      '',
    ].join('\n'),
  });
  const [one, two] = parseRepoFile(join(d, 'x.repo'), { basearch: 'aarch64', releasever: 40 }, d);
  assert.equal(one!.name, 'One 40 aarch64');
  assert.deepEqual(one!.baseurl, ['http://a/40/aarch64/', 'http://b/aarch64/', 'http://c/']);
  assert.equal(one!.gpgcheck, true);
  assert.equal(one!.repoGpgcheck, true);
  assert.deepEqual(one!.gpgkey, [join(d, 'keys/my.asc'), 'https://example.com/key.asc', '/usr/share/k.asc']);
  assert.deepEqual(one!.exclude, ['kernel*', 'foo']);
  assert.deepEqual(one!.includepkgs, ['a', 'b']);
  assert.equal(one!.skipIfUnavailable, true);
  assert.equal(one!.priority, 10);
  assert.equal(one!.cost, 500);
  assert.equal(one!.enabled, false);
  assert.equal(two!.enabled, true);
  assert.equal(two!.gpgcheck, false);
  assert.equal(two!.priority, 99);
  assert.equal(two!.cost, 1000);
  assert.equal(two!.metalink, 'https://mirrors.example.com/metalink?repo=f40&arch=aarch64');
  assert.equal(two!.mirrorlist, 'http://m/$unknownvar');
  assert.equal(substituteRepoVars('$releasever_major-${releasever_minor}', { releasever_major: '9', releasever_minor: '4' }), '9-4');
});

test('every fixture .repo parses; without `repos` the enabled repos of the directory are used', (t) => {
  const d = tmp(t);
  spawnSync('cp', [join(FCOS, 'fedora.repo'), join(FCOS, 'fedora-coreos-pool.repo'), join(FCOS, 'fedora-archive.repo'), d]);
  write(d, { 'manifest.yaml': 'ref: x\n' });
  for (const f of ['fedora.repo', 'fedora-archive.repo', 'fedora-next.repo', 'fedora-rawhide.repo', 'fedora-candidate-compose.repo', 'fedora-coreos-pool.repo'])
    assert.ok(parseRepoFile(join(FCOS, f), { basearch: 'ppc64le', releasever: 41 }, FCOS).length > 0, f);
  const r = resolveRepos(d, join(d, 'manifest.yaml'), {}, { basearch: 'x86_64', releasever: 40 });
  assert.deepEqual(
    r.repos.map((x) => x.id),
    ['fedora-archive', 'fedora-archive-updates', 'fedora-coreos-pool', 'fedora', 'fedora-updates', 'fedora-updates-testing'],
  );
  assert.equal(r.repos.find((x) => x.id === 'fedora-archive')!.baseurl.length, 4);
});

test('gpgcheck is turned off only where the key is not shipped in the config', (t) => {
  const d = tmp(t);
  write(d, { 'keys/k.asc': 'k' });
  const text = '[a]\nbaseurl=http://a\ngpgcheck=1\ngpgkey=file:///usr/share/x\n\n[b]\nbaseurl=http://b\ngpgcheck=1\ngpgkey=file://keys/k.asc\n';
  const r = gpgcheckOffUnlessShipped(text, d);
  assert.deepEqual(r.disabled, ['a']);
  const [a, b] = parseRepoFile(join(d, 'r.repo'), { basearch: 'x86_64' }, d, r.text);
  assert.equal(a!.gpgcheck, false);
  assert.equal(b!.gpgcheck, true);
});

test('lockfiles merge in cosa order, later file wins the whole entry', (t) => {
  assert.deepEqual(
    lockfilePaths(FCOS, 's390x').map((p) => p.slice(FCOS.length + 1)),
    ['manifest-lock.s390x.json', 'manifest-lock.overrides.yaml'],
  );
  const l = loadLockfiles(FCOS, 'x86_64');
  assert.equal(l.packages.get('kdump-utils')!.evr, '1.0.48-1.fc40');
  assert.equal(l.packages.get('kdump-utils')!.metadata?.type, 'fast-track');
  const ev = splitEvra(l.packages.get('NetworkManager')!.evra!);
  assert.deepEqual(ev, { evr: '1:1.46.2-1.fc40', arch: 'x86_64' });

  const d = tmp(t);
  write(d, {
    'manifest-lock.x86_64.json': JSON.stringify({ packages: { a: { evra: '1.0-1.x86_64', digest: 'sha256:00ff' }, b: { evra: '2-1.noarch' } }, metadata: { generated: '2024-10-23T00:00:00Z' } }),
    'manifest-lock.overrides.yaml': 'packages:\n  a:\n    evr: 1.1-1\n',
    'manifest-lock.overrides.x86_64.json': '{"packages": {"a": {"evra": "1.2-1.x86_64"}, "c": {"evr": "3-3"}}}',
  });
  const m = loadLockfiles(d, 'x86_64');
  assert.deepEqual([...m.packages.keys()], ['a', 'b', 'c']);
  assert.equal(m.packages.get('a')!.evra, '1.2-1.x86_64');
  assert.equal(m.packages.get('a')!.digest, undefined, 'whole entry replaced');
  assert.equal(m.metadata?.generated, '2024-10-23T00:00:00Z');
  assert.deepEqual(mergeLockfiles([join(d, 'manifest-lock.x86_64.json')]).packages.get('a')!.digest, 'sha256:00ff');
  write(d, { 'manifest-lock.overrides.yaml': 'packages: {}\n', 'manifest-lock.overrides.json': '{"packages": {}}' });
  assert.throws(() => lockfilePaths(d, 'x86_64'), /both manifest-lock\.overrides\.yaml and manifest-lock\.overrides\.json exist/);
});

test('formatLockfile reproduces the committed fixture lockfiles byte for byte (every arch)', () => {
  for (const arch of ['x86_64', 'aarch64', 'ppc64le', 's390x']) {
    const file = join(FCOS, `manifest-lock.${arch}.json`);
    const text = readFileSync(file, 'utf8');
    const l = parseLockfile(file);
    const packages = [...l.packages].map(([name, e]) => {
      const { evr, arch: a } = splitEvra(e.evra!);
      // A plausible SRPM file name; only the name part survives into the lockfile.
      return { name, evr, arch: a, sourcerpm: `${String(e.metadata?.sourcerpm)}-1.0-1.fc40.src.rpm` };
    });
    const repos = Object.entries(l.metadata!.rpmmd_repos!).map(([id, r]) => ({ id, generated: new Date(r.generated) }));
    const out = formatLockfile({ packages, repos, now: new Date(l.metadata!.generated!.replace('00:00:00Z', '17:45:12Z')), stripDigests: true });
    assert.equal(out, text, arch);
  }
  const w = formatLockfile({ packages: [{ name: 'b', evr: '1:2-3', arch: 'x86_64', digest: 'sha256:ab', sourcerpm: 'b-src-2-3.src.rpm' }], now: new Date('2026-01-02T03:04:05Z') });
  assert.deepEqual(JSON.parse(w), { packages: { b: { evra: '1:2-3.x86_64', digest: 'sha256:ab', metadata: { sourcerpm: 'b-src' } } }, metadata: { generated: '2026-01-02T00:00:00Z', rpmmd_repos: {} } });
});
