/**
 * Static deltas both ways with the real ostree: the real client applies
 * deltas coreforge generates (from scratch and from a parent, with the
 * signed commit's detached metadata embedded), and coreforge's pull applies
 * deltas the real ostree generates, including its rollsum-based reuse.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CF, cf, makeGpgKey, ok, ostree, run } from '../util/exec.js';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, readFileSync, appendFileSync, existsSync, cpSync, symlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RepoServer } from '../../src/server/static-repo.js';



let work: string;
let v1: string;
let v2: string;
before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cf-delta-'));
  const t1 = join(work, 't1');
  mkdirSync(join(t1, 'usr/lib'), { recursive: true });
  writeFileSync(join(t1, 'usr/lib/big'), randomBytes(2_000_000));
  writeFileSync(join(t1, 'usr/lib/huge'), randomBytes(5_000_000));
  writeFileSync(join(t1, 'usr/lib/text'), 'line\n'.repeat(20000));
  symlinkSync('text', join(t1, 'usr/lib/link'));
  const t2 = join(work, 't2');
  cpSync(t1, t2, { recursive: true, verbatimSymlinks: true });
  appendFileSync(join(t2, 'usr/lib/big'), 'tail');
  writeFileSync(join(t2, 'usr/lib/new'), 'new file\n');
  v1 = t1;
  v2 = t2;
});
after(() => rmSync(work, { recursive: true, force: true }));

async function served<T>(repo: string, fn: (url: string) => Promise<T>): Promise<T> {
  const s = new RepoServer({ repos: [{ path: repo }] });
  const { url } = await s.start();
  try {
    return await fn(url);
  } finally {
    await s.stop();
  }
}

test('the real ostree client applies coreforge deltas (scratch and from the parent)', async () => {
  const repo = join(work, 'ours');
  await cf(`--repo=${repo}`, 'init', '--mode=archive');
  const c1 = (await cf(`--repo=${repo}`, 'commit', '-b', 'os', `--tree=dir=${v1}`, '--timestamp=2024-01-01')).trim();
  const c2 = (await cf(`--repo=${repo}`, 'commit', '-b', 'os', `--tree=dir=${v2}`, '--timestamp=2024-01-02')).trim();
  await cf(`--repo=${repo}`, 'static-delta', 'generate', '--empty', `--to=${c1}`);
  await cf(`--repo=${repo}`, 'static-delta', 'generate', `--from=${c1}`, `--to=${c2}`);
  await cf(`--repo=${repo}`, 'summary', '-u');
  assert.equal((await ostree(`--repo=${repo}`, 'static-delta', 'list')).trim().split('\n').length, 2);
  await served(repo, async (url) => {
    const client = join(work, 'real-client');
    await ostree(`--repo=${client}`, 'init', '--mode=bare-user');
    await ostree(`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', 'o', url);
    const first = await ostree(`--repo=${client}`, 'pull', '--require-static-deltas', 'o', `os@${c1}`);
    assert.match(first, /delta parts/);
    const second = await ostree(`--repo=${client}`, 'pull', '--require-static-deltas', 'o', 'os');
    assert.match(second, /delta parts/);
    assert.equal((await ostree(`--repo=${client}`, 'rev-parse', 'o:os')).trim(), c2);
    assert.match(await ostree(`--repo=${client}`, 'fsck'), /no errors found/);
  });
});

test('coreforge pull applies deltas made by the real ostree (incl. rollsum reuse) and refuses a corrupt part', async () => {
  const repo = join(work, 'theirs');
  await ostree(`--repo=${repo}`, 'init', '--mode=archive');
  const c1 = (await ostree(`--repo=${repo}`, 'commit', '-b', 'os', `--tree=dir=${v1}`)).trim();
  const c2 = (await ostree(`--repo=${repo}`, 'commit', '-b', 'os', `--tree=dir=${v2}`)).trim();
  await ostree(`--repo=${repo}`, 'static-delta', 'generate', `--from=${c1}`, `--to=${c2}`);
  await ostree(`--repo=${repo}`, 'summary', '-u');
  // same pair, our compiler: no bigger than ostree's (modified files reuse the old bytes)
  const copy = join(work, 'theirs-copy');
  cpSync(repo, copy, { recursive: true });
  rmSync(join(copy, 'deltas'), { recursive: true });
  await cf(`--repo=${copy}`, 'static-delta', 'generate', `--from=${c1}`, `--to=${c2}`);
  const size = async (r: string) => Number((await ok('du', ['-sb', join(r, 'deltas')])).split('\t')[0]);
  const [mine, theirs] = [await size(copy), await size(repo)];
  assert.ok(mine <= theirs * 1.05 + 4096, `delta size ${mine} vs ostree ${theirs}`);
  await served(repo, async (url) => {
    const client = join(work, 'our-client');
    await cf(`--repo=${client}`, 'init', '--mode=bare-user');
    await cf(`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', 'o', url);
    await cf(`--repo=${client}`, 'pull', 'o', `os@${c1}`);
    const out = await cf(`--repo=${client}`, 'pull', 'o', 'os');
    assert.match(out, /1 delta parts/);
    const kb = Number(/([\d.]+) kB transferred/.exec(out)?.[1] ?? 'NaN');
    assert.ok(kb < 100, `rollsum delta should transfer little, got: ${out}`);
    assert.match(await ostree(`--repo=${client}`, 'fsck'), /no errors found/);
  });
  // corrupt the delta part: the pull must fail cleanly without moving the ref
  const part = (await ok('find', [join(repo, 'deltas'), '-name', '0'])).trim();
  const bytes = readFileSync(part);
  bytes[bytes.length - 10] ^= 0xff;
  writeFileSync(part, bytes);
  await served(repo, async (url) => {
    const client = join(work, 'victim');
    await cf(`--repo=${client}`, 'init', '--mode=bare-user');
    await cf(`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', 'o', url);
    await cf(`--repo=${client}`, 'pull', 'o', `os@${c1}`);
    const r = await run(CF, ['ostree', `--repo=${client}`, 'pull', 'o', 'os']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /checksum mismatch|Corrupted/);
    assert.equal((await cf(`--repo=${client}`, 'rev-parse', 'o:os')).trim(), c1);
  });
});

test('a GPG-signed commit shipped by delta carries its signatures in the superblock', async () => {
  const gpgHome = join(work, 'gnupg');
  const { keyId } = await makeGpgKey(gpgHome, 'd', work);
  const repo = join(work, 'signed');
  await cf(`--repo=${repo}`, 'init', '--mode=archive');
  const c = (await cf(`--repo=${repo}`, 'commit', '-b', 'os', `--tree=dir=${v1}`, `--gpg-sign=${keyId}`, `--gpg-homedir=${gpgHome}`)).trim();
  await cf(`--repo=${repo}`, 'static-delta', 'generate', '--empty', `--to=${c}`);
  await cf(`--repo=${repo}`, 'summary', '-u');
  await served(repo, async (url) => {
    for (const tool of ['ostree', CF]) {
      const client = join(work, `signed-client-${tool === CF ? 'ours' : 'real'}`);
      const t = (...a: string[]) => (tool === CF ? cf(...a) : ostree(...a));
      await t(`--repo=${client}`, 'init', '--mode=bare-user');
      await t(`--repo=${client}`, 'remote', 'add', `--gpg-import=${join(work, 'd.asc')}`, 'o', url);
      const out = await t(`--repo=${client}`, 'pull', 'o', 'os');
      assert.match(out, /delta parts/, tool);
    }
  });
  assert.ok(existsSync(join(repo, 'delta-indexes')));
});
