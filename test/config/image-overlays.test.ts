import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CoreforgeError } from '../../src/errors.js';
import { loadImageYaml, loadLive, loadPlatforms, parseStatOverride, IMAGE_DEFAULTS } from '../../src/config/index.js';
import { FCOS, tmp, write } from './helpers.js';

test('image.yaml include: includer wins, lists keep the includer first without duplicates, maps merge', (t) => {
  const d = tmp(t);
  write(d, {
    'image.yaml': 'include: sub/base.yaml\nsize: 12\nextra-kargs: [b, c]\nplatform-compressor: {qemu: zstd}\n',
    'sub/base.yaml': 'include: base2.yaml\nsize: 10\nextra-kargs: [a, b]\nignition-network-kcmdline: []\nplatform-compressor: {aws: xz, qemu: gzip}\n',
    'sub/base2.yaml': 'extra-kargs: [z]\nostree-remote: upstream\ncompressor: xz\n',
  });
  const i = loadImageYaml(join(d, 'image.yaml'));
  assert.equal(i.config.size, 12);
  assert.deepEqual(i.config['extra-kargs'], ['b', 'c', 'a', 'z']);
  assert.deepEqual(i.config['platform-compressor'], { qemu: 'zstd', aws: 'xz' });
  assert.equal(i.config['ostree-remote'], 'upstream');
  assert.equal(i.config.rootfs, IMAGE_DEFAULTS.rootfs);
  assert.equal(i.config['vmware-hw-version'], 13);
  assert.deepEqual(i.files.map((f) => f.slice(d.length + 1)), ['image.yaml', 'sub/base.yaml', 'sub/base2.yaml']);
  write(d, { 'loop.yaml': 'include: loop.yaml\n' });
  assert.throws(() => loadImageYaml(join(d, 'loop.yaml')), /loop\.yaml:1:10: include: include loop/);
});

test('fixture image.yaml matches what cosa flattens', () => {
  const i = loadImageYaml(join(FCOS, 'image.yaml'));
  assert.deepEqual(
    { size: i.config.size, kargs: i.config['extra-kargs'], net: i.config['ignition-network-kcmdline'], remote: i.config['ostree-remote'], vmw: i.config['vmware-os-type'], hw: i.config['vmware-hw-version'], c: i.config.compressor },
    { size: 10, kargs: ['mitigations=auto,nosmt'], net: [], remote: 'fedora', vmw: 'fedora64Guest', hw: 17, c: 'xz' },
  );
  assert.deepEqual(i.unknownKeys, []);
});

test('platforms.yaml: every arch of the fixture; unknown keys and wrong types are errors', (t) => {
  const p = loadPlatforms(join(FCOS, 'platforms.yaml'));
  assert.deepEqual(Object.keys(p).sort(), ['aarch64', 'ppc64le', 'x86_64']);
  assert.ok(p.x86_64!.azure!.kernel_arguments!.length > 0);
  const d = tmp(t);
  write(d, { 'p.yaml': 'x86_64:\n  qemu:\n    grub_command: [x]\n', 'q.yaml': 'x86_64:\n  qemu:\n    kernel_arguments: console=ttyS0\n' });
  assert.throws(() => loadPlatforms(join(d, 'p.yaml')), (e: unknown) => e instanceof CoreforgeError && /p\.yaml:3:5: x86_64\.qemu\.grub_command: unknown key/.test(e.message));
  assert.throws(() => loadPlatforms(join(d, 'q.yaml')), /q\.yaml:3:23: x86_64\.qemu\.kernel_arguments: expected a list of strings/);
});

test('live/: files listed through a symlink; a broken link is an error; statoverride parsing', (t) => {
  const d = tmp(t);
  write(d, { 'up/live/EFI/fedora/grub.cfg': 'x', 'up/live/zipl.prm': 'y' });
  mkdirSync(join(d, 'cfg'));
  assert.equal(loadLive(join(d, 'cfg')), undefined);
  symlinkSync('../up/live', join(d, 'cfg', 'live'));
  assert.deepEqual(loadLive(join(d, 'cfg'))!.files, ['EFI/fedora/grub.cfg', 'zipl.prm']);
  mkdirSync(join(d, 'cfg2'));
  symlinkSync('../nowhere/live', join(d, 'cfg2', 'live'));
  assert.throws(() => loadLive(join(d, 'cfg2')), /live: broken symlink to \.\.\/nowhere\/live/);
  assert.deepEqual(parseStatOverride('# c\n=288 /etc/sudoers.d/x\n\n+2048 /usr/bin/y\n', 'so'), [
    { op: '=', mode: 0o440, path: '/etc/sudoers.d/x' },
    { op: '+', mode: 2048, path: '/usr/bin/y' },
  ]);
  assert.throws(() => parseStatOverride('0440 /etc/x\n', 'so'), /so:1: expected '=MODE \/path'/);
});
