/**
 * Treefile postprocessing of a composed rootfs, in rpm-ostree's order
 * (composepost.rs compose_postprocess):
 *
 *   etc → usr/etc; [rpmdb hook]; units; default-target; state overlays
 *   (opt-usrlocal: state-overlay); usr/share/rpm-ostree/treefile.json;
 *   then with the temporary /etc in place: mutate-os-release, remove-files,
 *   add-files; remove-from-packages (rpm-ostree filters these at checkout;
 *   see removeFromPackages); the inline `postprocess` scripts in order, then
 *   `postprocess-script`, each copied into /usr/bin, run and removed.
 *
 * Every edit replaces directory entries (new file + rename); nothing is
 * written through a hardlink into the pkgcache.
 */
import { promises as fsp } from 'node:fs';
import { dirname, join } from 'node:path';
import { CoreforgeError, InvalidInputError, NotFoundError } from '../errors.js';
import type { LoadedTreefile } from '../config/treefile/types.js';
import type { ComposePackage, FileMetaMap } from './types.js';
import { checkRelPath, ensureDir, lstatOrNull, replaceFile, replaceSymlink, replaceWithCopy, resolveInRoot, rmrf } from './postprocess-fs.js';

/** Runs `scriptPath` (a path inside the root, e.g. /usr/bin/x) in the sandbox with the rootfs as `/`. */
export type RunScript = (scriptPath: string, label: string) => Promise<void>;

export interface PostprocessContext {
  treefile: LoadedTreefile;
  /** The version of the commit being built ('' = none: mutate-os-release is skipped, as rpm-ostree). */
  version: string;
  runScript: RunScript;
  /**
   * The compose's packages, for `remove-from-packages`. Leave it out when the
   * lead already called removeFromPackages right after assembling (where
   * rpm-ostree applies it, before the scriptlets).
   */
  packages?: ComposePackage[];
  /** FileMeta overrides; entries of removed paths are dropped. */
  meta?: FileMetaMap;
  hooks?: {
    /** rpm-ostree's compose_postprocess_rpmdb + rpm macro point (var/lib/rpm link, macros.rpm-ostree). */
    rpmdb?: (rootfs: string) => Promise<void>;
  };
  log?: (msg: string) => void;
}

/** usr/share/rpm-ostree/treefile.json (treefile.rs COMPOSE_JSON_PATH). */
export const COMPOSE_JSON_PATH = 'usr/share/rpm-ostree/treefile.json';

export async function postprocess(rootfs: string, ctx: PostprocessContext): Promise<void> {
  const log = ctx.log ?? (() => {});
  const tf = ctx.treefile.treefile;
  await moveEtcToUsrEtc(rootfs);
  if (ctx.hooks?.rpmdb) await ctx.hooks.rpmdb(rootfs);
  await postprocessUnits(rootfs, tf.units ?? [], log);
  if (tf['default-target'] !== undefined) await postprocessDefaultTarget(rootfs, tf['default-target']);
  if (tf['opt-usrlocal'] === 'state-overlay') await postprocessStateOverlays(rootfs);
  await writeComposeJson(rootfs, ctx.treefile);
  await withTempEtc(rootfs, async () => {
    if (tf['mutate-os-release'] !== undefined) await mutateOsRelease(rootfs, tf['mutate-os-release'], ctx.version, log);
    await removeFiles(rootfs, tf['remove-files'] ?? [], log);
    await addFiles(rootfs, ctx.treefile, log);
  });
  if (ctx.packages) await removeFromPackages(rootfs, tf['remove-from-packages'] ?? [], ctx.packages, { meta: ctx.meta, log });
  await runPostprocessScripts(rootfs, ctx.treefile, ctx.runScript, log);
}

