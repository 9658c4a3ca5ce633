/**
 * `coreforge fetch` end to end: a config repo naming a real rpm-md
 * repository (RPMs from rpmbuild, indexed by createrepo_c, served on
 * 127.0.0.1); resolve, download into the cache, re-run downloads nothing,
 * --update-lockfile writes rpm-ostree's format, the lock then pins strictly.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildRpms, createrepo, serveDir, type TestServer } from '../../src/rpm/repo/testing.js';
import { CF } from '../util/exec.js';

let work: string;
let server: TestServer;
let config: string;
let buildDir: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cf-fetch-'));
  const repoDir = join(work, 'repo');
  buildRpms(
    [
      { version: '1.0', release: '1.fc40', arch: 'x86_64', packages: [{ name: 'mini-base', requires: ['mini-lib >= 1.0', '/usr/lib/mini/data'] }, { name: 'mini-lib', files: ['/usr/lib/libmini.so'] }] },
      { version: '2.0', release: '1.fc40', arch: 'noarch', packages: [{ name: 'mini-data', files: ['/usr/lib/mini/data'] }, { name: 'mini-extra' }] },
    ],
    repoDir,
    join(work, 'rpmbuild'),
  );
  createrepo(repoDir);
  server = await serveDir(repoDir);
  config = join(work, 'config');
  mkdirSync(config);
  writeFileSync(join(config, 'manifest.yaml'), 'ref: my/${basearch}/coreos/stable\nrepos: [mini]\npackages:\n  - mini-base\n');
  writeFileSync(join(config, 'mini.repo'), `[mini]\nname=mini\nbaseurl=${server.url}/\ngpgcheck=0\n`);
  buildDir = join(work, 'build');
  mkdirSync(buildDir);
});
after(async () => {
  await server.close();
  rmSync(work, { recursive: true, force: true });
});


/** Run a command to completion, collecting its output. */
async function runCollect(cmd: string, args: string[], cwd: string) {
  const { spawn } = await import('node:child_process');
  return new Promise<{ status: number; stdout: string; stderr: string }>((res) => {
    const c = spawn(cmd, args, { cwd });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => res({ status: code ?? -1, stdout, stderr }));
  });
}

/** `coreforge fetch --json` with the build dir as the working directory. */
function inBuild(...a: string[]) {
  return runCollect(CF, ['fetch', '--config', config, '--arch', 'x86_64', '--json', ...a], buildDir);
}

test('fetch resolves, downloads into cache/, and a second run downloads nothing', async () => {
  const r1 = await inBuild();
  assert.equal(r1.status, 0, r1.stderr);
  const j1 = JSON.parse(r1.stdout);
  assert.deepEqual(j1.packages.map((n: string) => n.replace(/-[^-]+-[^-]+$/, '')).sort(), ['mini-base', 'mini-data', 'mini-lib']);
  assert.equal(j1.downloaded, 3);
  assert.ok(existsSync(join(buildDir, 'cache', 'pkgs')));
  const before = server.requests.filter((q) => q.path.endsWith('.rpm')).length;
  const r2 = await inBuild();
  assert.equal(JSON.parse(r2.stdout).downloaded, 0);
  assert.equal(server.requests.filter((q) => q.path.endsWith('.rpm')).length, before);
});

test('--update-lockfile writes manifest-lock.x86_64.json; the lock then pins strictly', async () => {
  const r = await inBuild('--update-lockfile');
  assert.equal(r.status, 0, r.stderr);
  const lock = JSON.parse(readFileSync(join(config, 'manifest-lock.x86_64.json'), 'utf8'));
  assert.equal(lock.packages['mini-base'].evra, '1.0-1.fc40.x86_64');
  assert.equal(lock.packages['mini-data'].evra, '2.0-1.fc40.noarch');
  // cosa strips rpm-ostree's digests (strip_out_lockfile_digests) and keeps metadata.sourcerpm
  assert.ok(!('digest' in lock.packages['mini-lib']), 'digest stripped as cosa does');
  assert.equal(lock.packages['mini-lib'].metadata.sourcerpm, 'cfgen0');
  assert.deepEqual(Object.keys(lock.metadata.rpmmd_repos), ['mini']);
  // a package the lock does not cover is an error, as cosa runs rpm-ostree (strict)
  writeFileSync(join(config, 'manifest.yaml'), 'ref: my/${basearch}/coreos/stable\nrepos: [mini]\npackages:\n  - mini-base\n  - mini-extra\n');
  const bad = await inBuild();
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^error: .*mini-extra/m);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

test('an unreachable repository is a one-line error naming it', async () => {
  writeFileSync(join(config, 'mini.repo'), `[mini]\nname=mini\nbaseurl=http://127.0.0.1:9/\ngpgcheck=0\n`);
  const r = await inBuild('--update-lockfile');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^error: .*mini/m);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
});

