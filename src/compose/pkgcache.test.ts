import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { RpmBuilder, rpmbuildAvailable, rpmQuery } from '../rpm/testing/rpmbuild.js';
import { RpmDigestError, RpmFormatError, RpmUnsafePathError, readRpmHeaders, newcEntry, newcTrailer } from '../rpm/file/index.js';
import { CoreforgeError } from '../errors.js';
import { dictGet } from '../gvariant/index.js';
import { PkgCache, cacheBranch, cacheBranchToNevra, cachedFileChecksum } from './pkgcache.js';
import { Repo } from '../ostree/repo/repo.js';
import { ContentHasher, decodeArchiveObject } from '../ostree/objects/content.js';
import { composePackage, kitchenSinkSpec, ostree, ostreeLs, rpmDump } from './pkgfixtures.test-helper.js';

const skip = !rpmbuildAvailable() && 'rpmbuild not installed';

function countObjects(repo: string): number {
  let n = 0;
  for (const d of readdirSync(join(repo, 'objects'))) n += readdirSync(join(repo, 'objects', d)).length;
  return n;
}

describe('cacheBranch (rpm-ostree ref escaping)', () => {
  it('matches rpm-ostree for its own test vectors and round-trips', () => {
    const cases: Array<[string, string, string, string, string]> = [
      // name, evr, arch, ref, nevra as rpm-ostree's cache_branch_to_nevra gives it back
      ['foo', '1.0-1', 'x86_64', 'rpmostree/pkg/foo/1.0-1.x86__64', 'foo-1.0-1.x86_64'],
      ['git', '1.8.3.1-6.el7_2.1', 'x86_64', 'rpmostree/pkg/git/1.8.3.1-6.el7__2.1.x86__64', 'git-1.8.3.1-6.el7_2.1.x86_64'],
      ['perl', '4:5.16.3-291.el7', 'x86_64', 'rpmostree/pkg/perl/4_3A5.16.3-291.el7.x86__64', 'perl-4:5.16.3-291.el7.x86_64'],
      ['perl-Carp', '1.26-244.el7', 'noarch', 'rpmostree/pkg/perl-Carp/1.26-244.el7.noarch', 'perl-Carp-1.26-244.el7.noarch'],
      ['libstdc++', '13.2.1-4.fc39', 'x86_64', 'rpmostree/pkg/libstdc_2B_2B/13.2.1-4.fc39.x86__64', 'libstdc++-13.2.1-4.fc39.x86_64'],
      ['vim-enhanced', '2:9.0~beta-1', 'x86_64', 'rpmostree/pkg/vim-enhanced/2_3A9.0_7Ebeta-1.x86__64', 'vim-enhanced-2:9.0~beta-1.x86_64'],
    ];
    for (const [n, evr, a, ref, nevra] of cases) {
      assert.equal(cacheBranch(n, evr, a), ref);
      assert.equal(cacheBranchToNevra(ref), nevra);
    }
    // libdnf spells an explicit epoch 0 without it; so does the ref
    assert.equal(cacheBranch('bash', '0:5.2-1', 'x86_64'), 'rpmostree/pkg/bash/5.2-1.x86__64');
  });
});

