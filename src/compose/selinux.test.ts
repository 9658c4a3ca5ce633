import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { xattrNameString } from '../ostree/objects/xattrs.js';
import { FileContexts, labelTree, labelingPath, loadSelinuxPolicy } from './selinux.js';

const haveMatchpathcon = spawnSync('matchpathcon', ['-N', '-f', '/nonexistent', '/'], { stdio: 'ignore' }).error === undefined;

const TYPES: [string, number][] = [
  ['file', 0o100000],
  ['dir', 0o040000],
  ['lnk_file', 0o120000],
  ['chr_file', 0o020000],
  ['blk_file', 0o060000],
  ['sock_file', 0o140000],
  ['pipe', 0o010000],
];

/** matchpathcon -N -n -f FC -m TYPE paths… → context or null per path (the real libselinux). */
function matchpathcon(fc: string, type: string, paths: string[]): (string | null)[] {
  const out: (string | null)[] = [];
  for (let i = 0; i < paths.length; i += 2000) {
    const batch = paths.slice(i, i + 2000);
    const lines = execFileSync('matchpathcon', ['-N', '-n', '-f', fc, '-m', type, ...batch], { maxBuffer: 1 << 26 }).toString().split('\n');
    batch.forEach((_, j) => out.push(lines[j] === '<<none>>' ? null : lines[j]!));
  }
  return out;
}

function compareWithMatchpathcon(fcFile: string, paths: string[], types = TYPES): number {
  const fc = FileContextsSync.get(fcFile);
  let n = 0;
  for (const [name, mode] of types) {
    const want = matchpathcon(fcFile, name, paths);
    paths.forEach((p, i) => {
      assert.equal(fc.lookup(p, mode), want[i], `${p} as ${name}`);
      n++;
    });
  }
  return n;
}

const FileContextsSync = {
  cache: new Map<string, FileContexts>(),
  get(file: string): FileContexts {
    return this.cache.get(file)!;
  },
};

