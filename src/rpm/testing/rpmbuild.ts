/**
 * Test helper: builds real RPMs with `rpmbuild` from generated spec files in
 * a temporary topdir. Self-contained (node built-ins only) so other test
 * suites can reuse it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SpecOptions {
  name: string;
  version?: string;
  release?: string;
  epoch?: number;
  /** BuildArch; default noarch. */
  arch?: string;
  summary?: string;
  license?: string;
  /** Extra preamble lines: Requires:, Provides:, Recommends:, … */
  preamble?: string[];
  /** Shell for %install; $RPM_BUILD_ROOT / %{buildroot} is set. */
  install?: string;
  /** Lines of %files. */
  files?: string[];
  /** Raw text appended after %files (scriptlets, triggers, file triggers). */
  scripts?: string;
  /** e.g. 'w9.gzdio', 'w6.xzdio', 'w19.zstdio', 'w9.bzdio', 'w0.ufdio'. */
  payload?: string;
  /** Extra rpmbuild --define pairs. */
  defines?: Record<string, string>;
}

export function rpmbuildAvailable(): boolean {
  try {
    execFileSync('rpmbuild', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function specText(o: SpecOptions): string {
  const lines = [
    `Name: ${o.name}`,
    `Version: ${o.version ?? '1.0'}`,
    `Release: ${o.release ?? '1'}`,
    ...(o.epoch !== undefined ? [`Epoch: ${o.epoch}`] : []),
    `Summary: ${o.summary ?? `test package ${o.name}`}`,
    `License: ${o.license ?? 'MIT'}`,
    `BuildArch: ${o.arch ?? 'noarch'}`,
    ...(o.preamble ?? []),
    '',
    '%description',
    `Test package ${o.name}.`,
    '',
    '%install',
    'mkdir -p %{buildroot}',
    o.install ?? '',
    '',
    '%files',
    ...(o.files ?? []),
    '',
    o.scripts ?? '',
    '',
  ];
  return lines.join('\n');
}

/** A scratch rpmbuild topdir; remove with dispose(). */
export class RpmBuilder {
  readonly topdir: string;
  constructor(prefix = 'coreforge-rpmbuild-') {
    this.topdir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** Builds one source RPM and returns its path. */
  buildSource(o: SpecOptions): string {
    this.run(o, '-bs');
    const dir = join(this.topdir, 'SRPMS');
    const want = `${o.name}-${o.version ?? '1.0'}-${o.release ?? '1'}.src.rpm`;
    if (!readdirSync(dir).includes(want)) throw new Error(`rpmbuild produced no ${want} in ${dir}`);
    return join(dir, want);
  }

  /** Builds one binary RPM and returns its path. */
  build(o: SpecOptions): string {
    this.run(o, '-bb');
    const arch = o.arch ?? 'noarch';
    const dir = join(this.topdir, 'RPMS', arch);
    const want = `${o.name}-${o.version ?? '1.0'}-${o.release ?? '1'}.${arch}.rpm`;
    const found = readdirSync(dir).find((f) => f === want);
    if (!found) throw new Error(`rpmbuild produced no ${want} in ${dir}`);
    return join(dir, found);
  }

  private run(o: SpecOptions, mode: '-bb' | '-bs'): void {
    const specDir = join(this.topdir, 'SPECS');
    mkdirSync(specDir, { recursive: true });
    const spec = join(specDir, `${o.name}.spec`);
    writeFileSync(spec, specText(o));
    const defs: Record<string, string> = {
      _topdir: this.topdir,
      // Reproducible-ish and quiet: no debuginfo, no brp scripts that need extra tools.
      debug_package: '%{nil}',
      __os_install_post: '%{nil}',
      _build_id_links: 'none',
      ...(o.payload ? { _binary_payload: o.payload } : {}),
      ...(o.defines ?? {}),
    };
    const args = [mode, '--quiet'];
    for (const [k, v] of Object.entries(defs)) args.push('--define', `${k} ${v}`);
    args.push(spec);
    try {
      execFileSync('rpmbuild', args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    } catch (e) {
      const err = e as { stderr?: Buffer; stdout?: Buffer };
      throw new Error(`rpmbuild failed for ${o.name}:\n${err.stderr?.toString() ?? ''}${err.stdout?.toString() ?? ''}`);
    }
  }

  dispose(): void {
    rmSync(this.topdir, { recursive: true, force: true });
  }
}

/** `rpm -qp --queryformat FMT file` (the real peer). */
export function rpmQuery(file: string, queryformat: string): string {
  return execFileSync('rpm', ['-qp', '--nosignature', '--nodigest', '--queryformat', queryformat, file], {
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'pipe', 'pipe'],
  }).toString();
}
