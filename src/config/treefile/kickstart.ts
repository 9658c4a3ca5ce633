import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { isErrno } from '../../errors.js';
import { ConfigError } from '../errors.js';

/**
 * The kickstart subset rpm-ostree accepts as a treefile (rust/src/kickstart.rs):
 * `%packages [--exclude-weakdeps]` … `%end` blocks (a leading `-` excludes),
 * `%include PATH` (relative to the top .ks file's directory), `#` comments.
 * Anything else is an error.
 */
export interface KickstartPackages {
  install: string[];
  excludes: string[];
  excludeWeakdeps: boolean;
}

const MAX_INCLUDES = 256;

/** Minimal POSIX shell word splitting (what the shlex crate does for these lines). */
function shellSplit(line: string): string[] | undefined {
  const out: string[] = [];
  let cur = '';
  let has = false;
  let q: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (q === "'") {
      if (c === "'") q = undefined;
      else cur += c;
    } else if (q === '"') {
      if (c === '"') q = undefined;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1]!)) cur += line[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      has = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else if (c === '#' && !has) break;
    else {
      cur += c;
      has = true;
    }
  }
  if (q) return undefined;
  if (has) out.push(cur);
  return out;
}

export function parseKickstartText(text: string, file: string): { includes: string[]; packages: KickstartPackages[] } {
  const lines = text.split('\n').map((l, i) => ({ l, n: i + 1 }));
  const includes: string[] = [];
  const packages: KickstartPackages[] = [];
  const next = () => {
    while (lines.length) {
      const x = lines.shift()!;
      if (x.l.startsWith('#')) continue;
      const t = x.l.trim();
      if (t) return { t, n: x.n };
    }
    return undefined;
  };
  for (let x = next(); x; x = next()) {
    const words = shellSplit(x.t);
    if (!words) throw new ConfigError(`${file}:${x.n}: Invalid syntax: ${x.t}`);
    if (words.length === 0) continue;
    const [verb, ...args] = words;
    if (verb === '%packages') {
      const p: KickstartPackages = { install: [], excludes: [], excludeWeakdeps: false };
      for (const a of args) {
        if (a === '--exclude-weakdeps') p.excludeWeakdeps = true;
        else throw new ConfigError(`${file}:${x.n}: %packages: unsupported argument '${a}' (only --exclude-weakdeps)`);
      }
      let ended = false;
      for (let y = next(); y; y = next()) {
        if (y.t === '%end') {
          ended = true;
          break;
        }
        if (y.t.startsWith('-')) p.excludes.push(y.t.slice(1));
        else p.install.push(y.t);
      }
      if (!ended) throw new ConfigError(`${file}:${x.n}: Missing %end for %packages`);
      packages.push(p);
    } else if (verb === '%include') {
      if (args.length === 0) throw new ConfigError(`${file}:${x.n}: Missing path for %include`);
      if (args.length > 1) throw new ConfigError(`${file}:${x.n}: Too many arguments for %include`);
      includes.push(args[0]!);
    } else throw new ConfigError(`${file}:${x.n}: Unhandled verb: ${verb}`);
  }
  return { includes, packages };
}

/** Read a .ks file and its %includes into the treefile keys it stands for. */
export function loadKickstart(file: string): { packages: string[]; 'exclude-packages': string[]; recommends?: false } {
  const base = dirname(file);
  const loaded = new Set<string>();
  const all: KickstartPackages[] = [];
  const recurse = (path: string, from?: string) => {
    let text: string;
    let id: string;
    try {
      const st = statSync(path);
      id = `${st.dev}:${st.ino}`;
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new ConfigError(`${from ?? path}: Opening ${path}: ${isErrno(e, 'ENOENT') ? 'not found' : (e as Error).message}`);
    }
    if (loaded.has(id)) throw new ConfigError(`${from ?? path}: Recursive include: ${path}`);
    loaded.add(id);
    if (loaded.size >= MAX_INCLUDES) throw new ConfigError(`${path}: more than ${MAX_INCLUDES} kickstart includes`);
    const ks = parseKickstartText(text, path);
    all.push(...ks.packages);
    for (const inc of ks.includes) recurse(join(base, inc), path);
  };
  recurse(file);
  const out: { packages: string[]; 'exclude-packages': string[]; recommends?: false } = {
    packages: all.flatMap((p) => p.install),
    'exclude-packages': all.flatMap((p) => p.excludes),
  };
  if (all.some((p) => p.excludeWeakdeps)) out.recommends = false;
  return out;
}
