/**
 * Owners, setuid bits and file capabilities from the RPM headers — rpm-ostree's apply_rpmfi_overrides, but as
 * FileMeta overrides for the final commit instead of chown/chmod/setxattr on disk (so it works rootless and never
 * writes through a hardlink into the pkgcache).
 *
 * For every file of every package whose user or group is not root, whose mode has setuid/setgid/sticky bits, or that
 * has file capabilities: user and group names are resolved against the target's own /etc/passwd and /etc/group (as
 * they are after the scriptlets, so users created by %pre exist) and the capabilities are encoded as the
 * `security.capability` xattr exactly as libcap's cap_set_fd writes it (vfs_cap_data revision 2).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, isErrno } from '../errors.js';
import { canonicalizeXattrs, makeXattrs, xattrNameString, type Xattrs } from '../ostree/objects/xattrs.js';
import { PasswdDb } from './passwd.js';
import type { ComposePackage, FileMeta, FileMetaMap } from './types.js';

// ---------------------------------------------------------------------------------------------------------------
// File capabilities

/** Capability names by number (linux/capability.h, libcap's _cap_names), 0 … CAP_LAST_CAP. */
export const CAP_NAMES = [
  'cap_chown', 'cap_dac_override', 'cap_dac_read_search', 'cap_fowner', 'cap_fsetid', 'cap_kill', 'cap_setgid',
  'cap_setuid', 'cap_setpcap', 'cap_linux_immutable', 'cap_net_bind_service', 'cap_net_broadcast', 'cap_net_admin',
  'cap_net_raw', 'cap_ipc_lock', 'cap_ipc_owner', 'cap_sys_module', 'cap_sys_rawio', 'cap_sys_chroot',
  'cap_sys_ptrace', 'cap_sys_pacct', 'cap_sys_admin', 'cap_sys_boot', 'cap_sys_nice', 'cap_sys_resource',
  'cap_sys_time', 'cap_sys_tty_config', 'cap_mknod', 'cap_lease', 'cap_audit_write', 'cap_audit_control',
  'cap_setfcap', 'cap_mac_override', 'cap_mac_admin', 'cap_syslog', 'cap_wake_alarm', 'cap_block_suspend',
  'cap_audit_read', 'cap_perfmon', 'cap_bpf', 'cap_checkpoint_restore',
] as const;

/** libcap stores at most 64 bits (two u32 words) per set in a revision-2 xattr. */
const CAP_MAXBITS = 64;

export interface CapSets {
  /** Bit sets as two u32 words each (caps 0-31, 32-63). */
  effective: [number, number];
  permitted: [number, number];
  inheritable: [number, number];
}

class CapTextError extends Error {}

const isAlnum = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z0-9]$/.test(c);
const isAlpha = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z]$/.test(c);
const isSpace = (c: string | undefined): boolean => c !== undefined && /^[ \t\n\v\f\r]$/.test(c);

/**
 * libcap's cap_from_text: whitespace-separated clauses `[caps]op flags[op flags…]` with caps a comma list of names
 * (case-insensitive), numbers or `all`, op one of `=`, `+`, `-` (also `=+`, `=-`), flags from `eip`. An empty caps
 * list (`=ep`) and `all` mean every capability the running kernel knows in libcap; here every capability in
 * CAP_NAMES, which is what a current kernel reports, so the result does not depend on the build host.
 */
