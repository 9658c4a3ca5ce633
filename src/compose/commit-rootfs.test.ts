import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, openSync, rmSync, symlinkSync, writeFileSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpmBuilder, rpmbuildAvailable } from '../rpm/testing/rpmbuild.js';
import { CorruptionError } from '../errors.js';
import { V } from '../gvariant/index.js';
import { native } from '../native/index.js';
import { Repo } from '../ostree/repo/repo.js';
import { makeXattrs } from '../ostree/objects/xattrs.js';
import type { CommitCounters } from '../ostree/commit/write-dir.js';
import { PkgCache } from './pkgcache.js';
import { assembleRoot } from './assemble.js';
import { ObjectType } from '../ostree/objects/types.js';
import { objectKey, traverseCommit } from '../ostree/traverse.js';
import { commitRootfs } from './commit-rootfs.js';
import { composePackage, kitchenSinkSpec, ostree, ostreeLs } from './pkgfixtures.test-helper.js';
import type { DevinoCache, FileMetaMap } from './types.js';

const skip = !rpmbuildAvailable() && 'rpmbuild not installed';
const isRoot = process.getuid?.() === 0;
const TS = 1622505600; // 2021-06-01T00:00:00Z

/** A plain tree with odd modes and a non-root owner on disk. */
function makeTree(dir: string): void {
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  mkdirSync(join(dir, 'var/odd'), { recursive: true });
  writeFileSync(join(dir, 'usr/bin/suid'), '#!/bin/sh\n');
  chmodSync(join(dir, 'usr/bin/suid'), 0o4755);
  writeFileSync(join(dir, 'usr/bin/data'), Buffer.alloc(300000, 7));
  writeFileSync(join(dir, 'usr/bin/empty'), '');
  symlinkSync('suid', join(dir, 'usr/bin/link'));
  chmodSync(join(dir, 'var/odd'), 0o2750);
  writeFileSync(join(dir, 'var/odd/private'), 'p');
  chmodSync(join(dir, 'var/odd/private'), 0o600);
  if (isRoot) chownSync(join(dir, 'var/odd/private'), 1234, 4321);
}

