import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readRpmHeader } from '../rpm/file/index.js';
import { RpmBuilder, rpmbuildAvailable, type SpecOptions } from '../rpm/testing/rpmbuild.js';
import { xattrNameString } from '../ostree/objects/xattrs.js';
import { fcapsToXattr, mergeFileMetaMaps, parseCapText, resolveRpmOwners } from './owners.js';
import { makeXattrs } from '../ostree/objects/xattrs.js';
import type { ComposePackage } from './types.js';

function hostHasSetcap(): boolean {
  try {
    execFileSync('setcap', ['-v', 'cap_chown=p', '/nonexistent'], { stdio: 'ignore' });
  } catch (e) {
    return (e as { code?: string }).code !== 'ENOENT' && process.getuid?.() === 0;
  }
  return process.getuid?.() === 0;
}

/** What setcap(8) (libcap's cap_from_text + cap_set_file) stores, read back with getfattr. */
function setcapBytes(file: string, text: string): string {
  writeFileSync(file, '');
  execFileSync('setcap', [text, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = execFileSync('getfattr', ['-n', 'security.capability', '-e', 'hex', '--absolute-names', file]).toString();
  return /security\.capability=0x([0-9a-f]+)/.exec(out)![1]!;
}

const CAP_TEXTS = [
  'cap_net_raw=ep',
  'cap_net_raw,cap_setuid+p',
  'cap_checkpoint_restore=eip',
  '=ep',
  'all=p',
  '= cap_net_bind_service+ep',
  'cap_sys_admin=i cap_chown+p',
  'CAP_NET_ADMIN,cap_net_raw=eip',
  '40=ep',
  '0x0d=ep',
  'cap_chown,cap_dac_override=p cap_chown-p',
  'cap_setuid=ei+p',
  'all=eip cap_sys_admin-eip',
  'cap_setgid=p cap_setgid=+i',
];

test('fcapsToXattr: bytes equal what setcap writes (libcap cap_from_text + vfs_cap_data v2)', (t) => {
  if (!hostHasSetcap()) {
    t.skip('needs root and setcap (libcap2-bin)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'coreforge-caps-'));
  try {
    CAP_TEXTS.forEach((text, i) => {
      assert.equal(Buffer.from(fcapsToXattr(text)).toString('hex'), setcapBytes(join(dir, `f${i}`), text), text);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fcapsToXattr rejects what libcap rejects', () => {
  for (const bad of ['cap_bogus=ep', 'cap_net_raw+', '+ep', 'cap_net_raw=ex', 'cap_net_raw,=p', '99=ep', 'cap_net_raw+p cap_chown+ep', 'cap_net_raw=e+']) {
    assert.throws(() => fcapsToXattr(bad), /invalid file capabilities/, bad);
  }
  assert.deepEqual(parseCapText('cap_chown,cap_kill=p').permitted, [0b100001, 0]);
});

async function pkg(rpm: string): Promise<ComposePackage> {
  const header = await readRpmHeader(rpm);
  return { nevra: header.nevra, name: header.name, evr: header.evr, arch: header.arch, rpmPath: rpm, header };
}

test('resolveRpmOwners: non-root owners, setuid and caps from real rpmbuild headers, names from the target passwd', async (t) => {
  if (!rpmbuildAvailable()) {
    t.skip('rpmbuild not installed');
    return;
  }
  const b = new RpmBuilder();
  const root = mkdtempSync(join(tmpdir(), 'coreforge-owners-'));
  try {
    const spec: SpecOptions = {
      name: 'owned',
      install: [
        'mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/libexec/owned %{buildroot}/etc/owned %{buildroot}/var/lib/owned %{buildroot}/opt',
        'echo x > %{buildroot}/usr/bin/plain',
        'echo x > %{buildroot}/usr/bin/ping2',
        'echo x > %{buildroot}/usr/bin/su2',
        'echo x > %{buildroot}/etc/owned/conf',
        'echo x > %{buildroot}/opt/thing',
        'ln -s ../bin/plain %{buildroot}/usr/libexec/owned/link',
      ].join('\n'),
      files: [
        '/usr/bin/plain',
        '%caps(cap_net_raw=ep) /usr/bin/ping2',
        '%attr(4755,root,root) /usr/bin/su2',
        '%dir %attr(0750,ownd,ownd) /usr/libexec/owned',
        '%attr(-,ownd,root) /usr/libexec/owned/link',
        '%attr(0640,root,ownd) /etc/owned/conf',
        '%dir /etc/owned',
        '%dir %attr(-,ownd,ownd) /var/lib/owned',
        '%attr(-,ownd,ownd) /opt/thing',
        '%ghost %attr(0600,ownd,ownd) /usr/libexec/owned/ghost.log',
      ],
    };
    const p = await pkg(b.build(spec));
    // The tree after the scriptlets: /etc still in place; users created by %pre are in /etc/passwd.
    mkdirSync(join(root, 'etc/owned'), { recursive: true });
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    mkdirSync(join(root, 'usr/libexec/owned'), { recursive: true });
    mkdirSync(join(root, 'opt'), { recursive: true });
    for (const f of ['usr/bin/plain', 'usr/bin/ping2', 'usr/bin/su2', 'etc/owned/conf', 'opt/thing']) writeFileSync(join(root, f), 'x\n');
    symlinkSync('../bin/plain', join(root, 'usr/libexec/owned/link'));
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/bash\nownd:x:987:986::/:/sbin/nologin\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nownd:x:985:\n');
    const warnings: string[] = [];
    const m = await resolveRpmOwners(root, [p], { warn: (w) => warnings.push(w) });
    const caps = m.get('/usr/bin/ping2')!;
    assert.deepEqual({ uid: caps.uid, gid: caps.gid }, { uid: 0, gid: 0 });
    assert.equal(xattrNameString(caps.xattrs![0]![0]), 'security.capability');
    assert.equal(Buffer.from(caps.xattrs![0]![1]).toString('hex'), '0100000200200000000000000000000000000000');
    assert.deepEqual(m.get('/usr/bin/su2'), { uid: 0, gid: 0, mode: 0o4755 });
    assert.deepEqual(m.get('/usr/libexec/owned'), { uid: 987, gid: 985 });
    assert.deepEqual(m.get('/usr/libexec/owned/link'), { uid: 987, gid: 0 });
    // /etc paths are keyed as in the final tree (/usr/etc)
    assert.deepEqual(m.get('/usr/etc/owned/conf'), { uid: 0, gid: 985 });
    assert.deepEqual(
      [...m.keys()].sort(),
      ['/usr/bin/ping2', '/usr/bin/su2', '/usr/etc/owned/conf', '/usr/libexec/owned', '/usr/libexec/owned/link'],
      'plain root files, /var, /opt and absent ghosts get no entry',
    );
    assert.deepEqual(warnings, ['Ignoring rpm mode for non-/usr content: opt/thing']);

    // After etc → usr/etc the on-disk lookups follow the move.
    execFileSync('mv', [join(root, 'etc'), join(root, 'usr/etc')]);
    const m2 = await resolveRpmOwners(root, [p]);
    assert.deepEqual(m2.get('/usr/etc/owned/conf'), { uid: 0, gid: 985 });

    // A user the target does not define is an error naming file and package.
    writeFileSync(join(root, 'usr/etc/passwd'), 'root:x:0:0::/root:/bin/bash\n');
    await assert.rejects(resolveRpmOwners(root, [p]), /owned-1\.0-1\.noarch: \/usr\/libexec\/owned: Could not find user 'ownd' in passwd file/);
    writeFileSync(join(root, 'usr/etc/passwd'), 'root:x:0:0::/root:/bin/bash\nownd:x:987:986::/:/sbin/nologin\n');
    writeFileSync(join(root, 'usr/etc/group'), 'root:x:0:\n');
    await assert.rejects(resolveRpmOwners(root, [p]), /Could not find group 'ownd' in group file/);
    writeFileSync(join(root, 'usr/etc/group'), 'root:x:0:\nownd:x:985:\n');

    // A file type that differs from the header is an error.
    rmSync(join(root, 'usr/bin/su2'));
    mkdirSync(join(root, 'usr/bin/su2'));
    await assert.rejects(resolveRpmOwners(root, [p]), /Inconsistent file type between RPM and checkout for file '\/usr\/bin\/su2' in package 'owned'/);
  } finally {
    b.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});

test('resolveRpmOwners canonicalizes non-usrmove paths through the tree\'s top-level links (bin → usr/bin)', async (t) => {
  if (!rpmbuildAvailable()) {
    t.skip('rpmbuild not installed');
    return;
  }
  const b = new RpmBuilder();
  const root = mkdtempSync(join(tmpdir(), 'coreforge-owners-'));
  try {
    const p = await pkg(b.build({ name: 'oldstyle', install: 'mkdir -p %{buildroot}/bin && echo x > %{buildroot}/bin/tool', files: ['%attr(2755,root,ownd) /bin/tool'] }));
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    mkdirSync(join(root, 'etc'));
    symlinkSync('usr/bin', join(root, 'bin'));
    writeFileSync(join(root, 'usr/bin/tool'), 'x');
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/bash\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nownd:x:12:\n');
    const m = await resolveRpmOwners(root, [p]);
    assert.deepEqual(m.get('/usr/bin/tool'), { uid: 0, gid: 12, mode: 0o2755 });
  } finally {
    b.dispose();
    rmSync(root, { recursive: true, force: true });
  }
});

test('mergeFileMetaMaps merges owners and labels per path, xattrs by name', () => {
  const owners = new Map([['/usr/bin/ping', { uid: 0, gid: 0, xattrs: makeXattrs({ 'security.capability': new Uint8Array([1, 2]) }) }], ['/usr/lib/x', { uid: 5, gid: 6 }]]);
  const labels = new Map([['/usr/bin/ping', { xattrs: makeXattrs({ 'security.selinux': 'a\0' }) }], ['/', { xattrs: makeXattrs({ 'security.selinux': 'r\0' }) }]]);
  const m = mergeFileMetaMaps(owners, labels);
  assert.deepEqual(m.get('/usr/bin/ping')!.xattrs!.map(([n]) => xattrNameString(n)), ['security.capability', 'security.selinux']);
  assert.equal(m.get('/usr/bin/ping')!.uid, 0);
  assert.deepEqual(m.get('/usr/lib/x'), { uid: 5, gid: 6 });
  assert.equal(m.size, 3);
  assert.equal(owners.get('/usr/bin/ping')!.xattrs!.length, 1, 'inputs untouched');
});
