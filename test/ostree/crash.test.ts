/**
 * Crash safety: SIGKILL `coreforge ostree commit` and `coreforge ostree
 * pull-local` at random instants (uniform between 0 and the measured duration
 * of a full run). After every kill:
 *   - the real `ostree fsck` accepts the repository (so no commit object is
 *     visible whose objects are missing, and no object is half-written);
 *   - every ref points to a complete commit: the real `ostree checkout` of
 *     every ref succeeds, and `main` is either the old or the new commit;
 *   - re-running the same command completes, gives the expected commit, and
 *     leaves no staging directory of the killed writer behind.
 *
 * fsync stays ON (no OSTREE_REPO_DISABLE_FSYNC, no --disable-fsync): the point
 * is the real write path, including the syncfs ordering. The tree is sized
 * (~330 entries, ~3 MiB, two of them around a MiB) so that 2×25 kill-verify-rerun
 * iterations fit in about 3 minutes (a per-campaign budget stops early, after at
 * least 8 kills, on a slower or busy machine) on this 2-core VM, where a commit of
 * 1200 files already takes ~5 s (I/O-bound for ostree and for us alike).
 *
 * COREFORGE_CRASH_SEED replays the kill schedule; COREFORGE_CRASH_KILLS
 * changes the number of kills per command (default 25).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Prng, seedFromEnv } from './util/prng.js';
import { generateTree } from './util/tree.js';
import { coreforge, coreforgeBin, hasProgram, ostree, runOk, start, tempDir } from './util/run.js';

const SEED = seedFromEnv('COREFORGE_CRASH_SEED');
const KILLS = Number(process.env.COREFORGE_CRASH_KILLS ?? 25);
/** Wall-clock budget per campaign; on a slow or busy machine it stops early, but never before MIN_KILLS. */
const BUDGET_MS = Number(process.env.COREFORGE_CRASH_BUDGET_S ?? 80) * 1000;
const MIN_KILLS = Math.min(KILLS, 8);
const TIMESTAMP = '--timestamp=2024-02-29T12:00:00Z';

interface Outcome {
  killed: number;
  completedFirst: number;
  mainWasNew: number;
  leftStaging: number;
}

function cf(args: string[]): string {
  const r = coreforge(args);
  assert.equal(r.status, 0, `coreforge ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout.trim();
}

function refsOf(repo: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of runOk('ostree', [`--repo=${repo}`, 'refs']).split('\n').filter(Boolean)) {
    out.set(name, runOk('ostree', [`--repo=${repo}`, 'rev-parse', name]).trim());
  }
  return out;
}

function stagingDirs(repo: string): string[] {
  const tmp = join(repo, 'tmp');
  return existsSync(tmp) ? readdirSync(tmp).filter((n) => n.startsWith('staging-')) : [];
}

/** The real ostree must accept the repo and check out every ref. */
function verifyWithRealOstree(repo: string, scratch: string, ctx: string, allowed: Set<string>): Map<string, string> {
  const f = ostree([`--repo=${repo}`, 'fsck']);
  assert.equal(f.status, 0, `${ctx}: ostree fsck failed:\n${f.stderr}${f.stdout}`);
  const refs = refsOf(repo);
  for (const [name, csum] of refs) {
    assert.ok(allowed.has(csum), `${ctx}: ref ${name} points to unexpected commit ${csum}`);
    const dest = join(scratch, 'co');
    rmSync(dest, { recursive: true, force: true });
    const c = ostree([`--repo=${repo}`, 'checkout', '-U', name, dest]);
    assert.equal(c.status, 0, `${ctx}: ostree checkout ${name} failed: ${c.stderr}`);
    rmSync(dest, { recursive: true, force: true });
  }
  return refs;
}

async function timedRun(args: string[]): Promise<{ ms: number; out: string }> {
  const t0 = performance.now();
  const { done } = start(process.execPath, [coreforgeBin, ...args]);
  const r = await done;
  assert.equal(r.status, 0, `coreforge ${args.join(' ')}: ${r.stderr}`);
  return { ms: performance.now() - t0, out: r.stdout.trim() };
}

/**
 * One kill campaign: for each of KILLS iterations, copy the template repo,
 * start `args`, SIGKILL it after a random delay, verify, then re-run.
 */
async function campaign(opts: {
  name: string;
  rng: Prng;
  template: string;
  work: string;
  args: (repo: string) => string[];
  fullMs: number;
  base: string;
  expected: string;
  diag: (s: string) => void;
}): Promise<Outcome> {
  const o: Outcome = { killed: 0, completedFirst: 0, mainWasNew: 0, leftStaging: 0 };
  const allowed = new Set([opts.base, opts.expected]);
  const t0 = performance.now();
  let i = 0;
  for (; i < KILLS; i++) {
    if (i >= MIN_KILLS && performance.now() - t0 > BUDGET_MS) break;
    const repo = join(opts.work, `${opts.name}-${i}`);
    runOk('cp', ['-a', opts.template, repo]); // -a keeps bare-user's user.ostreemeta xattrs
    const delay = opts.rng.float() * opts.fullMs;
    const ctx = `${opts.name} kill #${i} after ${delay.toFixed(0)} ms (seed ${SEED})`;
    const { child, done } = start(process.execPath, [coreforgeBin, ...opts.args(repo)]);
    const timer = setTimeout(() => child.kill('SIGKILL'), delay);
    const r = await done;
    clearTimeout(timer);
    if (r.signal === 'SIGKILL') o.killed++;
    else {
      assert.equal(r.status, 0, `${ctx}: exited with ${r.status ?? r.signal} before the kill: ${r.stderr}`);
      o.completedFirst++;
    }
    if (stagingDirs(repo).length > 0) o.leftStaging++;

    const refs = verifyWithRealOstree(repo, opts.work, ctx, allowed);
    assert.ok(refs.has('main'), `${ctx}: ref main vanished`);
    if (refs.get('main') === opts.expected) o.mainWasNew++;

    const again = coreforge(opts.args(repo));
    assert.equal(again.status, 0, `${ctx}: re-run failed: ${again.stderr}`);
    assert.equal(runOk('ostree', [`--repo=${repo}`, 'rev-parse', 'main']).trim(), opts.expected, `${ctx}: re-run did not produce the expected commit`);
    assert.deepEqual(stagingDirs(repo), [], `${ctx}: staging directories of the killed writer were not cleaned up`);
    if (i % 4 === 0) {
      const f = ostree([`--repo=${repo}`, 'fsck', '-q']);
      assert.equal(f.status, 0, `${ctx}: ostree fsck after the re-run: ${f.stderr}`);
    }
    rmSync(repo, { recursive: true, force: true });
  }
  opts.diag(`${opts.name}: ${i} runs in ${((performance.now() - t0) / 1000).toFixed(0)} s, kill delays over 0..${opts.fullMs.toFixed(0)} ms: ${o.killed} killed, ${o.completedFirst} finished first, main already new after ${o.mainWasNew}, staging left by ${o.leftStaging}`);
  return o;
}