describe('commitRootfs', { skip }, () => {
  let work: string;
  let b: RpmBuilder;
  before(() => {
    work = mkdtempSync(join(tmpdir(), 'coreforge-commit-rootfs-'));
    b = new RpmBuilder();
  });
  after(() => {
    b.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('gives the same commit as `ostree commit --owner-uid=0 --owner-gid=0 --no-bindings`, in archive and bare-user repos', async () => {
    const tree = join(work, 'plain');
    makeTree(tree);
    const theirs = join(work, 'theirs');
    ostree(theirs, 'init', '--mode=archive');
    const expected = ostree(theirs, 'commit', '-b', 'os', `--tree=dir=${tree}`, '--owner-uid=0', '--owner-gid=0', '--no-bindings', '-s', 'subject', '--add-metadata-string=version=42.1', '--timestamp=2021-06-01T00:00:00Z').trim();
    for (const mode of ['archive', 'bare-user'] as const) {
      const path = join(work, `ours-${mode}`);
      const repo = await Repo.create(path, mode);
      const c = await commitRootfs(repo, tree, { devino: new Map(), meta: new Map(), branch: 'os', subject: 'subject', metadata: [['version', V.s('42.1')]], timestamp: TS });
      assert.equal(c, expected, mode);
      assert.equal(ostree(path, 'rev-parse', 'os').trim(), expected);
      assert.match(ostree(path, 'fsck'), /no errors found/);
    }
  });

  it('never commits user.ostreemeta or overlay xattrs; keeps the others', async () => {
    const tree = join(work, 'xattrs');
    makeTree(tree);
    const clean = join(work, 'xattrs-clean');
    makeTree(clean);
    const n = native();
    for (const t of [tree, clean]) n.setXattr(join(t, 'usr/bin/data'), 'user.keep', Buffer.from('yes'));
    n.setXattr(join(tree, 'usr/bin/data'), 'user.ostreemeta', Buffer.from('not a header'));
    n.setXattr(join(tree, 'usr/bin/data'), 'user.overlay.origin', Buffer.from('x'));
    n.setXattr(join(tree, 'var/odd'), 'user.overlay.opaque', Buffer.from('y'));
    if (isRoot) n.setXattr(join(tree, 'var/odd'), 'trusted.overlay.opaque', Buffer.from('y'));
    const theirs = join(work, 'theirs-x');
    ostree(theirs, 'init', '--mode=archive');
    const expected = ostree(theirs, 'commit', '-b', 'os', `--tree=dir=${clean}`, '--owner-uid=0', '--owner-gid=0', '--no-bindings', '--timestamp=2021-06-01T00:00:00Z').trim();
    const repo = await Repo.create(join(work, 'ours-x'), 'archive');
    assert.equal(await commitRootfs(repo, tree, { devino: new Map(), meta: new Map(), metadata: [], timestamp: TS }), expected);
  });

  describe('after assembleRoot', () => {
    let cache: PkgCache;
    let root: string;
    let devino: DevinoCache;
    const meta: FileMetaMap = new Map([
      ['/etc/tp/owned', { uid: 2, gid: 1 }],
      ['/usr/lib/tp/sgid', { gid: 2 }],
      // what step 7 derives from an RPM header's file caps (cap_net_raw=ep)
      ['/usr/bin/tp-suid', { xattrs: makeXattrs({ 'security.capability': Buffer.from('0100000200200000000000000000000000000000', 'hex') }) }],
    ]);
    before(async () => {
      cache = await PkgCache.open(join(work, 'pkgcache'));
      const rpm = b.build(kitchenSinkSpec());
      const pkgs = await cache.importPackages([await composePackage(rpm)], { documentation: true });
      root = join(work, 'root');
      ({ devino } = await assembleRoot(cache, pkgs, root));
    });

    it('commits header modes, overrides and no storage xattrs; fsck by ostree', async () => {
      for (const mode of ['archive', 'bare-user'] as const) {
        const path = join(work, `build-${mode}`);
        const repo = await Repo.create(path, mode);
        const counters: CommitCounters = { filesHashed: 0, devinoReused: 0 };
        const objects = new Set<string>();
        const c = await commitRootfs(repo, root, { devino, meta, branch: 'fedora/x86_64/coreos', metadata: [['version', V.s('1')]], timestamp: TS, counters, objects });
        assert.match(ostree(path, 'fsck'), /no errors found/);
        // what the commit reaches, as the walk collected it: exactly what a traversal of the commit finds
        const walked = new Set<string>();
        for await (const o of traverseCommit(repo, c)) if (o.type !== ObjectType.Commit) walked.add(objectKey(o.type, o.checksum));
        assert.deepEqual([...objects].sort(), [...walked].sort());
        const ls = ostreeLs(path, c);
        const want: Record<string, [string, number, number, number]> = {
          '/usr/bin/tp-suid': ['-', 0o4755, 0, 0],
          '/usr/bin/tp-link': ['l', 0o777, 0, 0],
          '/usr/lib/tp/h1': ['-', 0o644, 0, 0],
          '/usr/lib/tp/sgid': ['d', 0o2775, 0, 2],
          '/usr/lib/tp/odd': ['d', 0o750, 0, 0],
          '/etc/tp/owned': ['-', 0o640, 2, 1],
          '/etc/tp/shadow': ['-', 0o000, 0, 0],
          '/etc/tp/empty': ['-', 0o644, 0, 0],
        };
        for (const [p, [type, m, uid, gid]] of Object.entries(want)) {
          const e = ls.get(p);
          assert.deepEqual(e && [e.type, e.mode, e.uid, e.gid], [type, m, uid, gid], `${mode} ${p}`);
        }
        const x = ostree(path, 'ls', '-X', c, '/usr/bin/tp-suid', '/usr/lib/tp/h1');
        assert.match(x, /security\.capability/);
        assert.doesNotMatch(x, /ostreemeta|overlay/);
        // the hardlinked files without overrides came from the devino cache (read only to store the objects this repo lacked)
        assert.equal(counters.devinoReused, 5);
      }
    });

    it('does not read files found in the devino cache', async () => {
      const repo = await Repo.create(join(work, 'build-devino'), 'archive');
      const first = await commitRootfs(repo, root, { devino, meta, metadata: [], timestamp: TS });
      // write THROUGH a hardlink (what later steps must never do): same size, other bytes
      const fd = openSync(join(root, 'usr/lib/tp/big'), 'r+');
      writeSync(fd, Buffer.from('y'), 0, 1, 0);
      closeSync(fd);
      const counters: CommitCounters = { filesHashed: 0, devinoReused: 0 };
      const again = await commitRootfs(repo, root, { devino, meta, metadata: [], timestamp: TS, counters });
      assert.equal(again, first, 'the changed bytes were never read');
      // only the files not hardlinked from the cache, or with changed metadata, were read
      assert.deepEqual(counters, { filesHashed: 4, devinoReused: 5 });
      const without = await commitRootfs(repo, root, { devino: new Map(), meta, metadata: [], timestamp: TS });
      assert.notEqual(without, first);
      // a repository that lacks the object gets it from the file, checked against the cached checksum
      const fresh = await Repo.create(join(work, 'build-fresh'), 'archive');
      await assert.rejects(() => commitRootfs(fresh, root, { devino, meta, metadata: [], timestamp: TS }), (e: unknown) => e instanceof CorruptionError && /usr\/lib\/tp\/big: content differs from object/.test(e.message));
      assert.equal(ostree(join(work, 'build-fresh'), 'refs').trim(), '');
    });
  });
});
