/**
 * The example distribution's RPMs (examples/rpms via scripts/example-rpms):
 * they build, reproducibly (as root and unprivileged), carry the scriptlets,
 * owners, %config flags and file capabilities they should (checked with the
 * real rpm), match the example config's lockfile, and — installed with the
 * real rpm into a scratch root — their scriptlets run with busybox and the
 * useradd/groupadd/getent stand-ins.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { serveDir } from '../../rpm/repo/testing.js';
import { EXAMPLE_PACKAGES, buildExampleRpms, exampleRpmsAvailable, repoRoot, type ExampleRepo } from './example.js';

const skip = !exampleRpmsAvailable() && 'rpmbuild, createrepo_c, cpio or /bin/busybox missing';
const isRoot = process.getuid?.() === 0;
let repo: ExampleRepo;
let work: string;

function q(file: string, fmt: string): string {
  return execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--qf', fmt, file], { env: { ...process.env, LC_ALL: 'C' } }).toString();
}
function rpmOf(name: string): string {
  const f = repo.rpms.find((r) => path.basename(r).replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, '') === name);
  assert.ok(f, `no RPM for ${name} in ${repo.dir}`);
  return f;
}
function sha(f: string): string {
  return createHash('sha256').update(fs.readFileSync(f)).digest('hex');
}

before(() => {
  if (skip) return;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-exrpms-'));
  repo = buildExampleRpms();
});
after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('every example package is built and indexed; the example lockfile pins exactly them', { skip }, () => {
  const names = repo.rpms.map((r) => q(r, '%{NAME}'));
  assert.deepEqual([...names].sort(), [...EXAMPLE_PACKAGES].sort());
  assert.ok(fs.existsSync(path.join(repo.dir, 'repodata', 'repomd.xml')));
  const cfg = path.join(repoRoot(), 'examples', 'upstream-config');
  const lock = JSON.parse(fs.readFileSync(path.join(cfg, 'manifest-lock.x86_64.json'), 'utf8')) as { packages: Record<string, { evra: string }> };
  const built = Object.fromEntries(repo.rpms.map((r) => [q(r, '%{NAME}'), q(r, '%{EPOCH}:%{VERSION}-%{RELEASE}.%{ARCH}').replace(/^\(none\):/, '')]));
  assert.deepEqual(Object.fromEntries(Object.entries(lock.packages).map(([n, v]) => [n, v.evra])), built);
  const m = parseYaml(fs.readFileSync(path.join(cfg, 'manifests', 'mini-coreos.yaml'), 'utf8')) as { packages: string[] };
  for (const p of m.packages) assert.ok(p in built, `manifest package ${p} is not built`);
});

test('rpm -qp shows the scriptlets, owners, %config flags, file capabilities and layout', { skip }, () => {
  const daemon = rpmOf('example-daemon');
  const pre = q(daemon, '%{PREIN}');
  assert.match(pre, /getent group exampled >\/dev\/null \|\| groupadd -r exampled/);
  assert.match(pre, /useradd -r -g exampled -d \/var\/lib\/exampled -s \/sbin\/nologin/);
  const files = q(daemon, '[%{FILENAMES} %{FILEUSERNAME} %{FILEGROUPNAME} %{FILEMODES:perms} %{FILEFLAGS:fflags}\n]');
  assert.match(files, /^\/var\/lib\/exampled exampled exampled drwxr-x--- $/m);
  assert.match(files, /^\/var\/log\/exampled exampled exampled drwxr-xr-x $/m);
  assert.match(files, /^\/etc\/exampled\/exampled\.conf root exampled -rw-r----- cn$/m);
  assert.match(files, /^\/usr\/lib\/systemd\/system\/exampled\.service root root -rw-r--r-- $/m);
  assert.match(q(daemon, '[%{REQUIRENEVRS}\n]'), /^\/usr\/sbin\/useradd$/m);

  assert.equal(q(rpmOf('example-ping'), '[%{FILENAMES} %{FILECAPS}\n]').trim(), '/usr/bin/example-ping cap_net_raw=ep');
  assert.match(q(rpmOf('example-release'), '%{POSTIN}'), /> \/etc\/issue/);
  assert.match(q(rpmOf('setup'), '[%{FILENAMES} %{FILEMODES:perms} %{FILEFLAGS:fflags}\n]'), /^\/etc\/shadow ---------- cn$/m);

  const fsys = q(rpmOf('filesystem'), '[%{FILENAMES} -> %{FILELINKTOS}\n]');
  for (const [l, t] of [['/bin', 'usr/bin'], ['/sbin', 'usr/sbin'], ['/lib', 'usr/lib'], ['/lib64', 'usr/lib64']]) assert.match(fsys, new RegExp(`^${l} -> ${t}$`, 'm'));

  const bb = rpmOf('busybox');
  assert.match(q(bb, '[%{PROVIDENEVRS}\n]'), /^\/bin\/sh$/m);
  const bbFiles = q(bb, '[%{FILENAMES} %{FILELINKTOS}\n]');
  for (const f of ['/usr/bin/sh busybox', '/usr/bin/ls busybox', '/usr/sbin/nologin ../bin/busybox', '/usr/sbin/useradd ', '/usr/sbin/groupadd ', '/usr/bin/getent ']) assert.ok(bbFiles.includes(f + '\n'), `busybox lacks ${f}`);

  const k = rpmOf('kernel');
  const kver = q(k, '%{VERSION}-%{RELEASE}.%{ARCH}');
  const kfiles = q(k, '[%{FILENAMES}\n]');
  assert.match(kfiles, new RegExp(`^/usr/lib/modules/${kver.replace(/\./g, '\\.')}/vmlinuz$`, 'm'));
  assert.match(kfiles, new RegExp(`^/usr/lib/modules/${kver.replace(/\./g, '\\.')}/initramfs\\.img$`, 'm'));
  // the prebuilt initramfs is a gzip'd newc cpio with /init and busybox
  const x = fs.mkdtempSync(path.join(work, 'k-'));
  execFileSync('sh', ['-c', `rpm2cpio '${k}' | cpio -idm --quiet`], { cwd: x });
  const img = fs.readFileSync(path.join(x, 'usr/lib/modules', kver, 'initramfs.img'));
  assert.equal(img.readUInt16BE(0), 0x1f8b);
  const list = execFileSync('sh', ['-c', `zcat '${path.join(x, 'usr/lib/modules', kver, 'initramfs.img')}' | cpio -itv --quiet`]).toString();
  assert.match(list, /^-rwxr-xr-x .* root +root .* init$/m);
  assert.match(list, /usr\/bin\/busybox$/m);
  const osr = q(rpmOf('example-release'), '[%{FILENAMES} %{FILELINKTOS}\n]');
  assert.match(osr, /^\/etc\/os-release \.\.\/usr\/lib\/os-release$/m);
});

test('a rebuild gives byte-identical RPMs (and, as root, so does an unprivileged build)', { skip }, () => {
  const out = path.join(work, 'rebuild');
  fs.mkdirSync(out);
  let again: ExampleRepo;
  if (isRoot) {
    // build as nobody: proves the specs need no privileges, and that owners come from %attr only
    fs.chmodSync(work, 0o755);
    fs.chownSync(out, 65534, 65534);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', path.join(repoRoot(), 'scripts', 'example-rpms'), out], {
      env: { ...process.env, HOME: out, TMPDIR: out },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    again = buildExampleRpms(out); // up to date: no rebuild, just the listing
  } else again = buildExampleRpms(out);
  assert.deepEqual(again.rpms.map((f) => path.basename(f)), repo.rpms.map((f) => path.basename(f)));
  for (let i = 0; i < repo.rpms.length; i++) assert.equal(sha(again.rpms[i]!), sha(repo.rpms[i]!), `${path.basename(repo.rpms[i]!)} differs between builds`);
  assert.equal(fs.readFileSync(path.join(again.dir, 'repodata', 'repomd.xml'), 'utf8'), fs.readFileSync(path.join(repo.dir, 'repodata', 'repomd.xml'), 'utf8'));
});

test('installed with the real rpm into a scratch root, the scriptlets run (busybox, useradd/groupadd/getent)', { skip: skip || (!isRoot && 'needs root (rpm --root chroots)') }, () => {
  const root = fs.mkdtempSync(path.join(work, 'root-'));
  const rpm = (...a: string[]) => spawnSync('rpm', ['--root', root, '--dbpath', '/usr/share/rpm', ...a], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' } });
  assert.equal(rpm('--initdb').status, 0);
  const r = rpm('-i', ...repo.rpms); // one transaction: rpm orders setup → filesystem → busybox → the rest
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(r.stderr, /scriptlet failed|warning: user|warning: group/);
  const passwd = fs.readFileSync(path.join(root, 'etc/passwd'), 'utf8');
  const m = /^exampled:x:(\d+):(\d+):Example daemon:\/var\/lib\/exampled:\/sbin\/nologin$/m.exec(passwd);
  assert.ok(m, passwd);
  const [uid, gid] = [Number(m[1]), Number(m[2])];
  assert.ok(uid < 1000 && uid >= 201, `system uid ${uid}`);
  assert.match(fs.readFileSync(path.join(root, 'etc/group'), 'utf8'), new RegExp(`^exampled:x:${gid}:$`, 'm'));
  assert.match(fs.readFileSync(path.join(root, 'etc/shadow'), 'utf8'), /^exampled:!!:\d+::::::$/m);
  const st = fs.statSync(path.join(root, 'var/lib/exampled'));
  assert.equal(st.uid, uid);
  assert.equal(st.gid, gid);
  assert.equal(st.mode & 0o7777, 0o750);
  assert.equal(fs.statSync(path.join(root, 'etc/exampled/exampled.conf')).gid, gid);
  assert.match(fs.readFileSync(path.join(root, 'etc/issue'), 'utf8'), /^Example Linux 40 \(CoreOS\)$/m);
  assert.equal(fs.readlinkSync(path.join(root, 'bin')), 'usr/bin');
  assert.equal(fs.statSync(path.join(root, 'tmp')).mode & 0o7777, 0o1777);
  const caps = spawnSync('getcap', [path.join(root, 'usr/bin/example-ping')], { encoding: 'utf8' });
  if (caps.status === 0) assert.match(caps.stdout, /cap_net_raw[=+]ep/);

  // the stand-ins behave like shadow-utils inside the tree
  const sh = (script: string) => spawnSync('chroot', [root, '/bin/sh', '-c', script], { encoding: 'utf8', env: { PATH: '/usr/sbin:/usr/bin', SOURCE_DATE_EPOCH: '1717200000' } });
  let x = sh('getent passwd exampled >/dev/null && getent group wheel && getent passwd nosuch');
  assert.equal(x.status, 2);
  assert.equal(x.stdout, 'wheel:x:10:\n');
  x = sh('useradd -m -G wheel -c Alice alice && getent passwd alice && getent group wheel && stat -c "%u %a" /home/alice');
  assert.equal(x.status, 0, x.stderr);
  assert.equal(x.stdout, 'alice:x:1000:1000:Alice:/home/alice:/bin/sh\nwheel:x:10:alice\n1000 700\n');
  assert.match(fs.readFileSync(path.join(root, 'etc/gshadow'), 'utf8'), /^alice:!::$/m);
  x = sh('groupadd -r exampled');
  assert.equal(x.status, 9);
  assert.match(x.stderr, /already exists/);
  assert.equal(sh('groupadd -f -r exampled').status, 0);
  x = sh('groupadd -r svc && useradd -r -g svc -s /sbin/nologin svc && getent passwd svc');
  assert.equal(x.status, 0, x.stderr);
  assert.match(x.stdout, /^svc:x:99[0-8]:99[0-8]::\/home\/svc:\/sbin\/nologin\n$/);
  assert.equal(sh('useradd -g nosuchgroup bob').status, 6);
  // erasing runs no scriptlets of ours but must work with the tree's shell
  assert.equal(rpm('-e', 'example-ping').status, 0);
});

test('coreforge fetch resolves the example config against the example repo, pinned by its lockfile', { skip }, async () => {
  const cfg = path.join(work, 'config');
  fs.cpSync(path.join(repoRoot(), 'examples', 'upstream-config'), cfg, { recursive: true });
  // serve the repo's parent as the example script does; only the port differs from the committed .repo
  const server = await serveDir(path.dirname(path.dirname(repo.dir)));
  try {
    const repoFile = path.join(cfg, 'mini-fedora.repo');
    fs.writeFileSync(repoFile, fs.readFileSync(repoFile, 'utf8').replace('http://127.0.0.1:8471/', server.url));
    const build = path.join(work, 'build');
    fs.mkdirSync(build);
    const r = await new Promise<{ status: number; stdout: string; stderr: string }>((res) => {
      const c = spawn(path.join(repoRoot(), 'bin', 'coreforge'), ['fetch', '--config', cfg, '--arch', 'x86_64', '--json'], { cwd: build });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('close', (code) => res({ status: code ?? -1, stdout, stderr }));
    });
    assert.equal(r.status, 0, r.stderr);
    const got = (JSON.parse(r.stdout) as { packages: string[] }).packages.sort();
    assert.deepEqual(got, repo.rpms.map((f) => path.basename(f, '.rpm')).sort());
  } finally {
    await server.close();
  }
});