test('gpgcheck: signed packages verify against the repo gpgkey; a wrong key fails naming the package', async () => {
  const { execFileSync } = await import('node:child_process');
  const { readdirSync } = await import('node:fs');
  const { makeGpgKey } = await import('../util/exec.js');
  const signedRepo = join(work, 'signed-repo');
  buildRpms([{ version: '3.0', release: '1', arch: 'noarch', packages: [{ name: 'signed-pkg' }, { name: 'signed-pkg2' }] }], signedRepo, join(work, 'rpmbuild-signed'));
  const good = await makeGpgKey(join(work, 'gnupg-good'), 'packager', work);
  const evil = await makeGpgKey(join(work, 'gnupg-evil'), 'evil', work);
  // rpmbuild puts packages in per-arch subdirectories
  const rpms = (readdirSync(signedRepo, { recursive: true }) as string[]).filter((n) => n.endsWith('.rpm'));
  assert.ok(rpms.length > 0);
  for (const f of rpms) execFileSync('rpmsign', ['--define', '__gpg /usr/bin/gpg', '--define', '_gpg_name packager@example.com', '--addsign', join(signedRepo, f)], { env: good.env, stdio: 'ignore' });
  createrepo(signedRepo);
  const srv = await serveDir(signedRepo);
  try {
    const cfg = join(work, 'config-signed');
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(cfg, 'manifest.yaml'), 'ref: my/${basearch}/coreos/stable\nrepos: [signed]\npackages: [signed-pkg, signed-pkg2]\n');
    const run1 = async (key: string, dir: string) => {
      writeFileSync(join(cfg, 'signed.repo'), `[signed]\nname=signed\nbaseurl=${srv.url}/\ngpgcheck=1\ngpgkey=file://${key}\n`);
      mkdirSync(dir, { recursive: true });
      const { spawn } = await import('node:child_process');
      return new Promise<{ status: number; stderr: string }>((res) => {
        const c = spawn(CF, ['fetch', '--config', cfg, '--arch', 'x86_64'], { cwd: dir });
        let stderr = '';
        c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        c.on('close', (code) => res({ status: code ?? -1, stderr }));
      });
    };
    const ok1 = await run1(good.publicKey, join(work, 'b-good'));
    assert.equal(ok1.status, 0, ok1.stderr);
    const bad = await run1(evil.publicKey, join(work, 'b-evil'));
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^error: .*signed-pkg.*signature/m);
    // every package that failed is gone, not only the first: the next run must not take one as cached
    const left = (readdirSync(join(work, 'b-evil', 'cache', 'pkgs'), { recursive: true }) as string[]).filter((n) => n.endsWith('.rpm'));
    assert.deepEqual(left, []);
  } finally {
    await srv.close();
  }
});

