/**
 * The OSTree conventions rpm-ostree enforces on a rootfs before committing it:
 *
 *  - prepareRootfs (composepost.rs compose_prepare_rootfs): a fresh root with
 *    dev proc run sys var sysroot, /tmp (dir with tmp-is-dir, else
 *    sysroot/tmp link), home → var/home, root → var/roothome, ostree →
 *    sysroot/ostree, srv/mnt/media/opt links; then usr, boot, var and the
 *    toplevel compat links (lib lib64 lib32 bin sbin) are moved over and
 *    everything else is dropped.
 *  - finalizeRootfs (rpmostree-postprocess.cxx postprocess_final): useradd
 *    HOME, overlayfs whiteouts/devices, nsswitch altfiles, usr/local and
 *    var/lib compat links, /var → tmpfiles.d, rpm-ostree-0-integration*.conf,
 *    kernel + initramfs (kernel.ts). passwd, rpmdb and SELinux steps are
 *    hooks called at rpm-ostree's points.
 */
import { PasswdDb } from './passwd.js';
import { promises as fsp, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, UnsupportedError, isErrno } from '../errors.js';
import type { LoadedTreefile, Treefile } from '../config/treefile/types.js';
import type { FileMetaMap } from './types.js';
import { processKernel, type KernelContext, type KernelResult } from './kernel.js';
import { ensureDir, lstatOrNull, replaceFile, resolveInRoot, rmrf } from './postprocess-fs.js';

type Log = (m: string) => void;

async function symlinkNew(target: string, path: string): Promise<void> {
  try {
    await fsp.symlink(target, path);
  } catch (e) {
    if (isErrno(e, 'EEXIST')) throw new InvalidInputError(`Creating ${path}: File exists`);
    throw e;
  }
}

async function moveIfExists(src: string, dest: string, name: string): Promise<void> {
  if (!(await lstatOrNull(join(src, name)))) return;
  await fsp.rename(join(src, name), join(dest, name));
}

/**
 * compose_prepare_rootfs for a non-transient root: build `target` (an empty
 * directory) from `src`. Inodes are moved, not copied (the devino cache stays
 * valid). `src` keeps whatever was not taken; the caller removes it.
 */
export async function prepareRootfs(src: string, target: string, tf: Treefile, log: Log = () => {}): Promise<void> {
  const tmpIsDir = tf['tmp-is-dir'] ?? false;
  if (await transientRootEnabled(src)) {
    if (!tmpIsDir) throw new InvalidInputError('Transient root conflicts with tmp-is-dir: false');
    for (const name of await fsp.readdir(src)) await fsp.rename(join(src, name), join(target, name));
    await initRootfsBase(target, true);
    for (const d of ['opt', 'media', 'mnt', 'usr/local']) {
      const st = await lstatOrNull(join(target, d));
      if (st && !st.isDirectory()) await fsp.unlink(join(target, d));
      await ensureDir(join(target, d));
    }
    return;
  }
  log('Initializing rootfs');
  await initRootfsBase(target, tmpIsDir);
  const optUsrlocal = tf['opt-usrlocal'] ?? 'var';
  const links: [string, string][] = [
    ['var/srv', 'srv'],
    ['var/mnt', 'mnt'],
    ['run/media', 'media'],
  ];
  if (optUsrlocal === 'var') links.push(['var/opt', 'opt']);
  else if (optUsrlocal === 'state-overlay') links.push(['usr/lib/opt', 'opt']);
  else await ensureDir(join(target, 'opt'));
  for (const [dest, name] of links) await symlinkNew(dest, join(target, name));
  if (!(await lstatOrNull(join(src, 'usr')))?.isDirectory()) throw new InvalidInputError(`${src}: the composed tree has no /usr`);
  await fsp.rename(join(src, 'usr'), join(target, 'usr'));
  // The kernel may be in /boot; kernel processing handles it in the target.
  await moveIfExists(src, target, 'boot');
  // /var is converted to tmpfiles.d later.
  if ((await lstatOrNull(join(src, 'var')))?.isDirectory()) {
    await fsp.rmdir(join(target, 'var'));
    await fsp.rename(join(src, 'var'), join(target, 'var'));
  }
  for (const l of ['lib', 'lib64', 'lib32', 'bin', 'sbin']) await moveIfExists(src, target, l);
}

