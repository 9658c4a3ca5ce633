import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Repo } from '../ostree/repo/repo.js';
import { ObjectType } from '../ostree/objects/types.js';
import { objectKey, traverseCommit } from '../ostree/traverse.js';
import { InvalidInputError, NotFoundError } from '../errors.js';
import { pruneBuildRepo, pruneBuilds } from './prune.js';
import { CF } from '../../test/util/exec.js';

function ostree(args: string[]): string {
  const r = spawnSync('ostree', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `ostree ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

const ids = ['40.5', '40.4', '40.3', '40.2', '40.1']; // newest first, as builds.json lists them

/** A build dir with five builds (40.2 tagged), and a tmp/repo with a ref named after 40.1. */
function makeBuildDir(root: string, name: string): string {
  const d = join(root, name);
  for (const id of ids) {
    mkdirSync(join(d, 'builds', id, 'x86_64'), { recursive: true });
    writeFileSync(join(d, 'builds', id, 'x86_64', 'meta.json'), JSON.stringify({ buildid: id }));
  }
  const bj = { 'schema-version': '1.0.0', builds: ids.map((id) => ({ id, arches: ['x86_64'] })), timestamp: '2026-01-01T00:00:00Z', tags: [{ name: 'keepme', target: '40.2' }] };
  writeFileSync(join(d, 'builds', 'builds.json'), JSON.stringify(bj, null, 4));
  spawnSync('ln', ['-s', '40.5', join(d, 'builds', 'latest')]);
  const repo = join(d, 'tmp', 'repo');
  mkdirSync(join(d, 'tmp'));
  ostree(['init', `--repo=${repo}`, '--mode=archive']);
  const tree = join(root, `${name}-tree`);
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'f'), name);
  ostree([`--repo=${repo}`, 'commit', '-b', '40.1', `--tree=dir=${tree}`]);
  return d;
}

const listed = (d: string): string[] => (JSON.parse(readFileSync(join(d, 'builds', 'builds.json'), 'utf8')) as { builds: Array<{ id: string }> }).builds.map((b) => b.id);

describe('pruneBuilds (cosa prune)', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'coreforge-prune-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  it('keeps the newest 3 untagged builds and tagged ones; deletes the rest and their build-repo refs', async () => {
    const d = makeBuildDir(root, 'default');
    const dry = await pruneBuilds(d, { dryRun: true });
    assert.deepEqual(dry.pruned, ['40.1']);
    assert.deepEqual(listed(d), ids, 'a dry run changes nothing');
    const r = await pruneBuilds(d, { now: new Date(Date.UTC(2026, 10, 27)) });
    assert.deepEqual(r.kept, ['40.5', '40.4', '40.3', '40.2']);
    assert.deepEqual(r.pruned, ['40.1']);
    assert.deepEqual(listed(d), ['40.5', '40.4', '40.3', '40.2']);
    assert.equal(existsSync(join(d, 'builds', '40.1')), false);
    assert.equal(existsSync(join(d, 'builds', '40.2', 'x86_64', 'meta.json')), true);
    assert.equal(readlinkSync(join(d, 'builds', 'latest')), '40.5');
    const bj = JSON.parse(readFileSync(join(d, 'builds', 'builds.json'), 'utf8')) as { timestamp: string; tags: unknown[] };
    assert.equal(bj.timestamp, '2026-11-27T00:00:00Z');
    assert.equal(bj.tags.length, 1);
    assert.equal(ostree(['refs', `--repo=${join(d, 'tmp', 'repo')}`]), '', 'the ref named after the pruned build is gone');
  });

  it('prunes named builds; refuses tagged and unknown ones; keep 0 keeps all', async () => {
    const d = makeBuildDir(root, 'named');
    await assert.rejects(pruneBuilds(d, { builds: ['40.2'] }), (e: unknown) => e instanceof InvalidInputError && /40\.2 is tagged \(keepme\)/.test(e.message));
    await assert.rejects(pruneBuilds(d, { builds: ['39.9'] }), NotFoundError);
    assert.deepEqual((await pruneBuilds(d, { keepLastN: 0 })).pruned, []);
    const r = await pruneBuilds(d, { builds: ['40.5', '40.3'] });
    assert.deepEqual(r.pruned, ['40.5', '40.3']);
    assert.deepEqual(listed(d), ['40.4', '40.2', '40.1']);
    assert.equal(readlinkSync(join(d, 'builds', 'latest')), '40.4', 'latest follows the newest build left');
    assert.deepEqual((await pruneBuilds(d, { keepLastN: 1 })).pruned, ['40.1']);
  });

  it('coreforge prune: the same from the command line', () => {
    const d = makeBuildDir(root, 'cli');
    const cf = (...args: string[]) => spawnSync(process.execPath, [CF, 'prune', ...args], { cwd: d, encoding: 'utf8' });
    let r = cf('--keep-last-n', '2', '--dry-run');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'Skipping tagged build 40.2 (keepme)\nWould prune build 40.3\nWould prune build 40.1\n');
    r = cf('--keep-last-n', 'two');
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--keep-last-n: expected a whole number, got 'two'/);
    r = cf('--json');
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), { kept: ['40.5', '40.4', '40.3', '40.2'], pruned: ['40.1'], dryRun: false });
    assert.deepEqual(listed(d), ['40.5', '40.4', '40.3', '40.2']);
  });
});

describe('pruneBuildRepo (ostree prune --refs-only --depth=2)', () => {
  let root: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'coreforge-prune-repo-'));
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  /** An archive repo with a chain of `n` commits on `ref`; each adds a file and changes a shared one. */
  function chain(name: string, n: number): { path: string; commits: string[] } {
    const path = join(root, name);
    ostree(['init', `--repo=${path}`, '--mode=archive']);
    const tree = join(root, `${name}-tree`);
    mkdirSync(join(tree, 'usr', 'lib', 'deep'), { recursive: true });
    const commits: string[] = [];
    for (let i = 0; i < n; i++) {
      writeFileSync(join(tree, 'usr', 'lib', 'deep', `added-${i}`), `file ${i}`);
      writeFileSync(join(tree, 'usr', 'changing'), `version ${i}`);
      commits.push(ostree([`--repo=${path}`, 'commit', '-b', 'my/ref', `--tree=dir=${tree}`]));
    }
    return { path, commits };
  }

  it('keeps the ref and two ancestors; the real ostree fscks the rest; a seed of the newest closure gives the same result', async () => {
    for (const seeded of [false, true]) {
      const { path, commits } = chain(`chain-${seeded}`, 5);
      const repo = await Repo.open(path);
      const seen = new Set<string>();
      if (seeded) for await (const o of traverseCommit(repo, commits[4]!)) seen.add(objectKey(o.type, o.checksum));
      seen.delete(objectKey(ObjectType.Commit, commits[4]!)); // a seed never holds the commit itself
      const r = await pruneBuildRepo(repo, 2, seeded ? seen : undefined);
      assert.ok(r && r.pruned >= 4, JSON.stringify(r)); // two commits, their changed files and dirtrees
      const log = ostree([`--repo=${path}`, 'log', 'my/ref']);
      assert.deepEqual([...log.matchAll(/^commit (\w+)/gm)].map((m) => m[1]), commits.slice(2).reverse());
      assert.match(ostree([`--repo=${path}`, 'fsck']), /no errors found/);
      // the content of the dropped commits only is gone, the kept commits' is there
      assert.equal(ostree([`--repo=${path}`, 'cat', 'my/ref', '/usr/lib/deep/added-0']), 'file 0');
      assert.equal(await pruneBuildRepo(repo, 2), null, 'nothing left to drop: no walk');
      repo.close();
    }
  });

  it('drops a commit no ref reaches', async () => {
    const { path, commits } = chain('orphan', 2);
    ostree([`--repo=${path}`, 'refs', '--delete', 'my/ref']);
    ostree([`--repo=${path}`, 'refs', '--create=other', commits[0]!]);
    const repo = await Repo.open(path);
    assert.ok(await pruneBuildRepo(repo, 2));
    assert.equal(existsSync(repo.objectPath(ObjectType.Commit, commits[1]!)), false);
    assert.equal(existsSync(repo.objectPath(ObjectType.Commit, commits[0]!)), true);
    repo.close();
  });
});