export function parseCapText(text: string): CapSets {
  const sets = { e: [0, 0], i: [0, 0], p: [0, 0] } as Record<'e' | 'i' | 'p', number[]>;
  const all = (): number[] => [0xffffffff, (1 << (CAP_NAMES.length - 32)) - 1];
  let s = 0;
  const c = (k = 0): string | undefined => text[s + k];
  const lookupName = (): number => {
    if (/[0-9]/.test(c()!)) {
      // strtoul with base 0: 0x.. hex, 0.. octal, else decimal
      const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(text.slice(s))!;
      const n = Number.parseInt(m[0], m[0].startsWith('0x') || m[0].startsWith('0X') ? 16 : m[0].length > 1 && m[0][0] === '0' ? 8 : 10);
      if (n >= CAP_MAXBITS) throw new CapTextError(`capability number ${n} out of range`);
      s += m[0].length;
      return n;
    }
    let len = 0;
    while (isAlpha(c(len)) || c(len) === '_') len++;
    const word = text.slice(s, s + len).toLowerCase();
    const n = CAP_NAMES.indexOf(word as (typeof CAP_NAMES)[number]);
    if (n < 0) throw new CapTextError(`unknown capability '${text.slice(s, s + len)}'`);
    s += len;
    return n;
  };
  const apply = (list: number[], set: 'e' | 'i' | 'p', on: boolean): void => {
    for (let w = 0; w < 2; w++) sets[set][w] = on ? (sets[set][w]! | list[w]!) >>> 0 : (sets[set][w]! & ~list[w]!) >>> 0;
  };
  for (;;) {
    while (isSpace(c())) s++;
    if (c() === undefined) break;
    let list = [0, 0];
    let listed = false;
    if (isAlnum(c()) || c() === '_') {
      for (;;) {
        const rest = text.slice(s);
        if (/^all(?![A-Za-z0-9_])/i.test(rest)) {
          s += 3;
          list = all();
        } else {
          const n = lookupName();
          list[n >> 5] = (list[n >> 5]! | (1 << (n & 31))) >>> 0;
        }
        if (c() !== ',') break;
        s++;
        if (!isAlnum(c()) && c() !== '_') throw new CapTextError('a capability name must follow ","');
      }
      listed = true;
    } else if (c() === '+' || c() === '-') {
      throw new CapTextError(`'${c()}' needs a list of capabilities`);
    } else {
      list = all();
    }
    let op = c();
    s++;
    if (op === '=' && (c() === '+' || c() === '-')) {
      if (!listed) throw new CapTextError('"=+" and "=-" need a list of capabilities');
      op = c() === '+' ? 'P' : 'M';
      s++;
    } else if (op !== '+' && op !== '-' && op !== '=') {
      throw new CapTextError(`unexpected '${op ?? 'end of text'}'`);
    }
    do {
      const flags = new Set<'e' | 'i' | 'p'>();
      // Flags of this directive (libcap reads one flag per loop turn; the effect is the same).
      while (c() !== undefined && !isSpace(c()) && c() !== '+' && c() !== '-') {
        const f = c()!;
        if (f !== 'e' && f !== 'i' && f !== 'p') throw new CapTextError(`unknown flag '${f}'`);
        flags.add(f);
        s++;
      }
      if (flags.size === 0 && op !== '=') throw new CapTextError(`'${op}' needs flags (e, i, p)`);
      if (op === '=' || op === 'P' || op === 'M') for (const set of ['e', 'i', 'p'] as const) apply(list, set, false);
      const on = op === '=' || op === 'P' || op === '+';
      for (const f of flags) apply(list, f, on);
      if (c() === '+' || c() === '-') {
        if (!listed) throw new CapTextError('"+" and "-" need a list of capabilities');
        op = c();
        s++;
        if (!isAlpha(c())) throw new CapTextError(`'${op!}' needs flags (e, i, p)`);
      } else {
        break;
      }
    } while (c() !== undefined && !isSpace(c()));
  }
  return { effective: sets.e as [number, number], permitted: sets.p as [number, number], inheritable: sets.i as [number, number] };
}

const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_FLAGS_EFFECTIVE = 0x000001;

/**
 * The `security.capability` value libcap writes for a textual capability set (cap_from_text + cap_set_fd, as
 * rpm-ostree's rpmostree_fcap_to_ostree_xattr does): struct vfs_cap_data revision 2, little-endian —
 * magic_etc (revision | effective flag), then permitted and inheritable for caps 0-31 and 32-63. Linux only allows
 * an effective set that is empty or covers every permitted and inheritable bit (libcap's EINVAL otherwise).
 */
