/**
 * `coreforge publish` on cosa-layout builds: import, sign, delta, summary,
 * prune and a reader-safe sync to a directory target, checked with the real
 * ostree client (signatures, deltas) — including publishes killed midway.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, existsSync, cpSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RepoServer } from '../../src/server/static-repo.js';
import { CF, cf, makeGpgKey, ok, ostree, run } from '../util/exec.js';

let work: string;
let buildDir: string;
let gpg: { keyId: string; publicKey: string; home: string };
const REF = 'my/x86_64/coreos/stable';

/** Lay out a build as cosa does: builds.json (newest first), meta.json, and the ostree tar. */
async function makeBuild(id: string, tree: string, parent: string | null): Promise<string> {
  const dir = join(buildDir, 'builds', id, 'x86_64');
  mkdirSync(dir, { recursive: true });
  const repo = join(work, `build-repo-${id}`);
  await cf(`--repo=${repo}`, 'init', '--mode=archive');
  if (parent) await cf(`--repo=${repo}`, 'pull-local', join(work, 'pub'), REF);
  const commit = (await cf(`--repo=${repo}`, 'commit', '-b', REF, `--tree=dir=${tree}`, `--add-metadata-string=version=${id}`, ...(parent ? [`--parent=${parent}`] : ['--parent=none']))).trim();
  const tar = `mini-${id}-ostree.x86_64.tar`;
  await ok('tar', ['-cf', join(dir, tar), '-C', repo, '.']);
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ buildid: id, name: 'mini', ref: REF, 'ostree-commit': commit, 'ostree-version': id, images: { ostree: { path: tar } } }));
  const bj = existsSync(join(buildDir, 'builds/builds.json')) ? JSON.parse(readFileSync(join(buildDir, 'builds/builds.json'), 'utf8')) : { 'schema-version': '1.0.0', builds: [] };
  bj.builds.unshift({ id, arches: ['x86_64'] });
  writeFileSync(join(buildDir, 'builds/builds.json'), JSON.stringify(bj));
  return commit;
}

function publish(...extra: string[]) {
  return ok(CF, ['publish', '--builddir', buildDir, '--repo', join(work, 'pub'), '--to', join(work, 'www'), `--gpg-sign=${gpg.keyId}`, `--gpg-homedir=${gpg.home}`, '--json', ...extra], undefined);
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cf-publish-'));
  buildDir = join(work, 'build');
  mkdirSync(join(buildDir, 'builds'), { recursive: true });
  const home = join(work, 'gnupg');
  gpg = { ...(await makeGpgKey(home, 'release', work)), home };
});
after(() => rmSync(work, { recursive: true, force: true }));

async function clientPull(url: string, name: string): Promise<string> {
  const client = join(work, name);
  if (!existsSync(client)) {
    await ostree(`--repo=${client}`, 'init', '--mode=bare-user');
    await ostree(`--repo=${client}`, 'remote', 'add', '--set=gpg-verify-summary=true', `--gpg-import=${gpg.publicKey}`, 'my', url);
  }
  return ostree(`--repo=${client}`, 'pull', 'my', REF);
}

test('publish v1 and v2: signed, delta for the update, incremental sync, the real client follows', async () => {
  const t1 = join(work, 't1');
  mkdirSync(join(t1, 'usr/bin'), { recursive: true });
  writeFileSync(join(t1, 'usr/bin/big'), randomBytes(1_500_000));
  writeFileSync(join(t1, 'usr/bin/tool'), 'v1\n');
  const c1 = await makeBuild('40.1', t1, null);
  const r1 = JSON.parse(await publish());
  assert.equal(r1.commit, c1);
  const www = new RepoServer({ repos: [{ path: join(work, 'www') }] });
  const { url } = await www.start();
  try {
    await clientPull(url, 'client');
    assert.equal((await ostree(`--repo=${join(work, 'client')}`, 'rev-parse', `my:${REF}`)).trim(), c1);

    // v2 changes a small file: the delta and the upload are small
    const t2 = join(work, 't2');
    cpSync(t1, t2, { recursive: true });
    writeFileSync(join(t2, 'usr/bin/tool'), 'v2\n');
    const c2 = await makeBuild('40.2', t2, c1);
    const r2 = JSON.parse(await publish());
    assert.equal(r2.previous, c1);
    assert.deepEqual(r2.deltas, [`${c1}-${c2}`]);
    assert.ok(r2.sync.uploadedBytes < 100_000, `uploaded ${r2.sync.uploadedBytes} bytes for a one-file change`);
    const out = await clientPull(url, 'client');
    assert.match(out, /delta parts/);
    assert.equal((await ostree(`--repo=${join(work, 'client')}`, 'rev-parse', `my:${REF}`)).trim(), c2);

    // nothing new: nothing uploaded
    const r3 = JSON.parse(await publish());
    assert.equal(r3.sync.uploaded <= 2, true, `re-publish uploaded ${r3.sync.uploaded} files`); // summary is regenerated (timestamp)

    // keep only the newest commit: the old one disappears from repo and target, clients still pull
    const r4 = JSON.parse(await publish('--keep', '1'));
    assert.ok(r4.pruned > 0);
    assert.ok(r4.sync.deleted > 0);
    assert.equal((await run('ostree', [`--repo=${join(work, 'www')}`, 'show', c1])).status, 1);
    await clientPull(url, 'client-fresh');
    assert.match(await ostree(`--repo=${join(work, 'www')}`, 'fsck'), /no errors found/);
  } finally {
    await www.stop();
  }
});

