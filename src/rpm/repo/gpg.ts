/**
 * Detached-signature verification for repomd.xml.asc. The interface is what
 * the native OpenPGP implementation in src/rpm/pgp will provide; until then
 * it shells out to Debian's `gpgv` with a temporary keyring.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { SignatureError } from './errors.js';

export type VerifyDetached = (data: Buffer, signature: Buffer, armoredKeys: string[], what: string) => Promise<void>;

export const verifyDetached: VerifyDetached = async (data, signature, armoredKeys, what) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'coreforge-gpgv-'));
  try {
    const keyring = path.join(dir, 'keyring.gpg');
    // gpgv wants a binary keyring; gpg --dearmor turns each armored block into one.
    const bin: Buffer[] = [];
    for (const k of armoredKeys) {
      const r = spawnSync('gpg', ['--dearmor'], { input: k });
      if (r.status !== 0) throw new SignatureError(`${what}: cannot read OpenPGP key: ${r.stderr.toString().trim().split('\n')[0]}`);
      bin.push(r.stdout);
    }
    fs.writeFileSync(keyring, Buffer.concat(bin));
    fs.writeFileSync(path.join(dir, 'data'), data);
    fs.writeFileSync(path.join(dir, 'data.asc'), signature);
    const r = spawnSync('gpgv', ['--keyring', keyring, path.join(dir, 'data.asc'), path.join(dir, 'data')], { encoding: 'utf8', env: { ...process.env, GNUPGHOME: dir } });
    if (r.error) throw new SignatureError(`${what}: cannot run gpgv: ${r.error.message}`);
    if (r.status !== 0) {
      const line = r.stderr.split('\n').find((l) => /BAD|No public key|Can't check|no valid OpenPGP/i.test(l)) ?? r.stderr.trim().split('\n').pop();
      throw new SignatureError(`${what}: signature verification failed: ${line?.replace(/^gpgv: /, '')}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};
