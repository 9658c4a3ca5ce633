import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { native } from '../native/index.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpmBuilder, rpmbuildAvailable } from '../rpm/testing/rpmbuild.js';
import { AlreadyExistsError } from '../errors.js';
import { ObjectType } from '../ostree/objects/types.js';
import { PkgCache, cachedFileChecksum } from './pkgcache.js';
import { assembleRoot, FileConflictError } from './assemble.js';
import { composePackage, kitchenSinkSpec } from './pkgfixtures.test-helper.js';
import type { CachedPackage, DevinoCache } from './types.js';

const skip = !rpmbuildAvailable() && 'rpmbuild not installed';

function walkFiles(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const n of readdirSync(join(root, rel))) {
    const p = `${rel}/${n}`;
    const st = lstatSync(join(root, p));
    if (st.isDirectory()) out.push(...walkFiles(root, p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** Everything a later step or the commit can see of a tree: type, mode, content (inode for hardlinks), target, xattrs. */
function snapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const n of readdirSync(join(root, rel)).sort()) {
      const p = `${rel}/${n}`;
      const full = join(root, p);
      const st = lstatSync(full, { bigint: true });
      const xattrs = st.isSymbolicLink() ? '' : native().listXattrs(full).sort().map((x) => `${x}=${native().getXattr(full, x)?.toString('hex')}`).join(',');
      const what = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? `link->${readlinkSync(full)}` : st.nlink > 1n ? `hardlink ino ${st.ino}` : `copy ${createHash('sha256').update(readFileSync(full)).digest('hex')}`;
      out.push(`${p} ${(Number(st.mode) & 0o7777).toString(8)} ${what} ${xattrs}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk('');
  return out;
}

const devinoChecksums = (d: DevinoCache): string[] => [...d].map(([k, v]) => `${k} ${v.checksum}`).sort();

describe('assembleRoot', { skip }, () => {
  let b: RpmBuilder;
  let work: string;
  let cache: PkgCache;
  let kitchen: CachedPackage;
  let other: CachedPackage;
  const extra = new Map<string, CachedPackage>();
  before(async () => {
    b = new RpmBuilder();
    work = mkdtempSync(join(tmpdir(), 'coreforge-assemble-'));
    cache = await PkgCache.open(join(work, 'pkgcache'));
    const build = (name: string, install: string, files: string[]) => b.build({ name, install: `mkdir -p %{buildroot}/usr/lib/tp\n${install}`, files });
    const rpms = [
      b.build(kitchenSinkSpec()),
      // ships /usr/lib/tp/h1 with the same content and metadata as tp-kitchen: allowed
      build('tp-other', 'echo hard > %{buildroot}/usr/lib/tp/h1 && echo other > %{buildroot}/usr/lib/tp/other', ['/usr/lib/tp/h1', '/usr/lib/tp/other']),
      build('tp-clash', 'echo different > %{buildroot}/usr/lib/tp/h1', ['/usr/lib/tp/h1']),
      build('tp-filedir', 'echo x > %{buildroot}/usr/lib/tp/odd', ['/usr/lib/tp/odd']),
      build('tp-linkdir', 'ln -s odd %{buildroot}/usr/lib/tp/sgid', ['/usr/lib/tp/sgid']),
      // only implies /usr/lib/tp/odd (0755 in its commit), which tp-kitchen declares 0750
      build('tp-implied', 'mkdir -p %{buildroot}/usr/lib/tp/odd && echo i > %{buildroot}/usr/lib/tp/odd/implied', ['/usr/lib/tp/odd/implied']),
    ];
    const pkgs = await cache.importPackages(await Promise.all(rpms.map(composePackage)), { documentation: true });
    [kitchen, other] = pkgs as [CachedPackage, CachedPackage];
    for (const p of pkgs) extra.set(p.name, p);
  });
  after(() => {
    b.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('hardlinks every package file from the pkgcache and reports them in the devino cache', async () => {
    const dest = join(work, 'root1');
    const { devino } = await assembleRoot(cache, [kitchen, other], dest);
    const files = walkFiles(dest).sort();
    assert.deepEqual(files, [
      '/etc/tp/empty', '/etc/tp/owned', '/etc/tp/shadow', '/etc/tp/tp.conf', '/usr/bin/tp-suid', '/usr/lib/tp/big', '/usr/lib/tp/h1', '/usr/lib/tp/h2', '/usr/lib/tp/other',
      '/usr/share/doc/tp-kitchen/README',
    ]);
    assert.equal(lstatSync(join(dest, 'usr/bin/tp-link')).isSymbolicLink(), true);
    assert.equal(lstatSync(join(dest, 'usr/lib/tp/sgid')).mode & 0o7777, 0o2775);
    assert.equal(lstatSync(join(dest, 'usr/lib/tp/odd')).mode & 0o7777, 0o750);
    const copies = new Set(['/etc/tp/empty', '/etc/tp/shadow']);
    for (const f of files) {
      const st = lstatSync(join(dest, f), { bigint: true });
      const key = `${st.dev}:${st.ino}`;
      const owner = f === '/usr/lib/tp/other' ? other : kitchen;
      const csum = await cachedFileChecksum(cache.repo, owner.commit, f);
      if (copies.has(f)) {
        // empty and unreadable files are copies (as ostree checks them out), with their real permissions
        assert.equal(devino.has(key), false, f);
        continue;
      }
      assert.equal(devino.get(key)?.checksum, csum, f);
      // the object's header rides along, so the final commit need not read the xattr again
      assert.equal(devino.get(key)?.header?.equals((await cache.repo.loadContent(csum!)).header), true, f);
      const obj = lstatSync(cache.repo.objectPath(ObjectType.File, csum!), { bigint: true });
      assert.equal(obj.ino, st.ino, `${f} is a hardlink of its object`);
    }
    assert.equal(lstatSync(join(dest, 'etc/tp/shadow')).mode & 0o7777, 0);
    assert.equal(devino.size, 7);
  });

  it('refuses files two packages ship differently, naming both and the path', async () => {
    // the same whether the packages' trees are read or come flattened from a previous build
    const { plan: flat } = await assembleRoot(cache, [kitchen, other], join(work, 'flat-src'));
    for (const n of ['tp-clash', 'tp-filedir', 'tp-linkdir']) {
      const one = await assembleRoot(cache, [extra.get(n)!], join(work, `flat-${n}`));
      for (const [k, v] of one.plan) flat.set(k, v);
    }
    const cases: Array<[string, string]> = [
      ['tp-clash', '/usr/lib/tp/h1'],
      ['tp-filedir', '/usr/lib/tp/odd'],
      ['tp-linkdir', '/usr/lib/tp/sgid'],
    ];
    for (const [name, path] of cases) {
      const dest = join(work, `conflict-${name}`);
      for (const plan of [new Map(), flat]) await assert.rejects(
        () => assembleRoot(cache, [kitchen, other, extra.get(name)!], dest, { reuse: { root: join(work, 'no-such-root'), devino: new Map(), plan } }),
        (e: unknown) =>
          e instanceof FileConflictError &&
          e.code === 'ECONFLICT' &&
          e.message === `file ${path} from install of ${name}-1.0-1.noarch conflicts with file from package tp-kitchen-1.0-1.noarch` &&
          e.conflicts.length === 1,
      );
      assert.equal(existsSync(dest), false, 'nothing is checked out');
    }
  });

  it('keeps the mode a package declares for a directory another package only implies', async () => {
    const dest = join(work, 'root-implied');
    await assembleRoot(cache, [kitchen, extra.get('tp-implied')!], dest);
    assert.equal(lstatSync(join(dest, 'usr/lib/tp/odd')).mode & 0o7777, 0o750);
    assert.equal(lstatSync(join(dest, 'usr/lib/tp/odd/implied')).isFile(), true);
  });

  it('recycles a previous root into exactly what a fresh assemble gives, whatever that root holds', async () => {
    const setA = [kitchen, other];
    const setB = [kitchen, extra.get('tp-implied')!];
    const fresh = join(work, 'fresh-b');
    const { devino: freshDevino } = await assembleRoot(cache, setB, fresh);
    for (const withIndex of [true, false]) {
      const prev = join(work, `prev-${withIndex}`);
      const { devino: prevDevino, plan: prevPlan } = await assembleRoot(cache, setA, prev);
      assert.deepEqual([...prevPlan.keys()].sort(), setA.map((p) => p.commit).sort());
      // what a finished build leaves: /etc in /usr/etc, plus what scriptlets and postprocess added or replaced
      renameSync(join(prev, 'etc'), join(prev, 'usr/etc'));
      mkdirSync(join(prev, 'usr/share/rpm'), { recursive: true });
      writeFileSync(join(prev, 'usr/share/rpm/rpmdb.sqlite'), 'db');
      unlinkSync(join(prev, 'usr/lib/tp/h2'));
      mkdirSync(join(prev, 'usr/lib/tp/h2')); // a directory where a file is planned
      writeFileSync(join(prev, 'usr/lib/tp/h2/inside'), 'x');
      rmSync(join(prev, 'usr/lib/tp/odd'), { recursive: true });
      writeFileSync(join(prev, 'usr/lib/tp/odd'), 'a file where a directory is planned');
      unlinkSync(join(prev, 'usr/bin/tp-link'));
      symlinkSync('elsewhere', join(prev, 'usr/bin/tp-link'));
      const big = join(prev, 'usr/lib/tp/big');
      copyFileSync(big, `${big}.copy`);
      renameSync(`${big}.copy`, big); // same content, another inode: must be the object's again
      native().setXattr(join(prev, 'usr/lib/tp'), 'user.junk', Buffer.from('1'));
      native().setXattr(join(prev, 'usr/etc/tp/empty'), 'user.junk', Buffer.from('2'));
      writeFileSync(Buffer.from(`${prev}/usr/bad-\xff-name`, 'latin1'), 'not UTF-8');
      assert.equal(spawnSync('mkfifo', [join(prev, 'usr/fifo')]).status, 0);
      mkdirSync(join(prev, 'usr/share/locked/deeper'), { recursive: true });
      writeFileSync(join(prev, 'usr/share/locked/deeper/f'), 'x');
      chmodSync(join(prev, 'usr/share/locked/deeper'), 0o555);
      chmodSync(join(prev, 'usr/share/locked'), 0);
      chmodSync(join(prev, 'usr/lib'), 0o555);

      const dest = join(work, `recycled-${withIndex}`);
      const { devino, recycled } = await assembleRoot(cache, setB, dest, { reuse: { root: prev, devino: withIndex ? prevDevino : new Map(), plan: withIndex ? prevPlan : new Map() } });
      assert.equal(existsSync(prev), false, 'the previous root was taken, not copied');
      assert.deepEqual(snapshot(dest), snapshot(fresh));
      assert.deepEqual(devinoChecksums(devino), devinoChecksums(freshDevino));
      assert.ok(recycled && recycled.keptFiles >= 5 && recycled.keptDirs >= 8 && recycled.removed >= 8, JSON.stringify(recycled));
    }
  });

  it('assembles from scratch when the root to recycle is gone', async () => {
    const dest = join(work, 'no-prev');
    const r = await assembleRoot(cache, [kitchen], dest, { reuse: { root: join(work, 'missing'), devino: new Map() } });
    assert.equal(r.recycled, undefined);
    assert.equal(lstatSync(join(dest, 'usr/lib/tp/big')).isFile(), true);
  });

  it('refuses a non-empty destination', async () => {
    const dest = join(work, 'busy');
    mkdirSync(dest);
    writeFileSync(join(dest, 'leftover'), 'x');
    await assert.rejects(() => assembleRoot(cache, [kitchen], dest), AlreadyExistsError);
  });
});