/** rename etc → usr/etc (compose_postprocess's first step); an empty leftover usr/etc is replaced. */
export async function moveEtcToUsrEtc(rootfs: string): Promise<void> {
  const etc = join(rootfs, 'etc');
  if (!(await lstatOrNull(etc))) return;
  await ensureDir(join(rootfs, 'usr'));
  try {
    await fsp.rename(etc, join(rootfs, 'usr/etc'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') throw new InvalidInputError(`${rootfs}: both /etc and /usr/etc hold files; cannot move /etc to /usr/etc`);
    throw e;
  }
}

/**
 * rpm-ostree's temporary /etc (core.rs prepare_tempetc_guard): while `fn`
 * runs, usr/etc is at etc and usr/etc is a symlink to ../etc, so both paths
 * work for treefile paths and scripts. Restored even when `fn` throws.
 */
export async function withTempEtc<T>(rootfs: string, fn: () => Promise<T>): Promise<T> {
  const etc = join(rootfs, 'etc');
  const usrEtc = join(rootfs, 'usr/etc');
  const renamed = !(await lstatOrNull(etc)) && !!(await lstatOrNull(usrEtc))?.isDirectory();
  if (renamed) {
    await fsp.rename(usrEtc, etc);
    await fsp.symlink('../etc', usrEtc);
  }
  try {
    return await fn();
  } finally {
    if (renamed) {
      const st = await lstatOrNull(usrEtc);
      if (st?.isSymbolicLink()) await fsp.unlink(usrEtc);
      else if (st) throw new CoreforgeError('ECONFLICT', `${rootfs}: /usr/etc was replaced while /etc was in place; cannot move /etc back`);
      if (await lstatOrNull(etc)) await fsp.rename(etc, usrEtc);
    }
  }
}

/** `units`: usr/etc/systemd/system/multi-user.target.wants/UNIT → /usr/lib/systemd/system/UNIT, existing entries kept. */
export async function postprocessUnits(rootfs: string, units: string[], log: (m: string) => void = () => {}): Promise<void> {
  if (units.length === 0) return;
  if (!(await lstatOrNull(join(rootfs, 'usr/etc')))) throw new InvalidInputError(`Handling treefile 'units': Missing usr/etc in rootfs`);
  const wants = join(rootfs, 'usr/etc/systemd/system/multi-user.target.wants');
  await ensureDir(wants);
  for (const unit of units) {
    if (unit.includes('/') || unit === '' || unit === '.' || unit === '..') throw new InvalidInputError(`units: invalid unit name '${unit}'`);
    const dest = join(wants, unit);
    if (await lstatOrNull(dest)) continue;
    log(`Adding ${unit} to multi-user.target.wants`);
    await fsp.symlink(`/usr/lib/systemd/system/${unit}`, dest);
  }
}

/** `default-target`: usr/lib/systemd/system/default.target → TARGET. */
export async function postprocessDefaultTarget(rootfs: string, target: string): Promise<void> {
  const dir = join(rootfs, 'usr/lib/systemd/system');
  if (!(await lstatOrNull(dir))?.isDirectory()) throw new NotFoundError(`Handling treefile 'default-target': /usr/lib/systemd/system does not exist in the tree (is systemd installed?)`);
  await replaceSymlink(target, join(dir, 'default.target'));
}

/** opt-usrlocal: state-overlay enables ostree-state-overlay@ for /usr/lib/opt and /usr/local. */
export async function postprocessStateOverlays(rootfs: string): Promise<void> {
  const req = join(rootfs, 'usr/lib/systemd/system/local-fs.target.requires');
  await ensureDir(req);
  for (const unit of ['ostree-state-overlay@usr-lib-opt.service', 'ostree-state-overlay@usr-local.service']) {
    await replaceSymlink(`../${unit}`, join(req, unit));
  }
}

/** The flattened treefile as JSON, as `coreforge manifest --json` prints it (serde_json pretty, no final newline). */
export async function writeComposeJson(rootfs: string, t: LoadedTreefile): Promise<void> {
  const dest = join(rootfs, COMPOSE_JSON_PATH);
  await ensureDir(dirname(dest));
  await replaceFile(dest, JSON.stringify(t.treefile, null, 2), 0o644);
}

/** g_shell_quote: single quotes, with ' written as '\''. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * composepost.rs mutate_os_release_contents: empty lines dropped; in VERSION=
 * and PRETTY_NAME= every occurrence of the base version becomes the commit
 * version; OSTREE_VERSION='version' appended.
 */
export function mutateOsReleaseContents(contents: string, baseVersion: string, nextVersion: string): string {
  let out = '';
  for (const line of contents.split('\n')) {
    if (line === '') continue;
    const prefix = ['VERSION=', 'PRETTY_NAME='].find((p) => line.startsWith(p));
    out += prefix ? prefix + line.slice(prefix.length).split(baseVersion).join(nextVersion) : line;
    out += '\n';
  }
  return `${out}OSTREE_VERSION=${shellQuote(nextVersion)}\n`;
}

/** `mutate-os-release`: rewrite the file /etc/os-release resolves to (usually /usr/lib/os-release). Call with the temporary /etc in place. */
export async function mutateOsRelease(rootfs: string, baseVersion: string, nextVersion: string, log: (m: string) => void = () => {}): Promise<void> {
  if (nextVersion === '') {
    log('Ignoring mutate-os-release: no commit version specified.');
    return;
  }
  let path = await resolveInRoot(rootfs, 'etc/os-release', true);
  let st = await lstatOrNull(path);
  if (!st) {
    path = join(rootfs, 'etc/os-release');
    st = await lstatOrNull(path);
  }
  if (!st?.isFile()) throw new NotFoundError(`mutate-os-release: /etc/os-release not found in the tree (is the release package installed?)`);
  log(`Updating ${path.slice(rootfs.length + 1)}`);
  const text = await fsp.readFile(path, 'utf8');
  await replaceFile(path, mutateOsReleaseContents(text, baseVersion, nextVersion), st.mode & 0o7777);
}

/** `remove-files`: relative paths (no leading /, no ..), removed recursively if present. Call with the temporary /etc in place. */
export async function removeFiles(rootfs: string, names: string[], log: (m: string) => void = () => {}): Promise<void> {
  for (const name of names) {
    const rel = checkRelPath(name, 'remove-files');
    log(`Deleting: ${name}`);
    await rmrf(await resolveInRoot(rootfs, rel, false));
  }
}

/** `add-files`: source relative to the declaring treefile, mode kept; etc/… goes to usr/etc/…. Call with the temporary /etc in place. */
export async function addFiles(rootfs: string, t: LoadedTreefile, log: (m: string) => void = () => {}): Promise<void> {
  for (const a of t.externals.addFiles) {
    let rel = a.dest.replace(/^\/+/, '');
    if (rel === '') throw new InvalidInputError(`add-files: invalid destination: ${a.dest}`);
    if (rel.startsWith('etc/')) rel = `usr/${rel}`;
    checkRelPath(rel, 'add-files');
    log(`Adding file ${rel}`);
    const parent = await resolveInRoot(rootfs, dirname(rel), true);
    await ensureDir(parent);
    const dest = join(parent, rel.slice(rel.lastIndexOf('/') + 1));
    if ((await lstatOrNull(dest))?.isDirectory()) throw new InvalidInputError(`add-files: ${a.dest} is a directory in the tree`);
    let st;
    try {
      st = await fsp.stat(a.src);
    } catch (e) {
      throw new NotFoundError(`add-files: ${a.src}: ${(e as Error).message}`);
    }
    await replaceWithCopy(a.src, dest, st.mode & 0o7777);
  }
}

/** The path a package file has in the pkgcache commit (rpm-ostree's importer puts /etc under /usr/etc). */
function pkgcachePath(p: string): string {
  return p === '/etc' || p.startsWith('/etc/') ? `/usr${p}` : p;
}

function compileRegex(pattern: string, pkg: string): RegExp {
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new InvalidInputError(`remove-from-packages: ${pkg}: invalid regex '${pattern}': ${(e as Error).message}`);
  }
}

/**
 * `remove-from-packages`: rpm-ostree skips, while checking a package out,
 * every path of its commit (/etc as /usr/etc) that one of the regexes matches
 * (unanchored, JavaScript syntax), with everything under a skipped directory.
 * Applied afterwards: a skipped path goes unless another package also lays it
 * down; skipped directories go only when empty.
 */
export async function removeFromPackages(rootfs: string, rules: [string, ...string[]][], packages: ComposePackage[], opts: { meta?: FileMetaMap; log?: (m: string) => void } = {}): Promise<string[]> {
  if (rules.length === 0) return [];
  const byName = new Map<string, RegExp[]>();
  for (const [pkg, ...res] of rules) byName.set(pkg, [...(byName.get(pkg) ?? []), ...res.map((r) => compileRegex(r, pkg))]);
  const skipped = new Map<string, { dir: boolean }>();
  const keptBy = new Set<string>();
  for (const p of packages) {
    const regexes = byName.get(p.name);
    const files = p.header.files;
    const dirs = new Set<string>();
    for (const f of files) {
      const path = pkgcachePath(f.path);
      if (f.type === 'dir') dirs.add(path);
      let skip = false;
      if (regexes) {
        // The checkout filter sees every ancestor directory first; a skipped one hides its subtree.
        const parts = path.split('/').filter(Boolean);
        for (let i = 1; i <= parts.length && !skip; i++) {
          const prefix = '/' + parts.slice(0, i).join('/');
          if (regexes.some((r) => r.test(prefix))) skip = true;
        }
      }
      if (skip) skipped.set(path, { dir: f.type === 'dir' });
      else keptBy.add(path);
    }
  }
  const removed: string[] = [];
  // Deepest first, so directories are emptied before they are considered.
  const order = [...skipped.keys()].filter((p) => !keptBy.has(p)).sort((a, b) => b.split('/').length - a.split('/').length || (a < b ? -1 : 1));
  for (const path of order) {
    const host = await resolveInRoot(rootfs, path.slice(1), false);
    const st = await lstatOrNull(host);
    if (!st) continue;
    if (st.isDirectory()) {
      try {
        await fsp.rmdir(host);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOTEMPTY' || code === 'EEXIST') continue;
        throw e;
      }
    } else {
      await fsp.unlink(host);
    }
    opts.log?.(`Skipping file ${path} from checkout`);
    opts.meta?.delete(path);
    removed.push(path);
  }
  return removed;
}

/**
 * compose_postprocess_scripts: each inline `postprocess` script is written to
 * /usr/bin/rpmostree-postprocess-inline-N (0755), run, removed; then
 * `postprocess-script` as /usr/bin/rpmostree-treefile-postprocess-script.
 * The temporary /etc is in place while each runs (bubblewrap_run_sync).
 */
export async function runPostprocessScripts(rootfs: string, t: LoadedTreefile, runScript: RunScript, log: (m: string) => void = () => {}): Promise<void> {
  await ensureDir(join(rootfs, 'usr/bin'));
  const run = async (inRoot: string, write: (dest: string) => Promise<void>, label: string) => {
    const host = join(rootfs, inRoot.slice(1));
    await write(host);
    try {
      await withTempEtc(rootfs, () => runScript(inRoot, label));
    } finally {
      await rmrf(host);
    }
  };
  const inline = t.treefile.postprocess ?? [];
  for (const [i, script] of inline.entries()) {
    log(`Executing \`postprocess\` inline script '${i}'`);
    await run(`/usr/bin/rpmostree-postprocess-inline-${i}`, (d) => replaceFile(d, script, 0o755), `postprocess inline script ${i}`);
  }
  const ps = t.externals.postprocessScript;
  if (ps) {
    log('Executing postprocessing script');
    await run('/usr/bin/rpmostree-treefile-postprocess-script', (d) => replaceWithCopy(ps, d, 0o755), `postprocess-script ${ps}`);
  }
}
