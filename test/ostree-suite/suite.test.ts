/**
 * Runs scripts from ostree's own installed test suite (Debian package
 * ostree-tests) against `coreforge ostree`: the `ostree` shim in this
 * directory is put first on PATH, so every `ostree …` the scripts run is
 * ours (only ostree-trivial-httpd and the scripts' helpers are upstream's).
 * Each listed script must exit 0 and print an `ok` line for every test it
 * plans (`1..N`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const INSTALLED = '/usr/libexec/installed-tests/libostree';

/** The repository root: the nearest ancestor holding bin/coreforge (this file runs from test/ or dist/test/). */
function repoRoot(): string {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'bin', 'coreforge')) || !existsSync(join(d, 'test', 'ostree-suite', 'ostree'))) {
    const up = dirname(d);
    if (up === d) throw new Error('cannot find the repository root (bin/coreforge) above ' + fileURLToPath(import.meta.url));
    d = up;
  }
  return d;
}

/**
 * Upstream scripts that pass completely against coreforge. Not listed:
 * test-basic-user.sh and test-basic-user-only.sh (82 of 96/97 pass; they stop
 * at the archive uncompressed-objects cache, then need ostree's internal
 * OSTREE_REPO_TEST_ERROR hook), test-prune.sh and test-summary-view.sh (HTTP
 * pull), test-parent.sh (GPG; it skips because we do not claim gpgme),
 * test-export.sh (skips: tar import is missing so we do not claim libarchive),
 * test-xattrs.sh (upstream skips it unconditionally), and the pull, delta,
 * signing and admin tests.
 */
const PASSING = [
  'test-refs',
  'test-commit-timestamp',
  'test-local-pull',
  'test-local-pull-depth',
  'test-config',
  'test-archivez',
  'test-fsck-delete',
  'test-summary-update',
  'test-remote-add',
  'test-corruption',
  'test-init-collections',
  'test-cli-extensions',
  'test-fsck-collections',
  'test-prune-collections',
  'test-auto-summary',
  'test-help',
];

const haveSuite = existsSync(join(INSTALLED, 'libtest.sh'));
const skip = haveSuite ? false : `${INSTALLED} not found (install the Debian package ostree-tests, and attr)`;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runScript(name: string, root: string): Promise<Run> {
  const work = mkdtempSync(join(tmpdir(), `cf-ostree-suite-${name}-`));
  return new Promise<Run>((resolvePromise, reject) => {
    const child = spawn('bash', [join(INSTALLED, `${name}.sh`)], {
      cwd: work,
      env: {
        ...process.env,
        PATH: `${join(root, 'test', 'ostree-suite')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
        G_TEST_SRCDIR: INSTALLED,
        G_TEST_BUILDDIR: INSTALLED,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      rmSync(work, { recursive: true, force: true });
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
}

test('ostree installed-tests against coreforge ostree', { skip, concurrency: 2 }, async (t) => {
  const root = repoRoot();
  const runs = PASSING.map((name) =>
    t.test(name, async () => {
      const r = await runScript(name, root);
      const lines = r.stdout.split('\n');
      const plan = lines.map((l) => /^1\.\.(\d+)/.exec(l)).find((m) => m !== null);
      const oks = lines.filter((l) => /^ok\b/.test(l));
      const notOks = lines.filter((l) => /^not ok\b/.test(l));
      const context = `\n--- stdout (tail)\n${r.stdout.slice(-2000)}\n--- stderr (tail)\n${r.stderr.slice(-3000)}`;
      assert.equal(r.code, 0, `${name}.sh exited ${r.code ?? r.signal}${context}`);
      assert.ok(plan, `${name}.sh printed no TAP plan${context}`);
      assert.deepEqual(notOks, [], `${name}.sh reported failures${context}`);
      assert.equal(oks.length, Number(plan[1]), `${name}.sh planned ${plan[1]} tests but printed ${oks.length} ok lines${context}`);
    }),
  );
  await Promise.all(runs);
});
