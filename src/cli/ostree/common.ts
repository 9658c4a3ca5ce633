import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { Repo } from '../../ostree/repo/repo.js';
import { formatOptions, parseArgs, type OptSpecs, type Parsed } from '../args.js';
import type { CliContext } from '../command.js';

export const REPO_OPT = { repo: { kind: 'string', arg: 'PATH', help: 'Path to OSTree repository' } } as const satisfies OptSpecs;

/** Parse a verb's argv; handles --help uniformly. Returns null after printing help. */
export function parseVerbArgs<S extends OptSpecs>(argv: string[], specs: S, usage: string, ctx: CliContext): Parsed<S & { help: { kind: 'boolean' } }> | null {
  const all = { ...specs, help: { kind: 'boolean', short: 'h', help: 'Show help options' } } as S & { help: { kind: 'boolean' } };
  const parsed = parseArgs(argv, all);
  if (parsed.opts.help) {
    ctx.stdout.write(`Usage:\n  ostree ${usage}\n\nOptions:\n${formatOptions(all)}\n`);
    return null;
  }
  return parsed;
}

export function repoPath(opt: string | undefined, ctx: CliContext): string {
  const p = opt ?? ctx.env.OSTREE_REPO;
  if (!p) {
    // as ostree_repo_new_default: the current directory if it looks like a repository, else the system repo
    if (existsSync(join(ctx.cwd, 'objects')) && statSync(join(ctx.cwd, 'objects')).isDirectory() && existsSync(join(ctx.cwd, 'config'))) return ctx.cwd;
    return '/ostree/repo';
  }
  return resolve(ctx.cwd, p);
}

export async function openRepo(opt: string | undefined, ctx: CliContext): Promise<Repo> {
  return Repo.open(repoPath(opt, ctx));
}

export function needArgs(args: string[], n: number, usage: string): void {
  if (args.length < n) throw new UsageError(`${usage}`);
}

/** "2020-01-01 00:00:00 +0000", the date format of `ostree log`/`show`. */
export function formatCommitDate(ts: number): string {
  const d = new Date(ts * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** Parse a date as gnulib parse_datetime does for the forms people use: @EPOCH, ISO 8601, "YYYY-MM-DD HH:MM:SS", "N days ago". */
export function parseDateTime(s: string): number {
  const t = s.trim();
  let m = /^@(-?\d+)$/.exec(t);
  if (m) return Number(m[1]);
  m = /^(\d+)\s+(second|minute|hour|day|week|month|year)s?\s+ago$/.exec(t);
  if (m) {
    const unit = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800, month: 2592000, year: 31536000 }[m[2] as 'day']!;
    return Math.floor(Date.now() / 1000) - Number(m[1]) * unit;
  }
  if (t === 'now') return Math.floor(Date.now() / 1000);
  m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?$/.exec(t);
  if (m) {
    const [, y, mo, d, h = '0', mi = '0', se = '0', zone] = m;
    let ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(se));
    if (zone && zone !== 'Z' && zone !== 'UTC') {
      const zm = /^([+-])(\d{2}):?(\d{2})$/.exec(zone)!;
      const off = (Number(zm[2]) * 60 + Number(zm[3])) * 60000 * (zm[1] === '+' ? 1 : -1);
      ms -= off;
    }
    return Math.floor(ms / 1000);
  }
  throw new UsageError(`Could not parse '${s}'`);
}

/** A G_OPTION_ARG_INT value, with GOption's error text. */
export function parseIntArg(s: string, name: string): number {
  const t = s.trim();
  if (!/^[+-]?\d+$/.test(t) || Math.abs(Number(t)) > 0x7fffffff) throw new UsageError(`Cannot parse integer value “${s}” for ${name}`);
  return Number(t);
}

/** Usage text of a verb with subcommands (ostree admin, remote, static-delta). */
export function groupUsage(verb: string, subs: ReadonlyArray<readonly [string, string]>): string {
  return `Usage:\n  ostree ${verb} [OPTION…] COMMAND\n\nBuiltin "${verb}" Commands:\n${subs.map(([n, s]) => `  ${n.padEnd(16)}${s}`).join('\n')}\n`;
}

/**
 * What a verb with subcommands does when none matched: `--help` prints the
 * usage on stdout; otherwise usage on stderr and a usage error, as ostree.
 */
export function groupFallback(verb: string, subs: ReadonlyArray<readonly [string, string]>, sub: string | undefined, rest: string[], ctx: CliContext): number {
  if (!sub && (rest.includes('--help') || rest.includes('-h'))) {
    ctx.stdout.write(groupUsage(verb, subs));
    return 0;
  }
  ctx.stderr.write(groupUsage(verb, subs));
  if (sub) throw new UsageError(`Unknown "${verb}" subcommand '${sub}'`);
  throw new UsageError(`No "${verb}" subcommand specified`);
}
