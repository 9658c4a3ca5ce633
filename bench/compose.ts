/**
 * Compose benchmark (issue 5, Speed): `coreforge build` against the reference
 * tools on the same generated RPM set, measured in the same run.
 *
 *   node dist/bench/compose.js [--json] [--check]
 *
 * Inputs: `generateRpms` (src/compose/testing/gen.ts; cached by seed) — about
 * 300 packages / 1 GB installed plus the example distribution's base packages
 * (setup, filesystem, busybox, kernel…) — and `bumpOnePackage` of it (one
 * package's release bumped and one of its files changed). Both tools read the
 * same rpm-md repository through file:// (dnf: --repofrompath; coreforge: a
 * .repo file in the config), so neither pays for HTTP.
 *
 * Baseline: `dnf --installroot R install` of every package name (nodocs, no
 * weak deps, no plugins, no GPG check — the treefile says documentation: false,
 * recommends: false), then `ostree commit` of R into a fresh archive repo; the
 * two walls are measured separately and summed.
 *
 * coreforge: a config dir (treefile: ref, the repo, every package name,
 * documentation: false, recommends: false, no lockfile, so packages are
 * resolved at build time as dnf does), a fresh build dir per run (`coreforge
 * init`), the RPM download cache pre-filled by `coreforge fetch` (timed and
 * shown, not part of the build; BENCH_PREFETCH=0 lets the build download
 * itself), then `coreforge build` from an empty pkgcache and build repo; then
 * the repo is switched to the bumped set and `coreforge build` again in the
 * same build dir (it downloads the one changed RPM).
 *
 * Targets: first build ≤ 0.7 × (dnf + ostree commit); rebuild ≤ 0.2 × first build.
 * --check exits 1 when a target is missed.
 *
 * Environment:
 *   BENCH_PACKAGES  generated packages (default 300)
 *   BENCH_BYTES     installed bytes of the generated packages (default 1e9)
 *   BENCH_RUNS      repetitions; medians are used, the order of the two sides alternates (default 1)
 *   BENCH_SEED      generator seed (default 1)
 *   BENCH_DIR       work dir (default: a temp dir, removed afterwards); the RPM sets stay in the gen cache
 *   BENCH_PREFETCH  1 (default): fill cache/pkgs with `coreforge fetch` before the first build; 0: don't
 *   BENCH_PROFILE=1 afterwards run one more first build under `node --cpu-prof` and print the hottest functions
 * Every coreforge build runs with COREFORGE_TIMINGS=1; the per-phase walls are printed (medians).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, renameSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { bumpOnePackage, generateRpms } from '../src/compose/testing/gen.js';
import { printCpuProfile } from './profile.js';
import { coreforgeBin } from '../test/ostree/util/run.js';

const PACKAGES = Number(process.env.BENCH_PACKAGES ?? 300);
const BYTES = Math.round(Number(process.env.BENCH_BYTES ?? 1e9));
const RUNS = Math.max(1, Number(process.env.BENCH_RUNS ?? 1));
const SEED = Number(process.env.BENCH_SEED ?? 1);
const PREFETCH = process.env.BENCH_PREFETCH !== '0';
const JSON_OUT = process.argv.includes('--json');
const CHECK = process.argv.includes('--check');
const TIME = '/usr/bin/time'; // Debian package `time`: peak RSS of the child
const TARGET_FIRST = 0.7;
const TARGET_REBUILD = 0.2;

interface Sample {
  wallS: number;
  userS: number;
  sysS: number;
  maxRssKb: number;
  stdout: string;
  stderr: string;
}

function log(s: string): void {
  (JSON_OUT ? process.stderr : process.stdout).write(s + '\n');
}

function measure(cmd: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Sample {
  const haveTime = existsSync(TIME);
  const out = join(tmpdir(), `bench-time-${process.pid}`);
  const argv = haveTime ? [TIME, '-f', '%e %U %S %M', '-o', out, ...cmd] : cmd;
  spawnSync('sync');
  const t0 = performance.now();
  const r = spawnSync(argv[0]!, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${cmd.join(' ').slice(0, 300)} failed (${r.status ?? r.signal}):\n${r.stderr}\n${r.stdout}`.slice(0, 4000));
  if (!haveTime) return { wallS: wall, userS: NaN, sysS: NaN, maxRssKb: NaN, stdout: r.stdout, stderr: r.stderr };
  const [, u, s, m] = readFileSync(out, 'utf8').trim().split(/\s+/).slice(-4).map(Number);
  rmSync(out, { force: true });
  return { wallS: wall, userS: u!, sysS: s!, maxRssKb: m!, stdout: r.stdout, stderr: r.stderr };
}

function run(cmd: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd.join(' ').slice(0, 300)} failed (${r.status ?? r.signal}):\n${r.stderr}`.slice(0, 4000));
  return r.stdout;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const loadavg = (): number[] => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
const fmt = (s: Sample): string => `${s.wallS.toFixed(2)} s  user ${s.userS} sys ${s.sysS}  rss ${(s.maxRssKb / 1024).toFixed(0)} MB`;

/** `timing PHASE SECONDS` lines from COREFORGE_TIMINGS=1. */
function phases(stderr: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of stderr.matchAll(/^timing (\S+) ([\d.]+)\b/gm)) out[m[1]!] = Number(m[2]);
  return out;
}

