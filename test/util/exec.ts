/**
 * Running the CLIs under test. Asynchronous on purpose: several tests run
 * an HTTP server in the test process, which a synchronous child would block.
 */
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(new URL('../../..', import.meta.url).pathname);
export const CF = join(ROOT, 'bin', 'coreforge');

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunResult> {
  return new Promise((res) => {
    const c = spawn(cmd, args, { env });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    c.on('close', (code) => res({ status: code ?? -1, stdout, stderr }));
  });
}

/** Run and return stdout; a non-zero exit fails with the command's output. */
export async function ok(cmd: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(cmd, args, env);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

export const ostree = (...a: string[]) => ok('ostree', a);
export const cf = (...a: string[]) => ok(CF, ['ostree', ...a]);

/** Generate an RSA signing key in a fresh GnuPG home; returns its id and the armored public key path. */
export async function makeGpgKey(home: string, name: string, outDir: string): Promise<{ keyId: string; publicKey: string; env: NodeJS.ProcessEnv }> {
  const { mkdirSync, writeFileSync } = await import('node:fs');
  mkdirSync(home, { mode: 0o700, recursive: true });
  const env = { ...process.env, GNUPGHOME: home };
  await ok('gpg', ['--batch', '--passphrase', '', '--quick-gen-key', `${name} <${name}@example.com>`, 'rsa2048', 'sign', 'never'], env);
  const keyId = (await ok('gpg', ['--batch', '--with-colons', '--list-keys', `${name}@example.com`], env)).split('\n').find((l) => l.startsWith('pub:'))!.split(':')[4]!;
  const publicKey = join(outDir, `${name}.asc`);
  writeFileSync(publicKey, await ok('gpg', ['--batch', '--armor', '--export', keyId], env));
  return { keyId, publicKey, env };
}
