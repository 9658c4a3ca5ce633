import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseRepoFile, type RepoConfig } from '../../src/config/index.js';
import { FCOS, tmp, write } from './helpers.js';

// dnf's own parser is the reference: read the same files with dnf's Python API and compare.
const PY = '/usr/bin/python3';
const DNF_DUMP = `
import dnf, json, sys
b = dnf.Base()
b.conf.reposdir = [sys.argv[1]]
for k, v in json.loads(sys.argv[2]).items():
    b.conf.substitutions[k] = v
b.read_all_repos()
out = []
for r in sorted(b.repos.all(), key=lambda r: r.id):
    out.append(dict(id=r.id, name=r.name, baseurl=list(r.baseurl), metalink=r.metalink or None, mirrorlist=r.mirrorlist or None,
        enabled=bool(r.enabled), gpgcheck=bool(r.gpgcheck), repoGpgcheck=bool(r.repo_gpgcheck), gpgkey=list(r.gpgkey),
        skipIfUnavailable=bool(r.skip_if_unavailable), priority=r.priority, cost=r.cost,
        exclude=list(r.excludepkgs), includepkgs=list(r.includepkgs)))
print(json.dumps(out))
`;

function dnfAvailable(): boolean {
  return existsSync(PY) && spawnSync(PY, ['-c', 'import dnf'], { encoding: 'utf8' }).status === 0;
}

function viaDnf(dir: string, vars: Record<string, string>): unknown[] {
  const r = spawnSync(PY, ['-c', DNF_DUMP, dir, JSON.stringify(vars)], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as unknown[];
}

function ours(dir: string, vars: { basearch: string; releasever: string }): unknown[] {
  const repos: RepoConfig[] = [];
  for (const f of readdirSync(dir).sort()) if (f.endsWith('.repo')) repos.push(...parseRepoFile(join(dir, f), vars, dir));
  return repos
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .map((r) => ({
      id: r.id,
      name: r.name,
      baseurl: r.baseurl,
      metalink: r.metalink ?? null,
      mirrorlist: r.mirrorlist ?? null,
      enabled: r.enabled,
      gpgcheck: r.gpgcheck,
      repoGpgcheck: r.repoGpgcheck,
      // dnf keeps the URL; we resolve file: keys to paths.
      gpgkey: r.gpgkey.map((k) => (k.startsWith('/') ? `file://${k}` : k)),
      skipIfUnavailable: r.skipIfUnavailable,
      priority: r.priority,
      cost: r.cost,
      exclude: r.exclude,
      includepkgs: r.includepkgs,
    }));
}

const skip = dnfAvailable() ? false : 'dnf (python3-dnf) is not installed';

for (const basearch of ['x86_64', 'aarch64', 'ppc64le', 's390x']) {
  test(`fixture .repo files read exactly as dnf reads them (${basearch})`, { skip }, () => {
    const vars = { basearch, releasever: '40' };
    const expected = viaDnf(FCOS, { ...vars, arch: basearch });
    assert.ok(expected.length >= 10, 'dnf saw the fixture repos');
    assert.deepEqual(ours(FCOS, vars), expected);
  });
}

test('tricky .repo syntax read exactly as dnf reads it', { skip }, (t) => {
  const d = tmp(t);
  write(d, {
    'a.repo': [
      '[alpha]',
      'name = Alpha ${basearch} $releasever',
      'baseurl = http://a.example/$basearch/,http://b.example/$releasever/',
      '    http://c.example/',
      'enabled = no',
      'gpgcheck = True',
      'repo_gpgcheck=on',
      'gpgkey=https://k.example/a.asc,https://k.example/b.asc',
      'excludepkgs=kernel* foo,bar',
      'includepkgs=baz',
      'skip_if_unavailable=1',
      'priority=5',
      'cost=2000',
      '',
      '; semicolon comment',
      '[beta]',
      'metalink=https://m.example/metalink?repo=f$releasever&arch=$basearch',
      'exclude=old',
      '[gamma]',
      'mirrorlist=https://m.example/list?arch=$basearch',
      'enabled=1',
      '',
    ].join('\n'),
  });
  const vars = { basearch: 'ppc64le', releasever: '41' };
  const expected = viaDnf(d, { ...vars, arch: 'ppc64le' });
  assert.equal(expected.length, 3);
  assert.deepEqual(ours(d, vars), expected);
});