test('SIGKILL during commit and pull-local leaves repos the real ostree accepts', { skip: !hasProgram('ostree') && 'ostree not installed', timeout: 300_000 }, async (t) => {
  const { dir, cleanup } = tempDir('crash');
  try {
    const rng = new Prng(SEED);
    const treeA = join(dir, 'treeA');
    const treeB = join(dir, 'treeB');
    generateTree(treeA, { seed: SEED ^ 1, files: 150, maxFileSize: 256 * 1024 });
    const sb = generateTree(treeB, { seed: SEED ^ 2, files: 300, totalBytes: 3 * 1024 * 1024, largeFraction: 0.007, maxFileSize: 3 * 1024 * 1024 });
    t.diagnostic(`tree B: ${sb.files} files, ${sb.symlinks} symlinks, ${sb.hardlinks} hardlinks, ${(sb.bytes / 1048576).toFixed(1)} MiB, largest ${(sb.largest / 1048576).toFixed(1)} MiB`);

    // commit campaign: an archive repo holding commit A on main; the killed run commits B on top
    const commitTemplate = join(dir, 'commit-template');
    cf(['ostree', `--repo=${commitTemplate}`, 'init', '--mode=archive']);
    const base = cf(['ostree', `--repo=${commitTemplate}`, 'commit', '-b', 'main', TIMESTAMP, '-s', 'A', treeA]);
    const commitArgs = (repo: string) => ['ostree', `--repo=${repo}`, 'commit', '-b', 'main', `--parent=${base}`, TIMESTAMP, '-s', 'B', treeB];
    // reference run: the expected checksum and the duration the kill delays are drawn from
    const ref = join(dir, 'commit-reference');
    runOk('cp', ['-a', commitTemplate, ref]);
    const full = await timedRun(commitArgs(ref));
    const expected = full.out;
    assert.match(expected, /^[0-9a-f]{64}$/);
    await campaign({ name: 'commit', rng, template: commitTemplate, work: dir, args: commitArgs, fullMs: full.ms, base, expected, diag: (s) => t.diagnostic(s) });

    // pull-local campaign: from the reference archive repo into a bare-user repo holding A
    const pullTemplate = join(dir, 'pull-template');
    cf(['ostree', `--repo=${pullTemplate}`, 'init', '--mode=bare-user']);
    cf(['ostree', `--repo=${pullTemplate}`, 'pull-local', commitTemplate, 'main']);
    assert.equal(runOk('ostree', [`--repo=${pullTemplate}`, 'rev-parse', 'main']).trim(), base);
    const pullArgs = (repo: string) => ['ostree', `--repo=${repo}`, 'pull-local', ref, 'main'];
    const pref = join(dir, 'pull-reference');
    runOk('cp', ['-a', pullTemplate, pref]);
    const pfull = await timedRun(pullArgs(pref));
    assert.equal(runOk('ostree', [`--repo=${pref}`, 'rev-parse', 'main']).trim(), expected);
    rmSync(pref, { recursive: true, force: true });
    await campaign({ name: 'pull-local', rng, template: pullTemplate, work: dir, args: pullArgs, fullMs: pfull.ms, base, expected, diag: (s) => t.diagnostic(s) });
  } catch (e) {
    t.diagnostic(`crash seed was ${SEED} (replay with COREFORGE_CRASH_SEED=${SEED})`);
    throw e;
  } finally {
    cleanup();
  }
});
