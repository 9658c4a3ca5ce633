import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdtempSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidInputError, NotFoundError } from '../errors.js';
import type { LoadedTreefile, Treefile } from '../config/treefile/types.js';
import { Repo } from '../ostree/repo/repo.js';
import { checkPasswd, parseGroup, parsePasswd, preparePasswd, readPreviousPwGrp, splitPasswd, type PreviousPwGrp } from './passwd.js';

function tf(t: Partial<Treefile>, ext: Partial<LoadedTreefile['externals']> = {}): LoadedTreefile {
  return {
    path: '/cfg/manifest.yaml',
    dir: '/cfg',
    arch: 'x86_64',
    treefile: { packages: [], ...t },
    variables: {},
    repovars: {},
    externals: { addFiles: [], ...ext },
    files: [],
    warnings: [],
  };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'coreforge-passwd-'));
}

const PASSWD = [
  'root:x:0:0:Super User:/root:/bin/bash',
  'bin:x:1:1:bin:/bin:/usr/sbin/nologin',
  '# comment',
  '',
  '+compat',
  'daemon:x:2:2:daemon:/sbin:/usr/sbin/nologin',
  'toor:x:0:0:alias:/root:/bin/sh',
  'core:x:1000:1000:CoreOS Admin:/var/home/core:/bin/bash',
].join('\n') + '\n';
const GROUP = ['root:x:0:', 'bin:x:1:', 'daemon:x:2:', 'wheel:x:10:core', 'sudo:x:16:', 'core:x:1000:', 'adm:x:4:a,b'].join('\n') + '\n';
const SHADOW = ['root:!locked::0:99999:7:::', 'bin:*:19000:0:99999:7:::', 'core:$6$hash:19000:0:99999:7:::', 'daemon:!!:19500::::::'].join('\n') + '\n';

test('parsers skip comments, blanks and NSS compat lines; malformed lines name the file and line', () => {
  const u = parsePasswd(PASSWD, '/etc/passwd');
  assert.deepEqual(u.map((e) => e.name), ['root', 'bin', 'daemon', 'toor', 'core']);
  assert.equal(u[4]!.gecos, 'CoreOS Admin');
  assert.deepEqual(parseGroup(GROUP, '/etc/group').at(-1)!.members, ['a', 'b']);
  assert.throws(() => parsePasswd('root:x:zero:0::/root:/bin/sh\n', '/etc/passwd'), (e: unknown) => e instanceof InvalidInputError && /\/etc\/passwd:1: malformed/.test(e.message));
  assert.throws(() => parseGroup('ok:x:1:\nbad:x\n', '/x/group'), /\/x\/group:2: malformed group entry 'bad:x'/);
});

