import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createHash, generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PgpKeyring, PgpSignature, PgpFormatError, PgpVerifyError, dearmor, hashSignedData, verifyDigestSignature, crc24 } from './index.js';

describe('OpenPGP (keys and detached signatures made by gpg)', () => {
  let home: string;
  let data: Buffer;
  let dataFile: string;
  const gpg = (...a: string[]) => execFileSync('gpg', ['--batch', '--quiet', '--no-tty', ...a], { env: { ...process.env, GNUPGHOME: home }, stdio: ['ignore', 'pipe', 'pipe'] });
  const keys: Record<string, string> = {};

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'coreforge-pgp-'));
    for (const [uid, algo] of [['R <r@t>', 'rsa2048'], ['E <e@t>', 'ed25519']]) {
      gpg('--passphrase', '', '--quick-gen-key', uid, algo, 'sign', 'never');
      keys[algo] = gpg('--armor', '--export', uid).toString();
    }
    data = Buffer.from('payload to sign\n'.repeat(1000));
    dataFile = join(home, 'data');
    writeFileSync(dataFile, data);
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  const detach = (uid: string, ...extra: string[]) => {
    const out = join(home, `sig-${Math.random()}`);
    gpg('-u', uid, ...extra, '--detach-sign', '-o', out, dataFile);
    return PgpSignature.fromBinary(readFileSync(out));
  };
  const check = (ring: PgpKeyring, sig: PgpSignature, d: Buffer, opts = {}) => {
    const key = ring.find(sig.issuerKeyId!);
    assert.ok(key, 'issuer key found');
    verifyDigestSignature(sig, hashSignedData(sig, [d]), key, opts);
  };

  it('verifies RSA and Ed25519 detached signatures with SHA-256 and SHA-512', () => {
    for (const [algo, uid] of [['rsa2048', 'R'], ['ed25519', 'E']] as const) {
      const ring = PgpKeyring.fromArmored(keys[algo]!);
      for (const h of ['SHA256', 'SHA512']) {
        const sig = detach(uid, '--digest-algo', h);
        assert.equal(sig.version, 4);
        check(ring, sig, data);
        const tampered = Buffer.from(data);
        tampered[5] ^= 1;
        assert.throws(() => check(ring, sig, tampered), PgpVerifyError);
      }
    }
  });

  it('refuses SHA-1 signatures unless allowed', () => {
    const ring = PgpKeyring.fromArmored(keys.rsa2048!);
    const sig = detach('R', '--digest-algo', 'SHA1');
    assert.throws(() => check(ring, sig, data), /SHA1 is not accepted/);
    check(ring, sig, data, { allowSha1: true });
  });

  it('a signature from another key does not verify', () => {
    const ringE = PgpKeyring.fromArmored(keys.ed25519!);
    const sigR = detach('R');
    assert.equal(ringE.find(sigR.issuerKeyId!), undefined);
    const keyE = ringE.keys[0]!;
    assert.throws(() => verifyDigestSignature(sigR, hashSignedData(sigR, [data]), keyE), PgpVerifyError);
  });

  it('reads binary key exports and checks the armor CRC', async () => {
    const bin = gpg('--export', 'R');
    const a = PgpKeyring.fromBinary(bin);
    const f = join(home, 'key.gpg');
    writeFileSync(f, bin);
    const fromFile = await PgpKeyring.fromFile(f);
    assert.equal(fromFile.keys[0]!.fingerprint, a.keys[0]!.fingerprint);
    const armored = keys.rsa2048!;
    const block = dearmor(armored)[0]!;
    assert.equal(block.type, 'PGP PUBLIC KEY BLOCK');
    assert.ok(block.data.equals(bin));
    const crcLine = armored.split('\n').find((l) => /^=[A-Za-z0-9+/]{4}$/.test(l));
    if (crcLine) {
      const wrong = Buffer.alloc(3);
      wrong.writeUIntBE((crc24(block.data) ^ 1) & 0xffffff, 0, 3);
      assert.throws(() => dearmor(armored.replace(crcLine, '=' + wrong.toString('base64'))), /CRC-24 mismatch/);
    }
  });

  it('v3 signatures (as older signing servers emit) verify, built with node:crypto', () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const jwk = publicKey.export({ format: 'jwk' });
    const mpi = (b: Buffer) => {
      let i = 0;
      while (i < b.length - 1 && b[i] === 0) i++;
      const m = b.subarray(i);
      const bits = (m.length - 1) * 8 + (32 - Math.clz32(m[0]!));
      const h = Buffer.alloc(2);
      h.writeUInt16BE(bits);
      return Buffer.concat([h, m]);
    };
    const created = Buffer.alloc(4);
    created.writeUInt32BE(1_700_000_000);
    const keyBody = Buffer.concat([Buffer.from([4]), created, Buffer.from([1]), mpi(Buffer.from(jwk.n!, 'base64url')), mpi(Buffer.from(jwk.e!, 'base64url'))]);
    const packet = (tag: number, body: Buffer) => { const h = Buffer.from([0x80 | (tag << 2) | 1, 0, 0]); h.writeUInt16BE(body.length, 1); return Buffer.concat([h, body]); };
    const ring = PgpKeyring.fromBinary(packet(6, keyBody));
    const key = ring.keys[0]!;
    const trailer = Buffer.concat([Buffer.from([0x00]), created]);
    const sigValue = cryptoSign('sha256', Buffer.concat([data, trailer]), privateKey);
    const digest = createHash('sha256').update(data).update(trailer).digest();
    const sigBody = Buffer.concat([Buffer.from([3, 5, 0x00]), created, Buffer.from(key.keyId, 'hex'), Buffer.from([1, 8]), digest.subarray(0, 2), mpi(sigValue)]);
    const sig = PgpSignature.fromBinary(packet(2, sigBody));
    assert.equal(sig.version, 3);
    assert.equal(sig.issuerKeyId, key.keyId);
    check(ring, sig, data);
    assert.throws(() => check(ring, sig, Buffer.concat([data, Buffer.from('x')])), PgpVerifyError);
  });

  it('malformed input gives PgpFormatError, never a raw exception', () => {
    const bin = gpg('--export', 'E');
    assert.throws(() => PgpKeyring.fromArmored('no key here'), PgpFormatError);
    for (let cut = 1; cut < bin.length; cut += 7) {
      try {
        PgpKeyring.fromBinary(bin.subarray(0, cut));
      } catch (e) {
        assert.ok(e instanceof PgpFormatError, `cut ${cut}: ${String(e)}`);
      }
    }
    const sigBin = readFileSync((() => { const o = join(home, 'sig-cut'); gpg('-u', 'R', '--detach-sign', '-o', o, dataFile); return o; })());
    for (let cut = 0; cut < sigBin.length; cut += 5) {
      assert.throws(() => PgpSignature.fromBinary(sigBin.subarray(0, cut)), PgpFormatError, `cut ${cut}`);
    }
  });
});
