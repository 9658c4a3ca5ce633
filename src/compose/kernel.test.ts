import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { LoadedTreefile, Treefile } from '../config/treefile/types.js';
import { KernelError, processKernel } from './kernel.js';
import { bwrapAvailable, bwrapRunner, makeBusyboxRoot, writeScript } from './postprocess-testing.js';

const skip = !bwrapAvailable() && 'needs bwrap and busybox';

function tf(t: Partial<Treefile>): LoadedTreefile {
  return { path: '/x/manifest.yaml', dir: '/x', arch: 'x86_64', treefile: { packages: [], ...t }, variables: {}, repovars: {}, externals: { addFiles: [] }, files: [], warnings: [] };
}

/** A tree with a legacy /boot kernel (as kernel.spec's %posttrans used to leave it) and optionally a fake dracut. */
function tree(work: string, opts: { dracut?: boolean; prebuilt?: boolean }) {
  const root = join(work, 'root');
  makeBusyboxRoot(root);
  mkdirSync(join(root, 'usr/etc'), { recursive: true });
  mkdirSync(join(root, 'usr/share'), { recursive: true });
  rmSync(join(root, 'etc'), { recursive: true });
  mkdirSync(join(root, 'usr/lib/modules/6.2.0-1.fc40.x86_64/kernel'), { recursive: true });
  mkdirSync(join(root, 'boot/loader/entries'), { recursive: true });
  writeFileSync(join(root, 'boot/vmlinuz-6.2.0-1.fc40.x86_64'), 'the kernel\n');
  writeFileSync(join(root, 'boot/grub.cfg'), 'bootloader data\n');
  if (opts.prebuilt) writeFileSync(join(root, 'boot/initramfs-6.2.0-1.fc40.x86_64.img'), 'rpm initramfs\n');
  if (opts.dracut) {
    writeScript(
      root,
      'usr/bin/dracut',
      [
        '#!/bin/sh',
        'if [ "$1" = "--help" ]; then echo "  --reproducible  Create reproducible images"; exit 0; fi',
        'echo "$@" > /usr/share/dracut-args',
        'echo "etc=$(cat /etc/marker) nomknod=$DRACUT_NO_MKNOD" > /usr/share/dracut-env',
        'out=',
        'while [ $# -gt 0 ]; do case "$1" in -f) out=$2; shift;; esac; shift; done',
        'printf "generated initramfs" > "$out"',
        '',
      ].join('\n'),
    );
    writeFileSync(join(root, 'usr/etc/marker'), 'visible');
  }
  return root;
}

test('dracut runs in the sandbox with rpm-ostree arguments; kernel and initramfs land in usr/lib/modules (boot-location: new adds ostree-boot copies)', { skip }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'cf-kernel-'));
  try {
    const root = tree(work, { dracut: true, prebuilt: true });
    const r = await processKernel(root, { treefile: tf({ 'initramfs-args': ['--add', 'ignition', '--omit', 'nfs'] }), runScript: bwrapRunner(root) });
    const kver = '6.2.0-1.fc40.x86_64';
    assert.equal(r.kver, kver);
    assert.equal(r.initramfs, 'dracut');
    assert.equal(r.bootLocation, 'new');
    assert.match(readFileSync(join(root, 'usr/share/dracut-args'), 'utf8'), /^--reproducible -v --add ostree --tmpdir=\/rpmostree-dracut\.[0-9a-f]{8}\/tmp -f \/rpmostree-dracut\.[0-9a-f]{8}\/initramfs\.img --add ignition --omit nfs --kver 6\.2\.0-1\.fc40\.x86_64\n$/);
    assert.equal(readFileSync(join(root, 'usr/share/dracut-env'), 'utf8'), 'etc=visible nomknod=1\n', 'dracut saw /etc and the environment');
    const img = readFileSync(join(root, 'usr/lib/modules', kver, 'initramfs.img'));
    assert.equal(img.subarray(0, 19).toString(), 'generated initramfs');
    // 4 NULs + alignment, then the gzip'd cpio with /dev/random and /dev/urandom
    assert.deepEqual([...img.subarray(19, 24)], [0, 0, 0, 0, 0]);
    const cpio = gunzipSync(img.subarray(24)).toString('latin1');
    assert.match(cpio, /dev\/urandom/);
    assert.match(cpio, /TRAILER!!!/);
    assert.equal(readFileSync(join(root, 'usr/lib/modules', kver, 'vmlinuz'), 'utf8'), 'the kernel\n');
    const csum = createHash('sha256').update('the kernel\n').update(img).digest('hex');
    assert.equal(r.bootcsum, csum);
    assert.deepEqual(readdirSync(join(root, 'usr/lib/ostree-boot')).sort(), ['grub.cfg', `initramfs-${kver}.img-${csum}`, `vmlinuz-${kver}-${csum}`]);
    assert.deepEqual(readdirSync(join(root, 'boot')), []);
    assert.equal(readFileSync(join(root, 'usr/etc/machine-id'), 'utf8'), '');
    assert.ok(!existsSync(join(root, 'usr/bin/rpmostree-dracut-wrapper')));
    assert.ok(!readdirSync(root).some((n) => n.startsWith('rpmostree-dracut.')), 'scratch dir removed');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('without dracut a prebuilt initramfs is kept; without either it is a clear error; no-initramfs is honoured', { skip }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'cf-kernel-'));
  try {
    const a = tree(join(work, 'a'), { prebuilt: true });
    const ra = await processKernel(a, { treefile: tf({ 'boot-location': 'modules' }), runScript: bwrapRunner(a) });
    assert.equal(ra.initramfs, 'prebuilt');
    assert.equal(readFileSync(join(a, 'usr/lib/modules', ra.kver, 'initramfs.img'), 'utf8'), 'rpm initramfs\n');
    assert.deepEqual(readdirSync(join(a, 'usr/lib/ostree-boot')), ['grub.cfg']);

    const b = tree(join(work, 'b'), {});
    await assert.rejects(processKernel(b, { treefile: tf({}), runScript: bwrapRunner(b) }), (e: unknown) => e instanceof KernelError && /the tree has no dracut and no prebuilt initramfs for kernel 6\.2\.0-1\.fc40\.x86_64/.test(e.message));

    const c = tree(join(work, 'c'), { dracut: true });
    const rc = await processKernel(c, { treefile: tf({ 'no-initramfs': true, 'boot-location': 'modules' }), runScript: bwrapRunner(c) });
    assert.equal(rc.initramfs, 'none');
    assert.ok(!existsSync(join(c, 'usr/share/dracut-args')), 'dracut not run');
    assert.equal(rc.bootcsum, createHash('sha256').update('the kernel\n').digest('hex'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