const FC = `# A Fedora-like file_contexts exercising every construct of the format.
/.*\t\t\tsystem_u:object_r:default_t:s0
/[^/]+\t--\tsystem_u:object_r:etc_runtime_t:s0
/a?quota\\.(user|group)\t--\tsystem_u:object_r:quota_db_t:s0
/\t-d\tsystem_u:object_r:root_t:s0
/usr(/.*)?\tsystem_u:object_r:usr_t:s0
/usr/bin(/.*)?\tsystem_u:object_r:bin_t:s0
/usr/sbin(/.*)?\tsystem_u:object_r:bin_t:s0
/usr/lib(/.*)?\tsystem_u:object_r:lib_t:s0
/usr/lib/systemd/system(/.*)?\tsystem_u:object_r:systemd_unit_file_t:s0
/usr/lib/systemd/system/[^/]*\\.service\t--\tsystem_u:object_r:systemd_unit_file_t:s0
/usr/lib/.*\\.so(\\.[^/]*)*\t--\tsystem_u:object_r:lib_t:s0
/usr/lib/ld-[^/]*\\.so(\\.[^/]*)*\t--\tsystem_u:object_r:ld_so_t:s0
/usr/bin/ssh\t--\tsystem_u:object_r:ssh_exec_t:s0
/usr/bin/sudo\t--\tsystem_u:object_r:sudo_exec_t:s0
/usr/bin/[[:alpha:]]+-config\t--\tsystem_u:object_r:config_exec_t:s0
/usr/bin/x[[:digit:][:upper:]]+\t--\tsystem_u:object_r:xdigit_exec_t:s0
/usr/share/[]a-c]+/z\tsystem_u:object_r:bracket_t:s0
/usr/share/[^]a-c]+/z\tsystem_u:object_r:notbracket_t:s0
/usr/share/(doc|man)(/.*)?\tsystem_u:object_r:doc_t:s0
/usr/share/alt|/opt/alt\tsystem_u:object_r:alternation_t:s0
/usr/lib/qu{1,2}x\tsystem_u:object_r:quant_t:s0
/usr/lib/opt?ional\tsystem_u:object_r:optional_t:s0
/usr/libexec/x\\.y\t--\tsystem_u:object_r:escaped_exact_t:s0
/usr/libexec/x.y\t--\tsystem_u:object_r:dot_t:s0
/usr/libexec/twice\tsystem_u:object_r:first_t:s0
/usr/libexec/twice\tsystem_u:object_r:second_t:s0
/etc(/.*)?\tsystem_u:object_r:etc_t:s0
/etc/passwd[+-]?\t--\tsystem_u:object_r:passwd_file_t:s0
/etc/shadow.*\t--\tsystem_u:object_r:shadow_t:s0
/etc/selinux(/.*)?\tsystem_u:object_r:selinux_config_t:s0
/etc/ssh/ssh_host.*_key\t--\tsystem_u:object_r:sshd_key_t:s0
/var(/.*)?\tsystem_u:object_r:var_t:s0
/var/run\t-l\tsystem_u:object_r:var_run_t:s0
/var/lib/rpm(/.*)?\tsystem_u:object_r:rpm_var_lib_t:s0
/run/.*\t<<none>>
/proc\t-d\tsystem_u:object_r:proc_t:s0
/proc/.*\t<<none>>
/mnt(/[^/]*)?\t-d\tsystem_u:object_r:mnt_t:s0
/mnt(/[^/]*)\t-l\tsystem_u:object_r:mnt_t:s0
/dev/null\t-c\tsystem_u:object_r:null_device_t:s0
/dev/sd[^/]*\t-b\tsystem_u:object_r:fixed_disk_device_t:s0
/dev/log\t-s\tsystem_u:object_r:devlog_t:s0
/dev/initctl\t-p\tsystem_u:object_r:initctl_t:s0
/home\t-d\tsystem_u:object_r:home_root_t:s0
/tmp\t-d\tsystem_u:object_r:tmp_t:s0
   # an indented comment
/srv/.*\\.[Cc][Gg][Ii]\t--\tsystem_u:object_r:cgi_t:s0
/boot/efi(/.*)?/[^/]+\\.efi\t--\tsystem_u:object_r:efi_t:s0 trailing-field-ignored
`;
const HOMEDIRS = `/home/[^/]+\t-d\tunconfined_u:object_r:user_home_dir_t:s0
/home/[^/]+/.+\tunconfined_u:object_r:user_home_t:s0
/home/[^/]+/\\.ssh(/.*)?\tunconfined_u:object_r:ssh_home_t:s0
`;
const LOCAL = `/usr/bin/sudo\t--\tsystem_u:object_r:bin_t:s0
/srv/web(/.*)?\tsystem_u:object_r:httpd_sys_content_t:s0
`;
const SUBS_DIST = `# aliases
/var/home /home
/usr/lib64 /usr/lib
/lib /usr/lib
/bin /usr/bin
/usr/etc /etc
/gnu /
  /var/roothome   /root
`;
const SUBS = `/web /srv/web
/myhome /var/home
/opt/a /usr
/opt /var
`;

const PATHS = [
  '/', '/quota.user', '/aquota.group', '/quota.other', '/topfile', '/usr', '/usr/bin', '/usr/bin/ls', '/usr/bin/ssh', '/usr/bin/sudo',
  '/usr/bin/ssh-agent', '/usr/bin/python-config', '/usr/bin/py3-config', '/usr/bin/xA1', '/usr/bin/xa', '/usr/sbin/init',
  '/usr/lib/libc.so.6', '/usr/lib/ld-linux-x86-64.so.2', '/usr/lib/libfoo.so', '/usr/lib/python3/x.so.1.2', '/usr/lib64/libz.so.1',
  '/usr/lib/systemd/system/sshd.service', '/usr/lib/systemd/system/basic.target', '/usr/lib/systemd/system', '/usr/share/b/z',
  '/usr/share/]/z', '/usr/share/d/z', '/usr/share/doc', '/usr/share/doc/x/README', '/usr/share/man/man1', '/usr/share/alt',
  '/usr/share/alt/x', '/x/opt/alt', '/opt/alt', '/usr/lib/qux', '/usr/lib/quux', '/usr/lib/quuux', '/usr/lib/opional',
  '/usr/lib/optional', '/usr/libexec/x.y', '/usr/libexec/xzy', '/usr/libexec/twice', '/etc', '/etc/passwd', '/etc/passwd-',
  '/etc/passwd.bak', '/etc/shadow-', '/etc/selinux/config', '/etc/ssh/ssh_host_ed25519_key', '/etc/ssh/ssh_host_ed25519_key.pub',
  '/usr/etc', '/usr/etc/passwd', '/usr/etc/ssh/ssh_host_rsa_key', '/var', '/var/run', '/var/lib/rpm/rpmdb.sqlite', '/var/home',
  '/var/home/core', '/var/home/core/.ssh/authorized_keys', '/var/home/core/.bashrc', '/home/core', '/run', '/run/x', '/proc',
  '/proc/1', '/mnt', '/mnt/data', '/mnt/data/file', '/dev/null', '/dev/sda1', '/dev/log', '/dev/initctl', '/home', '/tmp', '/tmp/x',
  '/srv/x.cgi', '/srv/x.CgI', '/srv/web/index.html', '/web/index.html', '/myhome/u/.ssh', '/opt/a/bin/ls', '/opt/x', '/gnu/etc/passwd',
  '/gnu', '/var/roothome/.bashrc', '/lib/modules', '/bin/bash', '/boot/efi/EFI/fedora/shimx64.efi', '/boot/efi/x.efi', '/boot/efi/EFI/x',
  '//usr//bin///ls', '/usr/bin/', '/lib64/ld.so', '/usr/bin/ssh\nx',
];

