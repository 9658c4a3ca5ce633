import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path';
process.env.CF_DNF_SEEDS = '0';
const { generate } = await import('/work/wt/rpmrepo/src/rpm/solve/gen.ts');
const { buildRpms, createrepo } = await import('/work/wt/rpmrepo/src/rpm/repo/testing.ts');
const { loadRepo, normalizeRepoSource } = await import('/work/wt/rpmrepo/src/rpm/repo/index.ts');
const { resolve } = await import('/work/wt/rpmrepo/src/rpm/solve/index.ts');
const { dnfInstall } = await import('/work/wt/rpmrepo/src/rpm/solve/dnfpeer.ts');
const seed = Number(process.argv[2]); const req = process.argv[3].split(','); const recommends = process.argv[4] === 'true';
const tmp = `/tmp/one${seed}`;
if (!fs.existsSync(tmp)) { const g = generate(seed); fs.mkdirSync(tmp+'/w', {recursive:true}); buildRpms(g.groups, tmp+'/repo', tmp+'/w'); createrepo(tmp+'/repo'); }
const repo = await loadRepo(normalizeRepoSource({ id: 'x', baseurl: ['file://' + tmp + '/repo/'] }), { cacheDir: tmp + '/cache' });
try { const r = await resolve([repo], { packages: req, excludePackages: [], repoPackages: [], recommends, arch: 'x86_64' }); console.log('ours', r.packages.map(p => p.nevra).join(' ')); } catch (e) { console.log('ours err', (e as Error).message); }
const d = await dnfInstall({ root: tmp + '/root', cacheDir: tmp + '/dc', repos: [{ id: 'x', url: 'file://' + tmp + '/repo/' }], packages: req, recommends });
console.log('dnf ', d.install.join(', '), d.ok ? '' : d.problems.join('|'));