export function fcapsToXattr(text: string): Uint8Array {
  let caps: CapSets;
  try {
    caps = parseCapText(text);
  } catch (e) {
    if (e instanceof CapTextError) throw new InvalidInputError(`invalid file capabilities '${text}': ${e.message}`);
    throw e;
  }
  const effNonZero = (caps.effective[0] | caps.effective[1]) !== 0;
  const out = Buffer.alloc(20);
  out.writeUInt32LE((VFS_CAP_REVISION_2 | (effNonZero ? VFS_CAP_FLAGS_EFFECTIVE : 0)) >>> 0, 0);
  for (let w = 0; w < 2; w++) {
    if (effNonZero && (~caps.effective[w]! & (caps.permitted[w]! | caps.inheritable[w]!)) !== 0) {
      throw new InvalidInputError(`invalid file capabilities '${text}': the effective set must be empty or cover all permitted and inheritable capabilities`);
    }
    out.writeUInt32LE(caps.permitted[w]!, 4 + w * 8);
    out.writeUInt32LE(caps.inheritable[w]!, 8 + w * 8);
  }
  return new Uint8Array(out);
}

// ---------------------------------------------------------------------------------------------------------------
// Owners

export interface ResolveOwnersOptions {
  /** Users and groups to resolve names with; default: the target's passwd/group read from `etcDir`. */
  passwd?: PasswdDb;
  /** Where the target's passwd/group are, relative to rootfs; default 'etc' if it has a passwd, else 'usr/etc'. */
  etcDir?: string;
  /**
   * Header path without the leading '/' (after usrmove canonicalization) → path in the final tree without the
   * leading '/'. Default: etc/… → usr/etc/… (the compose moves /etc to /usr/etc before the commit).
   */
  mapPath?: (path: string) => string;
  /** rpm-ostree warns (once per package) about non-/usr, non-/etc content it leaves root-owned. */
  warn?: (message: string) => void;
  /**
   * Also resolve /var content, for the tmpfiles.d entries that replace it (rpm-ostree's importer writes the header's
   * owners into them); the commit itself never holds /var content.
   */
  includeVar?: boolean;
}

export const etcToUsrEtc = (p: string): string => (p === 'etc' || p.startsWith('etc/') ? `usr/${p}` : p);

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** Top-level symlinks into usr/ (bin → usr/bin …): rpm-ostree's rootfs_usrlinks for canonicalize_non_usrmove_path. */
async function usrLinks(rootfs: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const d of await fsp.readdir(rootfs, { withFileTypes: true })) {
    if (!d.isSymbolicLink()) continue;
    const target = (await fsp.readlink(join(rootfs, d.name))).replace(/^\/+/, '');
    if (target.startsWith('usr/')) out.set(d.name, target);
  }
  return out;
}

