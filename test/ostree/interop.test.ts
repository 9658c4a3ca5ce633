/**
 * Two-direction interop with the real ostree CLI (Debian's 2022.7): the same
 * tree committed by both gives the same commit checksum, and each tool reads,
 * verifies, checks out and pull-locals what the other wrote.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, linkSync, chmodSync, rmSync, readdirSync, lstatSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes, createHash } from 'node:crypto';

const ROOT = resolve(new URL('../../..', import.meta.url).pathname);
const CF = join(ROOT, 'bin', 'coreforge');

function run(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}
const ostree = (...a: string[]) => run('ostree', a);
const cf = (...a: string[]) => run(CF, ['ostree', ...a]);

/** Deterministic PRNG so a failing tree can be regenerated from its seed. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A random tree with the awkward cases ostree must preserve. */
function makeTree(dir: string, seed: number, files = 120): void {
  const rnd = prng(seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rnd() * a.length)]!;
  mkdirSync(dir, { recursive: true });
  const dirs = [dir];
  const names = ['a', 'b', 'data', 'é-ñ', '日本', 'space name', 'x.conf', '.hidden', 'Zed', 'z-', 'long'.repeat(20)];
  const regular: string[] = [];
  for (let i = 0; i < 12; i++) {
    const d = join(pick(dirs), `${pick(names)}-d${i}`);
    mkdirSync(d, { recursive: true });
    chmodSync(d, pick([0o755, 0o700, 0o775, 0o1777, 0o2755]));
    dirs.push(d);
  }
  mkdirSync(join(dir, 'empty-dir'));
  for (let i = 0; i < files; i++) {
    const p = join(pick(dirs), `${pick(names)}-${i}`);
    const kind = rnd();
    if (kind < 0.75) {
      const sizeClass = rnd();
      const size = sizeClass < 0.2 ? 0 : sizeClass < 0.8 ? Math.floor(rnd() * 4096) : sizeClass < 0.97 ? Math.floor(rnd() * 300000) : 1_000_000 + Math.floor(rnd() * 2_500_000);
      const content = rnd() < 0.5 ? randomBytes(size) : Buffer.from('hello ostree '.repeat(Math.ceil(size / 13)).slice(0, size));
      writeFileSync(p, content);
      chmodSync(p, pick([0o644, 0o755, 0o600, 0o4755, 0o2755, 0o444, 0o640]));
      regular.push(p);
      if (rnd() < 0.15) execFileSync('setfattr', ['-n', `user.${pick(['a', 'b', 'cf'])}`, '-v', `v${i}`, p]);
    } else if (kind < 0.9) {
      symlinkSync(pick(['../a', '/usr/bin/env', 'does/not/exist', 'x.conf-1', '日本']), p);
    } else if (regular.length > 0) {
      linkSync(pick(regular), p);
    }
  }
}

