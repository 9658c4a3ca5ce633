import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { AlreadyExistsError, InvalidInputError, UsageError } from '../errors.js';
import { hostBasearch } from './arch.js';
import { git } from './builddir.js';
import { loadImageYaml } from './image.js';
import { parseIni, resolveGpgKey } from './repofile.js';
import { loadTreefile } from './treefile/load.js';

export interface NewConfigOptions {
  dir: string;
  /** Git URL or local path of the upstream config (fedora-coreos-config). */
  upstream: string;
  /** Upstream branch (a stream: stable, testing, testing-devel …). */
  branch?: string | undefined;
  /** Our ostree ref; its first component names our overlay (`overlay.d/99<name>`). */
  ref?: string | undefined;
  packages?: string[];
  /** Repo ids to enable; the upstream .repo file defining each is copied. */
  repos?: string[];
  remoteName?: string | undefined;
  remoteUrl?: string | undefined;
  /** ASCII-armored or binary GPG public key to ship for the remote. */
  gpgKey?: string | undefined;
  /** Directory for relative paths (the CLI's cwd). */
  cwd?: string;
}

export interface NewConfigResult {
  dir: string;
  submodule: string;
  ref: string;
  remote: string;
  overlay: string;
  notes: string[];
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * `config new`: every step of the Fedora CoreOS derivation recipe (upstream
 * README, itix-coreos-config, rhel-coreos-config) in one go.
 */
export function newConfig(o: NewConfigOptions): NewConfigResult {
  const cwd = o.cwd ?? process.cwd();
  const dir = resolve(cwd, o.dir);
  if (existsSync(dir)) {
    if (!statSync(dir).isDirectory()) throw new AlreadyExistsError(`${dir} exists and is not a directory`);
    if (readdirSync(dir).length > 0) throw new AlreadyExistsError(`${dir} is not empty; refusing to overwrite it (choose a new directory)`);
  }
  const upstream = existsSync(resolve(cwd, o.upstream)) ? resolve(cwd, o.upstream) : o.upstream;
  const branch = o.branch;
  // Default ref: <dir name>/${basearch}/coreos/<stream>, the stream being the branch we follow.
  const ref = o.ref ?? `${sanitize(basename(dir))}/\${basearch}/coreos/${branch ?? defaultBranch(upstream) ?? 'stable'}`;
  const name = ref.split('/')[0]!;
  if (!SAFE_NAME.test(name)) throw new UsageError(`--ref: first component '${name}' must be a plain name (letters, digits, . _ -)`);
  const remote = o.remoteName ?? name;
  if (!SAFE_NAME.test(remote)) throw new UsageError(`--remote-name: '${remote}' must be a plain name (letters, digits, . _ -)`);
  if (o.gpgKey && !o.remoteUrl) throw new UsageError('--gpg-key needs --remote-url');
  const gpgKey = o.gpgKey ? resolve(cwd, o.gpgKey) : undefined;
  if (gpgKey && !existsSync(gpgKey)) throw new InvalidInputError(`--gpg-key: ${gpgKey} does not exist`);
  for (const p of o.packages ?? []) if (!/^\S+$/.test(p)) throw new UsageError(`--package: '${p}' is not a package name`);
  const existed = existsSync(dir);
  try {
    return scaffold(dir, upstream, branch, ref, name, remote, gpgKey, o);
  } catch (e) {
    // Leave nothing half-made behind: the user can rerun the same command.
    for (const n of existsSync(dir) ? readdirSync(dir) : []) rmSync(join(dir, n), { recursive: true, force: true });
    if (!existed) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function scaffold(dir: string, upstream: string, branch: string | undefined, ref: string, name: string, remote: string, gpgKey: string | undefined, o: NewConfigOptions): NewConfigResult {
  const notes: string[] = [];
  mkdirSync(dir, { recursive: true });
  git(['init', '-q'], dir);
  const sub = sanitize(basename(upstream).replace(/\.git$/, '')) || 'fedora-coreos-config';
  git(['-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', ...(branch ? ['-b', branch] : []), upstream, sub], dir, `git submodule add ${upstream}`);
  const up = join(dir, sub);
  const link = (target: string, at: string) => symlinkSync(relative(resolve(dir, at, '..'), target), join(dir, at));

  // overlay.d: a link to each upstream overlay directory.
  mkdirSync(join(dir, 'overlay.d'), { recursive: true });
  const upOverlays = existsSync(join(up, 'overlay.d')) ? readdirSync(join(up, 'overlay.d')).sort() : [];
  for (const n of upOverlays) if (statSync(join(up, 'overlay.d', n)).isDirectory()) link(join(up, 'overlay.d', n), join('overlay.d', n));

  // Lockfiles and live/: links, so that updating the submodule updates them.
  for (const n of readdirSync(up).sort()) if (/^manifest-lock\..*\.(json|yaml)$/.test(n)) link(join(up, n), n);
  if (existsSync(join(up, 'live'))) link(join(up, 'live'), 'live');

  // Repos: the upstream's lockfile-repos (the pool) are linked; the repo files for the
  // upstream's `repos` and for each --repo are copied, because gpgcheck needs editing.
  const upManifest = loadTreefile(join(up, 'manifest.yaml'), { arch: hostBasearch() });
  const repoFiles = new Map<string, string>();
  for (const n of readdirSync(up).sort()) {
    if (!n.endsWith('.repo')) continue;
    for (const s of parseIni(readFileSync(join(up, n), 'utf8'), join(up, n))) if (!repoFiles.has(s.id)) repoFiles.set(s.id, n);
  }
  const fileFor = (id: string, flag: string) => {
    const f = repoFiles.get(id);
    if (!f) throw new InvalidInputError(`${flag}: no .repo file in ${upstream} defines [${id}] (available: ${[...repoFiles.keys()].join(', ')})`);
    return f;
  };
  const linked = new Set<string>();
  for (const id of upManifest.treefile['lockfile-repos'] ?? []) {
    const f = fileFor(id, 'upstream lockfile-repos');
    if (!linked.has(f)) link(join(up, f), f);
    linked.add(f);
  }
  const copied = new Set<string>();
  for (const id of [...(upManifest.treefile.repos ?? []), ...(o.repos ?? [])]) {
    const f = fileFor(id, (o.repos ?? []).includes(id) ? '--repo' : 'upstream repos');
    if (linked.has(f) || copied.has(f)) continue;
    copied.add(f);
    const { text, disabled } = gpgcheckOffUnlessShipped(readFileSync(join(up, f), 'utf8'), dir);
    writeFileSync(join(dir, f), text);
    if (disabled.length) notes.push(`${f}: gpgcheck turned off for ${disabled.join(', ')} (key not shipped in the config; add it and set gpgcheck=1)`);
  }

  // Our overlay: the remote definition (and its key).
  const overlay = `99${name}`;
  const odir = join(dir, 'overlay.d', overlay);
  if (o.remoteUrl) {
    const conf = [`[remote "${remote}"]`, `url=${o.remoteUrl}`, `gpg-verify=${gpgKey ? 'true' : 'false'}`];
    if (gpgKey) {
      const keyRel = `etc/pki/rpm-gpg/RPM-GPG-KEY-${remote}-ostree`;
      mkdirSync(join(odir, 'etc/pki/rpm-gpg'), { recursive: true });
      copyFileSync(gpgKey, join(odir, keyRel));
      conf.push(`gpgkeypath=/${keyRel}`);
    }
    mkdirSync(join(odir, 'etc/ostree/remotes.d'), { recursive: true });
    writeFileSync(join(odir, 'etc/ostree/remotes.d', `${remote}.conf`), conf.join('\n') + '\n');
  } else {
    // No placeholder file: whatever is in an overlay lands in the OS tree.
    notes.push(`no --remote-url: create overlay.d/${overlay}/etc/ostree/remotes.d/${remote}.conf and add overlay/${overlay} to ostree-layers before building (coreforge check reports it)`);
  }

  // image.yaml: a copy with our remote; an include points into the submodule.
  let upstreamRemote: string | undefined;
  if (existsSync(join(up, 'image.yaml'))) {
    upstreamRemote = loadImageYaml(join(up, 'image.yaml')).config['ostree-remote'];
    const doc = parseDocument(readFileSync(join(up, 'image.yaml'), 'utf8'));
    const inc = doc.get('include');
    if (typeof inc === 'string') doc.set('include', `${sub}/${inc}`);
    doc.set('ostree-remote', remote);
    writeFileSync(join(dir, 'image.yaml'), doc.toString());
  }

  // manifest.yaml
  const m: string[] = [
    `# Derived from ${upstream}${branch ? ` (branch ${branch})` : ''}, a git submodule in ${sub}/.`,
    `# Flatten it with: coreforge manifest --json`,
    `ref: ${JSON.stringify(ref)}`,
    `include: ${sub}/manifest.yaml`,
  ];
  const scalar = (v: string) => (/^[A-Za-z0-9_/][A-Za-z0-9._+/-]*$/.test(v) ? v : JSON.stringify(v));
  if (o.repos?.length) m.push('repos:', ...o.repos.map((r) => `  - ${scalar(r)}`));
  if (o.packages?.length) m.push('packages:', ...o.packages.map((p) => `  - ${scalar(p)}`));
  if (o.remoteUrl) m.push('ostree-layers:', `  - overlay/${overlay}`);
  if (upstreamRemote && upstreamRemote !== remote && upstreamRemote !== 'NONE') {
    m.push(
      'postprocess:',
      '  # Updates come from our remote, not the upstream one (shipped by the upstream packages).',
      '  - |',
      '    #!/usr/bin/env bash',
      '    set -xeuo pipefail',
      `    rm -f /etc/ostree/remotes.d/${upstreamRemote}.conf`,
    );
  }
  writeFileSync(join(dir, 'manifest.yaml'), m.join('\n') + '\n');

  git(['add', '-A'], dir);
  const hasIdent = spawnSync('git', ['config', '--get', 'user.email'], { cwd: dir, encoding: 'utf8' }).stdout.trim() !== '';
  const ident = hasIdent ? [] : ['-c', 'user.name=coreforge', '-c', 'user.email=coreforge@localhost'];
  git([...ident, 'commit', '-q', '-m', `Initial config derived from ${upstream}`], dir, 'git commit');
  return { dir, submodule: sub, ref, remote, overlay, notes };
}

function sanitize(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[-.]+/, '');
}

/**
 * Set gpgcheck=0 in each section whose gpgkey is not a file inside the
 * config (upstream keys are paths on the build host), keeping the rest of
 * the file byte for byte.
 */
export function gpgcheckOffUnlessShipped(text: string, configDir: string): { text: string; disabled: string[] } {
  const disabled: string[] = [];
  const sections = parseIni(text, 'repo');
  const lines = text.split('\n');
  for (const s of sections) {
    const keys = (s.keys.get('gpgkey')?.value ?? '').split(/[\s,]+/).filter(Boolean);
    const shipped = keys.length > 0 && keys.every((k) => {
      if (/^(https?|ftp):/.test(k)) return false;
      const p = resolveGpgKey(k, configDir);
      return !relative(configDir, p).startsWith('..') && existsSync(p);
    });
    const g = s.keys.get('gpgcheck');
    if (shipped || !g || !/^(1|yes|true|on)$/i.test(g.value)) continue;
    lines[g.line - 1] = `# coreforge: the key is not shipped in this config; was: ${lines[g.line - 1]}\ngpgcheck=0`;
    disabled.push(s.id);
  }
  return { text: lines.join('\n'), disabled };
}

/** The upstream's default branch (its HEAD), e.g. testing-devel for fedora-coreos-config. */
function defaultBranch(upstream: string): string | undefined {
  const r = spawnSync('git', ['ls-remote', '--symref', upstream, 'HEAD'], { encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  return /^ref: refs\/heads\/(\S+)\s+HEAD$/m.exec(r.stdout ?? '')?.[1];
}
