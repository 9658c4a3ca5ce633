import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { loadTreefile } from '../config/treefile/load.js';
import { AUTOVAR_CONF, addAltfiles, finalizeRootfs, prepareRootfs } from './conventions.js';
import { postprocess } from './postprocess.js';
import { bwrapAvailable, bwrapRunner, makeBusyboxRoot } from './postprocess-testing.js';
import type { FileMetaMap } from './types.js';

const skip = !bwrapAvailable() && 'needs bwrap and busybox';

function buildTree(work: string, manifest: string[]) {
  const cfg = join(work, 'config');
  mkdirSync(cfg, { recursive: true });
  writeFileSync(join(cfg, 'manifest.yaml'), ['ref: testos/stable', 'packages: [kernel]', ...manifest, ''].join('\n'));
  const t = loadTreefile(join(cfg, 'manifest.yaml'), { arch: 'x86_64' });
  const src = join(work, 'rootfs.tmp');
  makeBusyboxRoot(src);
  writeFileSync(join(src, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nfoo:x:995:994::/:/sbin/nologin\n');
  writeFileSync(join(src, 'etc/group'), 'root:x:0:\nfoo:x:994:\n');
  writeFileSync(join(src, 'etc/os-release'), 'NAME=Test\nID=testos\nPRETTY_NAME="Test OS"\n');
  mkdirSync(join(src, 'etc/default'), { recursive: true });
  writeFileSync(join(src, 'etc/default/useradd'), 'GROUP=100\nHOME=/home\nSHELL=/bin/bash\n');
  writeFileSync(join(src, 'etc/nsswitch.conf'), 'passwd: files sss systemd\ngroup:      files systemd\nhosts: files dns\n');
  writeFileSync(join(src, 'etc/machine-id'), '0123456789abcdef0123456789abcdef\n');
  mkdirSync(join(src, 'usr/lib/modules/6.1.0'), { recursive: true });
  writeFileSync(join(src, 'usr/lib/modules/6.1.0/vmlinuz'), 'kernel image\n');
  writeFileSync(join(src, 'usr/lib/modules/6.1.0/initramfs.img'), 'prebuilt initramfs\n');
  writeFileSync(join(src, 'usr/lib/modules/6.1.0/.vmlinuz.hmac'), 'abc123  /boot/vmlinuz-6.1.0');
  mkdirSync(join(src, 'usr/local/bin'), { recursive: true });
  mkdirSync(join(src, 'var/lib/foo'), { recursive: true });
  chmodSync(join(src, 'var/lib/foo'), 0o750);
  mkdirSync(join(src, 'var/lib/with space'), { recursive: true });
  mkdirSync(join(src, 'var/lib/alternatives'), { recursive: true });
  writeFileSync(join(src, 'var/lib/alternatives/editor'), 'vi\n');
  mkdirSync(join(src, 'var/log'), { recursive: true });
  writeFileSync(join(src, 'var/log/x.log'), 'log\n');
  mkdirSync(join(src, 'var/cache'), { recursive: true });
  symlinkSync('../lib/foo', join(src, 'var/cache/link'));
  symlinkSync('../run', join(src, 'var/run'));
  mkdirSync(join(src, 'home/someone'), { recursive: true });
  mkdirSync(join(src, 'root'), { recursive: true });
  mkdirSync(join(src, 'boot/loader'), { recursive: true });
  return { t, src };
}

async function compose(work: string, manifest: string[], meta: FileMetaMap = new Map(), hooksOrder?: string[]) {
  const { t, src } = buildTree(work, manifest);
  await postprocess(src, { treefile: t, version: '1.0', runScript: bwrapRunner(src) });
  const root = join(work, 'rootfs');
  mkdirSync(root);
  await prepareRootfs(src, root, t.treefile);
  const rec = (n: string) => async () => void hooksOrder?.push(n);
  const kernel = await finalizeRootfs(root, {
    treefile: t,
    meta,
    kernel: { runScript: bwrapRunner(root) },
    hooks: { passwdMigrate: rec('passwdMigrate'), rpmdbCommon: rec('rpmdbCommon'), passwdCleanup: rec('passwdCleanup'), normalizeShadow: rec('normalizeShadow'), rpmdbFinal: rec('rpmdbFinal'), finalizeD: rec('finalizeD') },
  });
  return { t, root, kernel };
}

test('nsswitch altfiles as rpm-ostree add_altfiles', () => {
  assert.equal(addAltfiles('passwd: files sss systemd\ngroup:      files systemd\nhosts: files dns\n'), 'passwd: files altfiles sss systemd\ngroup: files altfiles systemd\nhosts: files dns\n');
  assert.equal(addAltfiles('passwd: sss\n'), 'passwd: sss altfiles\n');
  const already = 'passwd: files altfiles\ngroup: files\n';
  assert.equal(addAltfiles(already), already);
});

test('the final rootfs has the ostree layout, /var as tmpfiles.d, and real ostree deploys a commit of it', { skip }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'cf-conventions-'));
  try {
    const meta: FileMetaMap = new Map([['/var/lib/foo', { uid: 995, gid: 994 }]]);
    const order: string[] = [];
    const { root, kernel } = await compose(work, ['boot-location: modules', 'machineid-compat: false'], meta, order);
    assert.deepEqual(order, ['passwdMigrate', 'rpmdbCommon', 'passwdCleanup', 'normalizeShadow', 'rpmdbFinal', 'finalizeD']);
    assert.deepEqual(readdirSync(root).sort(), ['bin', 'boot', 'dev', 'home', 'lib', 'media', 'mnt', 'opt', 'ostree', 'proc', 'root', 'run', 'sbin', 'srv', 'sys', 'sysroot', 'tmp', 'usr', 'var']);
    const links: Record<string, string> = { home: 'var/home', root: 'var/roothome', srv: 'var/srv', mnt: 'var/mnt', media: 'run/media', opt: 'var/opt', ostree: 'sysroot/ostree', tmp: 'sysroot/tmp', bin: 'usr/bin', 'usr/local': '../var/usrlocal', 'var/lib/alternatives': undefined as unknown as string };
    for (const [p, target] of Object.entries(links)) if (target) assert.equal(readlinkSync(join(root, p)), target, p);
    assert.deepEqual(readdirSync(join(root, 'var')), [], '/var is empty');
    assert.equal(readFileSync(join(root, 'usr/lib/alternatives/editor'), 'utf8'), 'vi\n');
    assert.equal(
      readFileSync(join(root, AUTOVAR_CONF), 'utf8'),
      [
        'L /var/cache/link - - - - ../lib/foo',
        'L /var/lib/alternatives - - - - ../../usr/lib/alternatives',
        // byte order, as rpm-ostree's BTreeSet: a quoted path sorts first
        "d '/var/lib/with space' 0755 root root - -",
        'd /var/cache 0755 root root - -',
        'd /var/lib 0755 root root - -',
        'd /var/lib/foo 0750 foo foo - -',
        'd /var/log 0755 root root - -',
        '',
      ].join('\n'),
    );
    assert.match(readFileSync(join(root, 'usr/lib/tmpfiles.d/rpm-ostree-0-integration.conf'), 'utf8'), /^d \/var\/home 0755 root root -$/m);
    assert.equal(readFileSync(join(root, 'usr/etc/default/useradd'), 'utf8'), 'GROUP=100\nHOME=/var/home\nSHELL=/bin/bash\n');
    assert.match(readFileSync(join(root, 'usr/etc/nsswitch.conf'), 'utf8'), /^passwd: files altfiles sss systemd$/m);
    assert.ok(!existsSync(join(root, 'usr/etc/machine-id')), 'machineid-compat: false removes it');
    // /boot's leftovers move to usr/lib/ostree-boot (rpm-ostree renames it); no kernel copies there with boot-location: modules
    assert.deepEqual(readdirSync(join(root, 'usr/lib/ostree-boot')), []);
    assert.deepEqual(readdirSync(join(root, 'boot')), [], '/boot is an empty mountpoint');
    assert.equal(readFileSync(join(root, 'usr/lib/modules/6.1.0/.vmlinuz.hmac'), 'utf8'), 'abc123  vmlinuz-6.1.0');
    assert.ok(kernel);
    assert.equal(kernel.kver, '6.1.0');
    assert.equal(kernel.initramfs, 'prebuilt');
    const csum = createHash('sha256').update('kernel image\n').update('prebuilt initramfs\n').digest('hex');
    assert.equal(kernel.bootcsum, csum);

    // The real ostree: commit the tree, deploy it into a fresh sysroot.
    const sys = join(work, 'sysroot');
    mkdirSync(sys);
    const o = (...a: string[]) => execFileSync('ostree', a, { encoding: 'utf8', env: { ...process.env, OSTREE_SYSROOT_DEBUG: 'mutable-deployments' } });
    o('admin', 'init-fs', sys);
    o('admin', 'os-init', `--sysroot=${sys}`, 'testos');
    const rev = o(`--repo=${join(sys, 'ostree/repo')}`, 'commit', '-b', 'testos/stable', `--tree=dir=${root}`, '--add-metadata-string=version=1.0').trim();
    o('admin', 'deploy', `--sysroot=${sys}`, '--os=testos', '--karg=root=LABEL=root', 'testos/stable');
    assert.match(o('admin', 'status', `--sysroot=${sys}`), new RegExp(`testos ${rev}\\.0`));
    assert.ok(existsSync(join(sys, 'boot/ostree', `testos-${csum}`, 'vmlinuz-6.1.0')), 'ostree computed the same boot checksum');
    const dep = join(sys, 'ostree/deploy/testos/deploy', `${rev}.0`);
    assert.equal(readlinkSync(join(dep, 'home')), 'var/home');
    assert.equal(readFileSync(join(dep, 'etc/os-release'), 'utf8'), 'NAME=Test\nID=testos\nPRETTY_NAME="Test OS"\n');
    assert.ok(lstatSync(join(dep, 'etc/passwd')).isFile(), '/etc came from /usr/etc');
    const entries = readdirSync(join(sys, 'boot/loader/entries'));
    assert.equal(entries.length, 1);
    assert.match(readFileSync(join(sys, 'boot/loader/entries', entries[0]!), 'utf8'), /initrd \/ostree\/testos-[0-9a-f]{64}\/initramfs-6\.1\.0\.img/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('tmp-is-dir, opt-usrlocal: root and boot-location new (ostree-boot hardlinks with the boot checksum)', { skip }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'cf-conventions-'));
  try {
    const { root, kernel } = await compose(work, ['tmp-is-dir: true', 'opt-usrlocal: root']);
    assert.ok(kernel);
    const tmp = lstatSync(join(root, 'tmp'));
    assert.ok(tmp.isDirectory());
    assert.equal(tmp.mode & 0o7777, 0o1777);
    assert.ok(lstatSync(join(root, 'opt')).isDirectory());
    assert.ok(lstatSync(join(root, 'usr/local')).isDirectory());
    assert.equal(readFileSync(join(root, 'usr/etc/machine-id'), 'utf8'), '', 'machineid-compat (default) leaves it empty');
    const ob = readdirSync(join(root, 'usr/lib/ostree-boot')).sort();
    assert.deepEqual(ob, [`initramfs-6.1.0.img-${kernel.bootcsum}`, `vmlinuz-6.1.0-${kernel.bootcsum}`]);
    assert.equal(lstatSync(join(root, 'usr/lib/ostree-boot', ob[1]!)).ino, lstatSync(join(root, 'usr/lib/modules/6.1.0/vmlinuz')).ino);
    assert.match(readFileSync(join(root, 'usr/lib/tmpfiles.d/rpm-ostree-0-integration-opt-usrlocal.conf'), 'utf8'), /d \/var\/opt 0755 root root -/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
