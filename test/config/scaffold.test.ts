import assert from 'node:assert/strict';
import { chmodSync, existsSync, renameSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigRepo, checkConfig, loadTreefile } from '../../src/config/index.js';
import { cli, git, makeUpstream, tmp, write } from './helpers.js';

test('config new derives a config from a local upstream with real git', async (t) => {
  const root = tmp(t);
  const up = makeUpstream(root);
  write(root, { 'key.asc': '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nfake\n-----END PGP PUBLIC KEY BLOCK-----\n' });
  const r = await cli(
    ['config', 'new', 'myos', '--upstream', up, '--branch', 'stable', '--ref', 'my/${basearch}/coreos/stable', '--package', 'hdparm', '--package', 'htop', '--package', '@odd:name', '--repo', 'fedora', '--remote-name', 'myremote', '--remote-url', 'https://updates.example.com/repo', '--gpg-key', 'key.asc'],
    { cwd: root, env: process.env },
  );
  assert.equal(r.rc, 0, r.stderr);
  const d = join(root, 'myos');
  // A git repo with one commit and the upstream as a submodule on the branch.
  assert.equal(git(d, 'rev-list', '--count', 'HEAD').trim(), '1');
  assert.equal(git(d, 'status', '--porcelain').trim(), '');
  const gm = readFileSync(join(d, '.gitmodules'), 'utf8');
  assert.match(gm, /path = fedora-coreos-config/);
  assert.match(gm, /branch = stable/);
  assert.equal(readlinkSync(join(d, 'overlay.d', '05core')), '../fedora-coreos-config/overlay.d/05core');
  assert.equal(readlinkSync(join(d, 'manifest-lock.x86_64.json')), 'fedora-coreos-config/manifest-lock.x86_64.json');
  assert.equal(readlinkSync(join(d, 'manifest-lock.overrides.yaml')), 'fedora-coreos-config/manifest-lock.overrides.yaml');
  assert.equal(readlinkSync(join(d, 'fedora-coreos-pool.repo')), 'fedora-coreos-config/fedora-coreos-pool.repo');
  assert.equal(readlinkSync(join(d, 'live')), 'fedora-coreos-config/live');
  // fedora.repo is a copy with gpgcheck off (the keys live on the build host, not in the config).
  const repo = readFileSync(join(d, 'fedora.repo'), 'utf8');
  assert.doesNotMatch(repo, /^gpgcheck=1/m);
  assert.match(repo, /^gpgcheck=0/m);
  const conf = readFileSync(join(d, 'overlay.d/99my/etc/ostree/remotes.d/myremote.conf'), 'utf8');
  assert.match(conf, /^\[remote "myremote"\]\nurl=https:\/\/updates\.example\.com\/repo\ngpg-verify=true\ngpgkeypath=\/etc\/pki\/rpm-gpg\/RPM-GPG-KEY-myremote-ostree\n$/);
  assert.ok(existsSync(join(d, 'overlay.d/99my/etc/pki/rpm-gpg/RPM-GPG-KEY-myremote-ostree')));
  assert.match(readFileSync(join(d, 'image.yaml'), 'utf8'), /^include: fedora-coreos-config\/image-base\.yaml$/m);

  // The result loads as a config repo, for every arch, with our ref winning over upstream's.
  for (const arch of ['x86_64', 's390x']) {
    const c = ConfigRepo.load(d, { arch });
    assert.equal(c.treefile.ref, `my/${arch}/coreos/stable`);
    assert.ok(c.treefile.packages.includes('hdparm') && c.treefile.packages.includes('htop') && c.treefile.packages.includes('ignition'));
    assert.ok(c.treefile.packages.includes('@odd:name'), 'names YAML would misread are quoted');
    assert.deepEqual(c.treefile.repos, ['fedora', 'fedora-updates', 'fedora']);
    assert.deepEqual(c.repos.map((x) => x.id), ['fedora', 'fedora-updates', 'fedora-coreos-pool']);
    assert.equal(c.repos.find((x) => x.id === 'fedora')!.gpgcheck, false);
    assert.equal(c.image!.config['ostree-remote'], 'myremote');
    assert.equal(c.image!.config.size, 10);
    const pp = c.treefile.postprocess!;
    assert.match(pp[pp.length - 1]!, /rm -f \/etc\/ostree\/remotes\.d\/fedora\.conf/);
    assert.equal(c.treefile['ostree-layers']!.at(-1), 'overlay/99my');
    assert.deepEqual(c.layers().map((o) => o.name).at(-1), '99my');
    assert.ok(c.lockfile.packages.has('ignition'));
    assert.deepEqual(c.live?.files, ['zipl.prm']);
  }
  const shown = await cli(['config', 'show', '--config', d, '--arch', 'ppc64le', '--json'], { env: {} });
  assert.equal(shown.rc, 0, shown.stderr);
  const sj = JSON.parse(shown.stdout) as { ref: string; repos: { id: string; lockfileRepo: boolean }[]; layers: { ref: string }[]; image: { 'ostree-remote': string }; lockfiles: string[]; live: number };
  assert.equal(sj.ref, 'my/ppc64le/coreos/stable');
  assert.deepEqual(sj.repos.map((x) => [x.id, x.lockfileRepo]), [['fedora', false], ['fedora-updates', false], ['fedora-coreos-pool', true]]);
  assert.equal(sj.layers.at(-1)!.ref, 'overlay/99my');
  assert.equal(sj.image['ostree-remote'], 'myremote');
  assert.deepEqual(sj.lockfiles.map((f) => f.slice(d.length + 1)), ['manifest-lock.ppc64le.json', 'manifest-lock.overrides.yaml']);
  assert.equal(sj.live, 1);

  // `coreforge check` has nothing to say about a fresh config.
  const ck = await cli(['check', '--config', d, '--arch', 'x86_64'], { cwd: root, env: {} });
  assert.equal(ck.rc, 0, ck.stdout + ck.stderr);

  // A bad upstream leaves nothing behind.
  const bad = await cli(['config', 'new', 'nope', '--upstream', join(root, 'no-such-upstream')], { cwd: root, env: process.env });
  assert.equal(bad.rc, 1);
  assert.match(bad.stderr, /^error: git submodule add .*no-such-upstream failed: /);
  assert.ok(!existsSync(join(root, 'nope')));

  // It refuses to overwrite a non-empty directory.
  const again = await cli(['config', 'new', 'myos', '--upstream', up], { cwd: root, env: process.env });
  assert.equal(again.rc, 1);
  assert.match(again.stderr, /^error: .*myos is not empty; refusing to overwrite/);
});

