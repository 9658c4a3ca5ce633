import { UsageError } from '../errors.js';

/**
 * A GOption-compatible argument parser: `--long=VAL`, `--long VAL`, `-sVAL`,
 * `-s VAL`, grouped short booleans (`-Uv`), repeatable options, and `--` to
 * end options. Ostree's verbs are parsed with it so that scripts written for
 * `ostree` work unchanged against `coreforge ostree`.
 */
export type OptKind = 'boolean' | 'string' | 'strings' | 'count';

export interface OptSpec {
  kind: OptKind;
  short?: string;
  /** Shown in --help. */
  help?: string;
  /** Placeholder for the value in --help. */
  arg?: string;
}

export type OptSpecs = Record<string, OptSpec>;

export type ParsedOpts<S extends OptSpecs> = {
  [K in keyof S]: S[K]['kind'] extends 'boolean' ? boolean : S[K]['kind'] extends 'strings' ? string[] : S[K]['kind'] extends 'count' ? number : string | undefined;
};

export interface Parsed<S extends OptSpecs> {
  opts: ParsedOpts<S>;
  args: string[];
}

export function parseArgs<S extends OptSpecs>(argv: readonly string[], specs: S, opts: { stopAtFirstArg?: boolean } = {}): Parsed<S> {
  const out: Record<string, unknown> = {};
  const byShort = new Map<string, string>();
  for (const [name, s] of Object.entries(specs)) {
    out[name] = s.kind === 'boolean' ? false : s.kind === 'strings' ? [] : s.kind === 'count' ? 0 : undefined;
    if (s.short) byShort.set(s.short, name);
  }
  const args: string[] = [];
  const set = (name: string, value: string | undefined) => {
    const s = specs[name]!;
    if (s.kind === 'boolean') out[name] = true;
    else if (s.kind === 'count') out[name] = (out[name] as number) + 1;
    else if (s.kind === 'strings') (out[name] as string[]).push(value!);
    else out[name] = value;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq < 0 ? a.slice(2) : a.slice(2, eq);
      const s = specs[name];
      if (!s) throw new UsageError(`Unknown option ${eq < 0 ? a : a.slice(0, eq)}`);
      if (s.kind === 'boolean' || s.kind === 'count') {
        if (eq >= 0) throw new UsageError(`Option --${name} does not take a value`);
        set(name, undefined);
      } else if (eq >= 0) {
        set(name, a.slice(eq + 1));
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`Missing argument for --${name}`);
        set(name, argv[++i]);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const name = byShort.get(a[j]!);
        if (!name) throw new UsageError(`Unknown option -${a[j]}`);
        const s = specs[name]!;
        if (s.kind === 'boolean' || s.kind === 'count') {
          set(name, undefined);
          continue;
        }
        const rest = a.slice(j + 1);
        if (rest.length > 0) set(name, rest);
        else {
          if (i + 1 >= argv.length) throw new UsageError(`Missing argument for -${a[j]}`);
          set(name, argv[++i]);
        }
        break;
      }
      continue;
    }
    args.push(a);
    if (opts.stopAtFirstArg) {
      args.push(...argv.slice(i + 1));
      break;
    }
  }
  return { opts: out as ParsedOpts<S>, args };
}

export function formatOptions(specs: OptSpecs): string {
  const rows = Object.entries(specs).map(([name, s]) => {
    const flag = `${s.short ? `-${s.short}, ` : '    '}--${name}${s.kind === 'string' || s.kind === 'strings' ? `=${s.arg ?? 'VALUE'}` : ''}`;
    return [flag, s.help ?? ''] as const;
  });
  const w = Math.max(0, ...rows.map(([f]) => f.length));
  return rows.map(([f, h]) => `  ${f.padEnd(w)}  ${h}`.trimEnd()).join('\n');
}