function treeFingerprint(dir: string, opts: { ignoreSuid?: boolean } = {}): string {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const st = lstatSync(p);
      let mode = st.mode & 0o7777;
      if (opts.ignoreSuid && st.isFile()) mode &= ~0o6000;
      if (st.isSymbolicLink()) out.push(`${rel}/${n} l ${readlinkSync(p)}`);
      else if (st.isDirectory()) {
        out.push(`${rel}/${n} d ${mode.toString(8)}`);
        walk(p, `${rel}/${n}`);
      } else out.push(`${rel}/${n} f ${mode.toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
    }
  };
  walk(dir, '');
  return out.join('\n');
}

let work: string;
let tree: string;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'cf-interop-'));
  tree = join(work, 'tree');
  makeTree(tree, 4242);
});
after(() => rmSync(work, { recursive: true, force: true }));

const COMMIT_ARGS = ['--timestamp=2021-06-01T12:00:00Z', '-s', 'interop subject', '-m', 'body\nline two', '--owner-uid=0', '--owner-gid=0', '--add-metadata-string=version=1.2.3'];

for (const mode of ['archive', 'bare-user'] as const) {
  test(`${mode}: same tree gives the same commit checksum in ostree and coreforge`, () => {
    const theirs = join(work, `theirs-${mode}`);
    const ours = join(work, `ours-${mode}`);
    ostree(`--repo=${theirs}`, 'init', `--mode=${mode}`);
    cf(`--repo=${ours}`, 'init', `--mode=${mode}`);
    const a = ostree(`--repo=${theirs}`, 'commit', '-b', 'os/x86_64/stable', `--tree=dir=${tree}`, ...COMMIT_ARGS).trim();
    const b = cf(`--repo=${ours}`, 'commit', '-b', 'os/x86_64/stable', `--tree=dir=${tree}`, ...COMMIT_ARGS).trim();
    assert.match(b, /^[0-9a-f]{64}$/);
    assert.equal(b, a);
    // both tools agree on every listing scripts parse
    for (const args of [['refs'], ['rev-parse', 'os/x86_64/stable'], ['ls', '-R', '-C', 'os/x86_64/stable'], ['log', 'os/x86_64/stable'], ['show', '--print-metadata-key=version', 'os/x86_64/stable']]) {
      assert.equal(cf(`--repo=${ours}`, ...args), ostree(`--repo=${ours}`, ...args), args.join(' '));
    }
  });

  test(`${mode}: the real ostree verifies, checks out and pull-locals coreforge's repo`, () => {
    const ours = join(work, `ours-${mode}`);
    assert.match(ostree(`--repo=${ours}`, 'fsck'), /no errors found/);
    const co = join(work, `co-real-${mode}`);
    ostree(`--repo=${ours}`, 'checkout', '-U', 'os/x86_64/stable', co);
    assert.equal(treeFingerprint(co), treeFingerprint(tree, { ignoreSuid: true }));
    const dst = join(work, `real-pulled-${mode}`);
    ostree(`--repo=${dst}`, 'init', '--mode=archive');
    ostree(`--repo=${dst}`, 'pull-local', ours, 'os/x86_64/stable');
    assert.match(ostree(`--repo=${dst}`, 'fsck'), /no errors found/);
  });

  test(`${mode}: coreforge verifies, checks out and pull-locals the real ostree's repo`, () => {
    const theirs = join(work, `theirs-${mode}`);
    assert.match(cf(`--repo=${theirs}`, 'fsck'), /no errors found/);
    const co = join(work, `co-ours-${mode}`);
    cf(`--repo=${theirs}`, 'checkout', '-U', 'os/x86_64/stable', co);
    assert.equal(treeFingerprint(co), treeFingerprint(tree, { ignoreSuid: true }));
    for (const dstMode of ['archive', 'bare-user']) {
      const dst = join(work, `ours-pulled-${mode}-${dstMode}`);
      cf(`--repo=${dst}`, 'init', `--mode=${dstMode}`);
      cf(`--repo=${dst}`, 'pull-local', theirs, 'os/x86_64/stable');
      assert.match(ostree(`--repo=${dst}`, 'fsck'), /no errors found/);
      assert.equal(cf(`--repo=${dst}`, 'rev-parse', 'os/x86_64/stable'), ostree(`--repo=${theirs}`, 'rev-parse', 'os/x86_64/stable'));
    }
  });
}

test('archive checkout as root keeps setuid bits and xattrs, like ostree', () => {
  const ours = join(work, 'ours-archive');
  const a = join(work, 'root-co-ours');
  const b = join(work, 'root-co-theirs');
  cf(`--repo=${ours}`, 'checkout', 'os/x86_64/stable', a);
  ostree(`--repo=${ours}`, 'checkout', 'os/x86_64/stable', b);
  assert.equal(treeFingerprint(a), treeFingerprint(b));
  assert.equal(treeFingerprint(a), treeFingerprint(tree));
  const xa = run('getfattr', ['-h', '-R', '-d', '--absolute-names', a]).replaceAll(a, '');
  const xb = run('getfattr', ['-h', '-R', '-d', '--absolute-names', b]).replaceAll(b, '');
  assert.equal(xa, xb);
});

