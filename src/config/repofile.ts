import { lstatSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { isErrno } from '../errors.js';
import { ConfigError } from './errors.js';
import type { RepoSource } from '../rpm/repo/source.js';

/**
 * One `[section]` of a dnf `.repo` file, with dnf's defaults applied and
 * `$vars` substituted: the RPM client's RepoSource (gpgkey as absolute paths
 * or URLs) plus where it was written.
 */
export interface RepoConfig extends RepoSource {
  name: string;
  /** The .repo file and line the section starts on. */
  file: string;
  line: number;
  /** Every key as written (after continuation lines are joined, before substitution). */
  raw: Record<string, string>;
}

export interface RepoVars {
  basearch: string;
  releasever?: string | number;
  /** Extra dnf vars (treefile `repovars`). */
  [name: string]: string | number | undefined;
}

interface RawSection {
  id: string;
  line: number;
  keys: Map<string, { value: string; line: number }>;
}

/** dnf's INI dialect: `#`/`;` comments, `[id]` sections, `key=value`, indented continuation lines. */
export function parseIni(text: string, file: string): RawSection[] {
  const sections: RawSection[] = [];
  let cur: RawSection | undefined;
  let last: { value: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((line, i) => {
    const n = i + 1;
    if (/^\s*[#;]/.test(line)) return;
    if (line.trim() === '') {
      last = undefined;
      return;
    }
    if (/^\s/.test(line) && last) {
      last.value += '\n' + line.trim();
      return;
    }
    const sec = /^\[([^\]]*)\]\s*$/.exec(line.trim());
    if (sec) {
      const id = sec[1]!.trim();
      if (!id || /[\s/]/.test(id)) throw new ConfigError(`${file}:${n}: invalid repository id '[${sec[1]}]'`);
      if (sections.some((s) => s.id === id)) throw new ConfigError(`${file}:${n}: repository [${id}] is defined twice in this file`);
      cur = { id, line: n, keys: new Map() };
      sections.push(cur);
      last = undefined;
      return;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw new ConfigError(`${file}:${n}: expected 'key=value' or '[repo-id]', got '${line.trim()}'`);
    if (!cur) throw new ConfigError(`${file}:${n}: '${line.trim()}' comes before any [repo-id] section`);
    const key = line.slice(0, eq).trim().toLowerCase();
    last = { value: line.slice(eq + 1).trim(), line: n };
    cur.keys.set(key, last);
  });
  return sections;
}

/** dnf substitutes `$name` and `${name}`; unknown variables are left alone. */
export function substituteRepoVars(s: string, vars: Record<string, string | number | undefined>): string {
  return s.replace(/\$(?:\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (m, a: string | undefined, b: string | undefined) => {
    const v = vars[(a ?? b)!];
    return v === undefined ? m : String(v);
  });
}

function parseBool(v: string, where: string): boolean {
  const s = v.trim().toLowerCase();
  if (['1', 'yes', 'true', 'on'].includes(s)) return true;
  if (['0', 'no', 'false', 'off'].includes(s)) return false;
  throw new ConfigError(`${where}: expected a boolean (1/0, yes/no, true/false, on/off), got '${v}'`);
}

function parseInt10(v: string, where: string): number {
  if (!/^-?\d+$/.test(v.trim())) throw new ConfigError(`${where}: expected an integer, got '${v}'`);
  return Number(v.trim());
}

const list = (v: string | undefined): string[] => (v ? v.split(/[\s,]+/).filter(Boolean) : []);

/**
 * Resolve a gpgkey entry: `file:///abs` stays absolute (a path on the build
 * host), `file://rel` and bare relative paths are relative to the config
 * directory, URLs are kept as they are.
 */
export function resolveGpgKey(entry: string, configDir: string): string {
  if (entry.startsWith('file://')) {
    const p = entry.slice('file://'.length);
    return isAbsolute(p) ? p : resolve(configDir, p);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(entry)) return entry;
  return isAbsolute(entry) ? entry : resolve(configDir, entry);
}

export function parseRepoFile(file: string, vars: RepoVars, configDir: string, text?: string): RepoConfig[] {
  let content = text;
  if (content === undefined) {
    try {
      content = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ConfigError(`${file}: cannot read repo file: ${isErrno(e, 'ENOENT') ? 'not found (broken symlink?)' : (e as Error).message}`);
    }
  }
  const release = vars.releasever === undefined ? undefined : String(vars.releasever);
  const allVars: Record<string, string | number | undefined> = {
    arch: vars.basearch,
    ...vars,
    ...(release !== undefined ? { releasever_major: release.split('.')[0], releasever_minor: release.split('.')[1] ?? '' } : {}),
  };
  return parseIni(content, file).map((sec) => {
    const get = (k: string) => sec.keys.get(k);
    const at = (k: string) => `${file}:${get(k)?.line ?? sec.line}: [${sec.id}] ${k}`;
    const val = (k: string) => {
      const e = get(k);
      return e === undefined ? undefined : substituteRepoVars(e.value, allVars);
    };
    const bool = (k: string, dflt: boolean) => (get(k) === undefined ? dflt : parseBool(val(k)!, at(k)));
    const int = (k: string, dflt: number) => (get(k) === undefined ? dflt : parseInt10(val(k)!, at(k)));
    const raw: Record<string, string> = {};
    for (const [k, v] of sec.keys) raw[k] = v.value;
    const repo: RepoConfig = {
      id: sec.id,
      name: val('name') ?? sec.id,
      baseurl: list(val('baseurl')),
      enabled: bool('enabled', true),
      gpgcheck: bool('gpgcheck', false),
      repoGpgcheck: bool('repo_gpgcheck', false),
      gpgkey: list(val('gpgkey')).map((k) => resolveGpgKey(k, configDir)),
      exclude: [...list(val('exclude')), ...list(val('excludepkgs'))],
      includepkgs: list(val('includepkgs')),
      skipIfUnavailable: bool('skip_if_unavailable', false),
      priority: int('priority', 99),
      cost: int('cost', 1000),
      file,
      line: sec.line,
      raw,
    };
    const mirrorlist = val('mirrorlist');
    if (mirrorlist) repo.mirrorlist = mirrorlist;
    const metalink = val('metalink');
    if (metalink) repo.metalink = metalink;
    return repo;
  });
}

export interface RepoDirEntry {
  file: string;
  /** True when the .repo is a symlink (cosa ≥ 2022-08 does not copy those). */
  symlink: boolean;
  repos: RepoConfig[];
}

/** Every `*.repo` directly in dir (rpm-ostree reads the top-level treefile's directory only). */
export function readRepoDir(dir: string, vars: RepoVars): RepoDirEntry[] {
  const out: RepoDirEntry[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.repo')) continue;
    const file = join(dir, name);
    const symlink = lstatSync(file).isSymbolicLink();
    out.push({ file, symlink, repos: parseRepoFile(file, vars, dir) });
  }
  const seen = new Map<string, string>();
  for (const e of out)
    for (const r of e.repos) {
      const prev = seen.get(r.id);
      if (prev) throw new ConfigError(`${e.file}:${r.line}: repository [${r.id}] is also defined in ${prev}`);
      seen.set(r.id, e.file);
    }
  return out;
}

export interface ResolvedRepos {
  /** Repos the compose uses: `repos` then `lockfile-repos`, each enabled. */
  repos: (RepoConfig & { lockfileRepo: boolean })[];
  files: RepoDirEntry[];
}

/**
 * rpm-ostree's rule: when the treefile names `repos`, every repo is disabled
 * and exactly those (plus `lockfile-repos`, when a lockfile is used) are
 * enabled; without `repos`, the enabled repos of the directory's files are used.
 */
export function resolveRepos(treefileDir: string, treefileFile: string, names: { repos?: string[]; lockfileRepos?: string[] }, vars: RepoVars): ResolvedRepos {
  const files = readRepoDir(treefileDir, vars);
  const byId = new Map(files.flatMap((f) => f.repos.map((r) => [r.id, r] as const)));
  const pick = (id: string, key: string, lockfileRepo: boolean) => {
    const r = byId.get(id);
    if (!r) {
      const known = [...byId.keys()];
      throw new ConfigError(
        `${treefileFile}: ${key}: repository '${id}' is not defined in any .repo file in ${treefileDir}` + (known.length ? ` (defined: ${known.join(', ')})` : ' (no .repo files there)'),
      );
    }
    return { ...r, enabled: true, lockfileRepo };
  };
  let repos: (RepoConfig & { lockfileRepo: boolean })[];
  if (names.repos !== undefined) repos = [...new Set(names.repos)].map((id) => pick(id, 'repos', false));
  else repos = [...byId.values()].filter((r) => r.enabled).map((r) => ({ ...r, lockfileRepo: false }));
  for (const id of names.lockfileRepos ?? []) if (!repos.some((r) => r.id === id)) repos.push(pick(id, 'lockfile-repos', true));
  for (const r of repos)
    if (r.baseurl.length === 0 && !r.mirrorlist && !r.metalink) throw new ConfigError(`${r.file}:${r.line}: [${r.id}] has none of baseurl, mirrorlist, metalink`);
  return { repos, files };
}
