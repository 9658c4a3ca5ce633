/**
 * Publish after a one-package change: bytes uploaded to the target against
 * the bytes of the objects the target did not have (issue 6: ≤ 1.1×).
 *
 *   node dist/bench/publish.js [--json] [--check]
 *
 * A generated package set (src/compose/testing/gen.ts) is built with
 * `coreforge build` and published to a directory target; then one package
 * changes (bumpOnePackage), the build is redone and published again. The
 * second publish's upload is compared with the size of the object files that
 * are new in the target (objects/), and reported alongside what else it sent
 * (static delta, commit metadata, refs, summary).
 *
 * Environment: BENCH_PACKAGES (50), BENCH_BYTES (100e6), BENCH_SEED (1), BENCH_DIR (kept work dir).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { bumpOnePackage, generateRpms } from '../src/compose/testing/gen.js';
import { coreforgeBin } from '../test/ostree/util/run.js';

const PACKAGES = Number(process.env.BENCH_PACKAGES ?? 50);
const BYTES = Number(process.env.BENCH_BYTES ?? 100e6);
const SEED = Number(process.env.BENCH_SEED ?? 1);
const JSON_OUT = process.argv.includes('--json');
const CHECK = process.argv.includes('--check');
const TARGET = 1.1;

function log(s: string): void {
  (JSON_OUT ? process.stderr : process.stdout).write(s + '\n');
}

function run(cmd: string[], cwd?: string): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (${r.status ?? r.signal}):\n${r.stderr}\n${r.stdout}`);
  return r.stdout;
}

/** Every file under `dir` with its size, by path relative to it. */
function files(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(relative(dir, p), statSync(p).size);
    }
  };
  walk(dir);
  return out;
}

async function main(): Promise<void> {
  const dir = process.env.BENCH_DIR ?? mkdtempSync(join(tmpdir(), 'coreforge-bench-publish-'));
  mkdirSync(dir, { recursive: true });
  try {
    const set = await generateRpms({ seed: SEED, packages: PACKAGES, totalBytes: BYTES });
    const bumped = await bumpOnePackage(set);
    log(`${set.rpms.length} RPMs, ${(set.totalBytes / 1e6).toFixed(0)} MB installed; change: ${bumped.previous.rpm} -> ${bumped.changed.rpm}`);
    const names = [...new Set(set.rpms.map((f) => basename(f).replace(/-[^-]+-[^-]+\.[^.]+\.rpm$/, '')))].sort();
    const link = join(dir, 'rpm-repo');
    const point = (target: string) => {
      rmSync(link, { force: true });
      symlinkSync(target, link);
    };
    point(set.repoDir);
    const config = join(dir, 'config');
    rmSync(config, { recursive: true, force: true });
    mkdirSync(config);
    writeFileSync(join(config, 'gen.repo'), `[gen]\nname=gen\nbaseurl=file://${link}\nenabled=1\ngpgcheck=0\n`);
    writeFileSync(
      join(config, 'manifest.yaml'),
      ['ref: bench/x86_64/publish', 'releasever: 40', 'repos: [gen]', 'recommends: false', 'selinux: false', 'tmp-is-dir: true', 'packages:', ...names.map((n) => `  - ${n}`), ''].join('\n'),
    );
    writeFileSync(join(config, 'image.yaml'), 'size: 4\n');
    const git = (args: string[]) => run(['git', '-c', 'user.email=bench@localhost', '-c', 'user.name=bench', ...args], config);
    git(['init', '-q']);
    git(['add', '-A']);
    git(['commit', '-qm', 'bench config']);

    const b = join(dir, 'build');
    rmSync(b, { recursive: true, force: true });
    mkdirSync(b);
    const cf = (args: string[]) => run([process.execPath, coreforgeBin, ...args], b);
    const repo = join(dir, 'repo');
    const target = join(dir, 'target');
    for (const d of [repo, target]) rmSync(d, { recursive: true, force: true });
    cf(['init', config]);
    cf(['build']);
    cf(['publish', '--repo', repo, '--to', target]);
    const before = files(target);

    point(bumped.repoDir);
    cf(['build']);
    const out = JSON.parse(cf(['publish', '--repo', repo, '--to', target, '--json'])) as { sync?: { uploaded: number; uploadedBytes: number } };
    const after = files(target);
    const added = [...after].filter(([p, size]) => before.get(p) !== size);
    const sum = (pred: (p: string) => boolean) => added.filter(([p]) => pred(p)).reduce((a, [, s]) => a + s, 0);
    const newObjects = sum((p) => p.startsWith('objects/'));
    const deltas = sum((p) => p.startsWith('deltas/') || p.startsWith('delta-indexes/'));
    const other = sum((p) => !p.startsWith('objects/') && !p.startsWith('deltas/') && !p.startsWith('delta-indexes/'));
    const uploaded = out.sync?.uploadedBytes ?? NaN;
    const ratioObjects = uploaded / newObjects;
    const ratioNewFiles = uploaded / (newObjects + deltas + other);
    const res = { packages: set.rpms.length, newObjectBytes: newObjects, deltaBytes: deltas, otherBytes: other, uploadedBytes: uploaded, uploadedFiles: out.sync?.uploaded, ratioToNewObjects: ratioObjects, ratioToNewFiles: ratioNewFiles, target: TARGET };
    log(`new objects in the target: ${added.filter(([p]) => p.startsWith('objects/')).length} files, ${newObjects} bytes`);
    log(`static delta (from the previous commit): ${deltas} bytes; refs, summary, commit metadata: ${other} bytes`);
    log(`uploaded: ${out.sync?.uploaded} files, ${uploaded} bytes`);
    log(`uploaded / new objects: ${ratioObjects.toFixed(3)} (target ≤ ${TARGET}; with the delta and the rest counted as new: ${ratioNewFiles.toFixed(3)})`);
    if (JSON_OUT) process.stdout.write(JSON.stringify(res, null, 2) + '\n');
    if (CHECK && !(ratioNewFiles <= TARGET)) process.exitCode = 1;
  } finally {
    if (!process.env.BENCH_DIR) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
