import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { AlreadyExistsError, CoreforgeError, InvalidInputError, NotFoundError } from '../errors.js';

/** Environment variables that point every command at a local config checkout. */
export const CONFIG_ENV = ['COREFORGE_CONFIG_GIT', 'COREOS_ASSEMBLER_CONFIG_GIT'] as const;

/**
 * Which config a command uses: --config, else $COREFORGE_CONFIG_GIT, else
 * $COREOS_ASSEMBLER_CONFIG_GIT (cosa's name, so cosa users' scripts work),
 * else src/config of the build directory, else the current directory when it
 * holds a manifest.
 */
export function resolveConfigDir(opts: { config?: string | undefined; cwd: string; env: NodeJS.ProcessEnv }): string {
  if (opts.config) return must(resolve(opts.cwd, opts.config), '--config');
  for (const k of CONFIG_ENV) {
    const v = opts.env[k];
    if (v) return must(resolve(opts.cwd, v), `$${k}`);
  }
  const src = join(opts.cwd, 'src', 'config');
  if (existsSync(src)) return src;
  if (hasManifest(opts.cwd)) return opts.cwd;
  throw new NotFoundError(`no config found in ${opts.cwd}: run 'coreforge init CONFIG_GIT' in an empty build directory, or pass --config DIR`);
}

function must(dir: string, from: string): string {
  if (!existsSync(dir)) throw new NotFoundError(`${from}: config directory ${dir} does not exist`);
  // A build directory given where a config is expected: use its src/config.
  if (!hasManifest(dir) && hasManifest(join(dir, 'src', 'config'))) return join(dir, 'src', 'config');
  return dir;
}

function hasManifest(dir: string): boolean {
  return ['manifest.yaml', 'manifest.yml', 'manifest.json'].some((n) => existsSync(join(dir, n)));
}

export function git(args: string[], cwd: string, what?: string): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
  if (r.error) throw new CoreforgeError('EIO', `git: ${r.error.message}`);
  if (r.status !== 0) throw new CoreforgeError('EIO', `${what ?? `git ${args.join(' ')}`} failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  return r.stdout;
}

/** True when dir is inside a git work tree (cosa refuses such build dirs). */
export function insideGitWorkTree(dir: string): boolean {
  const r = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: dir, encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === 'true';
}

export interface InitOptions {
  dir: string;
  source: string;
  branch?: string | undefined;
  force?: boolean;
  /** Subdirectory of the repository holding manifest.yaml (cosa init's SUBDIR). */
  subdir?: string | undefined;
  /** $COREFORGE_CONFIG_GIT / $COREOS_ASSEMBLER_CONFIG_GIT: a local config used instead of a clone. */
  env?: NodeJS.ProcessEnv;
}

/** The local config an environment variable names, if any: [variable, absolute dir]. */
export function configFromEnv(env: NodeJS.ProcessEnv, cwd: string): [string, string] | undefined {
  for (const k of CONFIG_ENV) if (env[k]) return [k, resolve(cwd, env[k])];
  return undefined;
}

/**
 * `cosa init`: in an empty directory (or with force), clone the config with
 * its submodules to src/config and create builds/, cache/, tmp/ and
 * overrides/{rpm,rootfs}.
 */
export function initBuildDir(opts: InitOptions): { configDir: string } {
  const dir = resolve(opts.dir);
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  if (insideGitWorkTree(dir)) throw new InvalidInputError(`${dir} is inside a git work tree; create the build directory somewhere else (e.g. mkdir ~/build && cd ~/build)`);
  const entries = readdirSync(dir).filter((n) => !n.startsWith('.'));
  if (entries.length > 0 && !opts.force) throw new AlreadyExistsError(`${dir} is not empty (${entries.slice(0, 3).join(', ')}…); use an empty directory or --force`);
  const configDir = join(dir, 'src', 'config');
  const fromEnv = configFromEnv(opts.env ?? {}, dir);
  if (existsSync(configDir)) {
    if (!opts.force) throw new AlreadyExistsError(`${configDir} already exists; use --force to keep it`);
  } else if (fromEnv) {
    // cosa's recipe for hacking on a local config: export COREOS_ASSEMBLER_CONFIG_GIT=DIR; cosa init --force /dev/null.
    // cosa mounts DIR at src/config; a link does the same and keeps working without the variable.
    const [k, local] = fromEnv;
    for (const n of ['manifest.yaml', 'image.yaml'])
      if (!existsSync(join(local, n))) throw new NotFoundError(`$${k}: no ${n} in ${local}; is it a config repository?`);
    mkdirSync(dirname(configDir), { recursive: true });
    symlinkSync(local, configDir);
  } else {
    mkdirSync(dirname(configDir), { recursive: true });
    const local = existsSync(resolve(dir, opts.source)) ? resolve(dir, opts.source) : opts.source;
    const cloneTo = opts.subdir ? join(dir, 'src', 'config-git') : configDir;
    // Local upstreams: submodules that point at file paths need protocol.file.allow.
    // Remote configs are cloned shallow, as cosa does; local paths in full (git ignores --depth there).
    const shallow = local === opts.source && !existsSync(local) ? ['--depth=1', '--shallow-submodules'] : [];
    git(['-c', 'protocol.file.allow=always', 'clone', ...shallow, '--recurse-submodules', ...(opts.branch ? ['--branch', opts.branch] : []), local, cloneTo], dir, `git clone ${local}`);
    if (opts.subdir) symlinkSync(join('config-git', opts.subdir), configDir);
    // cosa init needs both (cmd-init: "Missing required manifest.yaml or image.yaml files").
    for (const n of ['manifest.yaml', 'image.yaml'])
      if (!existsSync(join(configDir, n)))
        throw new NotFoundError(`${configDir}: no ${n} in the cloned config${opts.subdir ? ` subdirectory ${opts.subdir}` : ''}; is ${opts.source} a config repository?`);
  }
  for (const d of ['builds', 'cache', 'tmp', 'overrides/rpm', 'overrides/rootfs']) mkdirSync(join(dir, d), { recursive: true });
  return { configDir };
}
