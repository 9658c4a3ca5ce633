/**
 * `coreforge build` end to end on the bundled example distribution (real
 * RPMs built with rpmbuild, served over HTTP on 127.0.0.1), judged by the
 * real ostree: the documented import of the build's tar, fsck, and a deploy
 * into a test sysroot with `ostree admin`.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, chownSync, chmodSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { CF, ROOT, ok, run } from '../util/exec.js';
import { buildExampleRpms, exampleRpmsAvailable } from '../../src/compose/testing/example.js';
import { createrepo, serveDir, type TestServer } from '../../src/rpm/repo/testing.js';
import { RpmBuilder } from '../../src/rpm/testing/rpmbuild.js';
import { sandboxAvailable } from '../../src/compose/sandbox.js';
import { RepoServer } from '../../src/server/static-repo.js';

const skip = !exampleRpmsAvailable() ? 'rpmbuild/createrepo_c/busybox missing' : !sandboxAvailable().ok ? `no sandbox: ${sandboxAvailable().reason}` : false;
const REF = 'fedora/x86_64/coreos/stable';
const EPOCH = '1700000000';

let work: string;
let rpmsRoot: string;
let server: TestServer;

before(async () => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'cf-build-'));
  chmodSync(work, 0o755); // the rootless test's user must reach its build dir
  rpmsRoot = join(work, 'rpms');
  buildExampleRpms(rpmsRoot);
  // packages that must make a build fail
  const b = new RpmBuilder();
  try {
    const extra = join(rpmsRoot, 'extra');
    mkdirSync(extra, { recursive: true });
    const bad = b.build({
      name: 'bad-post',
      install: 'mkdir -p %{buildroot}/usr/share/bad && echo bad > %{buildroot}/usr/share/bad/file',
      files: ['/usr/share/bad'],
      scripts: '%post\necho "about to fail: $1"\nexit 3\n',
    });
    copyFileSync(bad, join(extra, 'bad-post-1.0-1.noarch.rpm'));
    createrepo(extra);
    const corrupt = join(rpmsRoot, 'corrupt');
    mkdirSync(corrupt, { recursive: true });
    const good = b.build({ name: 'damaged', install: 'mkdir -p %{buildroot}/usr/share/d && head -c 200000 /dev/urandom > %{buildroot}/usr/share/d/blob', files: ['/usr/share/d'] });
    const bytes = readFileSync(good);
    for (let i = 0; i < 32; i++) bytes[bytes.length - 5000 + i]! ^= 0xff;
    writeFileSync(join(corrupt, 'damaged-1.0-1.noarch.rpm'), bytes);
    createrepo(corrupt);
  } finally {
    b.dispose();
  }
  server = await serveDir(rpmsRoot);
});

after(async () => {
  if (skip) return;
  await server.close();
  // ostree admin deploy makes deployment roots immutable (chattr +i)
  await run('sh', ['-c', `chattr -i "$0"/sysroot/ostree/deploy/*/deploy/* 2>/dev/null; true`, work]);
  rmSync(work, { recursive: true, force: true });
});

/** The example config as a git repository, its repo pointed at the test server; `edit` may change it before the commit. */
function makeConfig(name: string, edit?: (dir: string) => void, owner?: { uid: number; gid: number }): string {
  const dir = join(work, name);
  cpSync(join(ROOT, 'examples', 'upstream-config'), dir, { recursive: true });
  const repoFile = join(dir, 'mini-fedora.repo');
  writeFileSync(repoFile, readFileSync(repoFile, 'utf8').replace('http://127.0.0.1:8471/', server.url));
  edit?.(dir);
  const git = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { stdio: 'ignore' });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@localhost', 'commit', '-qm', 'config');
  if (owner) execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, dir]);
  return dir;
}

/** Add a repo serving `sub` and extra top-level packages; resolve without the lockfile. */
function withExtra(sub: string, pkg: string): (dir: string) => void {
  return (dir) => {
    writeFileSync(join(dir, `${sub}.repo`), `[${sub}]\nname=${sub}\nbaseurl=${server.url}${sub}/\nenabled=1\ngpgcheck=0\n`);
    const m = join(dir, 'manifest.yaml');
    writeFileSync(m, readFileSync(m, 'utf8').replace('repos:\n  - mini-fedora\n', `repos:\n  - mini-fedora\n  - ${sub}\n\npackages:\n  - ${pkg}\n`));
    rmSync(join(dir, 'manifest-lock.x86_64.json'), { force: true });
  };
}

