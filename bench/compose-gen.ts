/**
 * Generates (or reuses from the cache) a synthetic RPM set for the compose
 * benchmark and prints what it made.
 *   node dist/bench/compose-gen.js [--packages N] [--bytes SIZE] [--seed S] [--jobs J]
 *        [--payload w3.zstdio] [--no-base] [--bump] [--cache DIR] [--json]
 * SIZE accepts K/M/G suffixes (binary). Defaults: 300 packages, 1G, seed 1.
 */
import { bumpOnePackage, generateRpms, type GeneratedSet } from '../src/compose/testing/gen.js';

function size(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(s);
  if (!m) throw new Error(`bad size: ${s}`);
  const mul = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * mul);
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function summary(s: GeneratedSet): Record<string, unknown> {
  const sizes = s.packages.map((p) => p.bytes).sort((a, b) => a - b);
  const q = (f: number) => sizes[Math.min(sizes.length - 1, Math.floor(f * sizes.length))]!;
  return {
    repo: s.repoDir,
    rpms: s.rpms.length,
    generated: s.packages.length,
    base: s.base,
    installedBytes: s.totalBytes,
    files: s.fileCount,
    symlinks: s.packages.reduce((a, p) => a + p.symlinks, 0),
    withScriptlets: s.packages.filter((p) => p.scriptlets.length > 0).length,
    requires: s.packages.reduce((a, p) => a + p.requires.length, 0),
    packageBytes: { min: sizes[0], median: q(0.5), p90: q(0.9), max: sizes[sizes.length - 1] },
    cached: s.cached,
    seconds: Number(s.seconds.toFixed(2)),
  };
}

const set = await generateRpms({
  seed: Number(arg('seed') ?? 1),
  packages: Number(arg('packages') ?? 300),
  totalBytes: size(arg('bytes') ?? '1G'),
  jobs: Number(arg('jobs') ?? 2),
  ...(arg('payload') ? { payload: arg('payload')! } : {}),
  ...(arg('cache') ? { cacheDir: arg('cache')! } : {}),
  base: !process.argv.includes('--no-base'),
});
const out: Record<string, unknown> = { set: summary(set) };
if (process.argv.includes('--bump')) {
  const v = await bumpOnePackage(set, arg('cache') ? { cacheDir: arg('cache')! } : {});
  out.bump = { repo: v.repoDir, changed: `${v.previous.rpm} -> ${v.changed.rpm}`, cached: v.cached, seconds: Number(v.seconds.toFixed(2)) };
}
if (process.argv.includes('--json')) console.log(JSON.stringify(out, null, 2));
else {
  const s = out.set as ReturnType<typeof summary>;
  console.log(`${s.rpms} RPMs (${s.generated} generated + ${(s.base as string[]).length} base) in ${s.repo}`);
  console.log(`  installed ${((s.installedBytes as number) / 1048576).toFixed(1)} MiB in ${s.files} files, ${s.symlinks} symlinks; ${s.withScriptlets} with scriptlets, ${s.requires} Requires`);
  console.log(`  package sizes: ${JSON.stringify(s.packageBytes)}`);
  console.log(`  ${s.cached ? 'from cache' : `generated in ${s.seconds} s`}`);
  if (out.bump) console.log(`  bump: ${JSON.stringify(out.bump)}`);
}