test('splitPasswd: root stays in /etc, the rest moves to /usr/lib; etc-group-members kept in both; shadow normalized', async () => {
  const root = scratch();
  try {
    mkdirSync(join(root, 'usr/etc'), { recursive: true });
    mkdirSync(join(root, 'usr/lib'), { recursive: true });
    writeFileSync(join(root, 'usr/etc/passwd'), PASSWD);
    writeFileSync(join(root, 'usr/etc/group'), GROUP);
    writeFileSync(join(root, 'usr/etc/shadow'), SHADOW, { mode: 0o000 });
    writeFileSync(join(root, 'usr/etc/passwd-'), 'stale');
    writeFileSync(join(root, 'usr/etc/.pwd.lock'), '');
    // An existing /usr/lib/passwd is appended to, as rpm-ostree opens it O_APPEND.
    writeFileSync(join(root, 'usr/lib/passwd'), 'pre:x:5:5::/:/sbin/nologin\n');
    linkSync(join(root, 'usr/lib/passwd'), join(root, 'pkgcache-object'));
    await splitPasswd(root, tf({ 'etc-group-members': ['wheel', 'sudo'] }));
    assert.equal(readFileSync(join(root, 'usr/etc/passwd'), 'utf8'), 'root:x:0:0:Super User:/root:/bin/bash\ntoor:x:0:0:alias:/root:/bin/sh\n');
    assert.equal(
      readFileSync(join(root, 'usr/lib/passwd'), 'utf8'),
      'pre:x:5:5::/:/sbin/nologin\nbin:x:1:1:bin:/bin:/usr/sbin/nologin\ndaemon:x:2:2:daemon:/sbin:/usr/sbin/nologin\ncore:x:1000:1000:CoreOS Admin:/var/home/core:/bin/bash\n',
    );
    assert.equal(readFileSync(join(root, 'usr/etc/group'), 'utf8'), 'root:x:0:\nwheel:x:10:core\nsudo:x:16:\n');
    assert.equal(readFileSync(join(root, 'usr/lib/group'), 'utf8'), 'bin:x:1:\ndaemon:x:2:\nwheel:x:10:core\nsudo:x:16:\ncore:x:1000:\nadm:x:4:a,b\n');
    assert.equal(statSync(join(root, 'usr/etc/passwd')).mode & 0o7777, 0o644);
    assert.equal(readFileSync(join(root, 'pkgcache-object'), 'utf8'), 'pre:x:5:5::/:/sbin/nologin\n', 'a hardlinked file is not written through');
    // lstchg blanked only for locked ('!') / no-password ('*') accounts; the mode is kept.
    assert.equal(
      readFileSync(join(root, 'usr/etc/shadow'), 'utf8'),
      'root:!locked::0:99999:7:::\nbin:*::0:99999:7:::\ncore:$6$hash:19000:0:99999:7:::\ndaemon:!!:::::::\n',
    );
    assert.equal(statSync(join(root, 'usr/etc/shadow')).mode & 0o7777, 0);
    assert.ok(!existsSync(join(root, 'usr/etc/passwd-')));
    assert.ok(!existsSync(join(root, 'usr/etc/.pwd.lock')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('splitPasswd without /etc/passwd is a clear error; a missing shadow is created empty 0400', async () => {
  const root = scratch();
  try {
    mkdirSync(join(root, 'usr/etc'), { recursive: true });
    await assert.rejects(splitPasswd(root, tf({})), (e: unknown) => e instanceof NotFoundError && /\/usr\/etc\/passwd not found/.test(e.message));
    assert.equal(statSync(join(root, 'usr/etc/shadow')).mode & 0o7777, 0o400);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('preparePasswd: previous build entries seed /etc (usr/etc first, duplicates dropped); preserve-passwd false does nothing', async () => {
  const root = scratch();
  try {
    const prev: PreviousPwGrp = {
      etcPasswd: 'root:x:0:0:root:/root:/bin/bash\n',
      usrlibPasswd: 'root:x:0:0:dup:/:/bin/sh\nsshd:x:74:74::/:/sbin/nologin\n',
      etcGroup: 'root:x:0:\nwheel:x:10:core\n',
      usrlibGroup: 'wheel:x:10:\nsshd:x:74:\n',
    };
    await preparePasswd(root, prev, tf({ 'preserve-passwd': false }));
    assert.ok(!existsSync(join(root, 'etc')));
    await preparePasswd(root, prev, tf({}));
    assert.equal(readFileSync(join(root, 'etc/passwd'), 'utf8'), 'root:x:0:0:root:/root:/bin/bash\nsshd:x:74:74::/:/sbin/nologin\n');
    assert.equal(readFileSync(join(root, 'etc/group'), 'utf8'), 'root:x:0:\nwheel:x:10:core\nsshd:x:74:\n');
    assert.ok(!existsSync(join(root, 'etc/shadow')));
    // a previous tree without /usr/lib/group leaves /etc/group alone
    rmSync(join(root, 'etc'), { recursive: true });
    await preparePasswd(root, { ...prev, usrlibGroup: null }, tf({}));
    assert.ok(existsSync(join(root, 'etc/passwd')));
    assert.ok(!existsSync(join(root, 'etc/group')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('preparePasswd: check-passwd/check-groups files are written with regenerated shadow/gshadow; mixing sources is refused', async () => {
  const root = scratch();
  try {
    const pw = join(root, 'passwd.ref');
    const gr = join(root, 'group.ref');
    writeFileSync(pw, 'root:x:0:0::/root:/bin/bash\nfoo:x:900:900::/:/sbin/nologin\nfoo:x:901:901::/:/sbin/nologin\n');
    writeFileSync(gr, 'root:x:0:\nfoo:x:900:\n');
    const both = tf({ 'check-passwd': { type: 'file', filename: 'passwd.ref' }, 'check-groups': { type: 'file', filename: 'group.ref' } }, { passwd: pw, group: gr });
    const r = join(root, 'r');
    await preparePasswd(r, null, both);
    assert.equal(readFileSync(join(r, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/bash\nfoo:x:900:900::/:/sbin/nologin\n');
    assert.equal(readFileSync(join(r, 'etc/shadow'), 'utf8'), 'root:*::0:99999:7:::\nfoo:*::0:99999:7:::\n');
    assert.equal(readFileSync(join(r, 'etc/gshadow'), 'utf8'), 'root:::\nfoo:::\n');
    assert.equal(statSync(join(r, 'etc/shadow')).mode & 0o7777, 0);
    assert.equal(statSync(join(r, 'etc/group')).mode & 0o7777, 0o644);
    const mixed = tf({ 'check-passwd': { type: 'file', filename: 'passwd.ref' } }, { passwd: pw });
    await assert.rejects(preparePasswd(join(root, 'm'), null, mixed), /check-passwd takes passwd data from a file but check-groups does not/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

function newTree(passwd: string, group: string): string {
  const root = scratch();
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  writeFileSync(join(root, 'usr/lib/passwd'), passwd);
  writeFileSync(join(root, 'usr/lib/group'), group);
  return root;
}

test('checkPasswd (default previous): changed uid/gid is an error naming the entry; new entries reported', async () => {
  const prev: PreviousPwGrp = { etcPasswd: null, etcGroup: null, usrlibPasswd: 'sshd:x:74:74::/:/sbin/nologin\n', usrlibGroup: 'sshd:x:74:\n' };
  const ok = newTree('sshd:x:74:74::/:/sbin/nologin\ndnsmasq:x:980:980::/:/sbin/nologin\n', 'sshd:x:74:\ndnsmasq:x:980:\n');
  const badUid = newTree('sshd:x:75:74::/:/sbin/nologin\n', 'sshd:x:74:\n');
  const badGid = newTree('sshd:x:74:75::/:/sbin/nologin\n', 'sshd:x:74:\n');
  const badGroup = newTree('sshd:x:74:74::/:/sbin/nologin\n', 'sshd:x:99:\n');
  try {
    const lines: string[] = [];
    const r = await checkPasswd(ok, tf({}), prev, { log: (l) => lines.push(l) });
    assert.deepEqual(r.newUsers, ['dnsmasq']);
    assert.deepEqual(r.newGroups, ['dnsmasq']);
    assert.ok(lines.includes('New passwd entries: dnsmasq'));
    await assert.rejects(checkPasswd(badUid, tf({}), prev), /passwd UID changed: sshd \(74 to 75\)/);
    await assert.rejects(checkPasswd(badGid, tf({}), prev), /passwd GID changed: sshd \(74 to 75\)/);
    await assert.rejects(checkPasswd(badGroup, tf({}), prev), /group GID changed: sshd \(74 to 99\)/);
    // no previous build: nothing to compare with
    await checkPasswd(badUid, tf({}), null);
    // check type none
    await checkPasswd(badUid, tf({ 'check-passwd': { type: 'none' }, 'check-groups': { type: 'none' } }), prev);
  } finally {
    for (const d of [ok, badUid, badGid, badGroup]) rmSync(d, { recursive: true, force: true });
  }
});

test('checkPasswd: removed entries are errors only while files are owned by the old id, unless ignored', async () => {
  const root = newTree('a:x:500:500::/:/sbin/nologin\n', 'a:x:500:\n');
  try {
    const t = tf({ 'check-passwd': { type: 'data', entries: { a: 500, gone: [600, 601], gone2: [700] } }, 'check-groups': { type: 'data', entries: { a: 500, ggone: 601 } } });
    const r = await checkPasswd(root, t, null, { owners: new Map([['/usr/bin/x', { uid: 0, gid: 0 }]]) });
    assert.deepEqual(r.removedUsers, ['gone', 'gone2']);
    assert.deepEqual(r.removedGroups, ['ggone']);
    const owners = new Map([['/usr/share/gone', { uid: 600, gid: 601 }]]);
    await assert.rejects(checkPasswd(root, t, null, { owners }), /User missing from new passwd file: gone/);
    await assert.rejects(checkPasswd(root, { ...t, treefile: { ...t.treefile, 'ignore-removed-users': ['gone'] } }, null, { owners }), /Group missing from new group file: ggone/);
    const r2 = await checkPasswd(root, { ...t, treefile: { ...t.treefile, 'ignore-removed-users': ['*'], 'ignore-removed-groups': ['ggone'] } }, null, { owners });
    assert.deepEqual(r2.ignoredUsers, ['gone', 'gone2']);
    assert.deepEqual(r2.ignoredGroups, ['ggone']);
    // data [uid] means gid == uid; a uid-only entry compares the gid too
    const t2 = tf({ 'check-passwd': { type: 'data', entries: { a: [500] } }, 'check-groups': { type: 'none' } });
    await checkPasswd(root, t2, null);
    const t3 = tf({ 'check-passwd': { type: 'data', entries: { a: [500, 501] } }, 'check-groups': { type: 'none' } });
    await assert.rejects(checkPasswd(root, t3, null), /passwd GID changed: a \(501 to 500\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('readPreviousPwGrp reads /usr/etc and /usr/lib passwd/group from a real ostree commit', async (t) => {
  try {
    execFileSync('ostree', ['--version'], { stdio: 'ignore' });
  } catch {
    t.skip('ostree not installed');
    return;
  }
  const dir = scratch();
  try {
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'usr/etc'), { recursive: true });
    mkdirSync(join(tree, 'usr/lib'), { recursive: true });
    writeFileSync(join(tree, 'usr/etc/passwd'), 'root:x:0:0::/root:/bin/bash\n');
    writeFileSync(join(tree, 'usr/lib/passwd'), 'sshd:x:74:74::/:/sbin/nologin\n');
    writeFileSync(join(tree, 'usr/lib/group'), 'sshd:x:74:\n');
    execFileSync('ostree', ['init', '--repo', join(dir, 'repo'), '--mode', 'archive']);
    const csum = execFileSync('ostree', ['commit', '--repo', join(dir, 'repo'), '-b', 'test', '--owner-uid=0', '--owner-gid=0', tree]).toString().trim();
    const repo = await Repo.open(join(dir, 'repo'));
    const p = await readPreviousPwGrp(repo, csum);
    assert.deepEqual(p, { etcPasswd: 'root:x:0:0::/root:/bin/bash\n', usrlibPasswd: 'sshd:x:74:74::/:/sbin/nologin\n', etcGroup: null, usrlibGroup: 'sshd:x:74:\n' });
    // and it drives preparePasswd: /usr/etc/group missing → /etc/group not seeded
    const root = join(dir, 'root');
    await preparePasswd(root, p, tf({}));
    assert.equal(readFileSync(join(root, 'etc/passwd'), 'utf8'), 'root:x:0:0::/root:/bin/bash\nsshd:x:74:74::/:/sbin/nologin\n');
    assert.ok(!existsSync(join(root, 'etc/group')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
