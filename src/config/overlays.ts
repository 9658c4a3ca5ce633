import { lstatSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ConfigError } from './errors.js';
import { configEntryExists } from './links.js';

export interface StatOverride {
  /** `=` set the mode, `+` add bits, `-` remove bits (ostree commit --statoverride). */
  op: '=' | '+' | '-';
  mode: number;
  path: string;
}

export interface Overlay {
  /** Directory name in overlay.d, e.g. `05core`. */
  name: string;
  /** The ostree ref cosa commits it to, named in `ostree-layers`. */
  ref: string;
  /** overlay.d/<name> as found in the config. */
  path: string;
  /** Where the tree really is (symlinks followed). */
  realPath: string;
  symlink: boolean;
  statoverride: StatOverride[];
}

/** Parse an overlay's `statoverride` file (`=288 /etc/sudoers.d/x`, `#` comments). */
export function parseStatOverride(text: string, file: string): StatOverride[] {
  const out: StatOverride[] = [];
  text.split('\n').forEach((line, i) => {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) return;
    const m = /^([=+-])(\d+)\s+(\/.*)$/.exec(l);
    if (!m) throw new ConfigError(`${file}:${i + 1}: expected '=MODE /path' (MODE in decimal), got '${l}'`);
    out.push({ op: m[1] as StatOverride['op'], mode: Number(m[2]), path: m[3]! });
  });
  return out;
}

/**
 * overlay.d entries in name order (cosa commits each directory as
 * `overlay/<name>`). Symlinked directories are followed; a symlink whose
 * target is missing is an error; plain files (README.md) are skipped.
 */
export function listOverlays(configDir: string): Overlay[] {
  const dir = join(configDir, 'overlay.d');
  if (!configEntryExists(dir, 'overlay.d')) return [];
  if (!statSync(dir).isDirectory()) throw new ConfigError(`${dir}: overlay.d must be a directory (of overlay directories such as 05core)`);
  const out: Overlay[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const l = lstatSync(path);
    configEntryExists(path, relative(configDir, path) || path);
    const realPath = l.isSymbolicLink() ? realpathSync(path) : path;
    if (!statSync(realPath).isDirectory()) continue;
    const so = join(realPath, 'statoverride');
    let statoverride: StatOverride[] = [];
    if (configEntryExists(so, `overlay.d/${name}/statoverride`)) {
      if (!statSync(so).isFile()) throw new ConfigError(`overlay.d/${name}/statoverride: expected a file of '=MODE /path' lines, found a directory`);
      statoverride = parseStatOverride(readFileSync(so, 'utf8'), so);
    }
    out.push({ name, ref: `overlay/${name}`, path, realPath, symlink: l.isSymbolicLink(), statoverride });
  }
  return out;
}

/** Every file under dir (relative paths, sorted), symlinks followed at the top only. */
export function listTree(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      const r = rel ? `${rel}/${n}` : n;
      if (lstatSync(p).isDirectory()) walk(p, r);
      else out.push(r);
    }
  };
  walk(dir, '');
  return out;
}