test('FileContexts.lookup equals matchpathcon (libselinux) for every file type on a Fedora-like policy', { skip: !haveMatchpathcon && 'needs matchpathcon (selinux-utils)' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'coreforge-selinux-'));
  try {
    const fc = join(dir, 'file_contexts');
    writeFileSync(fc, FC);
    writeFileSync(`${fc}.homedirs`, HOMEDIRS);
    writeFileSync(`${fc}.local`, LOCAL);
    writeFileSync(`${fc}.subs_dist`, SUBS_DIST);
    writeFileSync(`${fc}.subs`, SUBS);
    FileContextsSync.cache.set(fc, await FileContexts.load(fc));
    const paths = PATHS.filter((p) => !p.includes('\n'));
    const n = compareWithMatchpathcon(fc, paths);
    assert.ok(n > 500);
    // spot checks of the rules (so a matchpathcon change can't make this test vacuous)
    const f = FileContextsSync.get(fc);
    assert.equal(f.lookup('/usr/bin/sudo', 0o100644), 'system_u:object_r:bin_t:s0', '.local comes last and wins');
    assert.equal(f.lookup('/usr/libexec/twice', 0), 'system_u:object_r:second_t:s0', 'later line wins');
    assert.equal(f.lookup('/usr/libexec/x.y', 0o100644), 'system_u:object_r:escaped_exact_t:s0', 'a spec without metacharacters beats regex specs');
    assert.equal(f.lookup('/run/x', 0o100644), null, '<<none>>');
    assert.equal(f.lookup('/var/home/core/.ssh/authorized_keys', 0o100600), 'unconfined_u:object_r:ssh_home_t:s0', 'subs_dist alias');
    assert.equal(f.lookup('/myhome/u/.ssh', 0o040700), 'unconfined_u:object_r:ssh_home_t:s0', '.subs then .subs_dist');
    assert.equal(f.lookup('/opt/a/bin/ls', 0o100755), 'system_u:object_r:var_t:s0', 'the last .subs line is tried first');
    assert.equal(f.lookup('/gnu/etc/passwd', 0o100644), 'system_u:object_r:passwd_file_t:s0', 'alias to /');
    assert.equal(f.lookup('/usr/x/opt/alt', 0o100644), 'system_u:object_r:alternation_t:s0', "'^a|b$' anchors each branch on one side only");
    assert.equal(f.lookup('/x/opt/alt', 0o100644), 'system_u:object_r:default_t:s0', 'a spec with a stem (/usr) is only tried on keys with that stem');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('malformed file_contexts lines are errors naming file and line', () => {
  assert.throws(() => FileContexts.fromText('/usr(/.*)?\n', { source: '/p/file_contexts' }), /\/p\/file_contexts:1: line is missing fields/);
  assert.throws(() => FileContexts.fromText('# c\n/usr -x system_u:object_r:usr_t:s0\n', { source: 'fc' }), /fc:2: invalid file type -x/);
  const bad = FileContexts.fromText('/usr/[[:bogus:]]+ system_u:object_r:usr_t:s0\n', { source: 'fc' });
  assert.throws(() => bad.lookup('/usr/x', 0), /fc:1: regex .*unknown character class \[:bogus:\]/);
});

/** The .pp modules of Debian's selinux-policy-default, when the package (or its .deb) is on this machine. */
function debianPolicyModules(work: string): string[] | null {
  const installed = '/usr/share/selinux/default';
  let dir: string | null = existsSync(join(installed, 'base.pp.bz2')) || existsSync(join(installed, 'base.pp')) ? installed : null;
  if (!dir) {
    const cands = [process.env.COREFORGE_SELINUX_POLICY_DEB, ...(existsSync('/var/cache/apt/archives') ? readdirSync('/var/cache/apt/archives').filter((f) => f.startsWith('selinux-policy-default_') && f.endsWith('.deb')).map((f) => join('/var/cache/apt/archives', f)) : [])].filter(
      (x): x is string => !!x && existsSync(x),
    );
    if (cands.length === 0) return null;
    execFileSync('dpkg-deb', ['-x', cands[0]!, join(work, 'deb')]);
    dir = join(work, 'deb', installed);
  }
  const files = readdirSync(dir).filter((f) => /\.pp(\.bz2)?$/.test(f));
  files.sort((a, b) => (a.startsWith('base.') ? -1 : b.startsWith('base.') ? 1 : a < b ? -1 : a > b ? 1 : 0));
  // One bzip2 process for all modules (spawning one per module is most of the runtime otherwise).
  const mods = join(work, 'mods');
  mkdirSync(mods);
  for (const f of files) writeFileSync(join(mods, f), readFileSync(join(dir, f)));
  const bz = files.filter((f) => f.endsWith('.bz2'));
  if (bz.length) execFileSync('bzip2', ['-d', ...bz.map((f) => join(mods, f))]);
  return files.map((f) => join(mods, f.replace(/\.bz2$/, '')));
}

/** File-context sections of SELinux policy packages (libsepol module package format: magic, sections, offsets). */
function fileContextsOfModules(files: string[]): string {
  let text = '';
  for (const f of files) {
    const d = readFileSync(f);
    assert.equal(d.readUInt32LE(0), 0xf97cff8f, `${f}: not a policy package`);
    const n = d.readUInt32LE(8);
    const offs = [...Array(n).keys()].map((i) => d.readUInt32LE(12 + 4 * i));
    offs.push(d.length);
    for (let i = 0; i < n; i++) if (d.readUInt32LE(offs[i]!) === 0xf97cff90) text += d.subarray(offs[i]! + 4, offs[i + 1]!).toString('latin1');
  }
  return text;
}

test("a real policy: Debian refpolicy's file contexts (selinux-policy-default), compared with matchpathcon", async (t) => {
  if (!haveMatchpathcon) {
    t.skip('needs matchpathcon (selinux-utils)');
    return;
  }
  const work = mkdtempSync(join(tmpdir(), 'coreforge-selinux-'));
  try {
    const mods = debianPolicyModules(work);
    if (!mods) {
      t.skip('selinux-policy-default not available (set COREFORGE_SELINUX_POLICY_DEB to its .deb, e.g. from `apt-get download selinux-policy-default`)');
      return;
    }
    const fc = join(work, 'file_contexts');
    writeFileSync(fc, fileContextsOfModules(mods));
    for (const subsDist of [join(work, 'deb/etc/selinux/default/contexts/files/file_contexts.subs_dist'), '/etc/selinux/default/contexts/files/file_contexts.subs_dist']) {
      if (existsSync(subsDist)) {
        writeFileSync(`${fc}.subs_dist`, readFileSync(subsDist));
        break;
      }
    }
    const loaded = await FileContexts.load(fc);
    assert.ok(loaded.size > 3000, `only ${loaded.size} specs`);
    FileContextsSync.cache.set(fc, loaded);
    // This machine's own tree is a realistic sample, plus paths of an FCOS tree.
    const host = execFileSync('sh', ['-c', 'find /usr/bin /usr/sbin /usr/lib/systemd /etc /var/lib /var/log /dev -xdev 2>/dev/null | head -1500'], { maxBuffer: 1 << 26 })
      .toString()
      .split('\n')
      .filter((p) => p !== '' && !/\s/.test(p));
    const paths = [...host, ...PATHS.filter((p) => !p.includes('\n')), '/usr/lib/ostree-boot', '/sysroot/ostree/repo', '/var/lib/containers/storage/overlay', '/usr/libexec/coreos-ignition'];
    compareWithMatchpathcon(fc, paths, TYPES.slice(0, 3));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('labelTree: labels every path of a tree with its own policy (security.selinux = context + NUL)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'coreforge-selinux-'));
  try {
    const pol = join(root, 'usr/etc/selinux/targeted/contexts/files');
    mkdirSync(pol, { recursive: true });
    writeFileSync(join(pol, 'file_contexts'), FC);
    writeFileSync(join(pol, 'file_contexts.subs_dist'), '/usr/etc /etc\n/var/home /home\n');
    writeFileSync(join(root, 'usr/etc/selinux/config'), '# comment\nSELINUX=enforcing\nSELINUXTYPE=targeted\n');
    mkdirSync(join(root, 'usr/bin'), { recursive: true });
    mkdirSync(join(root, 'proc'));
    writeFileSync(join(root, 'usr/bin/ssh'), '');
    symlinkSync('usr/bin', join(root, 'bin'));
    writeFileSync(join(root, 'usr/etc/passwd'), '');

    const policy = await loadSelinuxPolicy(root);
    assert.equal(policy?.name, 'targeted');
    const m = await labelTree(root);
    const ctx = (p: string): string => {
      const x = m.get(p)!.xattrs!;
      assert.equal(xattrNameString(x[0]![0]), 'security.selinux');
      return Buffer.from(x[0]![1]).toString();
    };
    assert.equal(ctx('/'), 'system_u:object_r:root_t:s0\0');
    assert.equal(ctx('/usr/bin/ssh'), 'system_u:object_r:ssh_exec_t:s0\0');
    assert.equal(ctx('/bin'), 'system_u:object_r:default_t:s0\0', 'a symlink at /bin (no alias in this policy)');
    assert.equal(ctx('/usr/etc/passwd'), 'system_u:object_r:passwd_file_t:s0\0', 'subs_dist /usr/etc → /etc');
    assert.equal(ctx('/proc'), 'system_u:object_r:mnt_t:s0\0', 'ostree labels /proc as /mnt');
    const all = execFileSync('find', [root, '-mindepth', '1']).toString().trim().split('\n').map((p) => p.slice(root.length));
    assert.deepEqual([...m.keys()].sort(), ['/', ...all].sort());

    // selinux-label-version 1: /usr/etc is labeled as /etc even without an alias
    writeFileSync(join(pol, 'file_contexts.subs_dist'), '');
    const v0 = await labelTree(root);
    assert.equal(Buffer.from(v0.get('/usr/etc/passwd')!.xattrs![0]![1]).toString(), 'system_u:object_r:usr_t:s0\0');
    const v1 = await labelTree(root, { labelVersion: 1 });
    assert.equal(Buffer.from(v1.get('/usr/etc/passwd')!.xattrs![0]![1]).toString(), 'system_u:object_r:passwd_file_t:s0\0');
    assert.equal(labelingPath('/usr/etcx', 1), '/usr/etcx');

    // Unlabeled content is an error, as rpm-ostree's ERROR_ON_UNLABELED commit.
    mkdirSync(join(root, 'run'));
    writeFileSync(join(root, 'run/stray'), '');
    await assert.rejects(labelTree(root), /Failed to look up SELinux label for '\/run\/stray'/);
    rmSync(join(root, 'run'), { recursive: true });

    // Disabled or missing policy
    writeFileSync(join(root, 'usr/etc/selinux/config'), 'SELINUX=disabled\nSELINUXTYPE=targeted\n');
    assert.equal(await loadSelinuxPolicy(root), null);
    await assert.rejects(labelTree(root), /SELinux enabled, but no policy found/);
    writeFileSync(join(root, 'usr/etc/selinux/config'), 'SELINUX=permissive\nSELINUXTYPE=mls\n');
    await assert.rejects(loadSelinuxPolicy(root), /file_contexts not found/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