async function initRootfsBase(root: string, tmpIsDir: boolean): Promise<void> {
  await fsp.chmod(root, 0o755);
  for (const d of ['dev', 'proc', 'run', 'sys', 'var', 'sysroot']) await ensureDir(join(root, d));
  if (tmpIsDir) {
    await ensureDir(join(root, 'tmp'), 0o1777);
    await fsp.chmod(join(root, 'tmp'), 0o1777);
  } else {
    await symlinkNew('sysroot/tmp', join(root, 'tmp'));
  }
  await symlinkNew('var/roothome', join(root, 'root'));
  await symlinkNew('var/home', join(root, 'home'));
  await symlinkNew('sysroot/ostree', join(root, 'ostree'));
}

/** ostree-prepare-root's `[root] transient = true` in usr/lib/ostree/prepare-root.conf. */
export async function transientRootEnabled(root: string): Promise<boolean> {
  let text: string;
  try {
    text = await fsp.readFile(join(root, 'usr/lib/ostree/prepare-root.conf'), 'utf8');
  } catch {
    return false;
  }
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('[')) section = line.replace(/^\[|\]$/g, '').trim();
    else if (section === 'root') {
      const m = /^transient\s*=\s*(\S+)/.exec(line);
      if (m) return ['true', 'yes', '1'].includes(m[1]!.toLowerCase());
    }
  }
  return false;
}

/** /usr/etc/default/useradd: HOME=/var/home (composepost.rs postprocess_useradd). */
export async function postprocessUseradd(root: string): Promise<void> {
  const p = join(root, 'usr/etc/default/useradd');
  let text: string;
  try {
    text = await fsp.readFile(p, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return;
    throw e;
  }
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  await replaceFile(p, lines.map((l) => (l.startsWith('HOME=') ? 'HOME=/var/home' : l)).join('\n') + '\n', 0o644);
}

/**
 * composepost.rs postprocess_devices: an overlayfs whiteout (char 0:0)
 * becomes an empty regular file `.ostree-wh.NAME` with its permissions; other
 * devices are removed with `ignore-devices` (default true), else an error.
 */
export async function postprocessDevices(root: string, ignoreDevices: boolean, log: Log = () => {}): Promise<{ whiteouts: number; devices: number }> {
  let whiteouts = 0;
  let devices = 0;
  // the whole tree: synchronous readdir (a thread-pool round trip per directory costs more than the call)
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const ent of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, ent.name);
      if (ent.isDirectory()) {
        await walk(p, `${rel}/${ent.name}`);
        continue;
      }
      if (!ent.isCharacterDevice() && !ent.isBlockDevice()) continue;
      const st = await fsp.lstat(p);
      if (st.isCharacterDevice() && st.rdev === 0) {
        await fsp.unlink(p);
        await replaceFile(join(dir, `.ostree-wh.${ent.name}`), '', st.mode & 0o7777);
        whiteouts++;
      } else if (ignoreDevices) {
        await fsp.unlink(p);
        devices++;
      } else {
        throw new UnsupportedError(`Unsupported device file: ${rel}/${ent.name}`);
      }
    }
  };
  await walk(root, '');
  log(whiteouts > 0 ? `Processed ${whiteouts} embedded whiteouts` : 'No embedded whiteouts found');
  log(devices > 0 ? `Ignored ${devices} device files` : 'No device files found');
  return { whiteouts, devices };
}

/** composepost.rs add_altfiles: `files altfiles` on the passwd: and group: lines. */
export function addAltfiles(text: string): string {
  let out = '';
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
    const prefix = ['passwd:', 'group:'].find((p) => line.startsWith(p));
    if (!prefix) {
      out += line + '\n';
      continue;
    }
    let r = prefix;
    let inserted = false;
    for (const elt of line.slice(prefix.length).split(/\s+/).filter(Boolean)) {
      if (elt === 'altfiles') return text;
      if (!inserted && elt === 'files') {
        r += ' files altfiles';
        inserted = true;
      } else r += ` ${elt}`;
    }
    if (!inserted) r += ' altfiles';
    out += r + '\n';
  }
  return out;
}

/** usr/etc/nsswitch.conf gets altfiles (unless it is a symlink: authselect owns it then). */
export async function nsswitchAltfiles(root: string): Promise<void> {
  const p = join(root, 'usr/etc/nsswitch.conf');
  const st = await lstatOrNull(p);
  if (!st || st.isSymbolicLink()) return;
  const text = await fsp.readFile(p, 'utf8');
  const next = addAltfiles(text);
  if (next !== text) await replaceFile(p, next, st.mode & 0o7777);
}