async function lstatOrNull(path: string): Promise<import('node:fs').Stats | null> {
  try {
    return await fsp.lstat(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return null;
    throw e;
  }
}

/**
 * FileMeta overrides for every packaged path that is not plain root:root, in package order (a later package's entry
 * for a shared path replaces an earlier one, as rpm-ostree's successive chowns do). Keys are final-tree paths
 * ("/usr/etc/foo"). Skipped as in rpm-ostree: device nodes/FIFOs/sockets, /run and /var (tmpfiles.d territory),
 * anything outside /usr and /etc (warned). A path absent from the tree (ghost, excluded doc or language, removed by
 * postprocessing) has nothing to label and is skipped. A user or group the target does not define is an error
 * naming the file and the package; so is a file type differing between header and tree.
 */
export async function resolveRpmOwners(rootfs: string, pkgs: readonly ComposePackage[], opts: ResolveOwnersOptions = {}): Promise<FileMetaMap> {
  let etcDir = opts.etcDir;
  if (!etcDir) etcDir = (await lstatOrNull(join(rootfs, 'etc/passwd'))) ? 'etc' : 'usr/etc';
  const db = opts.passwd ?? (await PasswdDb.fromRootfs(rootfs, etcDir));
  const mapPath = opts.mapPath ?? etcToUsrEtc;
  const links = await usrLinks(rootfs);
  const out: FileMetaMap = new Map();

  for (const pkg of pkgs) {
    let warned = false;
    for (const f of pkg.header.files) {
      const user = f.user || 'root';
      const group = f.group || 'root';
      const suid = (f.mode & 0o7000) !== 0;
      if (user === 'root' && group === 'root' && !suid && f.caps === '') continue;
      const type = f.mode & S_IFMT;
      if (type !== S_IFREG && type !== S_IFLNK && type !== S_IFDIR) continue;

      let fn = f.path.replace(/^\/+/, '');
      if (fn === '') continue;
      const slash = fn.indexOf('/');
      if (slash > 0) {
        const link = links.get(fn.slice(0, slash));
        if (link) fn = `${link}/${fn.slice(slash + 1)}`;
      }
      if (fn.startsWith('run/') || (fn.startsWith('var/') && !opts.includeVar)) continue;
      if (!fn.startsWith('etc/') && !fn.startsWith('usr/') && !fn.startsWith('var/')) {
        if (!warned) opts.warn?.(`Ignoring rpm mode for non-/usr content: ${fn}`);
        warned = true;
        continue;
      }
      const finalPath = mapPath(fn);
      const st = (await lstatOrNull(join(rootfs, fn))) ?? (finalPath !== fn ? await lstatOrNull(join(rootfs, finalPath)) : null);
      if (!st) continue;
      if ((st.mode & S_IFMT) !== type) {
        throw new InvalidInputError(`Inconsistent file type between RPM and checkout for file '/${fn}' in package '${pkg.name}' (${pkg.nevra})`);
      }

      const meta: FileMeta = { uid: 0, gid: 0 };
      if (user !== 'root') {
        const uid = db.users.get(user);
        if (uid === undefined) throw new InvalidInputError(`${pkg.nevra}: /${fn}: Could not find user '${user}' in passwd file`);
        meta.uid = uid;
      }
      if (group !== 'root') {
        const gid = db.groups.get(group);
        if (gid === undefined) throw new InvalidInputError(`${pkg.nevra}: /${fn}: Could not find group '${group}' in group file`);
        meta.gid = gid;
      }
      if (f.caps !== '') {
        try {
          meta.xattrs = makeXattrs({ 'security.capability': fcapsToXattr(f.caps) });
        } catch (e) {
          if (e instanceof InvalidInputError) throw new InvalidInputError(`${pkg.nevra}: /${fn}: ${e.message}`);
          throw e;
        }
      }
      // rpm-ostree re-applies the header mode after the chown (which drops setuid); only matters for those bits.
      if (type === S_IFREG && suid) meta.mode = f.mode & 0o7777;
      out.set(`/${finalPath}`, meta);
    }
  }
  return out;
}

/**
 * Merges FileMeta maps (e.g. RPM owners, then SELinux labels) into a new map: for a path in several maps, later
 * uid/gid/mode win and xattrs are merged by name (later wins). The inputs are not modified.
 */
export function mergeFileMetaMaps(...maps: FileMetaMap[]): FileMetaMap {
  const out: FileMetaMap = new Map();
  for (const m of maps) {
    for (const [path, meta] of m) {
      const prev = out.get(path);
      if (!prev) {
        out.set(path, { ...meta, ...(meta.xattrs ? { xattrs: [...meta.xattrs] } : {}) });
        continue;
      }
      const merged: FileMeta = { ...prev, ...meta };
      if (prev.xattrs || meta.xattrs) {
        const byName = new Map<string, Xattrs[number]>();
        for (const x of [...(prev.xattrs ?? []), ...(meta.xattrs ?? [])]) byName.set(xattrNameString(x[0]), x);
        merged.xattrs = canonicalizeXattrs([...byName.values()]);
      }
      out.set(path, merged);
    }
  }
  return out;
}
