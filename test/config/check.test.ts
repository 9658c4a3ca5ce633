import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkConfig, newConfig } from '../../src/config/index.js';
import { cli, makeUpstream, tmp, write } from './helpers.js';

test('check reports each problem with a one-line fix', async (t) => {
  const root = tmp(t);
  const up = makeUpstream(root);
  const d = join(root, 'cfg');
  write(root, { 'key.asc': 'public key' });
  newConfig({ dir: d, upstream: up, ref: 'acme/${basearch}/coreos/stable', repos: ['fedora'], remoteName: 'acme', remoteUrl: 'https://example.com/repo', gpgKey: join(root, 'key.asc') });
  assert.deepEqual(checkConfig(d, 'x86_64'), [], 'a fresh config is clean');

  // The remote definition itself is linted.
  const conf = join(d, 'overlay.d/99acme/etc/ostree/remotes.d/acme.conf');
  writeFileSync(conf, '[remote "other"]\ngpg-verify=false\n');
  const rc = checkConfig(d, 'x86_64').map((x) => `${x.level} ${x.where}: ${x.message}`);
  assert.ok(rc.includes(`error overlay.d/99acme/etc/ostree/remotes.d/acme.conf: defines remote 'other', but the file and image.yaml say 'acme'`), rc.join('\n'));
  assert.ok(rc.includes('error overlay.d/99acme/etc/ostree/remotes.d/acme.conf: no url='));
  assert.ok(rc.some((x) => x.startsWith('warning') && x.includes('gpg-verify=false')));
  writeFileSync(conf, '[remote "acme"]\nurl=https://example.com/repo\ngpg-verify=true\ngpgkeypath=/etc/pki/rpm-gpg/missing\n');
  assert.ok(checkConfig(d, 'x86_64').some((x) => /gpgkeypath \/etc\/pki\/rpm-gpg\/missing is not shipped/.test(x.message)));

  // Break it in every way check knows about.
  write(d, {
    'manifest.yaml': [
      'ref: fedora/${basearch}/coreos/${stream}',
      'include: fedora-coreos-config/manifest.yaml',
      'repos: [fedora, mine]',
      'packages: [python3]',
      'ostree-layers: [overlay/99acme, overlay/50gone]',
      '',
    ].join('\n'),
    'extra.repo': '[extra]\nbaseurl=http://example.com/\ngpgcheck=1\ngpgkey=file://keys/extra.asc\n',
    'manifest-lock.overrides.x86_64.yaml': 'packages:\n  oldtool:\n    evr: 1.0-1.fc40\n  kernel:\n    evr: 6.11.3-200.fc40\n    metadata: {type: pin}\n',
    'overlay.d/98unused/etc/x': 'x\n',
  });
  writeFileSync(join(d, 'manifest.yaml'), 'ref: fedora/${basearch}/coreos/${stream}\ninclude: fedora-coreos-config/manifest.yaml\nrepos: [fedora, mine, extra]\npackages: [python3]\nostree-layers: [overlay/99acme, overlay/50gone]\n');
  unlinkSync(join(d, 'overlay.d', '05core'));
  const f = checkConfig(d, 'x86_64');
  const find = (re: RegExp) => {
    const x = f.find((y) => re.test(`${y.where}: ${y.message}`));
    assert.ok(x, `no finding matching ${re}; got:\n${f.map((y) => `${y.where}: ${y.message}`).join('\n')}`);
    assert.ok(x.fix.length > 0 && !x.fix.includes('\n'));
    return x;
  };
  assert.match(find(/ref: ref fedora\/x86_64\/coreos\/testing-devel is the same as the upstream's/).fix, /set your own ref/);
  assert.match(find(/repos: repository 'mine' has no \.repo file/).fix, /add a \.repo file with a \[mine\] section/);
  assert.match(find(/extra\.repo: \[extra\] gpgkey: key .*keys\/extra\.asc does not exist/).fix, /add the key at keys\/extra\.asc/);
  assert.match(find(/python3 is both in packages and in exclude-packages/).fix, /remove python3/);
  assert.match(find(/overlay\/05core has no overlay\.d\/05core/).fix, /^ln -s \.\.\/fedora-coreos-config\/overlay\.d\/05core overlay\.d\/05core$/);
  find(/overlay\/50gone has no overlay\.d\/50gone/);
  assert.match(find(/overlay\.d\/98unused: .*not in ostree-layers/).fix, /overlay\/98unused/);
  assert.match(find(/upstream remote 'fedora' .* is left in place/).fix, /rm -f \/etc\/ostree\/remotes\.d\/fedora\.conf/);
  assert.match(find(/overrides\.x86_64\.yaml: packages\.oldtool: oldtool is locked but no longer requested/).fix, /remove oldtool/);
  assert.match(find(/packages\.kernel: pin of kernel has no metadata\.reason/).fix, /reason/);
  assert.ok(!f.some((x) => x.where.endsWith('automatic-version-prefix')), 'inherited from the upstream manifest');
  assert.ok(f.some((x) => x.level === 'error'));
  write(d, { 'image.yaml': 'include: fedora-coreos-config/image-base.yaml\nostree-remote: fedora\n' });
  const g = checkConfig(d, 'x86_64');
  assert.ok(g.some((x) => x.where === 'image.yaml: ostree-remote' && /'fedora' is the upstream's remote/.test(x.message) && /set ostree-remote/.test(x.fix)));

  const r = await cli(['check', '--config', d, '--arch', 'x86_64'], { env: {} });
  assert.equal(r.rc, 1);
  assert.match(r.stdout, /^error: manifest\.yaml: ref: .*\n  fix: /m);
  const all = await cli(['check', '--config', d, '--arch', 'all', '--json'], { env: {} });
  assert.equal(all.rc, 1);
  const af = (JSON.parse(all.stdout) as { arches: string[]; findings: { where: string; message: string; arches: string[] }[] });
  assert.deepEqual(af.arches, ['x86_64', 'aarch64', 'ppc64le', 's390x']);
  const refF = af.findings.filter((x) => x.where === 'manifest.yaml: ref');
  assert.equal(refF.length, 1, 'one finding for all arches');
  assert.deepEqual(refF[0]!.arches, ['x86_64', 'aarch64', 'ppc64le', 's390x']);
  // The x86_64-only override lockfile is only checked for x86_64.
  assert.deepEqual(af.findings.find((x) => /oldtool/.test(x.message))!.arches, ['x86_64']);
  const j = await cli(['check', '--config', d, '--arch', 'x86_64', '--json'], { env: {} });
  assert.equal((JSON.parse(j.stdout) as { findings: unknown[] }).findings.length, checkConfig(d, 'x86_64').length);

  write(d, { 'manifest.yaml': 'ref: myos/${basearch}/${strem}\ninclude: fedora-coreos-config/manifest.yaml\n' });
  assert.ok(checkConfig(d, 'x86_64').some((x) => x.where === 'manifest.yaml: ref' && /uses \$\{strem\}, which no file defines/.test(x.message)));
  write(d, { 'manifest.yaml': 'ref: my os//x\ninclude: fedora-coreos-config/manifest.yaml\nremove-files: [/usr/share/x, usr/../etc]\n' });
  const rf = checkConfig(d, 'x86_64').filter((x) => x.where === 'manifest.yaml: remove-files');
  assert.deepEqual(rf.map((x) => x.fix), ['write it relative to the root, e.g. usr/share/x', 'write it relative to the root, e.g. usr/etc']);
  assert.ok(checkConfig(d, 'x86_64').some((x) => /is not a valid OSTree ref/.test(x.message)));

  // An upstream submodule that is not checked out is named first, with its fix.
  const clone = join(root, 'clone');
  spawnSync('git', ['clone', '-q', d, clone]);
  const sc = checkConfig(clone, 'x86_64');
  assert.equal(sc[0]!.message, 'submodule fedora-coreos-config is not checked out');
  assert.equal(sc[0]!.fix, 'run: git submodule update --init');

  // A broken manifest is a finding too, not a crash.
  write(d, { 'manifest.yaml': 'ref: [oops]\n' });
  const b = checkConfig(d, 'x86_64');
  assert.equal(b.length, 1);
  assert.match(b[0]!.message, /manifest\.yaml:1:6: ref: expected a string/);
  rmSync(join(d, 'manifest.yaml'));
  assert.match(checkConfig(d, 'x86_64')[0]!.fix, /coreforge config new/);
});

test('check: image remote without a remotes.d file, live/, platforms.yaml, URL-less repos, and nothing a build would refuse', async (t) => {
  const d = tmp(t);
  write(d, {
    'manifest.yaml': "ref: myos/${basearch}/stable\nautomatic-version-prefix: '1.<date:%Y%m%d>'\npackages: [bash]\nrepos: [base]\nostree-layers: [overlay/99myos]\n",
    'base.repo': '[base]\nname=Base\nbaseurl=http://127.0.0.1/base/$basearch/\n',
    'image.yaml': 'size: 8\nostree-remote: myos\n',
    'overlay.d/99myos/etc/motd': 'hello\n',
  });
  const lines = () => checkConfig(d, 'x86_64').map((f) => `${f.level} ${f.where}: ${f.message} | ${f.fix}`);
  // The image tracks remote 'myos', but no layered overlay defines it: machines could not update.
  let f = lines();
  assert.deepEqual(f.length, 1, f.join('\n'));
  assert.match(f[0]!, /^warning image\.yaml: ostree-remote: remote 'myos' has no etc\/ostree\/remotes\.d\/myos\.conf in any layered overlay .*\| create overlay\.d\/99NAME\/etc\/ostree\/remotes\.d\/myos\.conf with \[remote "myos"\] url=/);
  // The same file in an overlay that is not layered does not count.
  write(d, { 'overlay.d/50other/etc/ostree/remotes.d/myos.conf': '[remote "myos"]\nurl=https://example.com/repo\ngpg-verify=false\n' });
  f = lines();
  assert.ok(f.some((x) => /^warning image\.yaml: ostree-remote: remote 'myos' has no/.test(x)), f.join('\n'));
  assert.ok(f.some((x) => /^warning overlay\.d\/50other: overlay 50other is not in ostree-layers/.test(x)));
  rmSync(join(d, 'overlay.d/50other'), { recursive: true });
  write(d, { 'overlay.d/99myos/etc/ostree/remotes.d/myos.conf': '[remote "myos"]\nurl=https://example.com/repo\ngpg-verify=false\n' });
  f = lines();
  assert.deepEqual(f.map((x) => x.split(':')[0]), ['warning overlay.d/99myos/etc/ostree/remotes.d/myos.conf'], f.join('\n'));
  assert.match(f[0]!, /gpg-verify=false: machines will accept unsigned updates/);

  // live/, platforms.yaml: what the image steps read is checked too (it passed before).
  write(d, { live: 'not a directory\n', 'platforms.yaml': 'x86_64:\n  qemu:\n    kernel_arguments: console=ttyS0\n' });
  f = lines();
  assert.ok(f.some((x) => /^error live: .*live: expected a directory \| fix or remove live\//.test(x)), f.join('\n'));
  assert.ok(f.some((x) => /^error platforms\.yaml: .*platforms\.yaml:3:23: x86_64\.qemu\.kernel_arguments: expected a list of strings/.test(x)), f.join('\n'));
  rmSync(join(d, 'live'));
  rmSync(join(d, 'platforms.yaml'));

  // A used repo with no URL at all: config show and the build refuse it, so check does too.
  write(d, { 'base.repo': '[base]\nname=Base\nmetalink=\n' });
  f = lines();
  assert.ok(f.some((x) => x.startsWith("error base.repo: [base]: repository 'base' has none of baseurl, mirrorlist, metalink | add baseurl=")), f.join('\n'));
  const r = await cli(['check', '--config', d, '--arch', 'x86_64'], { env: {} });
  assert.equal(r.rc, 1);
  write(d, { 'base.repo': '[base]\nbaseurl=http://127.0.0.1/base/\n' });

  // Anything else ConfigRepo.load refuses becomes a finding (never a clean check then a failing build).
  // (check's own ostree-layers lint looks at overlay/ refs only; the compose needs every layer.)
  write(d, { 'manifest.yaml': "ref: myos/${basearch}/stable\nautomatic-version-prefix: '1'\npackages: [bash]\nrepos: [base]\nostree-layers: [overlay/99myos, extra/layer]\n" });
  f = lines();
  assert.ok(f.some((x) => /^error config: .*manifest\.yaml: ostree-layers: extra\/layer has no overlay\.d\/extra\/layer/.test(x)), f.join('\n'));
});
