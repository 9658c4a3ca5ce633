import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Repo } from '../ostree/repo/repo.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { writeOstreeTar } from './ostree-tar.js';

function ostree(args: string[], cwd?: string): string {
  const r = spawnSync('ostree', args, { encoding: 'utf8', ...(cwd ? { cwd } : {}) });
  assert.equal(r.status, 0, `ostree ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}
function sh(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('writeOstreeTar (checked with the real ostree)', () => {
  let dir: string;
  let src: string;
  let parent: string;
  let commit: string;
  const REF = 'my/x86_64/coreos/stable';

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ostree-tar-'));
    src = join(dir, 'src');
    ostree(['init', `--repo=${src}`, '--mode=archive']);
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'usr', 'bin'), { recursive: true });
    mkdirSync(join(tree, 'usr', 'lib', 'empty'), { recursive: true });
    writeFileSync(join(tree, 'usr', 'bin', 'tool'), '#!/bin/sh\necho hi\n');
    chmodSync(join(tree, 'usr', 'bin', 'tool'), 0o755);
    writeFileSync(join(tree, 'usr', 'lib', 'big'), Buffer.alloc(3 * 1024 * 1024, 7));
    symlinkSync('../bin/tool', join(tree, 'usr', 'lib', 'tool-link'));
    parent = ostree(['commit', `--repo=${src}`, '-b', REF, `--tree=dir=${tree}`, '--add-metadata-string=version=1', '--owner-uid=0', '--owner-gid=0']);
    writeFileSync(join(tree, 'usr', 'lib', 'new'), 'second commit\n');
    commit = ostree(['commit', `--repo=${src}`, '-b', REF, '--bind-ref=2', `--tree=dir=${tree}`, '--add-metadata-string=version=2', '--add-detached-metadata-string=sig=detached', '--owner-uid=0', '--owner-gid=0']);
    // an unrelated commit that must not end up in the tar
    mkdirSync(join(dir, 'other'));
    writeFileSync(join(dir, 'other', 'o'), 'unrelated');
    ostree(['commit', `--repo=${src}`, '-b', 'other', `--tree=dir=${join(dir, 'other')}`]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('extracts to an archive repo that ostree pull-local, fsck and rev-parse accept', async () => {
    const out = join(dir, 'a.tar');
    const r = await writeOstreeTar(await Repo.open(src), commit, REF, out, { extraRefs: ['2'] });
    assert.equal(r.sha256, createHash('sha256').update(readFileSync(out)).digest('hex'));
    assert.equal(r.size, statSync(out).size);

    // the tar's root is the repository itself, like `tar -cf X -C repo .`
    const list = sh('tar', ['-tvf', out]).trim().split('\n');
    const names = list.map((l) => l.split(/\s+/).slice(5).join(' '));
    assert.equal(names[0], './');
    assert.ok(names.includes('./config') && names.includes(`./refs/heads/${REF}`) && names.includes('./refs/heads/2'));
    assert.ok(list.every((l) => l.includes('0/0')), 'owned by 0/0');
    const key = (n: string) => n.replace(/\/$/, '').replaceAll('/', '\u0001');
    assert.deepEqual(names, [...names].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)), 'entries in component-wise order, each directory before its contents');
    for (const n of names.filter((x) => x.endsWith('/') && x !== './')) assert.ok(names.indexOf(n) < names.findIndex((y) => y !== n && y.startsWith(n)) || !names.some((y) => y !== n && y.startsWith(n)), n);
    assert.equal(names.filter((n) => n.endsWith('.commit')).length, 1, 'only the requested commit');
    assert.equal(names.filter((n) => n.endsWith('.commitmeta')).length, 1, 'its detached metadata');

    const x = join(dir, 'x');
    mkdirSync(x);
    sh('tar', ['-xf', out, '-C', x]);
    assert.equal(ostree(['rev-parse', `--repo=${x}`, REF]), commit);
    ostree(['fsck', `--repo=${x}`]);
    assert.equal(ostree(['cat', `--repo=${x}`, REF, '/usr/lib/new']), 'second commit');
    assert.equal(ostree(['show', `--repo=${x}`, '--print-detached-metadata-key=sig', commit]), "'detached'");

    // the documented import
    const dst = join(dir, 'dst');
    ostree(['init', `--repo=${dst}`, '--mode=archive']);
    ostree(['pull-local', `--repo=${dst}`, x, REF]);
    assert.equal(ostree(['rev-parse', `--repo=${dst}`, REF]), commit);
    ostree(['fsck', `--repo=${dst}`]);
    // the parent is not in the artifact: history ends there, as in cosa's tars
    const log = ostree(['log', `--repo=${dst}`, REF]);
    assert.match(log, new RegExp(`commit ${commit}`));
    assert.doesNotMatch(log, new RegExp(`commit ${parent}`));

    // and our own reader opens it
    const ours = await Repo.open(x);
    assert.equal(await ours.resolveRev(REF), commit);
  });

  it('is deterministic', async () => {
    const a = await writeOstreeTar(await Repo.open(src), commit, REF, join(dir, 'd1.tar'), { mtime: 1717247045 });
    const b = await writeOstreeTar(await Repo.open(src), commit, REF, join(dir, 'd2.tar'), { mtime: 1717247045 });
    assert.equal(a.sha256, b.sha256);
    assert.deepEqual(readFileSync(join(dir, 'd1.tar')), readFileSync(join(dir, 'd2.tar')));
    assert.match(sh('tar', ['--full-time', '-tvf', join(dir, 'd1.tar'), './config']), /2024-06-01 13:04:05/);
    // the caller's list of what the commit reaches (its own commit walk) gives the same tar without a walk here
    const c = await writeOstreeTar(await Repo.open(src), commit, REF, join(dir, 'd3.tar'), { mtime: 1717247045, reachable: new Set(a.reachable) });
    assert.equal(c.sha256, a.sha256);
    assert.ok(a.reachable.size > 3 && ![...a.reachable].some((k) => k.startsWith(commit)));
  });

  it('writes the same bytes through O_DIRECT and through the page cache (padded tail truncated away)', async () => {
    const direct = await writeOstreeTar(await Repo.open(src), commit, REF, join(dir, 'direct.tar'), { mtime: 1717247045 });
    process.env.COREFORGE_TAR_DIRECT = '0';
    try {
      const buffered = await writeOstreeTar(await Repo.open(src), commit, REF, join(dir, 'buffered.tar'), { mtime: 1717247045 });
      assert.equal(direct.sha256, buffered.sha256);
    } finally {
      delete process.env.COREFORGE_TAR_DIRECT;
    }
    const a = readFileSync(join(dir, 'direct.tar'));
    assert.deepEqual(a, readFileSync(join(dir, 'buffered.tar')));
    assert.equal(createHash('sha256').update(a).digest('hex'), direct.sha256);
  });

  it('converts a bare-user source through pull-local', async () => {
    const bu = join(dir, 'bu');
    ostree(['init', `--repo=${bu}`, '--mode=bare-user']);
    ostree(['pull-local', `--repo=${bu}`, src, REF]);
    const out = join(dir, 'bu.tar');
    await writeOstreeTar(await Repo.open(bu), commit, REF, out);
    const x = join(dir, 'bux');
    mkdirSync(x);
    sh('tar', ['-xf', out, '-C', x]);
    ostree(['fsck', `--repo=${x}`]);
    assert.equal(ostree(['rev-parse', `--repo=${x}`, REF]), commit);
    assert.equal(ostree(['cat', `--repo=${x}`, REF, '/usr/bin/tool']), '#!/bin/sh\necho hi');
    assert.deepEqual(sh('ls', ['-A', dir]).split('\n').filter((n) => n.startsWith('.ostree-tar')), [], 'staging repo removed');
  });

  it('refuses bad refs, missing and partial commits', async () => {
    const repo = await Repo.open(src);
    await assert.rejects(writeOstreeTar(repo, commit, 'bad ref', join(dir, 'e.tar')), InvalidInputError);
    await assert.rejects(writeOstreeTar(repo, commit, REF, join(dir, 'e.tar'), { extraRefs: [`${REF}/sub`] }), /cannot both exist/);
    await assert.rejects(writeOstreeTar(repo, 'f'.repeat(64), REF, join(dir, 'e.tar')), NotFoundError);
    // ostree pull-local would refuse the ref: the commit is bound to other refs
    await assert.rejects(writeOstreeTar(repo, commit, 'other/ref', join(dir, 'e.tar')), /ref binding/);
    const partial = join(dir, 'partial');
    ostree(['init', `--repo=${partial}`, '--mode=archive']);
    ostree(['pull-local', `--repo=${partial}`, '--commit-metadata-only', src, REF]);
    await assert.rejects(writeOstreeTar(await Repo.open(partial), commit, REF, join(dir, 'e.tar')), /partial/);
    // a content object gone from the repository: named, and no tar (nor its temporary file) is left
    const holed = join(dir, 'holed');
    ostree(['init', `--repo=${holed}`, '--mode=archive']);
    ostree(['pull-local', `--repo=${holed}`, src, REF]);
    const victim = sh('find', [join(holed, 'objects'), '-name', '*.filez']).split('\n')[0]!;
    rmSync(victim);
    await assert.rejects(writeOstreeTar(await Repo.open(holed), commit, REF, join(dir, 'h.tar')), (e: unknown) => e instanceof NotFoundError && e.message.includes(`missing object ${victim.slice(holed.length + 1)} of commit ${commit}`));
    assert.deepEqual(sh('ls', ['-A', dir]).split('\n').filter((n) => n.includes('h.tar')), []);
  });
});
