/**
 * Over-the-air updates, end to end with the real ostree as the machine:
 * coreforge commits, signs (GPG), generates a delta, updates the signed
 * summary and serves the repository; a sysroot managed by the real
 * `ostree admin` pulls, deploys, keeps a local /etc edit across
 * `admin upgrade`, and rebases onto our remote with `admin switch`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CF, cf, makeGpgKey, ok, run } from '../util/exec.js';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, readdirSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RepoServer } from '../../src/server/static-repo.js';


// the machine side: the real ostree, with a fake (non-booted) sysroot
const machine = (...a: string[]) => ok('ostree', a, { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' });

let work: string;
let gpgHome: string;
let keyId: string;

/** A minimal bootable tree: kernel + initramfs where ostree looks, config in /usr/etc. */
function osTree(dir: string, version: string, extra: Record<string, string> = {}): void {
  mkdirSync(join(dir, 'usr/lib/modules/6.1.0-test'), { recursive: true });
  writeFileSync(join(dir, 'usr/lib/modules/6.1.0-test/vmlinuz'), 'not really a kernel\n');
  writeFileSync(join(dir, 'usr/lib/modules/6.1.0-test/initramfs.img'), 'not really an initramfs\n');
  mkdirSync(join(dir, 'usr/etc'), { recursive: true });
  writeFileSync(join(dir, 'usr/etc/os-release'), `NAME="My OS"\nID=myos\nVERSION_ID=${version}\nPRETTY_NAME="My OS ${version}"\n`);
  writeFileSync(join(dir, 'usr/etc/motd'), `welcome to ${version}\n`);
  mkdirSync(join(dir, 'usr/bin'), { recursive: true });
  for (const [p, c] of Object.entries(extra)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cf-ota-'));
  gpgHome = join(work, 'gnupg');
  keyId = (await makeGpgKey(gpgHome, 'release', work)).keyId;
});
after(() => rmSync(work, { recursive: true, force: true }));

async function publish(repo: string, tree: string, version: string): Promise<string> {
  const parent = (await run(CF, ['ostree', `--repo=${repo}`, 'rev-parse', 'my/x86_64/coreos/stable'])).stdout.trim();
  const c = (await cf(`--repo=${repo}`, 'commit', '-b', 'my/x86_64/coreos/stable', `--tree=dir=${tree}`, '--bootable', `--add-metadata-string=version=${version}`, '-s', `My OS ${version}`, `--gpg-sign=${keyId}`, `--gpg-homedir=${gpgHome}`)).trim();
  if (parent) await cf(`--repo=${repo}`, 'static-delta', 'generate', `--from=${parent}`, `--to=${c}`);
  await cf(`--repo=${repo}`, 'summary', '-u', `--gpg-sign=${keyId}`, `--gpg-homedir=${gpgHome}`);
  return c;
}

