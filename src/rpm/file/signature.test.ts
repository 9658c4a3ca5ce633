import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, createReadStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpmBuilder, rpmQuery } from '../testing/rpmbuild.js';
import { PgpKeyring } from '../pgp/index.js';
import { readRpmHeaders, verifyRpm, RpmDigestError, RpmSignatureError, RpmFormatError, SigTag } from './index.js';

interface TestKey { uid: string; algo: string; armored: string; fprs: string[]; signingKeyId: string }

describe('rpm signatures (gpg + rpmsign, verified in-process)', () => {
  let gnupg: string;
  let tmp: string;
  let b: RpmBuilder;
  let unsigned: string;
  const keys: TestKey[] = [];
  const signed = new Map<string, string>();

  const gpg = (...args: string[]) => execFileSync('gpg', ['--batch', '--quiet', '--no-tty', ...args], { env: { ...process.env, GNUPGHOME: gnupg }, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const fprsOf = (uid: string) => gpg('--with-colons', '--list-keys', uid).split('\n').filter((l) => l.startsWith('fpr:')).map((l) => l.split(':')[9]!.toLowerCase());
  const sign = (file: string, uid: string, digest?: string) => execFileSync('rpmsign', ['--define', '__gpg /usr/bin/gpg', '--define', `_gpg_name ${uid}`, ...(digest ? ['--define', `_gpg_digest_algo ${digest}`] : []), '--addsign', file], { env: { ...process.env, GNUPGHOME: gnupg }, stdio: ['ignore', 'pipe', 'pipe'] });

  before(() => {
    gnupg = mkdtempSync(join(tmpdir(), 'coreforge-gnupg-'));
    tmp = mkdtempSync(join(tmpdir(), 'coreforge-sig-'));
    b = new RpmBuilder();
    unsigned = b.build({ name: 'signme', version: '1.0', release: '1', install: 'mkdir -p %{buildroot}/opt && head -c 200000 /dev/urandom > %{buildroot}/opt/blob', files: ['/opt/blob'] });
    const specs: [string, string][] = [['RSA2048 Test <rsa2048@test>', 'rsa2048'], ['RSA4096 Test <rsa4096@test>', 'rsa4096'], ['Ed Test <ed@test>', 'ed25519']];
    for (const [uid, algo] of specs) {
      gpg('--passphrase', '', '--quick-gen-key', uid, algo, 'sign', 'never');
      const fprs = fprsOf(uid);
      keys.push({ uid, algo, armored: gpg('--armor', '--export', uid), fprs, signingKeyId: fprs[0]!.slice(-16) });
    }
    // certification-only ed25519 primary with an RSA signing subkey: the signature comes from the subkey
    const subUid = 'Sub Test <sub@test>';
    gpg('--passphrase', '', '--quick-gen-key', subUid, 'ed25519', 'cert', 'never');
    const primary = fprsOf(subUid)[0]!;
    gpg('--passphrase', '', '--quick-add-key', primary, 'rsa2048', 'sign', 'never');
    const sfprs = fprsOf(subUid);
    keys.push({ uid: subUid, algo: 'ed25519+rsa-subkey', armored: gpg('--armor', '--export', subUid), fprs: sfprs, signingKeyId: sfprs[1]!.slice(-16) });
    for (const k of keys) {
      const f = join(tmp, `signed-${k.algo}.rpm`);
      copyFileSync(unsigned, f);
      sign(f, k.uid);
      signed.set(k.algo, f);
    }
    for (const algo of ['rsa4096', 'ed25519']) {
      const f = join(tmp, `signed-${algo}-sha512.rpm`);
      copyFileSync(unsigned, f);
      sign(f, keys.find((k) => k.algo === algo)!.uid, 'sha512');
      signed.set(`${algo}-sha512`, f);
    }
  });
  after(() => {
    b.dispose();
    rmSync(tmp, { recursive: true, force: true });
    rmSync(gnupg, { recursive: true, force: true });
  });

  it('parses armored keys: fingerprints and key ids equal gpg\'s, subkeys bound', () => {
    for (const k of keys) {
      const ring = PgpKeyring.fromArmored(k.armored);
      assert.equal(ring.certificates.length, 1);
      const c = ring.certificates[0]!;
      assert.deepEqual([c.primary.fingerprint, ...c.subkeys.map((s) => s.fingerprint)], k.fprs, k.algo);
      assert.ok(c.userIds[0]!.startsWith(k.uid.split(' <')[0]!));
    }
    const all = PgpKeyring.fromArmored(keys.map((k) => k.armored).join('\n'));
    assert.equal(all.certificates.length, keys.length);
  });

  for (const algo of ['rsa2048', 'rsa4096', 'ed25519', 'ed25519+rsa-subkey']) {
    it(`${algo}: a real rpmsign signature verifies with the right key (rpmkeys agrees)`, async () => {
      const k = keys.find((x) => x.algo === algo)!;
      const file = signed.get(algo)!;
      const ring = PgpKeyring.fromArmored(keys.map((x) => x.armored).join('\n'));
      const r = await verifyRpm(file, { keyring: ring });
      assert.equal(r.nevra, 'signme-1.0-1.noarch');
      assert.equal(r.signatures.length, 1);
      assert.equal(r.signatures[0]!.keyId, k.signingKeyId);
      // rpm stores RSA signatures in RSAHEADER and every other algorithm (EdDSA) in DSAHEADER
      assert.equal(r.signatures[0]!.tag, algo === 'ed25519' ? SigTag.DSA : SigTag.RSA);
      assert.ok(r.digests.includes('header-sha256') && r.digests.includes('payload-sha256'));
      // the real peer: rpmkeys with only this key imported
      const root = mkdtempSync(join(tmpdir(), 'coreforge-rpmdb-'));
      try {
        const keyFile = join(root, 'key.asc');
        writeFileSync(keyFile, k.armored);
        execFileSync('rpmkeys', ['--root', root, '--import', keyFile]);
        const out = execFileSync('rpmkeys', ['--root', root, '-Kv', file]).toString();
        assert.match(out, new RegExp(`Signature, key ID ${k.signingKeyId.slice(-8)}: OK`));
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });
  }

  it('SHA-512 signatures (RSA and EdDSA) verify', async () => {
    const ring = PgpKeyring.fromArmored(keys.map((x) => x.armored).join('\n'));
    for (const algo of ['rsa4096', 'ed25519']) {
      const r = await verifyRpm(signed.get(`${algo}-sha512`)!, { keyring: ring });
      assert.equal(r.signatures[0]!.hashAlgo, 10, algo);
      assert.equal(r.signatures[0]!.keyId, keys.find((k) => k.algo === algo)!.signingKeyId);
    }
  });

  it('verifies in one pass from a stream (download), and a truncated stream fails', async () => {
    const ring = PgpKeyring.fromArmored(keys.map((x) => x.armored).join('\n'));
    const file = signed.get('rsa4096')!;
    const r = await verifyRpm(createReadStream(file, { highWaterMark: 777 }), { keyring: ring });
    assert.equal(r.signatures.length, 1);
    assert.ok(r.digests.includes('payload-sha256'));
    const whole = readFileSync(file);
    async function* cut() { yield whole.subarray(0, whole.length - 1); }
    await assert.rejects(() => verifyRpm(cut(), { keyring: ring, label: 'signme.rpm' }), (e: unknown) => e instanceof RpmFormatError && /size mismatch/.test(e.message));
  });

  it('a revoked key is not trusted', async () => {
    const uid = 'Revoked Test <rev@test>';
    gpg('--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never');
    const fpr = fprsOf(uid)[0]!;
    const file = join(tmp, 'signed-revoked.rpm');
    copyFileSync(unsigned, file);
    sign(file, uid);
    const before = PgpKeyring.fromArmored(gpg('--armor', '--export', uid));
    assert.equal((await verifyRpm(file, { keyring: before })).signatures.length, 1);
    // gpg keeps a ready revocation certificate, its armor line escaped with ':'
    const rev = readFileSync(join(gnupg, 'openpgp-revocs.d', `${fpr.toUpperCase()}.rev`), 'utf8').replace(/^:-----BEGIN/m, '-----BEGIN');
    const revFile = join(tmp, 'rev.asc');
    writeFileSync(revFile, rev);
    gpg('--import', revFile);
    const after = PgpKeyring.fromArmored(gpg('--armor', '--export', uid));
    assert.equal(after.certificates[0]!.revoked, true);
    await assert.rejects(() => verifyRpm(file, { keyring: after }), (e: unknown) => e instanceof RpmSignatureError && /not in the trusted keys/.test(e.message));
  });

  it('signature header accessors match rpm --queryformat', async () => {
    for (const [algo, file] of signed) {
      const { signature: sh } = await readRpmHeaders(file);
      const q = rpmQuery(file, '%{SHA256HEADER}|%{SHA1HEADER}|%{SIGMD5}|%{SIGSIZE}|%{RSAHEADER}|%{DSAHEADER}').split('|');
      const hex = (b: Buffer | undefined) => (b ? b.toString('hex') : '(none)');
      assert.deepEqual([sh.sha256, sh.sha1, hex(sh.md5), String(sh.size), hex(sh.rsaHeader), hex(sh.dsaHeader)], q, algo);
    }
  });

  it('wrong key, unsigned package, and gpgcheck off behave like dnf', async () => {
    const ed = PgpKeyring.fromArmored(keys.find((k) => k.algo === 'ed25519')!.armored);
    await assert.rejects(() => verifyRpm(signed.get('rsa2048')!, { keyring: ed }),
      (e: unknown) => e instanceof RpmSignatureError && e.message.startsWith('signme-1.0-1.noarch: signature NOT OK: key ID ') && e.code === 'ESIGNATURE');
    await assert.rejects(() => verifyRpm(unsigned, { keyring: ed }),
      (e: unknown) => e instanceof RpmSignatureError && e.message === 'signme-1.0-1.noarch: signature missing (package is not signed)');
    const r = await verifyRpm(unsigned, { keyring: ed, requireSignature: false });
    assert.deepEqual(r.signatures, []);
    const noKeys = await verifyRpm(signed.get('rsa2048')!);
    assert.deepEqual(noKeys.signatures, []);
  });

  it('a tampered header fails the header digest; with digests fixed up, the signature fails', async () => {
    for (const algo of ['rsa2048', 'ed25519']) {
      const file = signed.get(algo)!;
      const ring = PgpKeyring.fromArmored(keys.find((k) => k.algo === algo)!.armored);
      const buf = Buffer.from(readFileSync(file));
      const { layout, signature } = await readRpmHeaders(buf);
      const at = buf.indexOf('test package signme', layout.headerStart);
      assert.ok(at > 0);
      buf[at] = 'T'.charCodeAt(0);
      await assert.rejects(() => verifyRpm(buf, { keyring: ring }), (e: unknown) => e instanceof RpmDigestError && /header SHA256 digest mismatch/.test(e.message));
      // forge the (unsigned) digests so only the OpenPGP signature stands in the way
      const hbytes = buf.subarray(layout.headerStart, layout.payloadStart);
      const store = layout.sigStart + 16 + signature.blob.il * 16;
      for (const [tag, algoName] of [[SigTag.SHA256, 'sha256'], [SigTag.SHA1, 'sha1']] as const) {
        const e = signature.blob.entry(tag);
        if (e) buf.write(createHash(algoName).update(hbytes).digest('hex'), store + e.offset, 'latin1');
      }
      const md5 = signature.blob.entry(SigTag.MD5);
      if (md5) createHash('md5').update(buf.subarray(layout.headerStart)).digest().copy(buf, store + md5.offset);
      await assert.rejects(() => verifyRpm(buf, { keyring: ring }), (e: unknown) => e instanceof RpmSignatureError && /^signme-1\.0-1\.noarch: signature BAD/.test(e.message), algo);
    }
  });

  it('a tampered or truncated payload fails the payload digest / size', async () => {
    const file = signed.get('ed25519')!;
    const ring = PgpKeyring.fromArmored(keys.find((k) => k.algo === 'ed25519')!.armored);
    const buf = Buffer.from(readFileSync(file));
    buf[buf.length - 100] ^= 0xff;
    await assert.rejects(() => verifyRpm(buf, { keyring: ring }), (e: unknown) => e instanceof RpmDigestError && /payload sha256 digest mismatch/.test(e.message));
    const cut = readFileSync(file).subarray(0, buf.length - 10);
    await assert.rejects(() => verifyRpm(cut, { keyring: ring }), (e: unknown) => e instanceof RpmFormatError && /size mismatch/.test(e.message));
  });
});
