import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Variant } from '../gvariant/index.js';
import { InvalidInputError } from '../errors.js';
import { diffPackages, formatPkgDiff, parseNevra, pkgdiffFromJson, pkgdiffJson, pkgdiffSummary, pkglistFromCommitMeta, type PkgNevra } from './pkgdiff.js';

const p = (s: string): PkgNevra => parseNevra(s);

describe('pkgdiff', () => {
  it('reproduces the pkgdiff of cosa fixtures/fcos.json (31.20200310.20.0)', () => {
    const from = [p('podman-2:1.8.1-0.7.rc4.fc31.x86_64'), p('podman-plugins-2:1.8.1-0.7.rc4.fc31.x86_64'), p('bash-5.0.11-1.fc31.x86_64')];
    const to = [p('podman-plugins-2:1.8.1-2.fc31.x86_64'), p('bash-5.0.11-1.fc31.x86_64'), p('podman-2:1.8.1-2.fc31.x86_64')];
    // verbatim from coreos-assembler fixtures/fcos.json
    const want = [
      ['podman', 2, { PreviousPackage: ['podman', '2:1.8.1-0.7.rc4.fc31', 'x86_64'], NewPackage: ['podman', '2:1.8.1-2.fc31', 'x86_64'] }],
      ['podman-plugins', 2, { PreviousPackage: ['podman-plugins', '2:1.8.1-0.7.rc4.fc31', 'x86_64'], NewPackage: ['podman-plugins', '2:1.8.1-2.fc31', 'x86_64'] }],
    ];
    assert.deepEqual(pkgdiffJson(diffPackages(from, to)), want);
    assert.equal(JSON.stringify(pkgdiffJson(diffPackages(from, to))), JSON.stringify(want));
  });

  it('classifies added, removed, upgraded, downgraded; sorts by type then name', () => {
    const from = [p('zlib-1.3-1.fc40.x86_64'), p('kernel-6.8.1-300.fc40.x86_64'), p('gone-1-1.noarch'), p('curl-8.6.0-7.fc40.x86_64'), p('tilde-1.0-1.x86_64')];
    const to = [p('zlib-1.2-9.fc40.x86_64'), p('kernel-6.8.11-300.fc40.x86_64'), p('new-2-1.noarch'), p('aaa-1-1.noarch'), p('curl-8.6.0-7.fc40.x86_64'), p('tilde-1.0~rc1-1.x86_64')];
    const d = diffPackages(from, to);
    assert.deepEqual(pkgdiffJson(d).map(([n, t]) => [n, t]), [['aaa', 0], ['new', 0], ['gone', 1], ['kernel', 2], ['tilde', 3], ['zlib', 3]]);
    assert.equal(pkgdiffSummary(d), '1 upgraded, 2 downgraded, 1 removed, 2 added');
    assert.equal(
      formatPkgDiff(d),
      'Upgraded:\n  kernel 6.8.1-300.fc40 -> 6.8.11-300.fc40\nDowngraded:\n  tilde 1.0-1 -> 1.0~rc1-1\n  zlib 1.3-1.fc40 -> 1.2-9.fc40\nRemoved:\n  gone-1-1.noarch\nAdded:\n  aaa-1-1.noarch\n  new-2-1.noarch\n',
    );
    assert.equal(formatPkgDiff(diffPackages(from, from)), '');
    assert.equal(pkgdiffSummary(diffPackages(from, from)), '');
  });

  it('treats a single package changing arch as modified, multilib changes as add/remove', () => {
    const d = diffPackages([p('foo-1-1.i686')], [p('foo-1-1.x86_64')]);
    assert.deepEqual(pkgdiffJson(d), [['foo', 2, { PreviousPackage: ['foo', '1-1', 'i686'], NewPackage: ['foo', '1-1', 'x86_64'] }]]);
    const m = diffPackages([p('glibc-2-1.i686'), p('glibc-2-1.x86_64')], [p('glibc-2-1.x86_64')]);
    assert.deepEqual(pkgdiffJson(m), [['glibc', 1, { PreviousPackage: ['glibc', '2-1', 'i686'] }]]);
    const m2 = diffPackages([p('glibc-2-1.x86_64')], [p('glibc-2-1.i686'), p('glibc-3-1.x86_64')]);
    assert.deepEqual(pkgdiffJson(m2).map(([n, t, x]) => [n, t, x.NewPackage?.[2]]), [['glibc', 0, 'i686'], ['glibc', 2, 'x86_64']]);
  });

  it('reads rpmostree.rpmdb.pkglist and round-trips meta.json entries', () => {
    const meta: Array<[string, Variant]> = [['rpmostree.rpmdb.pkglist', new Variant('a(sssss)', [['a', '0', '1', '1', 'noarch'], ['b', '3', '2', '1', 'x86_64']])]];
    const l = pkglistFromCommitMeta(meta)!;
    assert.deepEqual(l.map((x) => x.name), ['a', 'b']);
    assert.equal(pkglistFromCommitMeta([]), null);
    assert.throws(() => pkglistFromCommitMeta([['rpmostree.rpmdb.pkglist', new Variant('as', [])]]), InvalidInputError);
    const d = diffPackages(l, [p('b-3:2-2.x86_64'), p('c-1-1.noarch')]);
    const j = pkgdiffJson(d);
    assert.deepEqual(pkgdiffJson(pkgdiffFromJson(JSON.parse(JSON.stringify(j)))), j);
    assert.throws(() => pkgdiffFromJson([['x', 9, {}]]), InvalidInputError);
    assert.throws(() => pkgdiffFromJson({}), InvalidInputError);
  });

  it('parses NEVRAs and rejects junk', () => {
    assert.deepEqual(p('NetworkManager-1:1.46.0-1.fc40.x86_64'), { name: 'NetworkManager', epoch: '1', version: '1.46.0', release: '1.fc40', arch: 'x86_64' });
    assert.deepEqual(p('python3-dnf-plugin-x-4.0-2.noarch'), { name: 'python3-dnf-plugin-x', epoch: '0', version: '4.0', release: '2', arch: 'noarch' });
    for (const bad of ['foo', 'foo-1.x86_64', 'foo-x:1-1.noarch', '-1-1.noarch']) assert.throws(() => parseNevra(bad), InvalidInputError, bad);
  });
});