/** Points `link` at `target` atomically (the .repo file names the link). */
function pointAt(link: string, target: string): void {
  const tmp = `${link}.new`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, link);
}

/** Paths in a commit (`ostree ls -R`), as a sanity check that both sides installed the same thing. */
function commitEntries(repo: string, ref: string): number {
  return run(['ostree', `--repo=${repo}`, 'ls', '-R', ref]).split('\n').filter(Boolean).length;
}

async function main(): Promise<void> {
  const keep = process.env.BENCH_DIR;
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'coreforge-bench-compose-'));
  mkdirSync(dir, { recursive: true });
  try {
    const set = await generateRpms({ seed: SEED, packages: PACKAGES, totalBytes: BYTES });
    const bumped = await bumpOnePackage(set);
    const rpmBytes = set.rpms.reduce((a, f) => a + Number(spawnSync('stat', ['-c', '%s', f], { encoding: 'utf8' }).stdout), 0);
    log(
      `${set.rpms.length} RPMs (${set.packages.length} generated + ${set.base.length} base), ${(set.totalBytes / 1e6).toFixed(0)} MB installed in ${set.fileCount} files, ${(rpmBytes / 1e6).toFixed(0)} MB of RPMs; ${set.cached ? 'from the cache' : `generated in ${set.seconds.toFixed(1)} s`}`,
    );
    log(`rebuild input: ${bumped.previous.rpm} -> ${bumped.changed.rpm}`);
    const names = [...new Set(set.rpms.map((f) => basename(f).replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, '')))].sort();
    // warm the page cache for both sides alike
    spawnSync('sh', ['-c', `cat '${set.repoDir}'/Packages/*.rpm '${bumped.repoDir}'/Packages/*.rpm > /dev/null`]);

    // the config: a git repo with the treefile, a .repo pointing at a link we switch for the rebuild
    const repoLink = join(dir, 'rpm-repo');
    pointAt(repoLink, set.repoDir);
    const config = join(dir, 'config');
    rmSync(config, { recursive: true, force: true });
    mkdirSync(config);
    writeFileSync(join(config, 'gen.repo'), `[gen]\nname=gen\nbaseurl=file://${repoLink}\nenabled=1\ngpgcheck=0\nrepo_gpgcheck=0\n`);
    writeFileSync(
      join(config, 'manifest.yaml'),
      [
        'ref: bench/x86_64/compose',
        'releasever: 40',
        'repos: [gen]',
        'documentation: false',
        'recommends: false',
        'selinux: false',
        'boot-location: modules',
        // the sandbox mounts a tmpfs on /tmp, which needs a directory there
        'tmp-is-dir: true',
        'packages:',
        ...names.map((n) => `  - ${n}`),
        '',
      ].join('\n'),
    );
    writeFileSync(join(config, 'image.yaml'), 'size: 4\n');
    const git = (args: string[]) => run(['git', '-c', 'user.email=bench@localhost', '-c', 'user.name=bench', ...args], { cwd: config });
    git(['init', '-q']);
    git(['add', '-A']);
    git(['commit', '-qm', 'bench config']);

    const env = { ...process.env, COREFORGE_TIMINGS: '1' };
    const cf = (args: string[]) => [process.execPath, coreforgeBin, ...args];
    const s = { dnf: [] as Sample[], commit: [] as Sample[], fetch: [] as Sample[], first: [] as Sample[], rebuild: [] as Sample[] };
    const phaseSamples = { first: [] as Record<string, number>[], rebuild: [] as Record<string, number>[] };
    const entries = { baseline: 0, coreforge: 0 };
    const loads: number[][] = [];

    // Nothing is deleted between the measured commands: on an ext4 without a journal (these VMs) every inode
    // allocation scans past inodes freed in the last seconds to minutes, so a side that ran right after
    // `rm -rf` of a 25k-file tree paid for the previous side's files (measured: 36-47 µs per new file in a
    // quiet directory, 170-340 µs after a big delete). Each run gets its own directories, removed with the
    // work dir at the end (or, with BENCH_DIR, by the next bench).
    const fresh = (name: string, r: number): string => {
      const d = join(dir, `${name}-${r}`);
      rmSync(d, { recursive: true, force: true });
      return d;
    };
    let runNo = 0;
    const baseline = (): void => {
      const root = fresh('installroot', runNo);
      const repo = fresh('baseline-repo', runNo);
      const reposdir = join(dir, 'empty-reposdir');
      rmSync(join(dir, 'dnf-cache'), { recursive: true, force: true });
      mkdirSync(reposdir, { recursive: true });
      const dnf = measure([
        'dnf', '-y', '-q', `--installroot=${root}`, '--releasever=40', `--setopt=reposdir=${reposdir}`, `--setopt=cachedir=${join(dir, 'dnf-cache')}`,
        `--repofrompath=gen,${set.repoDir}`, '--setopt=gen.gpgcheck=0', '--nogpgcheck', '--noplugins',
        '--setopt=install_weak_deps=False', '--setopt=tsflags=nodocs', 'install', ...names,
      ]);
      s.dnf.push(dnf);
      log(`  dnf --installroot install  ${fmt(dnf)}`);
      run(['ostree', `--repo=${repo}`, 'init', '--mode=archive']);
      const c = measure(['ostree', `--repo=${repo}`, 'commit', '-b', 'bench', '-s', 'bench', `--tree=dir=${root}`]);
      s.commit.push(c);
      log(`  ostree commit              ${fmt(c)}`);
      entries.baseline = commitEntries(repo, 'bench');
    };

    const coreforge = (): void => {
      const b = fresh('build', runNo);
      mkdirSync(b);
      pointAt(repoLink, set.repoDir);
      run(cf(['init', config]), { cwd: b });
      if (PREFETCH) {
        const f = measure(cf(['fetch']), { cwd: b, env });
        s.fetch.push(f);
        log(`  coreforge fetch (not part of the build)  ${fmt(f)}`);
      }
      const first = measure(cf(['build']), { cwd: b, env });
      s.first.push(first);
      phaseSamples.first.push(phases(first.stderr));
      log(`  coreforge build (first)    ${fmt(first)}`);
      entries.coreforge = commitEntries(join(b, 'tmp', 'repo'), 'bench/x86_64/compose');
      pointAt(repoLink, bumped.repoDir);
      const re = measure(cf(['build']), { cwd: b, env });
      // the package diff must name the one changed package, or the rebuild did not see the new repo
      if (!re.stdout.includes(`${bumped.changed.name} `)) throw new Error(`rebuild did not upgrade ${bumped.changed.name}:\n${re.stdout}`);
      s.rebuild.push(re);
      phaseSamples.rebuild.push(phases(re.stderr));
      log(`  coreforge build (rebuild)  ${fmt(re)}`);
      pointAt(repoLink, set.repoDir);
    };

    for (let r = 0; r < RUNS; r++) {
      runNo = r;
      loads.push(loadavg());
      log(`run ${r + 1}/${RUNS} (load average ${loads.at(-1)!.join(' ')})`);
      if (r % 2 === 0) (baseline(), coreforge());
      else (coreforge(), baseline());
    }

    const dnfS = median(s.dnf.map((x) => x.wallS));
    const commitS = median(s.commit.map((x) => x.wallS));
    const baseS = median(s.dnf.map((x, i) => x.wallS + s.commit[i]!.wallS));
    const firstS = median(s.first.map((x) => x.wallS));
    const rebuildS = median(s.rebuild.map((x) => x.wallS));
    // ratios per run (same run = same load), then their median
    const firstRatio = median(s.first.map((x, i) => x.wallS / (s.dnf[i]!.wallS + s.commit[i]!.wallS)));
    const rebuildRatio = median(s.rebuild.map((x, i) => x.wallS / s.first[i]!.wallS));
    const peakRssMb = Math.max(...[...s.first, ...s.rebuild].map((x) => x.maxRssKb)) / 1024;
    const medPhases = (xs: Record<string, number>[]) => Object.fromEntries(Object.keys(xs[0] ?? {}).map((k) => [k, median(xs.map((x) => x[k] ?? 0))]));
    const result = {
      packages: set.rpms.length,
      installedBytes: set.totalBytes,
      files: set.fileCount,
      rpmBytes,
      runs: RUNS,
      cpus: cpus().length,
      loadavg: loads,
      prefetch: PREFETCH,
      dnfS,
      ostreeCommitS: commitS,
      baselineS: baseS,
      fetchS: s.fetch.length ? median(s.fetch.map((x) => x.wallS)) : null,
      firstBuildS: firstS,
      firstRatio,
      firstTarget: TARGET_FIRST,
      rebuildS,
      rebuildRatio,
      rebuildTarget: TARGET_REBUILD,
      peakRssMb,
      baselinePeakRssMb: Math.max(...[...s.dnf, ...s.commit].map((x) => x.maxRssKb)) / 1024,
      cpuS: {
        dnf: median(s.dnf.map((x) => x.userS + x.sysS)),
        ostreeCommit: median(s.commit.map((x) => x.userS + x.sysS)),
        first: median(s.first.map((x) => x.userS + x.sysS)),
        rebuild: median(s.rebuild.map((x) => x.userS + x.sysS)),
      },
      phases: { first: medPhases(phaseSamples.first), rebuild: medPhases(phaseSamples.rebuild) },
      commitEntries: entries,
      pass: { first: firstRatio <= TARGET_FIRST, rebuild: rebuildRatio <= TARGET_REBUILD },
    };
    if (JSON_OUT) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      const ok = (b: boolean) => (b ? 'ok' : 'MISS');
      log('');
      log(`dnf --installroot install        ${dnfS.toFixed(2).padStart(8)} s   (cpu ${result.cpuS.dnf.toFixed(1)} s)`);
      log(`ostree commit                    ${commitS.toFixed(2).padStart(8)} s   (cpu ${result.cpuS.ostreeCommit.toFixed(1)} s)`);
      log(`baseline (dnf + ostree commit)   ${baseS.toFixed(2).padStart(8)} s`);
      if (result.fetchS !== null) log(`coreforge fetch (prefill)        ${result.fetchS.toFixed(2).padStart(8)} s   (not counted)`);
      log(`coreforge build, first           ${firstS.toFixed(2).padStart(8)} s   (cpu ${result.cpuS.first.toFixed(1)} s)  ratio ${firstRatio.toFixed(3)}  target ≤ ${TARGET_FIRST}  ${ok(result.pass.first)}`);
      log(`coreforge build, rebuild         ${rebuildS.toFixed(2).padStart(8)} s   (cpu ${result.cpuS.rebuild.toFixed(1)} s)  ratio ${rebuildRatio.toFixed(3)}  target ≤ ${TARGET_REBUILD}  ${ok(result.pass.rebuild)}`);
      log(`peak RSS: coreforge ${peakRssMb.toFixed(0)} MB, dnf/ostree ${result.baselinePeakRssMb.toFixed(0)} MB`);
      log(`commit entries (ostree ls -R): baseline ${entries.baseline}, coreforge ${entries.coreforge}`);
      for (const k of ['first', 'rebuild'] as const) log(`phases (${k}): ${Object.entries(result.phases[k]).map(([p, v]) => `${p} ${v.toFixed(2)}`).join(', ')}`);
      log(`${RUNS} run(s), ${result.cpus} CPUs, load average at the start of each run: ${loads.map((l) => l.join(' ')).join(' | ')}`);
    }
    if (process.env.BENCH_PROFILE === '1') profileBuild(dir, config, set.repoDir, repoLink, env);
    if (CHECK && !(result.pass.first && result.pass.rebuild)) process.exitCode = 1;
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

/** One more first build under --cpu-prof: self time per function, hottest first. */
function profileBuild(dir: string, config: string, repoDir: string, repoLink: string, env: NodeJS.ProcessEnv): void {
  const b = join(dir, 'build-prof');
  const profDir = join(dir, 'prof');
  for (const d of [b, profDir]) rmSync(d, { recursive: true, force: true });
  mkdirSync(b);
  pointAt(repoLink, repoDir);
  run([process.execPath, coreforgeBin, 'init', config], { cwd: b });
  run([process.execPath, coreforgeBin, 'fetch'], { cwd: b });
  run([process.execPath, '--cpu-prof', `--cpu-prof-dir=${profDir}`, coreforgeBin, 'build'], { cwd: b, env });
  printCpuProfile(profDir, (total, file) => `\ncoreforge build, CPU profile of the main thread (self time, ${total.toFixed(1)} s sampled; profile in ${file}):`, 25, log);
}

await main();
