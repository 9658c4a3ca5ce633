/**
 * Signing: GPG signatures we make are accepted by the real ostree client
 * (commits and summary); ed25519 signatures match ostree's documented format
 * and verify upstream's pre-signed fixture.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { CF, cf, makeGpgKey, ok, ostree, run } from '../util/exec.js';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RepoServer } from '../../src/server/static-repo.js';



let work: string;
let tree: string;
let gpgHome: string;
let keyId: string;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'cf-sign-'));
  tree = join(work, 'tree');
  mkdirSync(join(tree, 'etc'), { recursive: true });
  writeFileSync(join(tree, 'etc/os-release'), 'ID=test\n');
  gpgHome = join(work, 'gnupg');
  keyId = (await makeGpgKey(gpgHome, 'builder', work)).keyId;
});
after(() => rmSync(work, { recursive: true, force: true }));

test('GPG-signed commit and summary from coreforge are accepted by the real ostree (gpg-verify, gpg-verify-summary)', async () => {
  const repo = join(work, 'pub');
  await cf(`--repo=${repo}`, 'init', '--mode=archive');
  await cf(`--repo=${repo}`, 'commit', '-b', 'my/x86_64/stable', `--tree=dir=${tree}`, `--gpg-sign=${keyId}`, `--gpg-homedir=${gpgHome}`, '-s', 'v1');
  await cf(`--repo=${repo}`, 'summary', '-u', `--gpg-sign=${keyId}`, `--gpg-homedir=${gpgHome}`);
  assert.ok(existsSync(join(repo, 'summary.sig')));
  const srv = new RepoServer({ repos: [{ path: repo }] });
  const { url } = await srv.start();
  try {
    const client = join(work, 'client');
    await ostree(`--repo=${client}`, 'init', '--mode=archive');
    await ostree(`--repo=${client}`, 'remote', 'add', '--set=gpg-verify-summary=true', `--gpg-import=${join(work, 'builder.asc')}`, 'origin', url);
    await ostree(`--repo=${client}`, 'pull', 'origin', 'my/x86_64/stable');
    assert.match(await ostree(`--repo=${client}`, 'fsck'), /no errors found/);
    // a commit signed later with gpg-sign verifies too; our own pull agrees
    const c2 = (await cf(`--repo=${repo}`, 'commit', '-b', 'my/x86_64/stable', `--tree=dir=${tree}`, '-s', 'v2', '--timestamp=2030-01-01')).trim();
    await cf(`--repo=${repo}`, 'summary', '-u', `--gpg-sign=${keyId}`, `--gpg-homedir=${gpgHome}`);
    const unsigned = await run('ostree', [`--repo=${client}`, 'pull', 'origin', 'my/x86_64/stable']);
    assert.notEqual(unsigned.status, 0, 'unsigned commit must be refused by the real client');
    await cf(`--repo=${repo}`, 'gpg-sign', `--gpg-homedir=${gpgHome}`, c2, keyId);
    await cf(`--repo=${repo}`, 'summary', '-u', `--gpg-sign=${keyId}`, `--gpg-homedir=${gpgHome}`);
    await ostree(`--repo=${client}`, 'pull', 'origin', 'my/x86_64/stable');
    assert.equal((await ostree(`--repo=${client}`, 'rev-parse', 'origin:my/x86_64/stable')).trim(), c2);
    const ours = join(work, 'ours-client');
    await cf(`--repo=${ours}`, 'init', '--mode=archive');
    await cf(`--repo=${ours}`, 'remote', 'add', '--set=gpg-verify-summary=true', `--gpg-import=${join(work, 'builder.asc')}`, 'origin', url);
    await cf(`--repo=${ours}`, 'pull', 'origin', 'my/x86_64/stable');
  } finally {
    await srv.stop();
  }
});

test("ed25519: verifies upstream's pre-signed fixture and rejects a wrong key", async () => {
  const fixture = '/usr/libexec/installed-tests/libostree/pre-signed-pull-data.tar.gz';
  if (!existsSync(fixture)) return;
  const d = join(work, 'presigned');
  mkdirSync(d);
  await ok('tar', ['-xzf', fixture, '-C', d]);
  const repo = join(d, 'repo');
  const refs = (await cf(`--repo=${repo}`, 'refs')).trim().split('\n');
  const good = '45yzbkuEok0lLabxzdAHWUDSMZgYfxU40sN+LMfYHVA=';
  for (const ref of refs) {
    const out = await cf(`--repo=${repo}`, 'sign', '--verify', ref, good);
    assert.match(out, /verified/);
  }
  const wrong = Buffer.alloc(32, 9).toString('base64');
  const r = await run(CF, ['ostree', `--repo=${repo}`, 'sign', '--verify', refs[0]!, wrong]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no valid ed25519 signature/);
});

test('ed25519: sign with a libsodium-format secret key, verify on pull, refuse tampering', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pub = Buffer.from(publicKey.export({ format: 'jwk' }).x as string, 'base64url');
  const seed = Buffer.from(privateKey.export({ format: 'jwk' }).d as string, 'base64url');
  const secret = Buffer.concat([seed, pub]).toString('base64');
  const repo = join(work, 'ed');
  await cf(`--repo=${repo}`, 'init', '--mode=archive');
  const c = (await cf(`--repo=${repo}`, 'commit', '-b', 'os', `--tree=dir=${tree}`, `--sign=${secret}`, '--sign-type=ed25519')).trim();
  await cf(`--repo=${repo}`, 'sign', '--verify', c, pub.toString('base64'));
  await cf(`--repo=${repo}`, 'summary', '-u', `--sign=${secret}`);
  const srv = new RepoServer({ repos: [{ path: repo }] });
  const { url } = await srv.start();
  try {
    const client = join(work, 'ed-client');
    await cf(`--repo=${client}`, 'init', '--mode=archive');
    await cf(`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', '--set=sign-verify=ed25519', '--set=sign-verify-summary=true', `--set=verification-ed25519-key=${pub.toString('base64')}`, 'origin', url);
    await cf(`--repo=${client}`, 'pull', 'origin', 'os');
    const bad = join(work, 'ed-client-bad');
    await cf(`--repo=${bad}`, 'init', '--mode=archive');
    const other = Buffer.from(generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' }).x as string, 'base64url').toString('base64');
    await cf(`--repo=${bad}`, 'remote', 'add', '--no-gpg-verify', '--set=sign-verify=ed25519', `--set=verification-ed25519-key=${other}`, 'origin', url);
    const r = await run(CF, ['ostree', `--repo=${bad}`, 'pull', 'origin', 'os']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no valid ed25519 signature/);
    assert.equal((await run(CF, ['ostree', `--repo=${bad}`, 'rev-parse', 'origin:os'])).status, 1);
  } finally {
    await srv.stop();
  }
});
