import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listOverlays } from '../config/overlays.js';
import { isCoreforgeError } from '../errors.js';
import { applyOverlays, type OverlayLayer } from './overlays.js';
import type { FileMetaMap } from './types.js';

function setup() {
  const work = mkdtempSync(join(tmpdir(), 'cf-overlays-'));
  const config = join(work, 'config');
  const rootfs = join(work, 'rootfs');
  mkdirSync(join(config, 'overlay.d'), { recursive: true });
  mkdirSync(join(rootfs, 'usr/etc'), { recursive: true });
  mkdirSync(join(rootfs, 'usr/lib'), { recursive: true });
  symlinkSync('usr/lib', join(rootfs, 'lib'));
  return { work, config, rootfs, cleanup: () => rmSync(work, { recursive: true, force: true }) };
}

function file(dir: string, rel: string, text: string, mode: number) {
  mkdirSync(join(dir, rel, '..'), { recursive: true });
  writeFileSync(join(dir, rel), text);
  chmodSync(join(dir, rel), mode);
}

const perm = (p: string) => lstatSync(p).mode & 0o7777;

test('overlay files get cosa modes; statoverride, symlinks, /etc and linked parents are honoured; ostree commit agrees', async () => {
  const t = setup();
  try {
    const ov = join(t.config, 'overlay.d/05core');
    file(ov, 'usr/bin/tool', '#!/bin/sh\n', 0o775);
    file(ov, 'usr/bin/suid', '#!/bin/sh\n', 0o4755);
    file(ov, 'usr/lib/data.conf', 'data\n', 0o666);
    file(ov, 'etc/sudoers.d/coreos-sudo-group', '%sudo ALL=(ALL) NOPASSWD: ALL\n', 0o644);
    file(ov, 'lib/modules-load.d/x.conf', 'x\n', 0o644);
    file(ov, 'statoverride', '# sudoers must be 0440\n=288 /etc/sudoers.d/coreos-sudo-group\n', 0o644);
    symlinkSync('../lib/data.conf', join(ov, 'usr/bin/datalink'));
    mkdirSync(join(ov, 'usr/share/private'), { recursive: true });
    chmodSync(join(ov, 'usr/share/private'), 0o2777);
    // A second overlay reached through a symlink (as configs link upstream's overlay.d)
    const up = join(t.work, 'upstream/overlay.d/10extra');
    file(up, 'usr/lib/extra', 'extra\n', 0o644);
    symlinkSync(up, join(t.config, 'overlay.d/10extra'));

    const layers: OverlayLayer[] = listOverlays(t.config).map((overlay) => ({ overlay, override: false }));
    const meta: FileMetaMap = new Map();
    await applyOverlays(t.rootfs, layers, meta);
    {
      const r = t.rootfs;
      assert.equal(perm(join(r, 'usr/bin/tool')), 0o555);
      assert.equal(perm(join(r, 'usr/bin/suid')), 0o555);
      assert.equal(perm(join(r, 'usr/lib/data.conf')), 0o644);
      assert.equal(perm(join(r, 'usr/share/private')), 0o755);
      assert.equal(readlinkSync(join(r, 'usr/bin/datalink')), '../lib/data.conf');
      assert.equal(readFileSync(join(r, 'usr/etc/sudoers.d/coreos-sudo-group'), 'utf8'), '%sudo ALL=(ALL) NOPASSWD: ALL\n');
      assert.equal(perm(join(r, 'usr/etc/sudoers.d/coreos-sudo-group')), 0o440);
      assert.deepEqual(meta.get('/usr/etc/sudoers.d/coreos-sudo-group'), { uid: 0, gid: 0, mode: 0o440 });
      assert.ok(lstatSync(join(r, 'lib')).isSymbolicLink(), '/lib stays a link');
      assert.equal(readFileSync(join(r, 'usr/lib/modules-load.d/x.conf'), 'utf8'), 'x\n');
      assert.equal(readFileSync(join(r, 'usr/lib/extra'), 'utf8'), 'extra\n');
      assert.throws(() => lstatSync(join(r, 'statoverride')));

      // The real pipeline: cosa's copy (umask 0022), chmod -R gu-s, ostree commit with its flags.
      const shaped = join(t.work, 'shaped');
      execFileSync('sh', ['-c', `umask 0022 && cp -r "$1" "$2" && chmod -R gu-s "$2" && touch "$2/statoverride"`, 'sh', ov, shaped]);
      const repo = join(t.work, 'repo');
      execFileSync('ostree', ['init', `--repo=${repo}`, '--mode=archive']);
      writeFileSync(join(t.work, 'so'), readFileSync(join(ov, 'statoverride'), 'utf8').split('\n').filter((l) => !l.startsWith('#')).join('\n'));
      writeFileSync(join(t.work, 'skip'), '/statoverride\n');
      execFileSync('ostree', ['commit', `--repo=${repo}`, `--tree=dir=${shaped}`, '-b', 'overlay/05core', '--owner-uid', '0', '--owner-gid', '0', '--no-xattrs', '--no-bindings', '--mode-ro-executables', `--statoverride=${join(t.work, 'so')}`, `--skip-list=${join(t.work, 'skip')}`]);
      const ls = execFileSync('ostree', ['ls', `--repo=${repo}`, '-R', 'overlay/05core'], { encoding: 'utf8' });
      const modes = new Map<string, number>();
      for (const line of ls.trim().split('\n')) {
        const m = /^([-dl])(\d+)\s+\d+\s+\d+\s+\d+\s+(\S+)/.exec(line.trim());
        if (m) modes.set(m[3]!, parseInt(m[2]!, 8) & 0o7777);
      }
      assert.ok(!modes.has('/statoverride'));
      let compared = 0;
      for (const [p, mode] of modes) {
        if (p === '/' || p.startsWith('/lib') || p === '/etc' || p === '/etc/sudoers.d' || p === '/usr' || p === '/usr/lib' || p === '/usr/bin' || p === '/usr/share') continue;
        if (lstatSync(join(ov, p)).isSymbolicLink()) continue;
        const ours = p.startsWith('/etc/') ? join(r, 'usr', p) : join(r, p);
        const key = p.startsWith('/etc/') ? `/usr${p}` : p;
        assert.equal(meta.get(key)?.mode ?? perm(ours), mode, `mode of ${p}`);
        compared++;
      }
      assert.ok(compared >= 5, `compared ${compared} entries with ostree`);
    }
  } finally {
    t.cleanup();
  }
});