async function ensureSymlink(root: string, target: string, linkpath: string): Promise<void> {
  const p = join(root, linkpath);
  const st = await lstatOrNull(p);
  if (st?.isSymbolicLink()) return;
  if (st?.isDirectory()) await fsp.rmdir(p);
  else if (st) throw new InvalidInputError(`Symlinking '/${linkpath}' to '/${target}': content already exists at link path`);
  else await ensureDir(join(p, '..'));
  await fsp.symlink(target, p);
}

/**
 * composepost.rs rootfs_prepare_links: /usr/local → ../var/usrlocal (a
 * directory with `opt-usrlocal: root` or the usr-local state overlay);
 * var/lib/{alternatives,vagrant} moved to usr/lib and linked back.
 */
export async function prepareLinks(root: string, tf: Treefile): Promise<void> {
  const stateOverlay = await lstatOrNull(join(root, 'usr/lib/systemd/system/local-fs.target.requires/ostree-state-overlay@usr-local.service'));
  if (stateOverlay && !stateOverlay.isSymbolicLink()) throw new InvalidInputError('usr/lib/systemd/system/local-fs.target.requires/ostree-state-overlay@usr-local.service is not a symlink');
  if (tf['opt-usrlocal'] === 'root' || stateOverlay) await ensureDir(join(root, 'usr/local'));
  else if (!(await transientRootEnabled(root))) {
    await rmrf(join(root, 'usr/local'));
    await ensureSymlink(root, '../var/usrlocal', 'usr/local');
  }
  await ensureDir(join(root, 'usr/lib'));
  for (const entry of ['alternatives', 'vagrant']) {
    const varlib = `var/lib/${entry}`;
    if (!(await lstatOrNull(join(root, varlib)))?.isDirectory()) continue;
    await rmrf(join(root, 'usr/lib', entry));
    await fsp.rename(join(root, varlib), join(root, 'usr/lib', entry));
    await ensureSymlink(root, `../../usr/lib/${entry}`, varlib);
  }
}

/** name ↔ id tables from the tree's passwd/group files (usr/etc and usr/lib, as PasswdDB::populate_new). */

