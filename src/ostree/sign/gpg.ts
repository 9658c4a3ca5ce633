import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Variant, dictGet, type VarDict } from '../../gvariant/index.js';
import { SignatureError } from '../pull/gpg-verify.js';

export interface GpgSignOptions {
  keyId: string;
  /** GnuPG home directory (--gpg-homedir); default: the user's. */
  homedir?: string;
}

/** A binary detached OpenPGP signature over `data`, made by the user's GnuPG. */
export function gpgDetachSign(data: Uint8Array, opts: GpgSignOptions): Uint8Array {
  const dir = mkdtempSync(join(tmpdir(), 'cf-gpgsign-'));
  try {
    const input = join(dir, 'data');
    const out = join(dir, 'data.sig');
    writeFileSync(input, data);
    const args = ['--batch', '--yes', '--pinentry-mode', 'loopback', '--passphrase', '', '--local-user', opts.keyId, '--detach-sign', '--output', out, input];
    if (opts.homedir) args.unshift('--homedir', opts.homedir);
    const r = spawnSync('gpg', args, { encoding: 'utf8' });
    if (r.status !== 0) throw new SignatureError(`gpg could not sign with key ${opts.keyId}: ${r.stderr.trim().split('\n').pop()}`);
    return new Uint8Array(readFileSync(out));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Append a signature to an `aay` list in detached metadata (old signatures are kept, as ostree does). */
export function appendSignature(meta: VarDict | null, key: string, sig: Uint8Array): VarDict {
  const out: VarDict = [...(meta ?? [])];
  const existing = dictGet(out, key);
  const list = existing ? [...(existing.value as Uint8Array[])] : [];
  list.push(sig);
  const v = new Variant('aay', list);
  const i = out.findIndex(([k]) => k === key);
  if (i >= 0) out[i] = [key, v];
  else out.push([key, v]);
  return out;
}
