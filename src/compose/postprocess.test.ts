import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTreefile } from '../config/treefile/load.js';
import { readRpmHeader } from '../rpm/file/index.js';
import { RpmBuilder, rpmbuildAvailable } from '../rpm/testing/rpmbuild.js';
import { COMPOSE_JSON_PATH, mutateOsReleaseContents, postprocess, removeFromPackages, shellQuote } from './postprocess.js';
import { bwrapAvailable, bwrapRunner, makeBusyboxRoot } from './postprocess-testing.js';
import type { ComposePackage } from './types.js';

test('mutate-os-release rewrites VERSION and PRETTY_NAME only and appends OSTREE_VERSION (rpm-ostree mutate_os_release_contents)', () => {
  const input = 'NAME="Fedora Linux"\nVERSION="39 (CoreOS)"\nID=fedora\n\nVERSION_ID=39\nPRETTY_NAME="Fedora CoreOS 39"\nCPE_NAME="cpe:/o:fedoraproject:fedora:39"\n';
  assert.equal(
    mutateOsReleaseContents(input, '39', '39.20240101.dev.0'),
    'NAME="Fedora Linux"\nVERSION="39.20240101.dev.0 (CoreOS)"\nID=fedora\nVERSION_ID=39\nPRETTY_NAME="Fedora CoreOS 39.20240101.dev.0"\nCPE_NAME="cpe:/o:fedoraproject:fedora:39"\nOSTREE_VERSION=\'39.20240101.dev.0\'\n',
  );
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

test('postprocess runs the treefile steps in order on a tree, scripts in the sandbox', { skip: !bwrapAvailable() && 'needs bwrap and busybox' }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'cf-postprocess-'));
  try {
    const cfg = join(work, 'config');
    mkdirSync(join(cfg, 'files'), { recursive: true });
    writeFileSync(join(cfg, 'files/motd'), 'hello\n');
    writeFileSync(join(cfg, 'files/tool'), '#!/bin/sh\necho tool\n');
    chmodSync(join(cfg, 'files/tool'), 0o750);
    writeFileSync(join(cfg, 'post.sh'), '#!/bin/sh\nset -eu\necho "script saw $(cat /etc/marker)" > /usr/share/post-script-ran\nls /usr/bin/rpmostree-* > /usr/share/post-script-self\n');
    writeFileSync(
      join(cfg, 'manifest.yaml'),
      [
        'ref: test/x86_64/os',
        'packages: [kernel]',
        'units: [sshd.service, existing.service]',
        'default-target: multi-user.target',
        'mutate-os-release: "39"',
        'remove-files: [usr/share/doc/junk, etc/removed.conf]',
        'add-files:',
        '  - [files/motd, /etc/motd]',
        '  - [files/tool, /usr/libexec/tool]',
        'postprocess:',
        '  - |',
        '    #!/bin/sh',
        '    set -eu',
        '    echo one >> /etc/order',
        '    test -f /etc/motd',
        '  - |',
        '    #!/bin/sh',
        '    echo two >> /etc/order',
        'postprocess-script: post.sh',
        '',
      ].join('\n'),
    );
    const t = loadTreefile(join(cfg, 'manifest.yaml'), { arch: 'x86_64' });
    const root = join(work, 'rootfs');
    makeBusyboxRoot(root);
    mkdirSync(join(root, 'usr/lib/systemd/system'), { recursive: true });
    writeFileSync(join(root, 'usr/lib/systemd/system/default.target'), 'old\n');
    mkdirSync(join(root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
    writeFileSync(join(root, 'etc/systemd/system/multi-user.target.wants/existing.service'), 'kept\n');
    writeFileSync(join(root, 'etc/marker'), 'etc-in-place');
    writeFileSync(join(root, 'etc/removed.conf'), 'x');
    mkdirSync(join(root, 'usr/share/doc/junk/sub'), { recursive: true });
    // os-release as Fedora ships it: /etc/os-release → ../usr/lib/os-release, a hardlink into the package cache.
    const cache = join(work, 'cache-obj');
    writeFileSync(cache, 'NAME=Test\nVERSION="39 (Core)"\nPRETTY_NAME="Test 39"\n');
    linkSync(cache, join(root, 'usr/lib/os-release'));
    const { symlinkSync } = await import('node:fs');
    symlinkSync('../usr/lib/os-release', join(root, 'etc/os-release'));

    const ran: string[] = [];
    await postprocess(root, { treefile: t, version: '39.1', runScript: bwrapRunner(root, ran) });

    assert.ok(!existsSync(join(root, 'etc')), '/etc moved to /usr/etc');
    const wants = join(root, 'usr/etc/systemd/system/multi-user.target.wants');
    assert.equal(readlinkSync(join(wants, 'sshd.service')), '/usr/lib/systemd/system/sshd.service');
    assert.equal(readFileSync(join(wants, 'existing.service'), 'utf8'), 'kept\n');
    assert.equal(readlinkSync(join(root, 'usr/lib/systemd/system/default.target')), 'multi-user.target');
    assert.equal(readFileSync(join(root, COMPOSE_JSON_PATH), 'utf8'), JSON.stringify(t.treefile, null, 2));
    assert.equal(readFileSync(join(root, 'usr/lib/os-release'), 'utf8'), 'NAME=Test\nVERSION="39.1 (Core)"\nPRETTY_NAME="Test 39.1"\nOSTREE_VERSION=\'39.1\'\n');
    assert.equal(readFileSync(cache, 'utf8'), 'NAME=Test\nVERSION="39 (Core)"\nPRETTY_NAME="Test 39"\n', 'the cached object was not written through');
    assert.equal(statSync(cache).nlink, 1);
    assert.ok(!existsSync(join(root, 'usr/share/doc/junk')));
    assert.ok(!existsSync(join(root, 'usr/etc/removed.conf')));
    assert.equal(readFileSync(join(root, 'usr/etc/motd'), 'utf8'), 'hello\n');
    assert.equal(statSync(join(root, 'usr/libexec/tool')).mode & 0o7777, 0o750);
    assert.equal(readFileSync(join(root, 'usr/etc/order'), 'utf8'), 'one\ntwo\n');
    assert.equal(readFileSync(join(root, 'usr/share/post-script-ran'), 'utf8'), 'script saw etc-in-place\n');
    assert.equal(readFileSync(join(root, 'usr/share/post-script-self'), 'utf8'), '/usr/bin/rpmostree-treefile-postprocess-script\n');
    assert.deepEqual(ran, ['postprocess inline script 0', 'postprocess inline script 1', `postprocess-script ${join(cfg, 'post.sh')}`]);
    assert.ok(!existsSync(join(root, 'usr/bin/rpmostree-postprocess-inline-0')));
    assert.ok(lstatSync(join(root, 'usr/etc')).isDirectory());

    // A failing script is an error, and /etc is back at /usr/etc afterwards.
    const bad = loadTreefile(join(cfg, 'manifest.yaml'), { arch: 'x86_64' });
    bad.treefile.postprocess = ['#!/bin/sh\nexit 3\n'];
    bad.externals.postprocessScript = undefined;
    await assert.rejects(postprocess(root, { treefile: { ...bad, treefile: { ...bad.treefile, units: [], 'mutate-os-release': undefined, 'remove-files': [] }, externals: { ...bad.externals, addFiles: [] } }, version: '', runScript: bwrapRunner(root) }), /exit|failed/);
    assert.ok(lstatSync(join(root, 'usr/etc')).isDirectory());
    assert.ok(!existsSync(join(root, 'etc')));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('remove-from-packages drops matching files of the named package only, keeping paths another package owns', { skip: !rpmbuildAvailable() && 'needs rpmbuild' }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'cf-rfp-'));
  const b = new RpmBuilder();
  try {
    const mk = (name: string, files: string[]) =>
      b.build({
        name,
        install: files.map((f) => `mkdir -p %{buildroot}$(dirname ${f}) && echo ${name} > %{buildroot}${f}`).join('\n'),
        files: [...files, ...(name === 'a' ? ['%dir /usr/share/a'] : [])],
      });
    const pa = mk('a', ['/usr/share/a/keep.txt', '/usr/share/a/drop.txt', '/usr/share/a/drop2.txt', '/etc/a.conf', '/usr/share/shared.txt']);
    const pb = mk('b', ['/usr/share/shared.txt', '/usr/share/b/drop.txt']);
    const pkgs: ComposePackage[] = [];
    for (const p of [pa, pb]) {
      const header = await readRpmHeader(p);
      pkgs.push({ nevra: header.nevra, name: header.name, evr: header.evr, arch: header.arch, rpmPath: p, header });
    }
    const root = join(work, 'rootfs');
    for (const f of ['usr/share/a/keep.txt', 'usr/share/a/drop.txt', 'usr/share/a/drop2.txt', 'usr/etc/a.conf', 'usr/share/shared.txt', 'usr/share/b/drop.txt']) {
      mkdirSync(join(root, f, '..'), { recursive: true });
      writeFileSync(join(root, f), 'x');
    }
    const removed = await removeFromPackages(root, [['a', '/usr/share/a/drop', '^/usr/etc/a\\.conf$', 'shared'], ['missing-pkg', '.*']], pkgs);
    assert.deepEqual(removed.sort(), ['/usr/etc/a.conf', '/usr/share/a/drop.txt', '/usr/share/a/drop2.txt']);
    assert.ok(existsSync(join(root, 'usr/share/a/keep.txt')));
    assert.ok(existsSync(join(root, 'usr/share/shared.txt')), 'b still ships it');
    assert.ok(existsSync(join(root, 'usr/share/b/drop.txt')), 'rules apply to the named package only');
    await assert.rejects(removeFromPackages(root, [['a', '(']], pkgs), /invalid regex/);
  } finally {
    b.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});
