import { readFileSync } from 'node:fs';
import { formatOptions, parseArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { checkArch, hostBasearch } from '../../config/arch.js';
import { resolveConfigDir } from '../../config/builddir.js';
import { build } from '../../compose/compose.js';
import type { ComposeProgress } from '../../compose/types.js';

const specs = {
  config: { kind: 'string', arg: 'DIR', help: 'config directory (default: $COREFORGE_CONFIG_GIT, src/config, or .)' },
  arch: { kind: 'string', arg: 'ARCH', help: 'target basearch (default: this host)' },
  force: { kind: 'boolean', help: 'build even if the inputs did not change' },
  version: { kind: 'string', arg: 'VERSION', help: 'use this version instead of the automatic one' },
  'skip-prune': { kind: 'boolean', help: 'keep every previous build (by default only the newest 3 untagged builds stay)' },
  json: { kind: 'boolean', help: 'print the result as JSON' },
  verbose: { kind: 'boolean', short: 'v', help: 'show scriptlet and postprocess output' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const;

const PHASE_TEXT: Record<ComposeProgress['phase'], string> = {
  resolve: 'Resolving packages',
  download: 'Downloading packages',
  unpack: 'Unpacking packages',
  assemble: 'Assembling the root',
  scriptlets: 'Running scriptlets',
  postprocess: 'Postprocessing',
  commit: 'Committing',
  artifacts: 'Writing build artifacts',
};

export const buildCommand: Command = {
  name: 'build',
  async run(argv, ctx) {
    const { opts } = parseArgs(argv, specs);
    if (opts.help) {
      out(ctx, `Usage: coreforge build [--config DIR] [--arch ARCH] [--force] [--version VERSION] [--skip-prune]\n\nRun in a build directory made by \`coreforge init\`.\n\n${formatOptions(specs)}`);
      return 0;
    }
    const arch = checkArch(opts.arch ?? hostBasearch());
    const configDir = resolveConfigDir({ config: opts.config, cwd: ctx.cwd, env: ctx.env });
    let last = '';
    const draw = (ev: ComposeProgress) => {
      const count = ev.total !== undefined ? ` ${ev.done ?? 0}/${ev.total}` : '';
      const line = `${PHASE_TEXT[ev.phase]}${count}${ev.item ? ` ${ev.item}` : ''}`;
      if (ctx.interactive) {
        if (line !== last) ctx.stderr.write(`\r\x1b[K${line.slice(0, 120)}`);
      } else if (!opts.json && PHASE_TEXT[ev.phase] !== last) {
        // not a TTY: one line per phase, no redraws
        ctx.stderr.write(`${PHASE_TEXT[ev.phase]}…\n`);
      }
      last = ctx.interactive ? line : PHASE_TEXT[ev.phase];
    };
    const timer = ctx.env.COREFORGE_TIMINGS === '1' ? new PhaseTimer() : null;
    const onProgress = timer ? (ev: ComposeProgress) => (timer.mark(ev.phase), opts.json ? undefined : draw(ev)) : opts.json ? undefined : draw;
    const r = await build({
      configDir,
      buildDir: ctx.cwd,
      arch,
      force: opts.force,
      ...(opts.version ? { version: opts.version } : {}),
      ...(opts['skip-prune'] ? { skipPrune: true } : {}),
      env: ctx.env,
      ...(onProgress ? { onProgress } : {}),
      ...(opts.verbose ? { onOutput: (label: string, text: string) => ctx.stderr.write(text.split('\n').map((l) => (l ? `${label}: ${l}` : l)).join('\n')) } : {}),
    });
    if (ctx.interactive) ctx.stderr.write('\r\x1b[K');
    if (timer) ctx.stderr.write(timer.report());
    if (opts.json) {
      out(ctx, JSON.stringify(r, null, 2));
      return 0;
    }
    if (r.status === 'unchanged') {
      out(ctx, `No changes in inputs (rpm-ostree inputhash ${r.inputhash}); not building. Use --force to build anyway.`);
      return 0;
    }
    if (r.pkgdiffText) out(ctx, r.pkgdiffText.trimEnd());
    if (r.packages) out(ctx, `${r.packages.total} packages: ${r.packages.unpacked} unpacked, ${r.packages.cached} from the package cache`);
    out(ctx, `Built ${r.buildId} (${arch}): ${r.ref} = ${r.commit}`);
    out(ctx, `  ${r.dir}`);
    for (const id of r.pruned ?? []) out(ctx, `Pruned build ${id}`);
    return 0;
  },
};

/**
 * COREFORGE_TIMINGS=1: wall time per build phase (from the first progress event of a phase to the next phase's),
 * with the CPU seconds spent meanwhile by this process (all threads) and by its reaped children.
 */
class PhaseTimer {
  private readonly t0 = performance.now();
  private current: string | null = null;
  private since = this.t0;
  private cpuSince = cpuTicks();
  private readonly totals = new Map<string, { ms: number; cpu: number[] }>();
  mark(phase: string): void {
    if (phase === this.current) return;
    const now = performance.now();
    const cpu = cpuTicks();
    if (this.current) {
      const t = this.totals.get(this.current) ?? { ms: 0, cpu: [0, 0, 0, 0] };
      t.ms += now - this.since;
      t.cpu = t.cpu.map((v, i) => v + cpu[i]! - this.cpuSince[i]!);
      this.totals.set(this.current, t);
    }
    this.current = phase;
    this.since = now;
    this.cpuSince = cpu;
  }
  /** One `timing PHASE SECONDS user=… sys=… child-user=… child-sys=…` line per phase, in order, then the total. */
  report(): string {
    this.mark('(end)');
    const s = (ticks: number) => (ticks / 100).toFixed(2);
    const lines = [...this.totals].map(
      ([p, t]) => `timing ${p} ${(t.ms / 1000).toFixed(3)} user=${s(t.cpu[0]!)} sys=${s(t.cpu[1]!)} child-user=${s(t.cpu[2]!)} child-sys=${s(t.cpu[3]!)}\n`,
    );
    return lines.join('') + `timing total ${((performance.now() - this.t0) / 1000).toFixed(3)}\n`;
  }
}

/** utime, stime, cutime, cstime of this process in clock ticks (USER_HZ, 100 on Linux); zeros where /proc is absent. */
function cpuTicks(): number[] {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    // fields after the parenthesised command name (which may hold spaces): state is field 3, utime field 14
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [11, 12, 13, 14].map((i) => Number(f[i]));
  } catch {
    return [0, 0, 0, 0];
  }
}