test('real ostree admin: deploy v1 from our signed repo, keep /etc edits across upgrade to v2 (via delta), rebase with switch', async () => {
  const repo = join(work, 'pub');
  await cf(`--repo=${repo}`, 'init', '--mode=archive');
  const t1 = join(work, 'v1');
  osTree(t1, '1.0');
  const c1 = await publish(repo, t1, '1.0');
  const server = new RepoServer({ repos: [{ path: repo }] });
  const { url } = await server.start();
  try {
    const sysroot = join(work, 'sysroot');
    mkdirSync(sysroot);
    await machine('admin', 'init-fs', sysroot);
    await machine('admin', 'os-init', `--sysroot=${sysroot}`, 'myos');
    const sysrepo = join(sysroot, 'ostree/repo');
    await machine(`--repo=${sysrepo}`, 'remote', 'add', '--set=gpg-verify-summary=true', `--gpg-import=${join(work, 'release.asc')}`, 'myremote', url);
    await machine(`--repo=${sysrepo}`, 'pull', 'myremote', 'my/x86_64/coreos/stable');
    await machine('admin', 'deploy', `--sysroot=${sysroot}`, '--os=myos', '--karg=root=LABEL=root', 'myremote:my/x86_64/coreos/stable');
    let status = await machine('admin', 'status', `--sysroot=${sysroot}`);
    assert.match(status, new RegExp(`myos ${c1}\\.0`));
    assert.match(status, /Version: 1\.0/);
    const entries = join(sysroot, 'boot/loader/entries');
    assert.match(readdirSync(entries).map((f) => readFileSync(join(entries, f), 'utf8')).join(''), /title My OS 1\.0.*\(ostree:0\)/);

    // the machine's admin edits /etc
    const deployDir = join(sysroot, 'ostree/deploy/myos/deploy', `${c1}.0`);
    writeFileSync(join(deployDir, 'etc/motd'), 'edited by the admin\n');
    writeFileSync(join(deployDir, 'etc/local.conf'), 'local\n');

    // v2 adds a file and changes os-release
    const t2 = join(work, 'v2');
    cpSync(t1, t2, { recursive: true });
    osTree(t2, '2.0', { 'usr/bin/newtool': '#!/bin/sh\necho new\n' });
    const c2 = await publish(repo, t2, '2.0');
    const up = await machine('admin', 'upgrade', `--sysroot=${sysroot}`, '--os=myos');
    assert.doesNotMatch(up, /No update available/);
    status = await machine('admin', 'status', `--sysroot=${sysroot}`);
    assert.match(status, new RegExp(`myos ${c2}\\.0`));
    assert.match(status, /Version: 2\.0/);
    const newDir = join(sysroot, 'ostree/deploy/myos/deploy', `${c2}.0`);
    assert.equal(readFileSync(join(newDir, 'etc/motd'), 'utf8'), 'edited by the admin\n');
    assert.equal(readFileSync(join(newDir, 'etc/local.conf'), 'utf8'), 'local\n');
    assert.match(readFileSync(join(newDir, 'usr/etc/os-release'), 'utf8'), /VERSION_ID=2\.0/);
    assert.equal(readFileSync(join(newDir, 'usr/bin/newtool'), 'utf8'), '#!/bin/sh\necho new\n');
    assert.match(await machine(`--repo=${sysrepo}`, 'fsck'), /no errors found/);

    // rebase: a machine following another remote switches onto ours
    const other = join(work, 'upstream');
    await cf(`--repo=${other}`, 'init', '--mode=archive');
    const tu = join(work, 'vu');
    osTree(tu, 'upstream');
    await cf(`--repo=${other}`, 'commit', '-b', 'fedora/x86_64/coreos/stable', `--tree=dir=${tu}`, '--bootable', '--add-metadata-string=version=upstream');
    await cf(`--repo=${other}`, 'summary', '-u');
    const upstreamServer = new RepoServer({ repos: [{ path: other }] });
    const { url: upUrl } = await upstreamServer.start();
    try {
      const sys2 = join(work, 'sysroot2');
      mkdirSync(sys2);
      await machine('admin', 'init-fs', sys2);
      await machine('admin', 'os-init', `--sysroot=${sys2}`, 'myos');
      const r2 = join(sys2, 'ostree/repo');
      await machine(`--repo=${r2}`, 'remote', 'add', '--no-gpg-verify', 'fedora', upUrl);
      await machine(`--repo=${r2}`, 'remote', 'add', `--gpg-import=${join(work, 'release.asc')}`, 'myremote', url);
      await machine(`--repo=${r2}`, 'pull', 'fedora', 'fedora/x86_64/coreos/stable');
      await machine('admin', 'deploy', `--sysroot=${sys2}`, '--os=myos', 'fedora:fedora/x86_64/coreos/stable');
      await machine('admin', 'switch', `--sysroot=${sys2}`, '--os=myos', 'myremote:my/x86_64/coreos/stable');
      const st = await machine('admin', 'status', `--sysroot=${sys2}`);
      assert.match(st, new RegExp(`myos ${c2}\\.0`));
      assert.match(st, /origin refspec: myremote:my\/x86_64\/coreos\/stable/);
    } finally {
      await upstreamServer.stop();
    }
  } finally {
    await server.stop();
  }
});
