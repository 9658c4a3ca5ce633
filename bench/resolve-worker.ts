/** One resolution in a fresh process (so cold/warm and peak RSS are honest). */
import { loadRepo, normalizeRepoSource } from '../src/rpm/repo/index.js';
import { resolve } from '../src/rpm/solve/index.js';

const [url, cacheDir, reqFile] = process.argv.slice(2) as [string, string, string];
const { readFileSync } = await import('node:fs');
const request = JSON.parse(readFileSync(reqFile, 'utf8')) as string[];
const t0 = performance.now();
const repo = await loadRepo(normalizeRepoSource({ id: 'bench', baseurl: [url] }), { cacheDir });
const t1 = performance.now();
const r = await resolve([repo], { packages: request, excludePackages: [], repoPackages: [], recommends: false, arch: 'x86_64' });
const t2 = performance.now();
process.stdout.write(
  JSON.stringify({ loadMs: t1 - t0, solveMs: t2 - t1, count: r.packages.length, install: r.packages.map((p) => `${p.name}.${p.arch} ${p.evrString}`) }) + '\n',
);