describe('PkgCache', { skip }, () => {
  let b: RpmBuilder;
  let work: string;
  let rpm: string;
  before(() => {
    b = new RpmBuilder();
    work = mkdtempSync(join(tmpdir(), 'coreforge-pkgcache-'));
    rpm = b.build(kitchenSinkSpec());
  });
  after(() => {
    b.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('prefill: every new regular-file object also goes whole into the archive repository, which the real ostree fscks', async () => {
    const dir = join(work, 'c-prefill');
    const cache = await PkgCache.open(dir);
    const archive = await Repo.create(join(work, 'archive-prefill'), 'archive');
    const prefill = { objectsDir: join(archive.path, 'objects'), tmpDir: join(archive.path, 'tmp'), level: 6 };
    const pkg = await composePackage(rpm);
    const [cached] = await cache.importPackages([pkg], { documentation: true, prefill });
    // the regular files of the package commit (symlinks are not prefilled: they have no content to compress)
    const want = new Set<string>();
    const walk = async (tree: string): Promise<void> => {
      const dt = await cache.repo.loadDirTree(tree);
      for (const f of dt.files) if (!(await cache.repo.loadContent(f.checksum)).header.isSymlink) want.add(f.checksum);
      for (const d of dt.dirs) await walk(d.treeChecksum);
    };
    await walk((await cache.repo.loadCommit(cached!.commit)).rootTree);
    assert.ok(want.size > 3);
    const objects = () => readdirSync(prefill.objectsDir).flatMap((d) => readdirSync(join(prefill.objectsDir, d)).map((f) => [d, f] as const));
    const got = new Set<string>();
    for (const [d, f] of objects()) {
      assert.match(f, /^[0-9a-f]{62}\.filez$/, `only objects: ${f}`);
      const csum = d + f.slice(0, 62);
      const { header, data } = decodeArchiveObject(readFileSync(join(prefill.objectsDir, d, f)), f);
      const h = new ContentHasher(header);
      h.update(data);
      assert.equal(h.digest(), csum, `${f} decodes to its own checksum`);
      got.add(csum);
    }
    assert.deepEqual([...got].sort(), [...want].sort());
    assert.deepEqual(readdirSync(prefill.tmpDir).filter((f) => f.startsWith('prefill-')), [], 'no temporary files left');
    const fsck = spawnSync('ostree', ['fsck', `--repo=${archive.path}`], { encoding: 'utf8' });
    assert.equal(fsck.status, 0, fsck.stderr);

    // objects the archive repository already has are not written again (a fresh cache: all objects are new to it)
    const one = [...want][0]!;
    const placeholder = join(prefill.objectsDir, one.slice(0, 2), `${one.slice(2)}.filez`);
    for (const [d, f] of objects()) rmSync(join(prefill.objectsDir, d, f));
    writeFileSync(placeholder, 'placeholder');
    const cache2 = await PkgCache.open(join(work, 'c-prefill2'));
    await cache2.importPackages([pkg], { documentation: true, prefill });
    assert.equal(readFileSync(placeholder, 'utf8'), 'placeholder');
    assert.equal(objects().length, want.size);
  });

  it('imports a package as rpm-ostree does: root-owned, header modes, symlinks, hardlinks, no ghosts', async () => {
    const dir = join(work, 'c1');
    const cache = await PkgCache.open(dir);
    const pkg = await composePackage(rpm);
    const [cached] = await cache.importPackages([pkg], { documentation: true });
    assert.ok(cached);
    assert.equal(ostree(dir, 'rev-parse', 'rpmostree/pkg/tp-kitchen/1.0-1.noarch').trim(), cached.commit);
    assert.match(readFileSync(join(dir, 'config'), 'utf8'), /mode=bare-user/);
    assert.match(ostree(dir, 'fsck'), /no errors found/);

    const ls = ostreeLs(dir, cached.commit);
    const dump = rpmDump(rpm);
    const declared = new Set<string>();
    for (const d of dump) {
      declared.add(d.path);
      const e = ls.get(d.path);
      if (d.ghost) {
        assert.equal(e, undefined, `${d.path} is %ghost`);
        continue;
      }
      assert.ok(e, `${d.path} missing`);
      assert.equal(e.uid, 0, d.path);
      assert.equal(e.gid, 0, d.path);
      assert.equal(e.mode, d.mode & 0o7777, `${d.path} mode`);
      const type = { 0o100000: '-', 0o040000: 'd', 0o120000: 'l' }[d.mode & 0o170000];
      assert.equal(e.type, type, d.path);
      if (e.type === 'l') assert.equal(e.target, d.link);
      if (e.type === '-') assert.equal(e.size, d.size, d.path);
    }
    // everything else is an implied parent: root-owned 0755 directories
    for (const [p, e] of ls) if (!declared.has(p)) assert.deepEqual([p, e.type, e.mode], [p, 'd', 0o755]);
    // the special cases really were there
    assert.equal(ls.get('/usr/bin/tp-suid')?.mode, 0o4755);
    assert.equal(ls.get('/usr/lib/tp/sgid')?.mode, 0o2775);
    assert.equal(ls.get('/etc/tp/shadow')?.mode, 0);
    assert.equal(ls.get('/etc/tp/owned')?.uid, 0);
    assert.equal(ls.has('/var/log/tp.log'), false);
    assert.equal(await cachedFileChecksum(cache.repo, cached.commit, '/usr/lib/tp/h1'), await cachedFileChecksum(cache.repo, cached.commit, '/usr/lib/tp/h2'));
    assert.equal(ostree(dir, 'cat', cached.commit, '/usr/lib/tp/big').length, 1500000);

    // the commit records the header digest (rpm's SHA256HEADER) and the NEVRA
    const commit = await cache.repo.loadCommit(cached.commit);
    assert.equal(dictGet(commit.metadata, 'coreforge.pkgcache.header-sha256')?.value, rpmQuery(rpm, '%{SHA256HEADER}'));
    assert.equal((dictGet(commit.metadata, 'rpmostree.nevra')?.value as unknown[])[0], 'tp-kitchen-1.0-1.noarch');
  });

  it('drops %doc files without documentation; a second import is a cache hit', async () => {
    const dir = join(work, 'c2');
    const cache = await PkgCache.open(dir);
    const pkg = await composePackage(rpm);
    const [nodocs] = await cache.importPackages([pkg], { documentation: false });
    const ls = ostreeLs(dir, nodocs!.commit);
    assert.equal(ls.has('/usr/share/doc/tp-kitchen/README'), false);
    assert.equal(ls.has('/usr/share/doc/tp-kitchen'), false);
    assert.ok(ls.has('/usr/bin/tp-suid'));

    const before = countObjects(dir);
    const t0 = performance.now();
    const [again] = await cache.importPackages([pkg], { documentation: false });
    const hitMs = performance.now() - t0;
    assert.equal(again!.commit, nodocs!.commit);
    assert.deepEqual(cache.lastStats, { cached: 1, imported: 0, objectsWritten: 0, bytesWritten: 0 });
    assert.equal(countObjects(dir), before);
    assert.ok(hitMs < 1000, `cache hit took ${hitMs} ms`);

    // other options are another import (same ref, re-imported with the docs)
    const [docs] = await cache.importPackages([pkg], { documentation: true });
    assert.notEqual(docs!.commit, nodocs!.commit);
    assert.equal(cache.lastStats.imported, 1);
    assert.ok(ostreeLs(dir, docs!.commit).has('/usr/share/doc/tp-kitchen/README'));
  });

  it('re-imports a package that changed under the same NEVRA', async () => {
    const dir = join(work, 'c3');
    const cache = await PkgCache.open(dir);
    const [first] = await cache.importPackages([await composePackage(rpm)], { documentation: true });
    const b2 = new RpmBuilder();
    try {
      const changed = b2.build(kitchenSinkSpec({ payloadBytes: 'changed' }));
      const pkg2 = await composePackage(changed);
      assert.equal(pkg2.nevra, 'tp-kitchen-1.0-1.noarch');
      const [second] = await cache.importPackages([pkg2], { documentation: true });
      assert.notEqual(second!.commit, first!.commit);
      assert.equal(cache.lastStats.imported, 1);
      assert.equal(ostree(dir, 'rev-parse', cacheBranch('tp-kitchen', '1.0-1', 'noarch')).trim(), second!.commit);
      assert.match(ostree(dir, 'cat', second!.commit, '/usr/bin/tp-suid'), /changed/);
    } finally {
      b2.dispose();
    }
  });

  it('refuses a corrupt payload with a typed error naming the package, and sets no ref', async () => {
    const dir = join(work, 'c4');
    const cache = await PkgCache.open(dir);
    const bytes = readFileSync(rpm);
    const { layout } = await readRpmHeaders(rpm);
    const bad = Buffer.from(bytes);
    const at = layout.payloadStart + Math.floor((bad.length - layout.payloadStart) / 2);
    for (let i = 0; i < 16; i++) bad[at + i]! ^= 0xff;
    const badPath = join(work, 'tp-kitchen-corrupt.rpm');
    writeFileSync(badPath, bad);
    const pkg = { ...(await composePackage(rpm)), rpmPath: badPath };
    await assert.rejects(
      () => cache.importPackages([pkg], { documentation: true }),
      (e: unknown) => (e instanceof RpmDigestError || e instanceof RpmFormatError) && (e as CoreforgeError).code === 'ECORRUPT' && (e as Error).message.startsWith('tp-kitchen-1.0-1.noarch: '),
    );
    assert.equal(ostree(dir, 'refs').trim(), '');
    assert.match(ostree(dir, 'fsck'), /no errors found/);
  });

  it('refuses ../ paths in the payload; other packages of the batch are still cached', async () => {
    const dir = join(work, 'c5');
    const cache = await PkgCache.open(dir);
    const plain = b.build(kitchenSinkSpec({ name: 'tp-evil', payload: 'w0.ufdio' }));
    const good = b.build({ name: 'tp-good', install: 'mkdir -p %{buildroot}/usr/share/good && echo ok > %{buildroot}/usr/share/good/ok', files: ['/usr/share/good'] });
    // keep the real entries, then smuggle a traversal in before the trailer
    const bytes = readFileSync(plain);
    const trailer = bytes.lastIndexOf(Buffer.from('TRAILER!!!'));
    const evil = Buffer.concat([bytes.subarray(0, trailer - 110), newcEntry('./../../etc/passwd', 0o100644, 'root::0:0:'), newcTrailer()]);
    const evilPath = join(work, 'tp-evil.rpm');
    writeFileSync(evilPath, evil);
    const pkgs = [{ ...(await composePackage(plain)), rpmPath: evilPath }, await composePackage(good)];
    await assert.rejects(
      () => cache.importPackages(pkgs, { documentation: true }),
      (e: unknown) => e instanceof RpmUnsafePathError && e.code === 'EPATH' && /^tp-evil-1\.0-1\.noarch: "\.\/\.\.\/\.\.\/etc\/passwd"/.test(e.message),
    );
    assert.equal(ostree(dir, 'refs').trim(), 'rpmostree/pkg/tp-good/1.0-1.noarch');
    assert.match(ostree(dir, 'fsck'), /no errors found/);
  });

  it('imports many packages in parallel into one transaction', async () => {
    const dir = join(work, 'c6');
    const cache = await PkgCache.open(dir);
    const pkgs = [];
    for (let i = 0; i < 6; i++) {
      pkgs.push(
        await composePackage(
          b.build({
            name: `tp-many${i}`,
            install: `mkdir -p %{buildroot}/usr/share/many${i} && for j in $(seq 1 50); do echo "$j ${i}" > %{buildroot}/usr/share/many${i}/f$j; echo same > %{buildroot}/usr/share/many${i}/s$j; done`,
            files: [`/usr/share/many${i}`],
          }),
        ),
      );
    }
    const progress: number[] = [];
    const out = await cache.importPackages(pkgs, { documentation: true, onProgress: (p) => progress.push(p.done!) });
    assert.equal(out.length, 6);
    assert.deepEqual(progress, [1, 2, 3, 4, 5, 6]);
    // 300 distinct files + one shared "same" object
    assert.equal(cache.lastStats.objectsWritten, 301);
    for (const p of out) assert.equal(ostree(dir, 'rev-parse', cacheBranch(p.name, p.evr, p.arch)).trim(), p.commit);
    assert.match(ostree(dir, 'fsck'), /no errors found/);
  });
});