function cfIn(dir: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return run('sh', ['-c', `cd "$0" && exec "$@"`, dir, CF, ...args], { ...process.env, SOURCE_DATE_EPOCH: EPOCH, ...env });
}

async function newBuildDir(name: string, config: string): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  const r = await cfIn(dir, ['init', config]);
  assert.equal(r.status, 0, r.stderr);
  return dir;
}

test('build the example: cosa layout, the documented tar import with the real ostree, fsck, admin deploy; unchanged inputs stop; a rebuild has the parent', { skip }, async () => {
  const config = makeConfig('cfg-main');
  const bd = await newBuildDir('b-main', config);
  const r = await cfIn(bd, ['build']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.match(r.stderr, /Running scriptlets/);
  const m = /Built (\S+) \(x86_64\): (\S+) = ([0-9a-f]{64})/.exec(r.stdout);
  assert.ok(m, r.stdout);
  const [, version, ref, commit] = m;
  assert.equal(ref, REF);
  assert.equal(version, '40.20231114.dev.0'); // releasever + SOURCE_DATE_EPOCH's date + .dev.0

  // cosa's builds/ layout
  const builds = JSON.parse(readFileSync(join(bd, 'builds', 'builds.json'), 'utf8'));
  assert.deepEqual(builds.builds[0], { id: version, arches: ['x86_64'] });
  assert.equal(readdirSync(join(bd, 'builds', 'latest')).join(), 'x86_64');
  const meta = JSON.parse(readFileSync(join(bd, 'builds', version!, 'x86_64', 'meta.json'), 'utf8'));
  assert.equal(meta['ostree-commit'], commit);
  assert.equal(meta.buildid, version);
  assert.match(meta['rpm-ostree-inputhash'], /^[0-9a-f]{64}$/);
  const commitmeta = JSON.parse(readFileSync(join(bd, 'builds', version!, 'x86_64', 'commitmeta.json'), 'utf8'));
  assert.equal(commitmeta.version, version);
  assert.equal(commitmeta['ostree.linux'], '6.1.0-1.ex40.x86_64');
  assert.equal(commitmeta['ostree.bootable'], true);
  assert.ok(commitmeta['rpmostree.rpmdb.pkglist'].some((p: string[]) => p[0] === 'busybox'));

  // the documented import, verbatim, with the real ostree
  const tars = readdirSync(join(bd, 'builds', 'latest', 'x86_64')).filter((f) => /ostree.*\.tar$/.test(f));
  assert.equal(tars.length, 1);
  const imp = join(work, 'import');
  mkdirSync(join(imp, 'tmp', 'build-repo'), { recursive: true });
  await ok('ostree', ['--repo=' + join(imp, 'repo'), 'init', '--mode=archive']);
  await ok('sh', ['-c', `cd "${imp}" && tar -xf "${join(bd, 'builds', 'latest', 'x86_64', tars[0]!)}" -C tmp/build-repo && ostree --repo=repo pull-local tmp/build-repo ${REF}`]);
  assert.equal((await ok('ostree', ['--repo=' + join(imp, 'repo'), 'rev-parse', REF])).trim(), commit);
  assert.match(await ok('ostree', ['--repo=' + join(imp, 'repo'), 'fsck']), /no errors found|Verifying content integrity/);

  // rpm-ostree's tree conventions, as the real ostree lists them
  const ls = await ok('ostree', ['--repo=' + join(imp, 'repo'), 'ls', '-R', REF]);
  assert.match(ls, /^-00\d{3} 0 0 +\d+ \/usr\/lib\/modules\/6\.1\.0-1\.ex40\.x86_64\/vmlinuz$/m);
  assert.match(ls, /\/usr\/lib\/modules\/6\.1\.0-1\.ex40\.x86_64\/initramfs\.img$/m);
  assert.match(ls, /^-00644 0 0 +\d+ \/usr\/share\/rpm\/rpmdb\.sqlite$/m);
  assert.match(ls, /^-00640 0 999 +\d+ \/usr\/etc\/exampled\/exampled\.conf$/m);
  assert.match(ls, /^l00777 0 0 +0 \/home -> var\/home$/m);
  assert.doesNotMatch(ls, /^\S+ \S+ \S+ +\S+ \/etc\//m);
  assert.doesNotMatch(ls, /^\S+ \S+ \S+ +\S+ \/var\/./m);
  const cat = (p: string) => ok('ostree', ['--repo=' + join(imp, 'repo'), 'cat', REF, p]);
  assert.match(await cat('/usr/lib/passwd'), /^exampled:x:999:999:/m);
  assert.doesNotMatch(await cat('/usr/etc/passwd'), /exampled/);
  assert.match(await cat('/usr/lib/tmpfiles.d/rpm-ostree-1-autovar.conf'), /^d \/var\/lib\/exampled 0750 exampled exampled - -$/m);
  assert.match(await cat('/usr/etc/issue'), /./); // written by example-release's %post
  assert.match(await cat('/usr/lib/os-release'), /VERSION="?40\.20231114\.dev\.0/); // mutate-os-release
  const caps = await ok('ostree', ['--repo=' + join(imp, 'repo'), 'ls', '-X', REF, '/usr/bin/example-ping']);
  assert.match(caps, /security\.capability/);

  // the target's rpm reads the rpmdb (sqlite backend)
  const co = join(work, 'checkout');
  await ok('ostree', ['--repo=' + join(imp, 'repo'), 'checkout', '-U', REF, co]);
  const qa = (await ok('rpm', ['--root', co, '--dbpath', '/usr/share/rpm', '-qa', '--qf', '%{NAME}\\n'])).split('\n').filter(Boolean).sort();
  assert.deepEqual(qa, ['busybox', 'example-daemon', 'example-ping', 'example-release', 'filesystem', 'kernel', 'setup']);

  // the real ostree admin deploys it
  const sysroot = join(work, 'sysroot');
  mkdirSync(sysroot);
  await ok('ostree', ['admin', 'init-fs', sysroot]);
  await ok('ostree', ['admin', 'os-init', `--sysroot=${sysroot}`, 'mini']);
  await ok('ostree', [`--repo=${join(sysroot, 'ostree', 'repo')}`, 'pull-local', join(imp, 'repo'), REF]);
  await ok('ostree', ['admin', 'deploy', `--sysroot=${sysroot}`, '--os=mini', '--karg=root=LABEL=root', REF]);
  const status = await ok('ostree', ['admin', 'status', `--sysroot=${sysroot}`]);
  assert.match(status, new RegExp(`mini ${commit}\\.0`));
  assert.match(status, new RegExp(`Version: ${version!.replace(/\./g, '\\.')}`));
  const deployed = join(sysroot, 'ostree', 'deploy', 'mini', 'deploy', `${commit}.0`);
  assert.match(readFileSync(join(deployed, 'etc', 'passwd'), 'utf8'), /^root:/m);
  assert.ok(existsSync(join(sysroot, 'boot', 'loader', 'entries')));

  // unchanged inputs: cosa's "no changes" and nothing new
  const again = await cfIn(bd, ['build']);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stdout, /No changes in inputs/);
  assert.equal(JSON.parse(readFileSync(join(bd, 'builds', 'builds.json'), 'utf8')).builds.length, 1);

  // --force: a second build whose parent is the first
  const forced = await cfIn(bd, ['build', '--force']);
  assert.equal(forced.status, 0, forced.stderr);
  const m2 = /Built (\S+) \(x86_64\): \S+ = ([0-9a-f]{64})/.exec(forced.stdout);
  assert.ok(m2);
  assert.equal(m2[1], '40.20231114.dev.1');
  const show = await ok('ostree', ['--repo=' + join(bd, 'tmp', 'repo'), 'log', REF]);
  assert.match(show, new RegExp(`commit ${m2[2]}[\\s\\S]*commit ${commit}`));
  const again2 = JSON.parse((await cfIn(bd, ['build', '--force', '--json'])).stdout);
  assert.deepEqual(again2.packages, { total: 7, unpacked: 0, cached: 7 }); // the pkgcache: nothing unpacked twice

  // over the air: publish both builds into the distribution repo, serve it, the deployed machine upgrades
  const dist = join(work, 'dist-repo');
  let p = await cfIn(bd, ['publish', '--repo', dist, '--build', version!]);
  assert.equal(p.status, 0, p.stderr);
  const srv = new RepoServer({ repos: [{ path: dist }] });
  const { url } = await srv.start();
  try {
    const sysrepo = join(sysroot, 'ostree', 'repo');
    await ok('ostree', [`--repo=${sysrepo}`, 'remote', 'add', '--no-gpg-verify', 'my', url]);
    await ok('ostree', ['admin', 'switch', `--sysroot=${sysroot}`, '--os=mini', `my:${REF}`]);
    p = await cfIn(bd, ['publish', '--repo', dist]);
    assert.equal(p.status, 0, p.stderr);
    const up = await ok('ostree', ['admin', 'upgrade', `--sysroot=${sysroot}`, '--os=mini']);
    assert.doesNotMatch(up, /No update available/);
    const st2 = await ok('ostree', ['admin', 'status', `--sysroot=${sysroot}`]);
    assert.match(st2.split('\n')[0]!, new RegExp(`mini ${again2.commit}\\.0$`)); // the new default deployment
    assert.match(await ok('ostree', [`--repo=${sysrepo}`, 'fsck']), /no errors found/);
  } finally {
    await srv.stop();
  }
});

test('reproducible: same config, lockfile and SOURCE_DATE_EPOCH give the same commit in another build directory, and rootless', { skip }, async () => {
  const config = makeConfig('cfg-repro');
  const commits: string[] = [];
  for (const name of ['b-repro1', 'b-repro2']) {
    const bd = await newBuildDir(name, config);
    const r = await cfIn(bd, ['build', '--json']);
    assert.equal(r.status, 0, r.stderr);
    commits.push(JSON.parse(r.stdout).commit);
  }
  assert.equal(commits[0], commits[1]);

  // a forced rebuild recycles the previous build's root (assemble.ts): the same commit as one assembled from scratch
  const rebuilt: string[] = [];
  for (const [name, recycle] of [['b-repro1', true], ['b-repro2', false]] as const) {
    const bd = join(work, name);
    assert.equal(existsSync(join(bd, 'tmp', 'previous-build', 'root', 'usr')), true, 'a build keeps its root for the next');
    if (!recycle) rmSync(join(bd, 'tmp', 'previous-build'), { recursive: true });
    const r = await cfIn(bd, ['build', '--force', '--version', '40.1', '--json']);
    assert.equal(r.status, 0, r.stderr);
    rebuilt.push(JSON.parse(r.stdout).commit);
  }
  assert.notEqual(rebuilt[0], commits[0]);
  assert.equal(rebuilt[0], rebuilt[1]);

  // an unprivileged user: ownership and modes come from the RPM headers, not from chown on disk
  const nobody = { uid: 65534, gid: 65534 };
  if (process.getuid?.() !== 0) return;
  const cfgU = makeConfig('cfg-rootless', undefined, nobody);
  const bd = join(work, 'b-rootless');
  mkdirSync(bd);
  chownSync(bd, nobody.uid, nobody.gid);
  const asNobody = (args: string[]) => run('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', `cd "$0" && exec "$@"`, bd, CF, ...args], { ...process.env, HOME: bd, SOURCE_DATE_EPOCH: EPOCH });
  let r = await asNobody(['init', cfgU]);
  assert.equal(r.status, 0, r.stderr);
  r = await asNobody(['build', '--json']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(JSON.parse(r.stdout).commit, commits[0]);
  // and a rootless rebuild recycles its root (modes it cannot write through are lifted and put back)
  r = await asNobody(['build', '--force', '--version', '40.1', '--json']);
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.equal(JSON.parse(r.stdout).commit, rebuilt[0]);
});

test('a failing %post fails the build with its output; nothing is committed or recorded', { skip }, async () => {
  const config = makeConfig('cfg-badpost', withExtra('extra', 'bad-post'));
  const bd = await newBuildDir('b-badpost', config);
  const r = await cfIn(bd, ['build']);
  assert.equal(r.status !== 0, true);
  assert.match(r.stderr, /bad-post-1\.0-1\.noarch: %post scriptlet failed \(exit status 3\)/);
  assert.match(r.stderr, /about to fail: 1/);
  assert.doesNotMatch(r.stderr, /\n\s+at /); // a message, not a stack trace
  assert.ok(!existsSync(join(bd, 'builds', 'builds.json')));
  const refs = await run('ostree', ['--repo=' + join(bd, 'tmp', 'repo'), 'refs']);
  assert.equal(refs.stdout.trim(), '');
  assert.deepEqual(readdirSync(join(bd, 'tmp')).filter((f) => f.startsWith('compose-')), []);
});

test('a corrupt package is refused; nothing is committed or recorded', { skip }, async () => {
  const config = makeConfig('cfg-corrupt', withExtra('corrupt', 'damaged'));
  const bd = await newBuildDir('b-corrupt', config);
  const r = await cfIn(bd, ['build']);
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /damaged-1\.0-1\.noarch/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  assert.ok(!existsSync(join(bd, 'builds', 'builds.json')));
});