test('overrides win over the base lock and pin --update-lockfile; lockfile-repos only serve locked packages', async () => {
  const www = join(work, 'ov-www');
  buildRpms([{ version: '1.0', release: '1', arch: 'noarch', packages: [{ name: 'tool' }] }], join(www, 'main'), join(work, 'rb-ov1'));
  buildRpms([{ version: '2.0', release: '1', arch: 'noarch', packages: [{ name: 'tool' }] }], join(www, 'main'), join(work, 'rb-ov2'));
  buildRpms([{ version: '3.0', release: '1', arch: 'noarch', packages: [{ name: 'tool' }, { name: 'poolonly' }] }], join(www, 'pool'), join(work, 'rb-ov3'));
  createrepo(join(www, 'main'));
  createrepo(join(www, 'pool'));
  const srv = await serveDir(www);
  const cfg = join(work, 'config-ov');
  const bdir = join(work, 'b-ov');
  mkdirSync(cfg, { recursive: true });
  mkdirSync(bdir, { recursive: true });
  const manifest = (pkgs: string[]) => writeFileSync(join(cfg, 'manifest.yaml'), `ref: my/\${basearch}/coreos/stable\nrepos: [main]\nlockfile-repos: [pool]\npackages: [${pkgs.join(', ')}]\n`);
  writeFileSync(join(cfg, 'main.repo'), `[main]\nbaseurl=${srv.url}main/\ngpgcheck=0\n[pool]\nbaseurl=${srv.url}pool/\ngpgcheck=0\n`);
  const { spawn } = await import('node:child_process');
  const cf = (...a: string[]) =>
    new Promise<{ status: number; stdout: string; stderr: string }>((res) => {
      const c = spawn(CF, ['fetch', '--config', cfg, '--arch', 'x86_64', '--json', ...a], { cwd: bdir });
      let stdout = '';
      let stderr = '';
      c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      c.on('close', (code) => res({ status: code ?? -1, stdout, stderr }));
    });
  const lockedTool = () => JSON.parse(readFileSync(join(cfg, 'manifest-lock.x86_64.json'), 'utf8')).packages.tool.evra;
  try {
    manifest(['tool']);
    // No lockfile at all: the lockfile repo stays disabled, so tool 3.0 from the pool is not taken.
    let r = await cf('--update-lockfile');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).packages, ['tool-2.0-1.noarch']);
    assert.equal(lockedTool(), '2.0-1.noarch');
    // An override beats the base lock.
    writeFileSync(join(cfg, 'manifest-lock.overrides.yaml'), 'packages:\n  tool:\n    evr: 1.0-1\n    metadata:\n      type: pin\n');
    r = await cf();
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).packages, ['tool-1.0-1.noarch']);
    // --update-lockfile still honours the overrides (cosa passes them to rpm-ostree).
    r = await cf('--update-lockfile');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(lockedTool(), '1.0-1.noarch');
    // An override naming a version only the lockfile repo has enables it for that package...
    writeFileSync(join(cfg, 'manifest-lock.overrides.yaml'), 'packages:\n  tool:\n    evra: 3.0-1.noarch\n');
    r = await cf('--update-lockfile');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(lockedTool(), '3.0-1.noarch');
    // ...but nothing else of the lockfile repo is visible.
    manifest(['tool', 'poolonly']);
    r = await cf('--update-lockfile');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: .*No match for argument: poolonly/m);
  } finally {
    await srv.close();
  }
});

test('progress: drawn on a terminal, absent when stderr is not one', async () => {
  // a config of its own: earlier tests point the shared one elsewhere
  const cfg = join(work, 'config-progress');
  mkdirSync(cfg);
  writeFileSync(join(cfg, 'manifest.yaml'), 'ref: my/${basearch}/coreos/stable\nrepos: [mini]\npackages:\n  - mini-base\n');
  writeFileSync(join(cfg, 'mini.repo'), `[mini]\nname=mini\nbaseurl=${server.url}/\ngpgcheck=0\n`);
  const q = (s: string) => `'${s.replaceAll("'", "'\\''")}'`;
  const tty = join(work, 'build-tty');
  mkdirSync(tty);
  // script(1) gives the command a pseudo-terminal; what it prints comes back on script's stdout
  const onTty = await runCollect('script', ['-qec', `${q(CF)} fetch --config ${q(cfg)} --arch x86_64`, '/dev/null'], tty);
  assert.equal(onTty.status, 0, onTty.stdout);
  assert.match(onTty.stdout, /\r\x1b\[KDownloading packages: \d\/3/);
  assert.match(onTty.stdout, /\r\x1b\[K3 packages: 3 downloaded, 0 already cached/);
  const piped = join(work, 'build-piped');
  mkdirSync(piped);
  const quiet = await runCollect(CF, ['fetch', '--config', cfg, '--arch', 'x86_64'], piped);
  assert.equal(quiet.status, 0, quiet.stderr);
  assert.equal(quiet.stderr, '');
  assert.match(quiet.stdout, /^3 packages: 3 downloaded, 0 already cached\n$/);
});
