import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
