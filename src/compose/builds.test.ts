import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Repo } from '../ostree/repo/repo.js';
import { findBuild } from '../publish/builds.js';
import { publishBuild } from '../publish/publish.js';
import { AlreadyExistsError, InvalidInputError } from '../errors.js';
import { loadBuild, previousBuild, readBuildsJson, writeBuild, type NewBuild } from './builds.js';
import { pkgdiffFromJson, formatPkgDiff } from './pkgdiff.js';

const REF = 'my/x86_64/coreos/stable';

function ostree(args: string[]): string {
  const r = spawnSync('ostree', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `ostree ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

describe('builds/ writer (cosa layout), read back by src/publish', () => {
  let dir: string;
  let work: string;
  let repoPath: string;
  let c1: string;
  let c2: string;
  const NOW = new Date(Date.UTC(2024, 5, 1, 13, 4, 5));

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'builds-'));
    work = join(dir, 'work');
    mkdirSync(join(work, 'builds'), { recursive: true });
    mkdirSync(join(work, 'tmp'), { recursive: true });
    repoPath = join(work, 'tmp', 'repo');
    ostree(['init', `--repo=${repoPath}`, '--mode=archive']);
    const tree = join(dir, 'tree');
    mkdirSync(join(tree, 'usr', 'lib'), { recursive: true });
    writeFileSync(join(tree, 'usr', 'lib', 'os-release'), 'NAME=Test\n');
    const pk = (l: string) => `--add-metadata=rpmostree.rpmdb.pkglist=@a(sssss) [${l}]`;
    c1 = ostree(['commit', `--repo=${repoPath}`, '-b', REF, `--tree=dir=${tree}`, '--timestamp=2024-06-01T10:00:00Z',
      '--add-metadata-string=version=40.20240601.dev.0', '--add-metadata-string=rpmostree.inputhash=' + 'a'.repeat(64), '--add-metadata=ostree.bootable=true',
      pk('("bash", "0", "5.2.26", "3.fc40", "x86_64"), ("kernel", "0", "6.8.1", "300.fc40", "x86_64"), ("old", "0", "1", "1", "noarch")')]);
    writeFileSync(join(tree, 'usr', 'lib', 'new'), 'x\n');
    c2 = ostree(['commit', `--repo=${repoPath}`, '-b', REF, `--tree=dir=${tree}`, '--timestamp=2024-06-01T11:00:00Z',
      '--add-metadata-string=version=40.20240601.dev.1', '--add-metadata-string=rpmostree.inputhash=' + 'b'.repeat(64),
      pk('("bash", "0", "5.2.26", "3.fc40", "x86_64"), ("kernel", "0", "6.8.11", "300.fc40", "x86_64"), ("vim", "2", "9.1", "1.fc40", "x86_64")')]);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const base = async (id: string, commit: string, extra: Partial<NewBuild> = {}): Promise<NewBuild> => ({
    buildDir: work, arch: 'x86_64', id, name: 'my-coreos', repo: await Repo.open(repoPath), commit, ref: REF, summary: 'My "CoreOS"', now: NOW, ...extra,
  });

  it('writes the first build: meta.json, commitmeta.json, lockfile, tar, builds.json, latest', async () => {
    assert.equal(await previousBuild(work, 'x86_64'), null);
    const w = await writeBuild(await base('40.20240601.dev.0', c1, {
      lockfile: { packages: { bash: { evra: '5.2.26-3.fc40.x86_64' } } }, imageConfigChecksum: 'c'.repeat(64),
      configGit: { commit: 'd'.repeat(40), origin: 'https://example.com/config.git', branch: 'main', dirty: 'false' }, buildUrl: 'https://ci/1',
    }));
    const bdir = join(work, 'builds', '40.20240601.dev.0', 'x86_64');
    assert.equal(w.dir, bdir);
    assert.deepEqual(readdirSync(bdir).sort(), ['commitmeta.json', 'manifest-lock.generated.x86_64.json', 'meta.json', 'my-coreos-40.20240601.dev.0-ostree.x86_64.tar', 'ostree-commit-object']);
    const meta = JSON.parse(readFileSync(join(bdir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    // the fields of cosa's v1 schema (required: buildid, name, ostree-commit, ostree-timestamp, ostree-version)
    assert.equal(meta.buildid, '40.20240601.dev.0');
    assert.equal(meta.name, 'my-coreos');
    assert.equal(meta['ostree-commit'], c1);
    assert.equal(meta['ostree-timestamp'], '2024-06-01T10:00:00Z');
    assert.equal(meta['ostree-version'], '40.20240601.dev.0');
    assert.equal(meta['ostree-content-checksum'], ostree(['show', `--repo=${repoPath}`, c1]).match(/ContentChecksum:\s+(\w+)/)![1]);
    assert.equal(meta['rpm-ostree-inputhash'], 'a'.repeat(64));
    assert.equal(meta.ref, REF);
    assert.equal(meta.summary, 'My "CoreOS"');
    assert.equal(meta['coreos-assembler.basearch'], 'x86_64');
    assert.equal(meta['coreos-assembler.build-timestamp'], '2024-06-01T13:04:05Z');
    assert.equal(meta['coreos-assembler.image-genver'], 0);
    assert.equal(meta['coreos-assembler.image-input-checksum'], createHash('sha256').update(`${c1}\n${'c'.repeat(64)}\n`).digest('hex'));
    assert.deepEqual(meta['coreos-assembler.container-config-git'], { commit: 'd'.repeat(40), origin: 'https://example.com/config.git', branch: 'main', dirty: 'false' });
    assert.equal(meta['coreos-assembler.config-gitrev'], 'd'.repeat(40));
    assert.equal(meta['build-url'], 'https://ci/1');
    assert.equal('pkgdiff' in meta, false, 'no previous build, no pkgdiff (cosa writes {})');
    const tar = join(bdir, 'my-coreos-40.20240601.dev.0-ostree.x86_64.tar');
    assert.deepEqual(meta.images, { ostree: { path: 'my-coreos-40.20240601.dev.0-ostree.x86_64.tar', sha256: createHash('sha256').update(readFileSync(tar)).digest('hex'), size: readFileSync(tar).length, 'skip-compression': true } });
    const cm = JSON.parse(readFileSync(join(bdir, 'commitmeta.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cm.version, '40.20240601.dev.0');
    assert.equal(cm['ostree.bootable'], true);
    assert.equal(createHash('sha256').update(readFileSync(join(bdir, 'ostree-commit-object'))).digest('hex'), c1);
    assert.deepEqual(JSON.parse(readFileSync(join(bdir, 'manifest-lock.generated.x86_64.json'), 'utf8')), { packages: { bash: { evra: '5.2.26-3.fc40.x86_64' } } });

    const bj = JSON.parse(readFileSync(join(work, 'builds', 'builds.json'), 'utf8')) as Record<string, unknown>;
    assert.deepEqual(bj, { 'schema-version': '1.0.0', builds: [{ id: '40.20240601.dev.0', arches: ['x86_64'] }], timestamp: '2024-06-01T13:04:05Z' });
    assert.equal(readlinkSync(join(work, 'builds', 'latest')), '40.20240601.dev.0');
    assert.deepEqual(readdirSync(join(work, 'tmp')).filter((n) => n.startsWith('build-')), [], 'staging dir moved');

    // the reader in src/publish accepts it
    const found = await findBuild(work);
    assert.equal(found.id, '40.20240601.dev.0');
    assert.equal(found.meta['ostree-commit'], c1);
    assert.equal(found.ostreeTar, tar);
  });

  it('writes the next build with pkgdiff against the previous one; newest first', async () => {
    const prev = await previousBuild(work, 'x86_64');
    assert.ok(prev);
    assert.equal(prev.id, '40.20240601.dev.0');
    assert.equal(prev.inputhash, 'a'.repeat(64));
    assert.equal(prev.version, '40.20240601.dev.0');
    assert.equal(prev.commit, c1);
    assert.deepEqual(prev.pkglist?.map((p) => p.name), ['bash', 'kernel', 'old']);
    const w = await writeBuild(await base('40.20240601.dev.1', c2, { previous: prev, parent: prev }));
    assert.deepEqual(w.meta.pkgdiff, [
      ['vim', 0, { NewPackage: ['vim', '2:9.1-1.fc40', 'x86_64'] }],
      ['old', 1, { PreviousPackage: ['old', '1-1', 'noarch'] }],
      ['kernel', 2, { PreviousPackage: ['kernel', '6.8.1-300.fc40', 'x86_64'], NewPackage: ['kernel', '6.8.11-300.fc40', 'x86_64'] }],
    ]);
    assert.equal('parent-pkgdiff' in w.meta, false, 'parent = previous: no separate parent-pkgdiff');
    assert.equal(formatPkgDiff(pkgdiffFromJson(w.meta.pkgdiff)), 'Upgraded:\n  kernel 6.8.1-300.fc40 -> 6.8.11-300.fc40\nRemoved:\n  old-1-1.noarch\nAdded:\n  vim-2:9.1-1.fc40.x86_64\n');
    const bj = await readBuildsJson(work);
    assert.deepEqual(bj?.builds.map((b) => b.id), ['40.20240601.dev.1', '40.20240601.dev.0']);
    assert.equal(readlinkSync(join(work, 'builds', 'latest')), '40.20240601.dev.1');
    assert.equal((await findBuild(work)).meta['ostree-commit'], c2);
    assert.equal((await findBuild(work, { id: '40.20240601.dev.0' })).meta['ostree-commit'], c1);
    assert.equal((await loadBuild(work, '40.20240601.dev.1', 'x86_64')).meta.buildid, '40.20240601.dev.1');
  });

  it('publishes both builds through src/publish (tar import, ref, delta)', async () => {
    const pub = join(dir, 'pub');
    const r0 = await publishBuild({ buildDir: work, repo: pub, buildId: '40.20240601.dev.0' });
    assert.equal(r0.commit, c1);
    const r1 = await publishBuild({ buildDir: work, repo: pub });
    assert.equal(r1.commit, c2);
    assert.deepEqual(r1.deltas, [`${c1}-${c2}`]);
    assert.equal(ostree(['rev-parse', `--repo=${pub}`, REF]), c2);
    ostree(['fsck', `--repo=${pub}`]);
  });

  it('refuses an existing build, adds another arch to an ID, replaces an unlisted leftover', async () => {
    await assert.rejects(writeBuild(await base('40.20240601.dev.1', c2)), AlreadyExistsError);
    await writeBuild(await base('40.20240601.dev.1', c2, { arch: 'aarch64' }));
    const bj = await readBuildsJson(work);
    assert.deepEqual(bj?.builds[0], { id: '40.20240601.dev.1', arches: ['x86_64', 'aarch64'] });
    assert.equal((await previousBuild(work, 'aarch64'))?.id, '40.20240601.dev.1');

    // a crash after the rename but before builds.json: the directory exists, unlisted
    const orphan = join(work, 'builds', '40.20240601.dev.2', 'x86_64');
    mkdirSync(orphan, { recursive: true });
    writeFileSync(join(orphan, 'junk'), 'x');
    await writeBuild(await base('40.20240601.dev.2', c2));
    assert.equal(existsSync(join(orphan, 'junk')), false);
    assert.equal(existsSync(join(orphan, 'meta.json')), true);
  });

  it('leaves builds/ untouched when a build fails part-way', async () => {
    const before = readFileSync(join(work, 'builds', 'builds.json'), 'utf8');
    await assert.rejects(writeBuild(await base('40.20240601.dev.3', c2, { ref: 'not/bound/ref' })), InvalidInputError);
    await assert.rejects(writeBuild(await base('../escape', c2)), InvalidInputError);
    await assert.rejects(writeBuild(await base('x', c2, { arch: 'x86/64' })), InvalidInputError);
    assert.equal(readFileSync(join(work, 'builds', 'builds.json'), 'utf8'), before);
    assert.equal(existsSync(join(work, 'builds', '40.20240601.dev.3')), false);
    assert.deepEqual(readdirSync(join(work, 'tmp')).filter((n) => n.startsWith('build-')), []);
    assert.equal(readlinkSync(join(work, 'builds', 'latest')), '40.20240601.dev.2');
  });

  it('rejects a builds.json cosa would reject', async () => {
    const w2 = join(dir, 'w2');
    mkdirSync(join(w2, 'builds'), { recursive: true });
    writeFileSync(join(w2, 'builds', 'builds.json'), JSON.stringify({ 'schema-version': '2.0.0', builds: [] }));
    await assert.rejects(readBuildsJson(w2), /unsupported build metadata version 2.0.0/);
    writeFileSync(join(w2, 'builds', 'builds.json'), '{');
    await assert.rejects(previousBuild(w2, 'x86_64'), InvalidInputError);
    writeFileSync(join(w2, 'builds', 'builds.json'), JSON.stringify({ 'schema-version': '1.0.0', builds: [{ id: 1 }] }));
    await assert.rejects(readBuildsJson(w2), /builds\[0\]/);
  });
});