test('a package file is replaced by unlink+create (never written through); ostree-layers refuse a different file, allow an identical one', async () => {
  const t = setup();
  try {
    const cache = join(t.work, 'cache');
    mkdirSync(cache);
    writeFileSync(join(cache, 'obj'), 'package content\n');
    chmodSync(join(cache, 'obj'), 0o644);
    linkSync(join(cache, 'obj'), join(t.rootfs, 'usr/lib/pkg.conf'));
    const ov = join(t.config, 'overlay.d/20x');
    file(ov, 'usr/lib/pkg.conf', 'overlay content\n', 0o644);
    const [overlay] = listOverlays(t.config);
    await assert.rejects(applyOverlays(t.rootfs, [{ overlay: overlay!, override: false }], new Map()), (e: unknown) => isCoreforgeError(e) && e.code === 'ECONFLICT' && /usr\/lib\/pkg\.conf/.test(e.message));
    assert.equal(readFileSync(join(cache, 'obj'), 'utf8'), 'package content\n');

    await applyOverlays(t.rootfs, [{ overlay: overlay!, override: true }], new Map());
    assert.equal(readFileSync(join(t.rootfs, 'usr/lib/pkg.conf'), 'utf8'), 'overlay content\n');
    assert.equal(readFileSync(join(cache, 'obj'), 'utf8'), 'package content\n', 'the pkgcache object is untouched');
    assert.equal(statSync(join(cache, 'obj')).nlink, 1);

    // Identical content and mode: accepted by a union-identical layer.
    await applyOverlays(t.rootfs, [{ overlay: overlay!, override: false }], new Map());
  } finally {
    t.cleanup();
  }
});
