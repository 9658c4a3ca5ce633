/**
 * Test/bench helper: the example distribution's RPMs (examples/rpms), built
 * by scripts/example-rpms into an rpm-md repo. The script is reproducible and
 * skips work when its inputs are unchanged, so calling this from many tests
 * costs one build per machine.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root (works from src/ under tsx and from dist/src/ after tsc). */
export function repoRoot(): string {
  let d = path.dirname(fileURLToPath(import.meta.url));
  while (!fs.existsSync(path.join(d, 'package.json'))) {
    const up = path.dirname(d);
    if (up === d) throw new Error('cannot find the repository root above ' + fileURLToPath(import.meta.url));
    d = up;
  }
  return d;
}

export interface ExampleRepo {
  /** rpm-md repository directory (Packages/ and repodata/). */
  dir: string;
  /** Absolute paths of the RPMs, sorted by file name. */
  rpms: string[];
}

/** Names of the example packages, in dependency order. */
export const EXAMPLE_PACKAGES = ['setup', 'filesystem', 'busybox', 'example-release', 'kernel', 'example-daemon', 'example-ping'] as const;

/** True when the tools scripts/example-rpms needs are installed. */
export function exampleRpmsAvailable(): boolean {
  for (const t of ['rpmbuild', 'createrepo_c', 'cpio']) {
    try {
      execFileSync(t, ['--version'], { stdio: 'ignore' });
    } catch {
      return false;
    }
  }
  return fs.existsSync(process.env.BUSYBOX_BIN ?? '/bin/busybox');
}

/**
 * Builds (or reuses) the example RPMs under `outDir` (default: a per-user
 * cache dir under os.tmpdir()) and returns the repository. The repository is
 * laid out as `outDir/mini-fedora/x86_64/`, i.e. what
 * examples/upstream-config/mini-fedora.repo expects when `outDir` is served.
 */
export function buildExampleRpms(outDir = path.join(os.tmpdir(), `coreforge-example-rpms-${process.getuid?.() ?? 0}`)): ExampleRepo {
  try {
    execFileSync(path.join(repoRoot(), 'scripts', 'example-rpms'), [outDir], { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer };
    throw new Error(`scripts/example-rpms failed:\n${err.stderr?.toString() ?? String(e)}`);
  }
  const dir = path.join(outDir, 'mini-fedora', 'x86_64');
  const pk = path.join(dir, 'Packages');
  const rpms = fs
    .readdirSync(pk)
    .filter((f) => f.endsWith('.rpm'))
    .sort()
    .map((f) => path.join(pk, f));
  return { dir, rpms };
}
