/**
 * Over-the-air serving and pulling, against the reference tools in the same run:
 *  - serve: object GETs per second, `coreforge serve` vs nginx on the same repository (wrk, bounded time);
 *  - pull: wall time of `coreforge ostree pull` vs `ostree pull` of the same commit from the same server.
 * Needs nginx and wrk (Debian packages nginx-light, wrk); both listen on 127.0.0.1 only.
 *   node dist/bench/ota.js [--json]
 * env: BENCH_OTA_FILES (2000), BENCH_OTA_SECONDS (5), BENCH_OTA_RUNS (3; medians, order alternates),
 *      BENCH_OTA_WORKERS (number of CPUs: `coreforge serve --workers N` and nginx `worker_processes N`).
 * Both servers get the same wrk settings and a 3 s warm-up (page cache, our object cache, JIT) first.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const CF = join(ROOT, 'bin', 'coreforge');
const FILES = Number(process.env.BENCH_OTA_FILES ?? 2000);
const SECONDS = Number(process.env.BENCH_OTA_SECONDS ?? 5);
const RUNS = Number(process.env.BENCH_OTA_RUNS ?? 3);
const WORKERS = Number(process.env.BENCH_OTA_WORKERS ?? availableParallelism());
const json = process.argv.includes('--json');

function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function waitPort(file: string): Promise<number> {
  for (let i = 0; i < 200; i++) {
    if (existsSync(file) && readFileSync(file, 'utf8').trim()) return Number(readFileSync(file, 'utf8').trim());
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('server did not start');
}

function wrk(url: string, script: string, seconds = SECONDS): number {
  const out = sh('wrk', ['-t2', '-c32', `-d${seconds}s`, '-s', script, url]);
  // a server answering 403/404 fast is not serving objects (nginx's workers run as www-data and cannot read a 0700 tmp dir)
  const bad = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out);
  if (bad) throw new Error(`${url}: ${bad[1]} responses were not 2xx/3xx:\n${out}`);
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`cannot parse wrk output:\n${out}`);
  return Number(m[1]);
}

function timed(fn: () => void): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'cf-bench-ota-'));
  // nginx's workers drop root for www-data: the files must be readable by others
  chmodSync(work, 0o755);
  const children: ChildProcess[] = [];
  try {
    const tree = join(work, 'tree');
    for (let i = 0; i < FILES; i++) {
      const d = join(tree, `d${i % 50}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, `f${i}`), i % 10 === 0 ? randomBytes(200_000) : randomBytes(2000 + (i % 7) * 1000));
    }
    const repo = join(work, 'repo');
    sh(CF, ['ostree', `--repo=${repo}`, 'init', '--mode=archive']);
    const commit = sh(CF, ['ostree', `--repo=${repo}`, 'commit', '-b', 'os', `--tree=dir=${tree}`]).trim();
    sh(CF, ['ostree', `--repo=${repo}`, 'summary', '-u']);
    const objects: string[] = [];
    for (const d of readdirSync(join(repo, 'objects'))) for (const f of readdirSync(join(repo, 'objects', d))) objects.push(`/objects/${d}/${f}`);
    const script = join(work, 'paths.lua');
    writeFileSync(script, `local paths = {${objects.map((p) => `"${p}"`).join(',')}}\nlocal i = 0\nrequest = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n`);

    // coreforge serve
    const portFile = join(work, 'cf.port');
    children.push(spawn(CF, ['serve', '--repo', repo, '--port', '0', '--port-file', portFile, '--workers', String(WORKERS)], { stdio: 'ignore' }));
    const cfPort = await waitPort(portFile);
    // nginx on the same files
    const nginxDir = join(work, 'nginx');
    mkdirSync(nginxDir);
    const ngPort = 20000 + Math.floor(Math.random() * 20000);
    writeFileSync(join(nginxDir, 'nginx.conf'), `worker_processes ${WORKERS};\ndaemon off;\npid ${nginxDir}/pid;\nerror_log ${nginxDir}/error.log;\nevents { worker_connections 1024; }\nhttp { access_log off; sendfile on; keepalive_requests 100000; server { listen 127.0.0.1:${ngPort}; root ${repo}; } }\n`);
    children.push(spawn('nginx', ['-c', join(nginxDir, 'nginx.conf'), '-p', nginxDir], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));

    const ngUrl = `http://127.0.0.1:${ngPort}`;
    const cfUrl = `http://127.0.0.1:${cfPort}`;
    // every worker of ours fills its own object cache on first sight of a path: one full pass each, at least
    wrk(ngUrl, script, 3);
    wrk(cfUrl, script, 3);
    const serveRuns: Array<{ coreforge: number; nginx: number; ratio: number }> = [];
    for (let i = 0; i < RUNS; i++) {
      let ng: number, cf: number;
      if (i % 2 === 0) {
        ng = wrk(ngUrl, script);
        cf = wrk(cfUrl, script);
      } else {
        cf = wrk(cfUrl, script);
        ng = wrk(ngUrl, script);
      }
      serveRuns.push({ coreforge: cf, nginx: ng, ratio: cf / ng });
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
    const cfRps = median(serveRuns.map((r) => r.coreforge));
    const ngRps = median(serveRuns.map((r) => r.nginx));

    // pull the same commit from the same server with both clients
    const pullWith = (tool: 'ostree' | 'coreforge') => {
      const client = join(work, `client-${tool}`);
      rmSync(client, { recursive: true, force: true });
      const run = (...a: string[]) => (tool === 'ostree' ? sh('ostree', a) : sh(CF, ['ostree', ...a]));
      run(`--repo=${client}`, 'init', '--mode=archive');
      run(`--repo=${client}`, 'remote', 'add', '--no-gpg-verify', 'o', `http://127.0.0.1:${cfPort}`);
      return timed(() => run(`--repo=${client}`, 'pull', 'o', 'os'));
    };
    const pulls = { ostree: [] as number[], coreforge: [] as number[] };
    for (let i = 0; i < Math.max(2, RUNS); i++) {
      if (i % 2 === 0) {
        pulls.ostree.push(pullWith('ostree'));
        pulls.coreforge.push(pullWith('coreforge'));
      } else {
        pulls.coreforge.push(pullWith('coreforge'));
        pulls.ostree.push(pullWith('ostree'));
      }
    }
    const best = (a: number[]) => Math.min(...a);
    const result = {
      objects: objects.length,
      commit,
      workers: WORKERS,
      serve: { coreforgeRps: cfRps, nginxRps: ngRps, ratio: median(serveRuns.map((r) => r.ratio)), runs: serveRuns, target: '>= 0.8' },
      pull: { runs: pulls, coreforgeSeconds: best(pulls.coreforge), ostreeSeconds: best(pulls.ostree), ratio: best(pulls.coreforge) / best(pulls.ostree), target: '<= 1.0' },
    };
    if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      console.log(`objects: ${result.objects}, ${WORKERS} server workers each`);
      for (const r of serveRuns) console.log(`  serve run: coreforge ${r.coreforge.toFixed(0)}  nginx ${r.nginx.toFixed(0)}  ratio ${r.ratio.toFixed(2)}`);
      console.log(`serve  object GETs/s (median): coreforge ${cfRps.toFixed(0)}  nginx ${ngRps.toFixed(0)}  ratio ${result.serve.ratio.toFixed(2)} (target >= 0.8)`);
      console.log(`  pull runs (s): coreforge ${pulls.coreforge.map((x) => x.toFixed(2)).join(' ')}  ostree ${pulls.ostree.map((x) => x.toFixed(2)).join(' ')}`);
      console.log(`pull   wall: coreforge ${result.pull.coreforgeSeconds.toFixed(2)} s  ostree ${result.pull.ostreeSeconds.toFixed(2)} s  ratio ${result.pull.ratio.toFixed(2)} (target <= 1.0)`);
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
