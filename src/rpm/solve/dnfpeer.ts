/**
 * Test/bench helper: run dnf 4 against repos served over HTTP and parse the
 * transaction table of `install --assumeno`.
 */
import { spawn } from 'node:child_process';

export interface DnfRun {
  ok: boolean;
  /** `name.arch evr` entries of the transaction. */
  install: string[];
  problems: string[];
  output: string;
  ms: number;
}

export interface DnfRepo {
  id: string;
  url: string;
  priority?: number;
  cost?: number;
}

export function dnfInstall(opts: {
  root: string;
  cacheDir: string;
  repos: DnfRepo[];
  packages: string[];
  recommends: boolean;
  excludes?: string[];
  best?: boolean;
  cacheonly?: boolean;
}): Promise<DnfRun> {
  const args = [
    `--installroot=${opts.root}`,
    '--releasever=1',
    '--setopt=reposdir=/dev/null',
    `--setopt=cachedir=${opts.cacheDir}`,
    '--setopt=check_config_file_age=False',
    '--setopt=metadata_expire=-1',
    '--nogpgcheck',
    '--setopt=install_weak_deps=' + (opts.recommends ? 'True' : 'False'),
    `--setopt=best=${opts.best ? 'True' : 'False'}`,
    '--disablerepo=*',
  ];
  for (const r of opts.repos) {
    args.push(`--repofrompath=${r.id},${r.url}`, `--enablerepo=${r.id}`);
    if (r.priority !== undefined) args.push(`--setopt=${r.id}.priority=${r.priority}`);
    if (r.cost !== undefined) args.push(`--setopt=${r.id}.cost=${r.cost}`);
  }
  if (opts.excludes?.length) args.push(`--setopt=excludepkgs=${opts.excludes.join(',')}`);
  if (opts.cacheonly) args.push('--cacheonly');
  args.push('install', '--assumeno', ...opts.packages);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('dnf', args, { env: { ...process.env, LC_ALL: 'C.UTF-8', COLUMNS: '200' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', () => {
      const ms = performance.now() - t0;
      const lines = out.split('\n');
      const install: string[] = [];
      let inTable = false;
      for (let i = 0; i < lines.length; i++) {
        const l = lines[i]!;
        if (/^Installing( dependencies| weak dependencies)?:/.test(l)) {
          inTable = true;
          continue;
        }
        if (!inTable) continue;
        if (/^\S/.test(l) || l.trim() === '' || l.startsWith('===')) {
          inTable = /^Installing/.test(l);
          continue;
        }
        let cols = l.trim().split(/\s+/);
        // Long names wrap: the name is alone on its line.
        if (cols.length === 1 && lines[i + 1]) cols = [cols[0]!, ...lines[++i]!.trim().split(/\s+/)];
        if (cols.length >= 4) install.push(`${cols[0]}.${cols[1]} ${cols[2]}`);
      }
      const aborted = /Operation aborted\.|Nothing to do|Complete!/.test(out) && !/^Error:/m.test(out);
      const problems = lines.filter((l) => /^\s+- /.test(l) || /^\s*Problem/.test(l) || /^No match for argument/.test(l)).map((l) => l.trim().replace(/^- /, ''));
      resolve({ ok: aborted, install: install.sort(), problems, output: out, ms });
    });
  });
}
