import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { AlreadyExistsError, InvalidInputError, NotFoundError } from '../errors.js';
import { KeyFile } from '../util/keyfile.js';
import { writeFileAtomic } from '../util/fs.js';
import type { Repo } from './repo/repo.js';
import { validateRemoteName } from './repo/refs.js';

export interface RemoteConfig {
  name: string;
  url: string;
  options: Map<string, string>;
  /** File the remote is defined in (the repo config or a remotes.d file). */
  source: string;
}

const group = (name: string) => `remote "${name}"`;

/** Directories whose *.conf files define remotes too (as ostree's add-remotes-config-dir). */
function remotesDirs(repo: Repo, sysroot?: string): string[] {
  const dirs: string[] = [];
  if (sysroot) dirs.push(join(sysroot, 'etc', 'ostree', 'remotes.d'));
  return dirs;
}

export async function listRemotes(repo: Repo, sysroot?: string): Promise<RemoteConfig[]> {
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
  for (const d of remotesDirs(repo, sysroot)) {
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

export async function getRemote(repo: Repo, name: string): Promise<RemoteConfig> {
  const r = (await listRemotes(repo)).find((x) => x.name === name);
  if (!r) throw new NotFoundError(`Remote "${name}" not found`);
  return r;
}

export async function addRemote(repo: Repo, name: string, url: string, options: Map<string, string>, opts: { ifNotExists?: boolean } = {}): Promise<void> {
  validateRemoteName(name);
  if (!/^(https?|file):\/\//.test(url.replace(/^(mirrorlist|metalink)=/, '')) && !url.startsWith('file:')) throw new InvalidInputError(`Invalid URL '${url}'`);
  const unlock = await repo.lock('sh');
  try {
    await repo.reloadConfig();
    if (repo.config.hasGroup(group(name))) {
      if (opts.ifNotExists) return;
      throw new AlreadyExistsError(`Remote configuration for "${name}" already exists: ${join(repo.path, 'config')}`);
    }
    const kf = repo.config;
    kf.setString(group(name), 'url', url);
    for (const [k, v] of options) kf.setRaw(group(name), k, v);
    await repo.writeConfig(kf);
  } finally {
    unlock();
  }
}

export async function deleteRemote(repo: Repo, name: string, opts: { ifExists?: boolean } = {}): Promise<void> {
  const unlock = await repo.lock('sh');
  try {
    await repo.reloadConfig();
    if (!repo.config.removeGroup(group(name))) {
      if (opts.ifExists) return;
      throw new NotFoundError(`Remote "${name}" not found`);
    }
    await repo.writeConfig();
    await repo.deleteRemoteRefs(name);
    await fsp.rm(join(repo.path, `${name}.trustedkeys.gpg`), { force: true });
  } finally {
    unlock();
  }
}

export { writeFileAtomic };