/** tmpfiles.rs canonicalize_escape_path: /var/run/… → /run/…, then shell-safe quoting. */
export function tmpfilesPath(abs: string): string {
  const p = abs.startsWith('/var/run/') ? abs.slice('/var'.length) : abs;
  // utils.rs shellsafe_quote: unchanged when every char is in [[:alnum:]-._/=:] (ASCII), else g_shell_quote'd.
  if (/^[A-Za-z0-9\-._/=:]+$/.test(p)) return p;
  return `'${p.replace(/'/g, `'\\''`)}'`;
}

/** tmpfiles.rs translate_to_tmpfiles_d: `d PATH MODE USER GROUP - -` / `L PATH - - - - TARGET`. */
export function tmpfilesLine(abs: string, st: Stats, user: string, group: string, linkTarget?: string): string {
  const t = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'L' : st.isFile() ? 'f' : null;
  if (!t) throw new UnsupportedError(`path '${abs}' has invalid type`);
  if (t === 'L') return `L ${tmpfilesPath(abs)} - - - - ${linkTarget}`;
  return `${t} ${tmpfilesPath(abs)} ${(st.mode & 0o7777).toString(8).padStart(4, '0')} ${user} ${group} - -`;
}

export const AUTOVAR_CONF = 'usr/lib/tmpfiles.d/rpm-ostree-1-autovar.conf';

/** State files rpm-ostree drops silently before the conversion (tmpfiles.rs KNOWN_STATE_FILES). */
const KNOWN_STATE_FILES = ['var/lib/systemd/random-seed', 'var/lib/systemd/catalog/database', 'var/lib/plymouth/boot-duration', 'var/log/wtmp', 'var/log/btmp'];

export interface VarToTmpfilesOptions {
  /** Owners (uid/gid) for paths whose on-disk owner is not the real one (files are root-owned in the checkout). */
  meta?: FileMetaMap;
  log?: Log;
}

/**
 * tmpfiles.rs var_to_tmpfiles: every directory and symlink under /var becomes
 * a `d`/`L` line of usr/lib/tmpfiles.d/rpm-ostree-1-autovar.conf (sorted,
 * owners by name from the tree's passwd/group), other files are dropped
 * (except under var/lib/nfs), /var/run is removed, and /var is left empty.
 */
export async function varToTmpfiles(root: string, opts: VarToTmpfilesOptions = {}): Promise<string[]> {
  const log = opts.log ?? (() => {});
  const db = await PasswdDb.fromFinalTree(root);
  if (await lstatOrNull(join(root, 'var/run'))) await rmrf(join(root, 'var/run'));
  for (const p of KNOWN_STATE_FILES) {
    const st = await lstatOrNull(join(root, p));
    if (st && !st.isDirectory()) await fsp.unlink(join(root, p));
  }
  const entries = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of await fsp.readdir(join(root, rel))) {
      const r = `${rel}/${name}`;
      const host = join(root, r);
      const st = await fsp.lstat(host);
      const retain = st.isFile() && r.startsWith('var/lib/nfs/');
      if (!retain && !st.isDirectory() && !st.isSymbolicLink()) {
        await fsp.unlink(host);
        log(`Ignoring non-directory/non-symlink '${r}'`);
        continue;
      }
      const m = opts.meta?.get(`/${r}`);
      // rootless builds own everything on disk: the builder's ids stand for root, as in the commit
      const uid = m?.uid ?? (st.uid === process.getuid?.() ? 0 : st.uid);
      const gid = m?.gid ?? (st.gid === process.getgid?.() ? 0 : st.gid);
      const mode = m?.mode;
      const shown = mode !== undefined ? Object.assign(Object.create(Object.getPrototypeOf(st)) as Stats, st, { mode: (st.mode & ~0o7777) | mode }) : st;
      const target = st.isSymbolicLink() ? await fsp.readlink(host) : undefined;
      entries.add(tmpfilesLine(`/${r}`, shown, db.user(uid), db.group(gid), target));
      if (st.isDirectory()) {
        await walk(r);
        await rmrf(host);
      } else {
        await fsp.unlink(host);
      }
    }
  };
  if ((await lstatOrNull(join(root, 'var')))?.isDirectory()) await walk('var');
  else await ensureDir(join(root, 'var'));
  const lines = [...entries].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  await ensureDir(join(root, 'usr/lib/tmpfiles.d'));
  await replaceFile(join(root, AUTOVAR_CONF), lines.map((l) => l + '\n').join(''), 0o644);
  return lines;
}

/** What rpm-ostree installs as usr/lib/tmpfiles.d/rpm-ostree-0-integration*.conf: the /var side of the toplevel links. */
export const INTEGRATION_CONF = [
  'd /var/home 0755 root root -',
  'd /var/srv 0755 root root -',
  'd /var/roothome 0700 root root -',
  'd /var/mnt 0755 root root -',
  'd /run/media 0755 root root -',
  'L /var/lib/rpm - - - - ../../usr/share/rpm',
  'L /var/lib/selinux - - - - ../../etc/selinux',
  '',
  '# /usr/local is a link to /var/usrlocal; the filesystem package owns these but its scripts do not run in a compose',
  ...['bin', 'etc', 'games', 'include', 'lib', 'sbin', 'share', 'src'].map((d) => `d /usr/local/${d} 0755 root root -`),
].join('\n') + '\n';
export const INTEGRATION_OPT_USRLOCAL_CONF = '# /opt → /var/opt and /usr/local → /var/usrlocal\nd /var/opt 0755 root root -\nd /var/usrlocal 0755 root root -\n';
export const INTEGRATION_OPT_USRLOCAL_COMPAT_CONF = '# state-overlay: /opt and /usr/local hold commit content; the /var paths link back to them\nL /var/usrlocal - - - - ../usr/local\nL /var/opt - - - - ../usr/lib/opt\n';

/** rpmostree_rootfs_postprocess_common's SELinux lock cleanup. */
async function cleanupSelinuxLocks(root: string): Promise<void> {
  const base = join(root, 'usr/etc/selinux');
  let names: string[];
  try {
    names = await fsp.readdir(base);
  } catch {
    return;
  }
  for (const n of names) {
    if (!(await lstatOrNull(join(base, n)))?.isDirectory()) continue;
    for (const f of ['semanage.trans.LOCK', 'semanage.read.LOCK']) {
      const st = await lstatOrNull(join(base, n, f));
      if (st?.isFile()) await fsp.unlink(join(base, n, f));
    }
  }
}

export interface FinalizeHooks {
  /** After useradd (composepost final_pre): SELinux file_contexts.subs_dist. */
  selinuxSubsDist?: (root: string) => Promise<void>;
  /** `selinux: true`: semodule -nB / --refresh in the sandbox. */
  selinuxRecompile?: (root: string) => Promise<void>;
  /** migrate_passwd_except_root + migrate_group_except_root (etc-group-members). */
  passwdMigrate?: (root: string) => Promise<void>;
  /** `selinux: true`: policy store from var/lib/selinux to usr/etc/selinux. */
  selinuxPolicyStore?: (root: string) => Promise<void>;
  /** rpmostree_rootfs_postprocess_common: var/lib/rpm → usr/share/rpm, rpmdb lock leftovers. */
  rpmdbCommon?: (root: string) => Promise<void>;
  /** passwd_cleanup: passwd-/group-/shadow- backups. */
  passwdCleanup?: (root: string) => Promise<void>;
  /** normalize_etc_shadow (before the kernel is finalized). */
  normalizeShadow?: (root: string) => Promise<void>;
  /** compose_postprocess_final: usr/lib/sysimage/rpm-ostree-base-db hardlinks. */
  rpmdbFinal?: (root: string) => Promise<void>;
  /** Experimental finalize.d executables (run on the host, cwd = rootfs, RPMOSTREE_WORKDIR = treefile dir). */
  finalizeD?: (root: string) => Promise<void>;
}

export interface FinalizeContext {
  treefile: LoadedTreefile;
  /** Kernel/initramfs processing (not used for `container: true`). */
  kernel: Omit<KernelContext, 'treefile'>;
  meta?: FileMetaMap;
  hooks?: FinalizeHooks;
  log?: Log;
}

/**
 * postprocess_final on a root made by prepareRootfs, in rpm-ostree's order.
 * Returns the kernel (for `ostree.linux`), or null for a container or when
 * already finalized (rpm-ostree-0-integration.conf present).
 */
export async function finalizeRootfs(root: string, ctx: FinalizeContext): Promise<KernelResult | null> {
  const log = ctx.log ?? (() => {});
  const tf = ctx.treefile.treefile;
  const h = ctx.hooks ?? {};
  const integration = join(root, 'usr/lib/tmpfiles.d/rpm-ostree-0-integration.conf');
  if (await lstatOrNull(integration)) return null;
  await postprocessUseradd(root);
  if (h.selinuxSubsDist) await h.selinuxSubsDist(root);
  await postprocessDevices(root, tf['ignore-devices'] ?? true, log);
  if (tf.selinux && h.selinuxRecompile) await h.selinuxRecompile(root);
  log('Migrating /usr/etc/passwd to /usr/lib/');
  if (h.passwdMigrate) await h.passwdMigrate(root);
  await nsswitchAltfiles(root);
  if (tf.selinux && h.selinuxPolicyStore) await h.selinuxPolicyStore(root);
  await prepareLinks(root, tf);
  await varToTmpfiles(root, { meta: ctx.meta, log });
  // rpmostree_rootfs_postprocess_common
  if (await lstatOrNull(join(root, 'etc'))) {
    const usrEtc = await lstatOrNull(join(root, 'usr/etc'));
    if (usrEtc) await rmrf(join(root, 'etc')); // rename_if_exists: an /etc next to usr/etc is dropped
    else await fsp.rename(join(root, 'etc'), join(root, 'usr/etc'));
  }
  if (h.rpmdbCommon) await h.rpmdbCommon(root);
  await cleanupSelinuxLocks(root);
  if (h.passwdCleanup) await h.passwdCleanup(root);
  log('Adding rpm-ostree-0-integration.conf');
  await ensureDir(join(root, 'usr/lib/tmpfiles.d'));
  await replaceFile(integration, INTEGRATION_CONF, 0o644);
  if (tf['opt-usrlocal'] === 'state-overlay') await replaceFile(join(root, 'usr/lib/tmpfiles.d/rpm-ostree-0-integration-opt-usrlocal-compat.conf'), INTEGRATION_OPT_USRLOCAL_COMPAT_CONF, 0o644);
  else await replaceFile(join(root, 'usr/lib/tmpfiles.d/rpm-ostree-0-integration-opt-usrlocal.conf'), INTEGRATION_OPT_USRLOCAL_CONF, 0o644);
  let kernel: KernelResult | null = null;
  if (!tf.container) {
    log('Preparing kernel');
    await rmrf(join(root, 'boot/loader'));
    kernel = await processKernel(root, { ...ctx.kernel, treefile: ctx.treefile, normalizeShadow: ctx.kernel.normalizeShadow ?? h.normalizeShadow, log: ctx.kernel.log ?? log });
  }
  if (h.rpmdbFinal) await h.rpmdbFinal(root);
  if (h.finalizeD) await h.finalizeD(root);
  return kernel;
}

/** Resolve a path inside the final root (re-exported for callers wiring hooks). */
export { resolveInRoot };
