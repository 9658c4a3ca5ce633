import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRpmHeader } from '../rpm/file/index.js';
import { RpmBuilder, rpmbuildAvailable } from '../rpm/testing/rpmbuild.js';
import { writeRpmdb } from './rpmdb.js';
import type { ComposePackage } from './types.js';

function available(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

function rpmq(root: string, args: string[], dbpath = '/usr/share/rpm'): string {
  return execFileSync('rpm', ['--root', root, '--dbpath', dbpath, ...args], { env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
}

const sha256 = (f: string): string => createHash('sha256').update(readFileSync(f)).digest('hex');

async function pkg(rpm: string): Promise<ComposePackage> {
  const header = await readRpmHeader(rpm);
  return { nevra: header.nevra, name: header.name, evr: header.evr, arch: header.arch, rpmPath: rpm, header };
}

const skip = !rpmbuildAvailable() || !available('rpm') || !available('sqlite3');

test('writeRpmdb: rpm -qa/-qf/-ql/-V on the target read it; byte-identical across runs and input orders', { skip: skip && 'needs rpmbuild, rpm, sqlite3' }, async () => {
  const b = new RpmBuilder();
  const work = mkdtempSync(join(tmpdir(), 'coreforge-rpmdb-'));
  try {
    const pkgs = [
      await pkg(b.build({ name: 'alpha', version: '1.2', release: '3', install: 'mkdir -p %{buildroot}/usr/bin && echo a > %{buildroot}/usr/bin/alpha', files: ['/usr/bin/alpha'] })),
      await pkg(
        b.build({
          name: 'beta',
          epoch: 2,
          preamble: ['Requires: alpha'],
          install: 'mkdir -p %{buildroot}/usr/share/beta %{buildroot}/usr/share/doc/beta && echo b > %{buildroot}/usr/share/beta/data && echo d > %{buildroot}/usr/share/doc/beta/README',
          files: ['/usr/share/beta', '%doc /usr/share/doc/beta/README'],
          scripts: '%post\nexit 1\n',
        }),
      ),
      await pkg(b.build({ name: 'gamma', install: 'mkdir -p %{buildroot}/etc && echo g > %{buildroot}/etc/gamma.conf', files: ['%config(noreplace) /etc/gamma.conf'] })),
    ];
    const roots = ['r1', 'r2', 'r3'].map((r) => join(work, r));
    await writeRpmdb(roots[0]!, pkgs, { sourceDateEpoch: 1700000000 });
    await new Promise((r) => setTimeout(r, 1100)); // a clock-derived value would differ now
    await writeRpmdb(roots[1]!, [...pkgs].reverse(), { sourceDateEpoch: 1700000000 });
    await writeRpmdb(roots[2]!, pkgs, { sourceDateEpoch: 1700000001 });

    for (const r of roots) assert.deepEqual(readdirSync(join(r, 'usr/share/rpm')), ['rpmdb.sqlite'], 'no -wal/-shm/lock leftovers');
    const db = (r: string): string => join(r, 'usr/share/rpm/rpmdb.sqlite');
    assert.equal(sha256(db(roots[0]!)), sha256(db(roots[1]!)));
    assert.notEqual(sha256(db(roots[0]!)), sha256(db(roots[2]!)), 'install time is recorded');
    assert.equal(execFileSync('sqlite3', [db(roots[0]!), 'PRAGMA journal_mode;']).toString().trim(), 'delete');

    const r = roots[0]!;
    assert.deepEqual(rpmq(r, ['-qa', '--qf', '%{NEVRA}\\n']).trim().split('\n').sort(), ['alpha-1.2-3.noarch', 'beta-2:1.0-1.noarch', 'gamma-1.0-1.noarch']);
    assert.equal(rpmq(r, ['-q', 'alpha', '--qf', '%{INSTALLTIME} %{INSTALLTID}']), '1700000000 1700000000');
    assert.equal(rpmq(r, ['-qf', '/usr/share/beta/data']).trim(), 'beta-1.0-1.noarch');
    assert.equal(rpmq(r, ['-ql', 'gamma']).trim(), '/etc/gamma.conf');
    assert.equal(rpmq(r, ['-q', '--whatrequires', 'alpha']).trim(), 'beta-1.0-1.noarch');
    // The links and macro rpm-ostree adds.
    assert.equal(readlinkSync(join(r, 'var/lib/rpm')), '../../usr/share/rpm');
    assert.equal(readlinkSync(join(r, 'usr/lib/sysimage/rpm')), '../../share/rpm');
    assert.equal(readFileSync(join(r, 'usr/lib/rpm/macros.d/macros.rpm-ostree'), 'utf8'), '%_dbpath /usr/share/rpm\n');
    assert.equal(rpmq(r, ['-qa'], '/var/lib/rpm').trim().split('\n').length, 3);

    // -V against the files laid down from the payloads: everything verifies.
    for (const p of pkgs) execFileSync('sh', ['-c', `rpm2cpio "$1" | (cd "$2" && cpio -idm --quiet)`, 'sh', p.rpmPath, r]);
    const v = spawnSync('rpm', ['--root', r, '--dbpath', '/usr/share/rpm', '-Va', '--nouser', '--nogroup'], { env: { ...process.env, LC_ALL: 'C' } });
    assert.equal(v.stdout.toString(), '');
    assert.equal(v.status, 0);
  } finally {
    b.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});

test('writeRpmdb: doc files are recorded as installed (as rpm-ostree, no NODOCS); an empty package set gives an empty database', { skip: skip && 'needs rpmbuild, rpm, sqlite3' }, async () => {
  const b = new RpmBuilder();
  const work = mkdtempSync(join(tmpdir(), 'coreforge-rpmdb-'));
  try {
    const p = await pkg(
      b.build({ name: 'docs', install: 'mkdir -p %{buildroot}/usr/share/doc/docs %{buildroot}/usr/bin && echo d > %{buildroot}/usr/share/doc/docs/README && echo x > %{buildroot}/usr/bin/docs', files: ['/usr/bin/docs', '%doc /usr/share/doc/docs/README'] }),
    );
    await writeRpmdb(join(work, 'nodocs'), [p], { sourceDateEpoch: 1 });
    assert.equal(rpmq(join(work, 'nodocs'), ['-q', 'docs', '--qf', '[%{FILENAMES} %{FILESTATES:fstate}\\n]']), '/usr/bin/docs normal\n/usr/share/doc/docs/README normal\n');
    await writeRpmdb(join(work, 'empty'), [], { sourceDateEpoch: 1, backend: 'sqlite' });
    await assert.rejects(writeRpmdb(join(work, 'bdb'), [p], { backend: 'bdb' }), /only the sqlite rpmdb backend is supported/);
    assert.deepEqual(readdirSync(join(work, 'empty/usr/share/rpm')), ['rpmdb.sqlite']);
    assert.equal(rpmq(join(work, 'empty'), ['-qa']), '');
  } finally {
    b.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});

test('writeRpmdb works as an unprivileged user', { skip: (skip || process.getuid?.() !== 0 || !available('runuser')) && 'needs root (to switch to nobody), rpmbuild, rpm, sqlite3' }, async () => {
  const b = new RpmBuilder();
  const work = mkdtempSync(join(tmpdir(), 'coreforge-rpmdb-'));
  try {
    const rpm = b.build({ name: 'solo', install: 'mkdir -p %{buildroot}/usr/bin && echo s > %{buildroot}/usr/bin/solo', files: ['/usr/bin/solo'] });
    chmodSync(work, 0o777);
    chmodSync(b.topdir, 0o755);
    mkdirSync(join(work, 'root'), { mode: 0o777 });
    chmodSync(join(work, 'root'), 0o777);
    const mod = new URL(`./rpmdb.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;
    const hdr = new URL(`../rpm/file/index.${import.meta.url.endsWith('.ts') ? 'ts' : 'js'}`, import.meta.url).href;
    const script = `
      const { writeRpmdb } = await import(${JSON.stringify(mod)});
      const { readRpmHeader } = await import(${JSON.stringify(hdr)});
      const header = await readRpmHeader(${JSON.stringify(rpm)});
      await writeRpmdb(${JSON.stringify(join(work, 'root'))}, [{ nevra: header.nevra, name: header.name, evr: header.evr, arch: header.arch, rpmPath: ${JSON.stringify(rpm)}, header }], { sourceDateEpoch: 5 });
    `;
    const res = spawnSync('runuser', ['-u', 'nobody', '--', process.execPath, ...process.execArgv, '--input-type=module', '-e', script], { cwd: process.cwd(), env: { ...process.env, HOME: work } });
    assert.equal(res.status, 0, res.stderr.toString());
    assert.equal(rpmq(join(work, 'root'), ['-qa']).trim(), 'solo-1.0-1.noarch');
  } finally {
    b.dispose();
    rmSync(work, { recursive: true, force: true });
  }
});
