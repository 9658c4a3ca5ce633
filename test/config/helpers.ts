import { spawnSync } from 'node:child_process';
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { main } from '../../src/cli/main.js';

/** Repo root, whether run from test/config (tsx) or dist/test/config (compiled). */
function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
}

export function fixturesDir(): string {
  const rel = resolve(repoRoot(), '..', 'shared', 'fixtures');
  return existsSync(rel) ? rel : '/work/shared/fixtures';
}

export const FCOS = join(fixturesDir(), 'fedora-coreos-config');

export function tmp(t: { after(fn: () => void): void }, prefix = 'cf-config-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Write files {relpath: content} under dir. */
export function write(dir: string, files: Record<string, string>): void {
  for (const [p, c] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, p)), { recursive: true });
    writeFileSync(join(dir, p), c);
  }
}

/** Run the CLI in-process; returns exit code and captured output. */
export async function cli(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<{ rc: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const sink = (f: (s: string) => void) =>
    new Writable({
      write(chunk, _enc, cb) {
        f(String(chunk));
        cb();
      },
    });
  const rc = await main(argv, {
    stdout: sink((s) => (stdout += s)),
    stderr: sink((s) => (stderr += s)),
    cwd: opts.cwd ?? process.cwd(),
    env: opts.env ?? {},
    interactive: false,
  });
  return { rc, stdout, stderr };
}

const ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', GIT_CONFIG_NOSYSTEM: '1' };
for (const [k, v] of Object.entries(ENV)) process.env[k] = v;

export function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8' });
  assert.equal(r.status, 0, `git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A local upstream: the fixture corpus committed to a git repo with a `stable` branch. */
export function makeUpstream(root: string): string {
  const up = join(root, 'fedora-coreos-config');
  cpSync(FCOS, up, { recursive: true });
  spawnSync('chmod', ['-R', 'u+w', up]);
  // The fixture overlay.d is partial; give 40grub (named by the manifests) and live/ one file each.
  write(up, { 'overlay.d/40grub/usr/lib/bootupd/grub2-static/configs.d/README': 'fixture placeholder\n', 'live/zipl.prm': 'rd.neednet=1 @@KERNEL-ARGS@@\n' });
  git(up, 'init', '-q', '-b', 'testing-devel');
  git(up, 'add', '-A');
  git(up, 'commit', '-q', '-m', 'fixture');
  git(up, 'branch', 'stable');
  return up;
}