test('a publish killed at any point leaves a target the real client can pull from; rerunning completes it', async () => {
  const base = join(work, 't-kill');
  mkdirSync(join(base, 'usr/lib'), { recursive: true });
  let prev: string = (await cf(`--repo=${join(work, 'pub')}`, 'rev-parse', REF)).trim();
  for (let i = 0; i < 6; i++) {
    for (let f = 0; f < 40; f++) writeFileSync(join(base, 'usr/lib', `f${f}`), randomBytes(20_000 + i));
    const c = await makeBuild(`41.${i}`, base, prev);
    const child = spawn(CF, ['publish', '--builddir', buildDir, '--repo', join(work, 'pub'), '--to', join(work, 'www'), `--gpg-sign=${gpg.keyId}`, `--gpg-homedir=${gpg.home}`], { stdio: 'ignore' });
    // listen before the kill: on a fast machine the publish may already have finished
    const closed = new Promise((r) => child.on('close', r));
    await new Promise((r) => setTimeout(r, 150 + i * 250));
    child.kill('SIGKILL');
    await closed;
    const www = new RepoServer({ repos: [{ path: join(work, 'www') }] });
    const { url } = await www.start();
    try {
      await clientPull(url, `kill-client-${i}`);
      await publish();
      await clientPull(url, `kill-client-${i}`);
      assert.equal((await ostree(`--repo=${join(work, `kill-client-${i}`)}`, 'rev-parse', `my:${REF}`)).trim(), c);
    } finally {
      await www.stop();
    }
    prev = c;
  }
});

test('publish to S3 (a local S3-protocol server) and via rclone; the real client pulls from both', async () => {
  const { default: S3rver } = (await import('s3rver')) as unknown as { default: new (o: object) => { run(): Promise<{ port: number }>; close(): Promise<void> } };
  const s3dir = join(work, 's3data');
  mkdirSync(s3dir);
  const s3 = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory: s3dir, configureBuckets: [{ name: 'os-updates' }] });
  const { port } = await s3.run();
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1' };
  try {
    const target = `s3://os-updates/fcos?endpoint=http://127.0.0.1:${port}`;
    const out = JSON.parse(await ok(CF, ['publish', '--builddir', buildDir, '--repo', join(work, 'pub'), '--to', target, `--gpg-sign=${gpg.keyId}`, `--gpg-homedir=${gpg.home}`, '--json'], env));
    assert.ok(out.sync.uploaded > 0);
    const again = JSON.parse(await ok(CF, ['publish', '--builddir', buildDir, '--repo', join(work, 'pub'), '--to', target, `--gpg-sign=${gpg.keyId}`, `--gpg-homedir=${gpg.home}`, '--json'], env));
    assert.ok(again.sync.uploaded <= 2, `incremental S3 publish uploaded ${again.sync.uploaded}`);
    const head = await fetch(`http://127.0.0.1:${port}/os-updates/fcos/summary`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    await clientPull(`http://127.0.0.1:${port}/os-updates/fcos`, 's3-client');
    assert.equal((await ostree(`--repo=${join(work, 's3-client')}`, 'rev-parse', `my:${REF}`)).trim(), out.commit);
  } finally {
    await s3.close();
  }
  const rc = join(work, 'rclone-target');
  await ok(CF, ['publish', '--builddir', buildDir, '--repo', join(work, 'pub'), '--to', `rclone:${rc}`, `--gpg-sign=${gpg.keyId}`, `--gpg-homedir=${gpg.home}`]);
  const srv = new RepoServer({ repos: [{ path: rc }] });
  const { url } = await srv.start().catch(async () => {
    // rclone copies only files; a served directory needs only what clients fetch
    const { writeFileSync: w } = await import('node:fs');
    w(join(rc, 'config'), readFileSync(join(work, 'pub', 'config')));
    return srv.start();
  });
  try {
    await clientPull(url, 'rclone-client');
  } finally {
    await srv.stop();
  }
});