test('init clones the config with submodules; COREFORGE_CONFIG_GIT overrides it', async (t) => {
  const root = tmp(t);
  const up = makeUpstream(root);
  const made = await cli(['config', 'new', 'acme', '--upstream', up], { cwd: root, env: process.env });
  assert.equal(made.rc, 0, made.stderr);
  // The default ref names the directory and the upstream branch followed (its HEAD: testing-devel).
  assert.match(made.stdout, /ref acme\/\$\{basearch\}\/coreos\/testing-devel,/);
  renameSync(join(root, 'acme'), join(root, 'derived'));
  assert.match(made.stderr, /note: no --remote-url/);
  assert.ok(!existsSync(join(root, 'acme', 'overlay.d', '99acme')), 'no placeholder overlay');
  const build = join(root, 'build');
  mkdirSync(build);
  const r = await cli(['init', join(root, 'derived')], { cwd: build, env: process.env });
  assert.equal(r.rc, 0, r.stderr);
  for (const d of ['builds', 'cache', 'tmp', 'src/config/manifest.yaml', 'src/config/fedora-coreos-config/manifest.yaml']) assert.ok(existsSync(join(build, d)), d);
  const viaBuild = await cli(['manifest', '--config', build, '--arch', 'aarch64', '--json'], { cwd: root, env: {} });
  assert.equal((JSON.parse(viaBuild.stdout) as { ref: string }).ref, 'acme/aarch64/coreos/testing-devel', '--config BUILDDIR uses its src/config');
  const m = await cli(['manifest', '--arch', 'aarch64', '--json'], { cwd: build, env: {} });
  assert.equal(m.rc, 0, m.stderr);
  assert.equal((JSON.parse(m.stdout) as { ref: string }).ref, 'acme/aarch64/coreos/testing-devel');

  // A second init refuses (not empty); a build dir inside a git work tree is refused.
  const again = await cli(['init', join(root, 'derived')], { cwd: build, env: process.env });
  assert.equal(again.rc, 1);
  assert.match(again.stderr, /not empty/);
  const inside = join(root, 'derived', 'sub');
  mkdirSync(inside);
  const bad = await cli(['init', up], { cwd: inside, env: process.env });
  assert.equal(bad.rc, 1);
  assert.match(bad.stderr, /inside a git work tree/);

  // COREFORGE_CONFIG_GIT (and cosa's COREOS_ASSEMBLER_CONFIG_GIT) point commands at a local checkout.
  const other = join(root, 'other');
  mkdirSync(other);
  writeFileSync(join(other, 'manifest.yaml'), 'ref: other/${basearch}\npackages: [bash]\n');
  for (const k of ['COREFORGE_CONFIG_GIT', 'COREOS_ASSEMBLER_CONFIG_GIT']) {
    const o = await cli(['manifest', '--arch', 'x86_64', '--json'], { cwd: build, env: { [k]: other } });
    assert.equal(o.rc, 0, o.stderr);
    assert.equal((JSON.parse(o.stdout) as { ref: string }).ref, 'other/x86_64');
  }
  assert.equal(loadTreefile(join(build, 'src/config/manifest.yaml'), { arch: 'x86_64' }).treefile.ref, 'acme/x86_64/coreos/testing-devel');
  chmodSync(inside, 0o755);

  // SUBDIR (cosa init GITCONFIG SUBDIR), and a repository that is not a config.
  const mono = join(root, 'mono');
  write(mono, { 'os/manifest.yaml': 'ref: mono/${basearch}\npackages: [bash]\n', 'os/image.yaml': 'size: 8\n', 'manifest.yaml': 'ref: nope\n' });
  git(mono, 'init', '-q');
  git(mono, 'add', '-A');
  git(mono, 'commit', '-q', '-m', 'm');
  const b2 = join(root, 'build2');
  mkdirSync(b2);
  const s = await cli(['init', mono, 'os'], { cwd: b2, env: process.env });
  assert.equal(s.rc, 0, s.stderr);
  assert.equal(readlinkSync(join(b2, 'src/config')), 'config-git/os');
  const ms = await cli(['manifest', '--arch', 'x86_64', '--json'], { cwd: b2, env: {} });
  assert.equal((JSON.parse(ms.stdout) as { ref: string }).ref, 'mono/x86_64');
  const b3 = join(root, 'build3');
  mkdirSync(b3);
  const n = await cli(['init', mono], { cwd: b3, env: process.env });
  assert.equal(n.rc, 1);
  assert.match(n.stderr, /^error: .*no image\.yaml in the cloned config/);
});

