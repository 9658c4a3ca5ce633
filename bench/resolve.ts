/**
 * Benchmark: resolve a ~400-package CoreOS-like request on a synthetic
 * Fedora-sized repository (~70k packages), cold (no caches) and warm, against
 * dnf 4 in the same run. Prints wall times, ratios and peak RSS.
 *
 *   npm run build && node dist/bench/resolve.js [--names 60000] [--runs 2]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { serveDir } from '../src/rpm/repo/testing.js';
import { generateRepo } from './resolve-gen.js';

const argv = process.argv.slice(2);
const opt = (k: string, d: number) => {
  const i = argv.indexOf(k);
  return i >= 0 ? Number(argv[i + 1]) : d;
};
const names = opt('--names', 60000);
const runs = opt('--runs', 2);

/**
 * Run a command under /usr/bin/time; returns wall ms, peak RSS (KiB) and
 * output. Asynchronous on purpose: the HTTP server lives in this process.
 */
function timed(cmd: string, args: string[]): Promise<{ ms: number; rssKiB: number; out: string; status: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const c = spawn('/usr/bin/time', ['-f', '%M', cmd, ...args], { env: { ...process.env, LC_ALL: 'C.UTF-8', COLUMNS: '200' } });
    let out = '';
    let err = '';
    c.stdout.on('data', (d) => (out += d));
    c.stderr.on('data', (d) => (err += d));
    c.on('error', reject);
    c.on('close', (code) => {
      const lines = err.trim().split('\n');
      resolve({ ms: performance.now() - t0, rssKiB: Number(lines[lines.length - 1]), out: out + err, status: code ?? -1 });
    });
  });
}

function parseDnf(out: string): string[] {
  const res: string[] = [];
  let on = false;
  for (const l of out.split('\n')) {
    if (/^Installing( dependencies| weak dependencies)?:/.test(l)) {
      on = true;
      continue;
    }
    if (!on) continue;
    if (!l.startsWith(' ')) {
      on = false;
      continue;
    }
    const c = l.trim().split(/\s+/);
    if (c.length >= 4) res.push(`${c[0]}.${c[1]} ${c[2]}`);
  }
  return res.sort();
}

async function main(): Promise<void> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cf-bench-'));
  try {
    const www = path.join(tmp, 'www');
    const tg = performance.now();
    const syn = generateRepo(www, { names });
    console.log(`generated ${syn.packages} packages in ${((performance.now() - tg) / 1000).toFixed(1)}s; request ${syn.request.length} packages`);
    const srv = await serveDir(www);
    const reqFile = path.join(tmp, 'request.json');
    fs.writeFileSync(reqFile, JSON.stringify(syn.request));
    const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'resolve-worker.js');
    const ours = (cache: string) => timed(process.execPath, [worker, srv.url, cache, reqFile]);
    const dnf = (cache: string) =>
      timed('dnf', [
        `--installroot=${path.join(tmp, 'root')}`,
        '--releasever=1',
        '--setopt=reposdir=/dev/null',
        `--setopt=cachedir=${cache}`,
        '--setopt=metadata_expire=-1',
        '--setopt=install_weak_deps=False',
        '--nogpgcheck',
        `--repofrompath=bench,${srv.url}`,
        '--disablerepo=*',
        '--enablerepo=bench',
        'install',
        '--assumeno',
        ...syn.request,
      ]);
    const rows: { what: string; ours: number; dnf: number; oursRss: number; dnfRss: number }[] = [];
    for (let run = 0; run < runs; run++) {
      const oc = path.join(tmp, `ours-cache-${run}`);
      const dc = path.join(tmp, `dnf-cache-${run}`);
      const oCold = await ours(oc);
      const dCold = await dnf(dc);
      const oWarm = await ours(oc);
      const dWarm = await dnf(dc);
      for (const [w, o, d] of [
        ['cold', oCold, dCold],
        ['warm', oWarm, dWarm],
      ] as const) {
        if (o.status !== 0) throw new Error(`our resolver failed: ${o.out}`);
        rows.push({ what: w, ours: o.ms, dnf: d.ms, oursRss: o.rssKiB, dnfRss: d.rssKiB });
      }
      if (run === 0) {
        const mine = (JSON.parse(oCold.out.split('\n')[0]!) as { install: string[] }).install.map((s) => s.replace(/ 0:/, ' ')).sort();
        const theirs = parseDnf(dCold.out);
        console.log(`install set: ours ${mine.length} packages, dnf ${theirs.length}; identical: ${mine.join(',') === theirs.join(',')}`);
        const w = JSON.parse(oWarm.out.split('\n')[0]!) as { loadMs: number; solveMs: number };
        const c = JSON.parse(oCold.out.split('\n')[0]!) as { loadMs: number; solveMs: number };
        console.log(`ours cold: load ${c.loadMs.toFixed(0)} ms + solve ${c.solveMs.toFixed(0)} ms; warm: load ${w.loadMs.toFixed(0)} ms + solve ${w.solveMs.toFixed(0)} ms`);
      }
    }
    await srv.close();
    for (const what of ['cold', 'warm']) {
      const rs = rows.filter((r) => r.what === what);
      const med = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!;
      const o = med(rs.map((r) => r.ours));
      const d = med(rs.map((r) => r.dnf));
      const target = what === 'cold' ? 1.0 : 0.5;
      console.log(
        `${what}: coreforge ${(o / 1000).toFixed(2)} s (peak RSS ${(Math.max(...rs.map((r) => r.oursRss)) / 1024).toFixed(0)} MiB), dnf ${(d / 1000).toFixed(2)} s (peak RSS ${(Math.max(...rs.map((r) => r.dnfRss)) / 1024).toFixed(0)} MiB), ratio ${(o / d).toFixed(2)}x (target <= ${target}x) ${o / d <= target ? 'OK' : 'MISSED'}`,
      );
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
