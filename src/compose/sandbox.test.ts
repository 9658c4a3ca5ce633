import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { withRootOverlay, sandboxAvailable } from './sandbox.js';
import { native } from '../native/index.js';

const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((p) => fs.existsSync(p));
const avail = sandboxAvailable();
const skip = !busybox ? 'needs busybox-static' : !avail.ok ? `sandbox unavailable: ${avail.reason}` : false;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coreforge-sandbox-'));
fs.chmodSync(tmp, 0o755);
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function makeRoot(dir: string): void {
  for (const d of ['bin', 'etc/keep', 'etc/gone', 'usr/share/opaque/sub', 'var']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.copyFileSync(busybox!, path.join(dir, 'bin/busybox'));
  fs.chmodSync(path.join(dir, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'echo', 'cat', 'rm', 'mkdir', 'ls', 'wget', 'chmod', 'ln', 'ip', 'nc', 'id', 'mv']) fs.symlinkSync('busybox', path.join(dir, 'bin', a));
  fs.writeFileSync(path.join(dir, 'etc/keep/a'), 'a\n');
  fs.writeFileSync(path.join(dir, 'etc/gone/x'), 'x\n');
  fs.writeFileSync(path.join(dir, 'etc/plain'), 'plain\n');
  fs.writeFileSync(path.join(dir, 'usr/share/opaque/old'), 'old\n');
  fs.writeFileSync(path.join(dir, 'usr/share/opaque/sub/deep'), 'deep\n');
}

test('writes through the overlay never touch hardlinked originals; deletes, new dirs, opaque dirs and modes merge', { skip }, async () => {
  const dir = path.join(tmp, 'merge');
  const root = path.join(dir, 'root');
  makeRoot(root);
  // The "pkgcache": files hardlinked into the tree.
  const cache = path.join(dir, 'cache');
  fs.mkdirSync(cache);
  fs.writeFileSync(path.join(cache, 'obj'), 'original\n');
  fs.linkSync(path.join(cache, 'obj'), path.join(root, 'etc/linked'));
  fs.linkSync(path.join(cache, 'obj'), path.join(root, 'etc/linked2'));
  const res = await withRootOverlay(root, path.join(dir, 'scratch'), async (s) => {
    const r = await s.run({
      label: 'mutate',
      argv: ['/bin/sh', '-c', [
        'echo changed >> /etc/linked',
        'rm -r /etc/gone',
        'rm /etc/plain',
        'mkdir -p /usr/lib/newdir/x && echo new > /usr/lib/newdir/x/f',
        'rm -r /usr/share/opaque && mkdir -p /usr/share/opaque && echo fresh > /usr/share/opaque/fresh',
        'chmod 700 /etc/keep',
        'ln -s ../etc/keep/a /var/link',
        'echo inrun > /run/x; echo intmp > /tmp/x',
        'cat /etc/linked',
      ].join(' && ')],
    });
    assert.equal(r.code, 0, r.output);
    assert.equal(r.output, 'original\nchanged\n');
    // A second command sees the first one's changes (one overlay per session).
    const r2 = await s.run({ label: 'second', argv: ['/bin/cat', '/usr/lib/newdir/x/f'] });
    assert.equal(r2.output, 'new\n');
    return 42;
  });
  assert.equal(res, 42);
  assert.equal(fs.readFileSync(path.join(cache, 'obj'), 'utf8'), 'original\n', 'hardlink source untouched');
  assert.equal(fs.readFileSync(path.join(root, 'etc/linked2'), 'utf8'), 'original\n');
  assert.equal(fs.readFileSync(path.join(root, 'etc/linked'), 'utf8'), 'original\nchanged\n');
  assert.notEqual(fs.statSync(path.join(root, 'etc/linked')).ino, fs.statSync(path.join(cache, 'obj')).ino);
  assert.equal(fs.existsSync(path.join(root, 'etc/gone')), false);
  assert.equal(fs.existsSync(path.join(root, 'etc/plain')), false);
  assert.equal(fs.readFileSync(path.join(root, 'usr/lib/newdir/x/f'), 'utf8'), 'new\n');
  assert.deepEqual(fs.readdirSync(path.join(root, 'usr/share/opaque')), ['fresh']);
  assert.equal(fs.statSync(path.join(root, 'etc/keep')).mode & 0o7777, 0o700);
  assert.equal(fs.readlinkSync(path.join(root, 'var/link')), '../etc/keep/a');
  // Sandbox mountpoints and tmpfs content do not leak into the tree.
  for (const m of ['dev', 'proc', 'run', 'tmp']) assert.equal(fs.existsSync(path.join(root, m)), false, m);
  // No overlay bookkeeping xattrs remain.
  const n = native();
  for (const p of ['etc/linked', 'etc/keep', 'usr/share/opaque', 'usr/lib/newdir/x/f']) {
    assert.deepEqual(n.listXattrs(path.join(root, p)).filter((x) => x.includes('overlay')), [], p);
  }
  assert.deepEqual(fs.readdirSync(path.join(dir, 'scratch')), []);
});

test('if fn throws the tree is untouched; no network; clean env; stdin, files and exit codes', { skip }, async () => {
  const dir = path.join(tmp, 'throw');
  const root = path.join(dir, 'root');
  makeRoot(root);
  await assert.rejects(withRootOverlay(root, path.join(dir, 'scratch'), async (s) => {
    const r = await s.run({ label: 'w', argv: ['/bin/sh', '-c', 'echo x > /etc/plain; rm -r /etc/gone; ip -o link | wc -l; exit 7'] });
    assert.equal(r.code, 7);
    throw new Error('boom');
  }), /boom/);
  assert.equal(fs.readFileSync(path.join(root, 'etc/plain'), 'utf8'), 'plain\n');
  assert.ok(fs.existsSync(path.join(root, 'etc/gone/x')));

  await withRootOverlay(root, path.join(dir, 'scratch'), async (s) => {
    const net = await s.run({ label: 'net', argv: ['/bin/sh', '-c', 'ip -o link; wget -T 2 -q -O- http://1.1.1.1/ 2>&1; echo rc=$?'] });
    assert.doesNotMatch(net.output, /eth|ens|enp/, 'only loopback inside');
    assert.match(net.output, /rc=[1-9]/);
    const env = await s.run({ label: 'env', argv: ['/bin/sh', '-c', 'env | sort; pwd; id -u'], env: { EXTRA: 'y' } });
    assert.match(env.output, /^PATH=\/usr\/sbin:\/usr\/bin:\/sbin:\/bin$/m);
    assert.match(env.output, /^LANG=C\.UTF-8$/m);
    assert.match(env.output, /^HOME=\/root$/m);
    assert.match(env.output, /^EXTRA=y$/m);
    assert.doesNotMatch(env.output, /^(NODE_|npm_)/m);
    assert.match(env.output, /^\/\n0\n$/m);
    const io = await s.run({ label: 'io', argv: ['/bin/sh', '/run/coreforge/script', 'arg1'], stdin: 'line1\nline2\n', files: [{ path: '/run/coreforge/script', content: 'echo "got $1"; cat; echo err >&2' }] });
    assert.equal(io.output, 'got arg1\nline1\nline2\nerr\n');
    const big = await s.run({ label: 'big', argv: ['/bin/sh', '-c', 'i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done'] });
    assert.ok(big.output.length <= 64 * 1024 && big.output.endsWith('line 19999\n'));
    const missing = await s.run({ label: 'missing', argv: ['/usr/bin/nope'] });
    assert.notEqual(missing.code, 0);
    assert.match(missing.output, /nope/);
  });
});

test('rootless: an unprivileged user runs a session and the merge works', { skip: skip || (process.getuid?.() !== 0 ? 'needs root to switch to an unprivileged user' : false) }, async () => {
  const user = 'nobody';
  const dir = path.join(tmp, 'rootless');
  fs.mkdirSync(dir);
  const root = path.join(dir, 'root');
  makeRoot(root);
  fs.writeFileSync(path.join(dir, 'cache-obj'), 'original\n');
  fs.linkSync(path.join(dir, 'cache-obj'), path.join(root, 'etc/linked'));
  spawnSync('chown', ['-R', `${user}:`, dir]);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const ext = path.extname(fileURLToPath(import.meta.url));
  const driver = path.join(dir, `driver${ext === '.ts' ? '.mts' : '.mjs'}`);
  fs.writeFileSync(driver, `
    import { withRootOverlay, sandboxAvailable } from ${JSON.stringify(path.join(here, `sandbox${ext === '.ts' ? '.ts' : '.js'}`))};
    const a = sandboxAvailable();
    if (!a.ok) { console.log('UNAVAILABLE ' + a.reason); process.exit(0); }
    const out = await withRootOverlay(${JSON.stringify(root)}, ${JSON.stringify(path.join(dir, 'scratch'))}, async (s) => {
      const r = await s.run({ label: 'x', argv: ['/bin/sh', '-c', 'id -u; echo more >> /etc/linked; rm /etc/plain; mkdir /etc/made'] });
      return r.output;
    });
    console.log('OUT ' + out.trim());
  `);
  fs.chmodSync(driver, 0o644);
  const args = ext === '.ts' ? ['--import', 'tsx', driver] : [driver];
  const r = spawnSync('runuser', ['-u', user, '--', process.execPath, ...args], { encoding: 'utf8', cwd: path.resolve(here, '..', '..'), env: { PATH: process.env.PATH ?? '', HOME: dir } });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  assert.doesNotMatch(r.stdout, /UNAVAILABLE/, r.stdout);
  assert.match(r.stdout, /OUT 0/);
  assert.equal(fs.readFileSync(path.join(dir, 'cache-obj'), 'utf8'), 'original\n');
  assert.equal(fs.readFileSync(path.join(root, 'etc/linked'), 'utf8'), 'original\nmore\n');
  assert.equal(fs.existsSync(path.join(root, 'etc/plain')), false);
  assert.ok(fs.statSync(path.join(root, 'etc/made')).isDirectory());
  const nobodyUid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout.trim());
  assert.equal(fs.statSync(path.join(root, 'etc/made')).uid, nobodyUid, 'files created rootless belong to the user');
});