test('config new follows the branch it is given; init --branch, --force, and a config from the environment', async (t) => {
  const root = tmp(t);
  const up = makeUpstream(root);
  // A commit only on stable: the submodule must be checked out there, not at the upstream's HEAD.
  git(up, 'checkout', '-q', 'stable');
  write(up, { 'STREAM': 'stable\n' });
  git(up, 'add', '-A');
  git(up, 'commit', '-q', '-m', 'stable only');
  const stableHead = git(up, 'rev-parse', 'HEAD').trim();
  git(up, 'checkout', '-q', 'testing-devel');
  const r = await cli(['config', 'new', 'cfg', '--upstream', up, '--branch', 'stable', '--ref', 'my/${basearch}/coreos/stable', '--remote-url', 'https://updates.example.com/repo'], { cwd: root, env: process.env });
  assert.equal(r.rc, 0, r.stderr);
  const d = join(root, 'cfg');
  assert.equal(git(join(d, 'fedora-coreos-config'), 'rev-parse', 'HEAD').trim(), stableHead);
  assert.match(git(d, 'ls-tree', 'HEAD', 'fedora-coreos-config'), new RegExp(`^160000 commit ${stableHead}\\tfedora-coreos-config\\n$`), 'the initial commit records the stable commit');
  // Without --gpg-key: remote named after the ref, gpg-verify off, no key shipped; check says so.
  assert.equal(readFileSync(join(d, 'overlay.d/99my/etc/ostree/remotes.d/my.conf'), 'utf8'), '[remote "my"]\nurl=https://updates.example.com/repo\ngpg-verify=false\n');
  assert.ok(!existsSync(join(d, 'overlay.d/99my/etc/pki')));
  const ck = checkConfig(d, 'x86_64');
  assert.deepEqual(ck.map((f) => `${f.level} ${f.where}`), ['warning overlay.d/99my/etc/ostree/remotes.d/my.conf']);
  // --repo naming a repo no upstream .repo file defines is refused, and leaves nothing behind.
  const nr = await cli(['config', 'new', 'cfg2', '--upstream', up, '--repo', 'nosuch'], { cwd: root, env: process.env });
  assert.equal(nr.rc, 1);
  assert.match(nr.stderr, /^error: --repo: no \.repo file in .* defines \[nosuch\] \(available: .*fedora-coreos-pool/);
  assert.ok(!existsSync(join(root, 'cfg2')));

  // init --branch clones that branch (with the submodule); --force uses a non-empty directory.
  git(d, 'branch', 'release');
  git(d, 'checkout', '-q', 'release');
  write(d, { 'manifest.yaml': readFileSync(join(d, 'manifest.yaml'), 'utf8').replace('my/${basearch}/coreos/stable', 'my/${basearch}/coreos/release') });
  git(d, 'commit', '-q', '-am', 'release ref');
  git(d, 'checkout', '-q', '-');
  const b = join(root, 'build');
  write(b, { 'notes.txt': 'mine\n' });
  const refused = await cli(['init', '--branch', 'release', d], { cwd: b, env: process.env });
  assert.equal(refused.rc, 1);
  assert.match(refused.stderr, /not empty \(notes\.txt…\); use an empty directory or --force/);
  const ok = await cli(['init', '--force', '--branch', 'release', d], { cwd: b, env: process.env });
  assert.equal(ok.rc, 0, ok.stderr);
  assert.equal(readFileSync(join(b, 'notes.txt'), 'utf8'), 'mine\n');
  assert.equal(git(join(b, 'src/config'), 'rev-parse', '--abbrev-ref', 'HEAD').trim(), 'release');
  assert.equal(git(join(b, 'src/config/fedora-coreos-config'), 'rev-parse', 'HEAD').trim(), stableHead);
  const m = await cli(['manifest', '--arch', 'x86_64', '--json'], { cwd: b, env: {} });
  assert.equal((JSON.parse(m.stdout) as { ref: string }).ref, 'my/x86_64/coreos/release');

  // cosa's local-config recipe: export COREOS_ASSEMBLER_CONFIG_GIT=DIR; init --force /dev/null.
  for (const k of ['COREOS_ASSEMBLER_CONFIG_GIT', 'COREFORGE_CONFIG_GIT']) {
    const e = join(root, `env-${k}`);
    mkdirSync(e);
    const env = { ...process.env, [k]: d };
    delete env[k === 'COREFORGE_CONFIG_GIT' ? 'COREOS_ASSEMBLER_CONFIG_GIT' : 'COREFORGE_CONFIG_GIT'];
    const i = await cli(k === 'COREFORGE_CONFIG_GIT' ? ['init'] : ['init', '--force', '/dev/null'], { cwd: e, env });
    assert.equal(i.rc, 0, i.stderr);
    assert.equal(readlinkSync(join(e, 'src/config')), d, 'src/config is the local config, not a clone');
    for (const x of ['builds', 'cache', 'tmp']) assert.ok(existsSync(join(e, x)), x);
    // Edits to the local config are seen at once, with or without the variable.
    const viaEnv = await cli(['manifest', '--arch', 's390x', '--json'], { cwd: e, env: { [k]: d } });
    const plain = await cli(['manifest', '--arch', 's390x', '--json'], { cwd: e, env: {} });
    for (const o of [viaEnv, plain]) assert.equal((JSON.parse(o.stdout) as { ref: string }).ref, 'my/s390x/coreos/stable');
  }
  const noCfg = join(root, 'env-bad');
  mkdirSync(noCfg);
  const bad = await cli(['init', '/dev/null'], { cwd: noCfg, env: { ...process.env, COREFORGE_CONFIG_GIT: join(root, 'nowhere') } });
  assert.equal(bad.rc, 1);
  assert.match(bad.stderr, /^error: \$COREFORGE_CONFIG_GIT: no manifest\.yaml in .*nowhere; is it a config repository\?/m);
});
