/**
 * Sysroot management both ways with the real ostree: what coreforge's
 * `ostree admin` writes the real one reads and upgrades, and coreforge
 * upgrades, switches and undeploys sysroots the real one made.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CF, ok } from '../util/exec.js';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RepoServer } from '../../src/server/static-repo.js';

const ENV = { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' };

const real = (...a: string[]) => ok('ostree', a, ENV);
const ours = (...a: string[]) => ok(CF, ['ostree', ...a], ENV);

let work: string;
function tree(dir: string, version: string): string {
  mkdirSync(join(dir, 'usr/lib/modules/6.1.0'), { recursive: true });
  writeFileSync(join(dir, 'usr/lib/modules/6.1.0/vmlinuz'), `kernel ${version.startsWith('3') ? 'new' : 'old'}\n`);
  writeFileSync(join(dir, 'usr/lib/modules/6.1.0/initramfs.img'), 'initramfs\n');
  mkdirSync(join(dir, 'usr/etc/sub'), { recursive: true });
  writeFileSync(join(dir, 'usr/etc/os-release'), `NAME=Test\nID=testos\nPRETTY_NAME="Test OS"\n`);
  writeFileSync(join(dir, 'usr/etc/a.conf'), `a ${version}\n`);
  writeFileSync(join(dir, 'usr/etc/b.conf'), 'b\n');
  writeFileSync(join(dir, 'usr/etc/sub/c.conf'), 'c\n');
  return dir;
}

before(() => {
  work = mkdtempSync(join(tmpdir(), 'cf-admin-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

const commit = (tool: typeof real, sys: string, version: string) => tool(`--repo=${join(sys, 'ostree/repo')}`, 'commit', '-b', 'testos/stable', `--tree=dir=${tree(join(work, `t-${version}`), version)}`, `--add-metadata-string=version=${version}`);

for (const [writer, reader] of [['coreforge', 'ostree'], ['ostree', 'coreforge']] as const) {
  test(`${writer} deploys, ${reader} reads status and upgrades; /etc edits survive`, async () => {
    const w = writer === 'coreforge' ? ours : real;
    const r = reader === 'coreforge' ? ours : real;
    const sys = join(work, `sys-${writer}`);
    mkdirSync(sys);
    await w('admin', 'init-fs', sys);
    await w('admin', 'os-init', `--sysroot=${sys}`, 'testos');
    const c1 = (await commit(w, sys, '1.0')).trim();
    await w('admin', 'deploy', `--sysroot=${sys}`, '--os=testos', '--karg=root=LABEL=root', '--karg=quiet', 'testos/stable');
    assert.equal(await ours('admin', 'status', `--sysroot=${sys}`), await real('admin', 'status', `--sysroot=${sys}`));
    assert.match(await r('admin', 'status', `--sysroot=${sys}`), new RegExp(`testos ${c1}\\.0`));
    const etc = join(sys, 'ostree/deploy/testos/deploy', `${c1}.0`, 'etc');
    writeFileSync(join(etc, 'a.conf'), 'edited\n');
    rmSync(join(etc, 'b.conf'));
    writeFileSync(join(etc, 'added.conf'), 'added\n');
    const c2 = (await commit(w, sys, '2.0')).trim();
    await r('admin', 'upgrade', `--sysroot=${sys}`, '--os=testos');
    for (const tool of [ours, real]) {
      const st = await tool('admin', 'status', `--sysroot=${sys}`);
      assert.match(st, new RegExp(`testos ${c2}\\.0[\\s\\S]*Version: 2\\.0[\\s\\S]*testos ${c1}\\.0`));
    }
    const etc2 = join(sys, 'ostree/deploy/testos/deploy', `${c2}.0`, 'etc');
    assert.equal(readFileSync(join(etc2, 'a.conf'), 'utf8'), 'edited\n');
    assert.deepEqual(readdirSync(etc2).sort(), ['a.conf', 'added.conf', 'os-release', 'sub']);
    const entries = join(sys, 'boot/loader/entries');
    const text = readdirSync(entries).sort().map((f) => readFileSync(join(entries, f), 'utf8')).join('---\n');
    assert.match(text, /options root=LABEL=root quiet ostree=\/ostree\/boot\.[01]\/testos\/[0-9a-f]{64}\/0/);
    assert.match(await real(`--repo=${join(sys, 'ostree/repo')}`, 'fsck'), /no errors found/);
    // undeploy the rollback with coreforge; the real ostree sees one deployment left
    await ours('admin', 'undeploy', `--sysroot=${sys}`, '1');
    const st = await real('admin', 'status', `--sysroot=${sys}`);
    assert.doesNotMatch(st, new RegExp(`${c1}\\.0`));
    assert.match(st, new RegExp(`${c2}\\.0`));
  });
}

test('coreforge admin upgrade and switch pull over HTTP from a served repository', async () => {
  const pub = join(work, 'pub');
  await ours(`--repo=${pub}`, 'init', '--mode=archive');
  await ours(`--repo=${pub}`, 'commit', '-b', 'my/stable', `--tree=dir=${tree(join(work, 'p1'), '1')}`, '--add-metadata-string=version=1');
  await ours(`--repo=${pub}`, 'commit', '-b', 'my/next', `--tree=dir=${tree(join(work, 'n1'), '3-next')}`, '--add-metadata-string=version=3-next');
  await ours(`--repo=${pub}`, 'summary', '-u');
  const server = new RepoServer({ repos: [{ path: pub }] });
  const { url } = await server.start();
  try {
    const sys = join(work, 'sys-http');
    mkdirSync(sys);
    await ours('admin', 'init-fs', sys);
    await ours('admin', 'os-init', `--sysroot=${sys}`, 'testos');
    await ours(`--repo=${join(sys, 'ostree/repo')}`, 'remote', 'add', '--no-gpg-verify', 'my', url);
    await ours(`--repo=${join(sys, 'ostree/repo')}`, 'pull', 'my', 'my/stable');
    await ours('admin', 'deploy', `--sysroot=${sys}`, '--os=testos', 'my:my/stable');
    assert.match(await ours('admin', 'upgrade', `--sysroot=${sys}`, '--os=testos'), /No update available/);
    await ours(`--repo=${pub}`, 'commit', '-b', 'my/stable', `--tree=dir=${tree(join(work, 'p2'), '2')}`, '--add-metadata-string=version=2');
    await ours(`--repo=${pub}`, 'summary', '-u');
    await ours('admin', 'upgrade', `--sysroot=${sys}`, '--os=testos');
    assert.match(await real('admin', 'status', `--sysroot=${sys}`), /Version: 2\n/);
    await ours('admin', 'switch', `--sysroot=${sys}`, '--os=testos', 'my/next');
    const st = await real('admin', 'status', `--sysroot=${sys}`);
    assert.match(st, /Version: 3-next[\s\S]*origin refspec: my:my\/next/);
    assert.equal(readdirSync(join(sys, 'boot/ostree')).length, 2, 'two kernels installed (old and new bootcsum)');
  } finally {
    await server.stop();
  }
});