test('bare mode (root): commit checksum matches and real fsck passes', () => {
  const ours = join(work, 'ours-bare');
  cf(`--repo=${ours}`, 'init', '--mode=bare');
  const c = cf(`--repo=${ours}`, 'commit', '-b', 'os/x86_64/stable', `--tree=dir=${tree}`, ...COMMIT_ARGS).trim();
  assert.equal(c, ostree(`--repo=${join(work, 'theirs-archive')}`, 'rev-parse', 'os/x86_64/stable').trim());
  assert.match(ostree(`--repo=${ours}`, 'fsck'), /no errors found/);
  const co = join(work, 'bare-co');
  ostree(`--repo=${ours}`, 'checkout', 'os/x86_64/stable', co);
  assert.equal(treeFingerprint(co), treeFingerprint(tree));
});

test('summary: the real ostree reads ours and we read theirs', () => {
  const ours = join(work, 'ours-archive');
  cf(`--repo=${ours}`, 'summary', '-u', '--add-metadata=custom.key=\'hello\'');
  const view = ostree(`--repo=${ours}`, 'summary', '-v');
  assert.match(view, /\* os\/x86_64\/stable/);
  assert.match(view, /Version \(ostree.commit.version\): 1\.2\.3/);
  assert.match(view, /custom\.key: 'hello'/);
  const theirs = join(work, 'theirs-archive');
  ostree(`--repo=${theirs}`, 'summary', '-u');
  const mine = cf(`--repo=${theirs}`, 'summary', '-v');
  assert.match(mine, /Latest Commit \(\d+ bytes\):/);
  // the ref entries (everything but the last-modified time) are byte-identical
  const refsPart = (s: string) => s.split('\n').filter((l) => !/Last-Modified/.test(l)).join('\n');
  assert.equal(refsPart(mine), refsPart(ostree(`--repo=${theirs}`, 'summary', '-v')));
});

test('second commit with a parent, diff and prune agree with ostree', () => {
  const ours = join(work, 'ours-archive');
  const extra = join(work, 'tree2');
  makeTree(extra, 99, 30);
  const c2 = cf(`--repo=${ours}`, 'commit', '-b', 'os/x86_64/stable', `--tree=dir=${extra}`, '--timestamp=2021-06-02T00:00:00Z', '-s', 'second').trim();
  assert.equal(cf(`--repo=${ours}`, 'rev-parse', 'os/x86_64/stable^'), ostree(`--repo=${ours}`, 'rev-parse', 'os/x86_64/stable^'));
  assert.equal(cf(`--repo=${ours}`, 'diff', 'os/x86_64/stable^', c2).split('\n').sort().join('\n'), ostree(`--repo=${ours}`, 'diff', 'os/x86_64/stable^', c2).split('\n').sort().join('\n'));
  assert.match(cf(`--repo=${ours}`, 'prune', '--refs-only', '--depth=0'), /Deleted \d+ objects/);
  assert.match(ostree(`--repo=${ours}`, 'fsck'), /no errors found/);
  assert.match(ostree(`--repo=${ours}`, 'log', 'os/x86_64/stable'), /History beyond this commit not fetched/);
});

test('export produces a tar the system tar extracts to the same tree', () => {
  const ours = join(work, 'ours-archive');
  const out = join(work, 'export.tar');
  cf(`--repo=${ours}`, 'export', '-o', out, 'os/x86_64/stable');
  const x = join(work, 'exported');
  mkdirSync(x);
  run('tar', ['-xf', out, '-C', x, '--xattrs', '--xattrs-include=*']);
  const y = join(work, 'exported-ref');
  ostree(`--repo=${ours}`, 'checkout', 'os/x86_64/stable', y);
  assert.equal(treeFingerprint(x), treeFingerprint(y));
});
