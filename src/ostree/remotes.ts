import { promises as fsp } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { AlreadyExistsError, NotFoundError } from '../errors.js';
import { KeyFile } from '../util/keyfile.js';
import { Repo } from './repo/repo.js';
import { validateRemoteName } from './repo/refs.js';

export interface RemoteConfig {
  name: string;
  url: string;
  options: Map<string, string>;
  /** File the remote is defined in (the repo config or a remotes.d file). */
  source: string;
}

/** A remote option value as ostree's keyfile_set_from_vardict writes it. */
export type RemoteOptionValue = string | boolean | readonly string[];

const group = (name: string) => `remote "${name}"`;

/** Directories whose *.conf files define remotes too (as ostree's add-remotes-config-dir). */
function remotesDirs(sysroot?: string): string[] {
  const dirs: string[] = [];
  if (sysroot) dirs.push(join(sysroot, 'etc', 'ostree', 'remotes.d'));
  return dirs;
}

/** The repository named by `core.parent`, whose remotes (and refs) this one inherits. */
export async function openParentRepo(repo: Repo): Promise<Repo | null> {
  const p = repo.config.getString('core', 'parent');
  if (!p) return null;
  return Repo.open(isAbsolute(p) ? p : resolve(repo.path, p));
}

/** Remotes defined by this repository itself (config and remotes.d), in definition order. */
export async function listOwnRemotes(repo: Repo, sysroot?: string): Promise<RemoteConfig[]> {
  const out: RemoteConfig[] = [];
  const add = (kf: KeyFile, source: string) => {
    for (const g of kf.groupNames()) {
      const m = /^remote "(.+)"$/.exec(g);
      if (!m) continue;
      const options = new Map<string, string>();
      for (const k of kf.keys(g)) options.set(k, kf.getString(g, k)!);
      out.push({ name: m[1]!, url: options.get('url') ?? '', options, source });
    }
  };
  add(repo.config, join(repo.path, 'config'));
  for (const d of remotesDirs(sysroot)) {
    let names: string[] = [];
    try {
      names = (await fsp.readdir(d)).filter((n) => n.endsWith('.conf')).sort();
    } catch {
      continue;
    }
    for (const n of names) add(KeyFile.parse(await fsp.readFile(join(d, n), 'utf8'), join(d, n)), join(d, n));
  }
  return out;
}

/** All remotes, including those inherited from parent repositories, sorted by name (ostree_repo_remote_list). */
export async function listRemotes(repo: Repo, sysroot?: string): Promise<RemoteConfig[]> {
  const byName = new Map<string, RemoteConfig>();
  const seen = new Set<string>();
  for (let r: Repo | null = repo; r && !seen.has(r.path); r = await openParentRepo(r)) {
    seen.add(r.path);
    for (const rc of await listOwnRemotes(r, r === repo ? sysroot : undefined)) if (!byName.has(rc.name)) byName.set(rc.name, rc);
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** A remote by name, looking in parent repositories too (_ostree_repo_get_remote_inherited). */
export async function getRemote(repo: Repo, name: string): Promise<RemoteConfig> {
  const r = (await listRemotes(repo)).find((x) => x.name === name);
  if (!r) throw new NotFoundError(`Remote "${name}" not found`);
  return r;
}

function setOptions(kf: KeyFile, name: string, url: string | null, options: ReadonlyArray<[string, RemoteOptionValue]>): void {
  const g = group(name);
  if (url !== null) {
    if (url.startsWith('metalink=')) kf.setString(g, 'metalink', url.slice('metalink='.length));
    else kf.setString(g, 'url', url);
  }
  for (const [k, v] of options) {
    if (typeof v === 'string') kf.setString(g, k, v);
    else if (typeof v === 'boolean') kf.setBoolean(g, k, v);
    else kf.setList(g, k, v);
  }
}

/**
 * Add (or with `replace`, redefine) a remote in the repository config, as
 * ostree_repo_remote_change does. Like ostree, the URL is not validated here.
 */
export async function addRemote(
  repo: Repo,
  name: string,
  url: string | null,
  options: ReadonlyArray<[string, RemoteOptionValue]>,
  opts: { ifNotExists?: boolean; replace?: boolean } = {},
): Promise<void> {
  validateRemoteName(name);
  const unlock = await repo.lock('sh');
  try {
    await repo.reloadConfig();
    const existing = (await listOwnRemotes(repo)).find((r) => r.name === name);
    if (existing && !opts.replace) {
      if (opts.ifNotExists) return;
      throw new AlreadyExistsError(`Remote configuration for "${name}" already exists: ${existing.source}`);
    }
    const kf = repo.config;
    kf.removeGroup(group(name));
    setOptions(kf, name, url, options);
    await repo.writeConfig(kf);
  } finally {
    unlock();
  }
}

/** Remove a remote's configuration and keyring; its refs under refs/remotes stay, as with ostree. */
export async function deleteRemote(repo: Repo, name: string, opts: { ifExists?: boolean } = {}): Promise<void> {
  validateRemoteName(name);
  const unlock = await repo.lock('sh');
  try {
    await repo.reloadConfig();
    if (!repo.config.removeGroup(group(name))) {
      if (opts.ifExists) return;
      throw new NotFoundError(`Remote "${name}" not found`);
    }
    await repo.writeConfig();
    await fsp.rm(join(repo.path, `${name}.trustedkeys.gpg`), { force: true });
  } finally {
    unlock();
  }
}

