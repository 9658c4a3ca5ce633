/**
 * Over-the-air serving and pulling, against the reference tools in the same run:
 *  - serve: object GETs per second, `coreforge serve` vs nginx on the same repository (wrk, bounded time);
 *  - pull: wall time of `coreforge ostree pull` vs `ostree pull` of the same commit from the same server.
 * Needs nginx and wrk (Debian packages nginx-light, wrk); both listen on 127.0.0.1 only.
 *   node dist/bench/ota.js [--json]      env: BENCH_OTA_FILES (2000), BENCH_OTA_SECONDS (5)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const CF = join(ROOT, 'bin', 'coreforge');
const FILES = Number(process.env.BENCH_OTA_FILES ?? 2000);
const SECONDS = Number(process.env.BENCH_OTA_SECONDS ?? 5);
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

function wrk(url: string, script: string): number {
  const out = sh('wrk', ['-t2', '-c32', `-d${SECONDS}s`, '-s', script, url]);
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
    children.push(spawn(CF, ['serve', '--repo', repo, '--port', '0', '--port-file', portFile], { stdio: 'ignore' }));
    const cfPort = await waitPort(portFile);
    // nginx on the same files
    const nginxDir = join(work, 'nginx');
    mkdirSync(nginxDir);
    const ngPort = 20000 + Math.floor(Math.random() * 20000);
    writeFileSync(join(nginxDir, 'nginx.conf'), `worker_processes 2;\ndaemon off;\npid ${nginxDir}/pid;\nerror_log ${nginxDir}/error.log;\nevents { worker_connections 1024; }\nhttp { access_log off; sendfile on; keepalive_requests 100000; server { listen 127.0.0.1:${ngPort}; root ${repo}; } }\n`);
    children.push(spawn('nginx', ['-c', join(nginxDir, 'nginx.conf'), '-p', nginxDir], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 500));

    const ngRps = wrk(`http://127.0.0.1:${ngPort}`, script);
    const cfRps = wrk(`http://127.0.0.1:${cfPort}`, script);

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
    for (let i = 0; i < 2; i++) {
      pulls.ostree.push(pullWith('ostree'));
      pulls.coreforge.push(pullWith('coreforge'));
    }
    const best = (a: number[]) => Math.min(...a);
    const result = {
      objects: objects.length,
      commit,
      serve: { coreforgeRps: cfRps, nginxRps: ngRps, ratio: cfRps / ngRps, target: '>= 0.8' },
      pull: { coreforgeSeconds: best(pulls.coreforge), ostreeSeconds: best(pulls.ostree), ratio: best(pulls.coreforge) / best(pulls.ostree), target: '<= 1.0' },
    };
    if (json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
    else {
      console.log(`objects: ${result.objects}`);
      console.log(`serve  object GETs/s: coreforge ${cfRps.toFixed(0)}  nginx ${ngRps.toFixed(0)}  ratio ${result.serve.ratio.toFixed(2)} (target >= 0.8)`);
      console.log(`pull   wall: coreforge ${result.pull.coreforgeSeconds.toFixed(2)} s  ostree ${result.pull.ostreeSeconds.toFixed(2)} s  ratio ${result.pull.ratio.toFixed(2)} (target <= 1.0)`);
    }
  } finally {
    for (const c of children) c.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  }
}

await main();
