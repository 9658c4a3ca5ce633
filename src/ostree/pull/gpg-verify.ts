import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreforgeError } from '../../errors.js';
import type { VarDict } from '../../gvariant/index.js';
import { dictGet } from '../../gvariant/index.js';

export class SignatureError extends CoreforgeError {
  constructor(message: string) {
    super('ESIGNATURE', message);
  }
}

/**
 * Keyrings that vouch for a remote, as libostree looks them up: the
 * per-remote `<remote>.trustedkeys.gpg` beside the repo config, the remote's
 * `gpgkeypath`, else the global trusted.gpg.d directories.
 */
export function trustedKeyrings(repoPath: string, remote: string, gpgkeypath?: string): string[] {
  const out: string[] = [];
  const per = join(repoPath, `${remote}.trustedkeys.gpg`);
  if (existsSync(per)) out.push(per);
  for (const p of (gpgkeypath ?? '').split(/[;,]/).filter((x) => x !== '')) {
    if (existsSync(p) && statSync(p).isDirectory()) for (const n of readdirSync(p).sort()) out.push(join(p, n));
    else if (existsSync(p)) out.push(p);
  }
  if (out.length === 0) {
    const globalDir = process.env.OSTREE_GPG_HOME ?? '/usr/share/ostree/trusted.gpg.d';
    if (existsSync(globalDir)) for (const n of readdirSync(globalDir).sort()) out.push(join(globalDir, n));
  }
  return out;
}

/**
 * Check detached OpenPGP signatures (`ostree.gpgsigs`) over `data`: passes if
 * any signature verifies with any trusted key. Uses gpgv, so armored and
 * binary keyrings both work and no agent is involved.
 */
export function verifyGpgSignatures(data: Uint8Array, meta: VarDict | null, keyrings: string[], what: string): void {
  const sigs = meta ? (dictGet(meta, 'ostree.gpgsigs')?.value as Uint8Array[] | undefined) : undefined;
  if (!sigs || sigs.length === 0) throw new SignatureError(`GPG verification enabled, but no signatures found (use gpg-verify=false in remote config to disable): ${what}`);
  if (keyrings.length === 0) throw new SignatureError(`${what}: signed, but no trusted GPG keys are configured for this remote`);
  const dir = mkdtempSync(join(tmpdir(), 'cf-gpgv-'));
  try {
    const dataPath = join(dir, 'data');
    writeFileSync(dataPath, data);
    // gpgv reads binary keyrings (and keyboxes) directly; armored key files are imported into one
    const rings: string[] = [];
    const armoredRing = join(dir, 'armored.gpg');
    for (const k of keyrings) {
      if (!readFileSync(k).subarray(0, 64).toString('latin1').includes('-----BEGIN PGP')) {
        rings.push(k);
        continue;
      }
      const r = spawnSync('gpg', ['--batch', '--no-default-keyring', '--homedir', dir, '--keyring', armoredRing, '--import', k], { encoding: 'utf8' });
      if (r.status !== 0 && !/imported|unchanged/.test(r.stderr)) throw new SignatureError(`${what}: cannot read key file ${k}: ${r.stderr.trim().split('\n').pop()}`);
      if (!rings.includes(armoredRing)) rings.push(armoredRing);
    }
    let lastErr = '';
    for (let i = 0; i < sigs.length; i++) {
      const sigPath = join(dir, `sig${i}`);
      writeFileSync(sigPath, sigs[i]!);
      const r = spawnSync('gpgv', ['--homedir', dir, ...rings.flatMap((x) => ['--keyring', x]), sigPath, dataPath], { encoding: 'utf8' });
      if (r.status === 0) return;
      lastErr = r.stderr.trim().split('\n').pop() ?? '';
    }
    throw new SignatureError(`${what}: no valid GPG signature from a trusted key (${lastErr})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Add keys from an armored or binary key file to the remote's keyring (`remote add --gpg-import`). */
export function importGpgKeys(repoPath: string, remote: string, keyFile: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'cf-gpgimp-'));
  try {
    const ring = join(repoPath, `${remote}.trustedkeys.gpg`);
    const r = spawnSync('gpg', ['--batch', '--no-default-keyring', '--homedir', dir, '--keyring', ring, '--import', keyFile], { encoding: 'utf8' });
    if (r.status !== 0 && !/imported|unchanged/.test(r.stderr)) throw new SignatureError(`cannot import GPG keys from ${keyFile}: ${r.stderr.trim().split('\n').pop()}`);
    return Number(r.stderr.match(/imported:\s*(\d+)/)?.[1] ?? '0');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
