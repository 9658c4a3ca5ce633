/**
 * OSTree benchmark: the real `ostree` against `coreforge ostree`, measured in
 * the same run on the same generated tree (warm page cache; the order of the
 * two tools alternates between repetitions).
 *
 *   node dist/bench/ostree.js [--json] [--check]
 *
 * Environment:
 *   BENCH_FILES  regular files in the tree (default 20000)
 *   BENCH_BYTES  approximate payload bytes (default 1e9)
 *   BENCH_RUNS   repetitions of each measurement, the median is used (default 1)
 *   BENCH_DIR    where to put the tree and repos (default: a temp dir, removed afterwards)
 *   BENCH_SEED   tree generator seed (default 1)
 *   BENCH_PROFILE=1  also run our commit under `node --cpu-prof` and print the hottest functions
 *
 * Targets (issue 2): commit ≤ 0.6× ostree, checkout ≤ 1.0×, fsck ≤ 1.0×, our peak RSS ≤ 200 MB.
 * --check exits 1 when a target is missed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { generateTree } from '../test/ostree/util/tree.js';
import { printCpuProfile } from './profile.js';
import { coreforgeBin } from '../test/ostree/util/run.js';

const FILES = Number(process.env.BENCH_FILES ?? 20000);
const BYTES = Number(process.env.BENCH_BYTES ?? 1e9);
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 1));
const SEED = Number(process.env.BENCH_SEED ?? 1);
const JSON_OUT = process.argv.includes('--json');
const CHECK = process.argv.includes('--check');
const TIME = '/usr/bin/time'; // Debian package `time`: gives peak RSS of the child

interface Sample {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKb: number;
}

function log(s: string): void {
  if (!JSON_OUT) process.stdout.write(s + '\n');
  else process.stderr.write(s + '\n');
}

/** Run a command under /usr/bin/time (or plain timing if it is missing). */
function measure(cmd: string[], env: NodeJS.ProcessEnv = process.env): Sample {
  const haveTime = existsSync(TIME);
  const out = join(tmpdir(), `bench-time-${process.pid}`);
  const argv = haveTime ? [TIME, '-f', '%e %U %S %M', '-o', out, ...cmd] : cmd;
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  if (!haveTime) return { wallS: wall, userS: NaN, sysS: NaN, maxRssKb: NaN };
  const [e, u, s, m] = readFileSync(out, 'utf8').trim().split(/\s+/).slice(-4).map(Number);
  rmSync(out, { force: true });
  // /usr/bin/time's %e has 10 ms resolution; our own clock is finer
  return { wallS: wall || e!, userS: u!, sysS: s!, maxRssKb: m! };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const ours = (args: string[]) => [process.execPath, coreforgeBin, 'ostree', ...args];
const theirs = (args: string[]) => ['ostree', ...args];

interface Row {
  op: string;
  ostreeS: number;
  oursS: number;
  ratio: number;
  target: number;
  oursMaxRssMb: number;
  ostreeMaxRssMb: number;
  pass: boolean;
}

function main(): void {
  const keep = process.env.BENCH_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'coreforge-bench-'));
  mkdirSync(dir, { recursive: true });
  try {
    const tree = join(dir, 'tree');
    let stats;
    if (keep && existsSync(tree)) log(`reusing tree ${tree}`);
    else {
      const t0 = performance.now();
      stats = generateTree(tree, { seed: SEED, files: FILES, totalBytes: BYTES, maxFileSize: 16 * 1024 * 1024, owners: false });
      log(`generated ${stats.files} files, ${stats.symlinks} symlinks, ${stats.hardlinks} hardlinks, ${stats.dirs} dirs, ${(stats.bytes / 1e6).toFixed(0)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    // warm the page cache for both tools alike
    spawnSync('sh', ['-c', `find '${tree}' -type f -print0 | xargs -0 cat > /dev/null`]);

    const samples: Record<string, { o: Sample[]; c: Sample[] }> = { commit: { o: [], c: [] }, checkout: { o: [], c: [] }, fsck: { o: [], c: [] } };
    const commitArgs = ['commit', '-b', 'main', '--timestamp=2024-01-01T00:00:00Z', '-s', 'bench'];
    let csum = { o: '', c: '' };
    for (let run = 0; run < RUNS; run++) {
      const order: Array<'o' | 'c'> = run % 2 === 0 ? ['o', 'c'] : ['c', 'o'];
      for (const who of order) {
        const repo = join(dir, `repo-${who}`);
        rmSync(repo, { recursive: true, force: true });
        const tool = who === 'o' ? theirs : ours;
        const init = spawnSync(tool([`--repo=${repo}`, 'init', '--mode=archive'])[0]!, tool([`--repo=${repo}`, 'init', '--mode=archive']).slice(1));
        if (init.status !== 0) throw new Error(`init failed: ${init.stderr}`);
        spawnSync('sync');
        const s = measure(tool([`--repo=${repo}`, ...commitArgs, tree]));
        samples.commit![who].push(s);
        csum[who] = readFileSync(join(repo, 'refs', 'heads', 'main'), 'utf8').trim();
        log(`commit   ${who === 'o' ? 'ostree   ' : 'coreforge'} ${s.wallS.toFixed(2)} s  user ${s.userS} sys ${s.sysS}  rss ${(s.maxRssKb / 1024).toFixed(0)} MB`);
      }
      if (csum.o !== csum.c) throw new Error(`commit checksums differ: ostree ${csum.o}, coreforge ${csum.c}`);
      // checkout and fsck both read the repo ostree wrote (identical to ours: same checksum)
      const repo = join(dir, 'repo-o');
      for (const who of order) {
        const dest = join(dir, `co-${who}`);
        rmSync(dest, { recursive: true, force: true });
        const tool = who === 'o' ? theirs : ours;
        spawnSync('sync');
        const s = measure(tool([`--repo=${repo}`, 'checkout', '-U', 'main', dest]));
        samples.checkout![who].push(s);
        log(`checkout ${who === 'o' ? 'ostree   ' : 'coreforge'} ${s.wallS.toFixed(2)} s  user ${s.userS} sys ${s.sysS}  rss ${(s.maxRssKb / 1024).toFixed(0)} MB`);
        rmSync(dest, { recursive: true, force: true });
      }
      for (const who of order) {
        const tool = who === 'o' ? theirs : ours;
        const s = measure(tool([`--repo=${repo}`, 'fsck', '-q']));
        samples.fsck![who].push(s);
        log(`fsck     ${who === 'o' ? 'ostree   ' : 'coreforge'} ${s.wallS.toFixed(2)} s  user ${s.userS} sys ${s.sysS}  rss ${(s.maxRssKb / 1024).toFixed(0)} MB`);
      }
    }

    const targets: Record<string, number> = { commit: 0.6, checkout: 1.0, fsck: 1.0 };
    const rows: Row[] = Object.entries(samples).map(([op, { o, c }]) => {
      const os = median(o.map((x) => x.wallS));
      const cs = median(c.map((x) => x.wallS));
      const rss = Math.max(...c.map((x) => x.maxRssKb)) / 1024;
      return {
        op,
        ostreeS: os,
        oursS: cs,
        ratio: cs / os,
        target: targets[op]!,
        oursMaxRssMb: rss,
        ostreeMaxRssMb: Math.max(...o.map((x) => x.maxRssKb)) / 1024,
        pass: cs / os <= targets[op]! && !(rss > 200),
      };
    });
    const peakRss = Math.max(...rows.map((r) => r.oursMaxRssMb));
    const result = {
      files: stats?.files ?? null,
      bytes: stats?.bytes ?? null,
      runs: RUNS,
      cpus: cpus().length,
      loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
      commit: csum.o,
      rows,
      peakRssMb: peakRss,
      rssTargetMb: 200,
      allPass: rows.every((r) => r.pass),
    };
    if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      log('');
      log('op        ostree (s)  coreforge (s)  ratio  target  our peak RSS (MB)  ostree RSS (MB)  ');
      for (const r of rows) {
        log(
          `${r.op.padEnd(9)} ${r.ostreeS.toFixed(2).padStart(10)}  ${r.oursS.toFixed(2).padStart(13)}  ${r.ratio.toFixed(2).padStart(5)}  ${('≤' + r.target.toFixed(1)).padStart(6)}  ${r.oursMaxRssMb.toFixed(0).padStart(17)}  ${r.ostreeMaxRssMb.toFixed(0).padStart(15)}  ${r.pass ? 'ok' : 'MISS'}`,
        );
      }
      log(`peak RSS (coreforge): ${peakRss.toFixed(0)} MB (target ≤ 200 MB); ${RUNS} run(s), ${result.cpus} CPUs, load average ${result.loadavg.join(' ')}`);
    }
    if (process.env.BENCH_PROFILE === '1') profileCommit(dir, tree, commitArgs);
    if (CHECK && !result.allPass) process.exitCode = 1;
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** Our commit under --cpu-prof: self time per function, hottest first. */
function profileCommit(dir: string, tree: string, commitArgs: string[]): void {
  const repo = join(dir, 'repo-prof');
  const profDir = join(dir, 'prof');
  rmSync(repo, { recursive: true, force: true });
  rmSync(profDir, { recursive: true, force: true });
  spawnSync(process.execPath, [coreforgeBin, 'ostree', `--repo=${repo}`, 'init', '--mode=archive']);
  spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${profDir}`, coreforgeBin, 'ostree', `--repo=${repo}`, ...commitArgs, tree], { stdio: 'ignore' });
  printCpuProfile(profDir, () => '\nour commit, CPU profile (self time):', 15, log);
}

main();
