/**
 * Test helpers for the postprocess steps (used by tests only): a tiny root
 * with busybox as its shell, and a bubblewrap script runner with the root as /.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunScript } from './postprocess.js';

export const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((p) => existsSync(p));

export function bwrapAvailable(): boolean {
  if (!BUSYBOX) return false;
  const r = spawnSync('bwrap', ['--ro-bind', '/', '/', '--dev', '/dev', '--proc', '/proc', 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

const APPLETS = ['sh', 'cat', 'echo', 'mkdir', 'rm', 'ln', 'grep', 'touch', 'chmod', 'ls', 'sed', 'printf', 'true', 'false', 'test', 'cp', 'mv', 'readlink', 'head', 'env', 'gzip'];

/** usr/bin with busybox applets, /bin → usr/bin, /sbin → usr/sbin, /lib → usr/lib (Fedora's merged /usr). */
export function makeBusyboxRoot(root: string): void {
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'etc']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(BUSYBOX!, join(root, 'usr/bin/busybox'));
  for (const a of APPLETS) if (!existsSync(join(root, 'usr/bin', a))) symlinkSync('busybox', join(root, 'usr/bin', a));
  symlinkSync('usr/bin', join(root, 'bin'));
  symlinkSync('usr/sbin', join(root, 'sbin'));
  symlinkSync('usr/lib', join(root, 'lib'));
}

/** Write an executable script into the root. */
export function writeScript(root: string, rel: string, text: string): void {
  mkdirSync(join(root, rel, '..'), { recursive: true });
  writeFileSync(join(root, rel), text, { mode: 0o755 });
}

/** Runs the script under bubblewrap with `root` bound read-write at /, no network. */
export function bwrapRunner(root: string, record?: string[]): RunScript {
  return async (scriptPath, label) => {
    record?.push(label);
    // A /tmp that is a link (sysroot/tmp) is left alone; a directory gets a tmpfs.
    const tmp = lstatSync(join(root, 'tmp'), { throwIfNoEntry: false });
    const r = spawnSync(
      'bwrap',
      ['--bind', root, '/', '--dev', '/dev', '--proc', '/proc', ...(tmp?.isSymbolicLink() ? [] : ['--tmpfs', '/tmp']), '--unshare-net', '--unshare-pid', '--die-with-parent', '--chdir', '/', '--setenv', 'PATH', '/usr/sbin:/usr/bin', scriptPath],
      { encoding: 'utf8', env: { LANG: 'C' } },
    );
    if (r.status !== 0) throw new Error(`${label} failed (${r.status ?? r.signal}): ${r.stderr}${r.stdout}`);
  };
}
