/**
 * /etc/passwd and /etc/group handling of a compose, as rpm-ostree's rust/src/passwd.rs does it:
 *
 *  - before the scriptlets (`preparePasswd`): with `preserve-passwd` (default true) the target's /etc/passwd and
 *    /etc/group are seeded with the `check-passwd`/`check-groups` `file` data, or else with the previous build's
 *    entries (its /usr/etc + /usr/lib files merged), so `useradd` in %pre finds the same users and ids again;
 *  - after postprocessing (`splitPasswd`): /etc/shadow's last-change field is blanked for locked accounts, stale
 *    backup/lock files are removed, and every non-root entry moves to /usr/lib/passwd and /usr/lib/group (the
 *    nss-altfiles split); `etc-group-members` groups stay in /etc/group too (with their members);
 *  - before the commit (`checkPasswd`): `check-passwd`/`check-groups` (default `previous`) compare the new
 *    /usr/lib/{passwd,group} against a reference; a changed uid/gid is an error naming the entry, a removed entry
 *    is an error only when some file is still owned by its old id (unless listed in `ignore-removed-*`).
 */
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { InvalidInputError, NotFoundError, isErrno } from '../errors.js';
import type { LoadedTreefile } from '../config/treefile/types.js';
import type { Checksum } from '../ostree/checksum.js';
import { resolvePath } from '../ostree/path.js';
import type { Repo } from '../ostree/repo/repo.js';
import type { FileMetaMap } from './types.js';

export interface PasswdEntry {
  name: string;
  passwd: string;
  uid: number;
  gid: number;
  gecos: string;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  passwd: string;
  gid: number;
  /** The member list split on ',' (an empty field is `['']`, as rpm-ostree keeps it, and written back as ''). */
  members: string[];
}

export interface ShadowEntry {
  name: string;
  pwd: string;
  lstchg: number | null;
  min: number | null;
  max: number | null;
  warn: number | null;
  inact: number | null;
  expire: number | null;
  flag: string;
}

/** A decimal u32 as Rust's `str::parse::<u32>` accepts it (an optional '+', digits only). */
function parseU32(s: string): number | null {
  if (!/^\+?[0-9]+$/.test(s)) return null;
  const n = Number(s.replace(/^\+/, ''));
  return n <= 0xffffffff ? n : null;
}

/** Lines that are entries: not empty, not comments, not NSS compat (+/-) lines. */
function entryLines(text: string, compat: boolean): { line: string; n: number }[] {
  const out: { line: string; n: number }[] = [];
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, n) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '' || line.startsWith('#')) return;
    if (compat && (line.startsWith('+') || line.startsWith('-'))) return;
    out.push({ line, n });
  });
  return out;
}

/** Fields of a ':'-separated line split at most `n - 1` times (Rust `splitn`). */
function splitn(line: string, n: number): string[] {
  const parts = line.split(':');
  return parts.length <= n ? parts : [...parts.slice(0, n - 1), parts.slice(n - 1).join(':')];
}

export function parsePasswd(text: string, source: string): PasswdEntry[] {
  return entryLines(text, true).map(({ line, n }) => {
    const f = splitn(line, 7);
    const uid = f.length === 7 ? parseU32(f[2]!) : null;
    const gid = f.length === 7 ? parseU32(f[3]!) : null;
    if (uid === null || gid === null) throw new InvalidInputError(`${source}:${n + 1}: malformed passwd entry '${line}'`);
    return { name: f[0]!, passwd: f[1]!, uid, gid, gecos: f[4]!, home: f[5]!, shell: f[6]! };
  });
}

export function parseGroup(text: string, source: string): GroupEntry[] {
  return entryLines(text, true).map(({ line, n }) => {
    const f = splitn(line, 4);
    const gid = f.length === 4 ? parseU32(f[2]!) : null;
    if (gid === null) throw new InvalidInputError(`${source}:${n + 1}: malformed group entry '${line}'`);
    return { name: f[0]!, passwd: f[1]!, gid, members: f[3]!.split(',') };
  });
}

export function parseShadow(text: string, source: string): ShadowEntry[] {
  return entryLines(text, false).map(({ line, n }) => {
    const f = splitn(line, 9);
    const bad = (): never => {
      throw new InvalidInputError(`${source}:${n + 1}: malformed shadow entry for '${f[0] ?? ''}'`);
    };
    if (f.length !== 9) bad();
    const num = (s: string): number | null => (s === '' ? null : (parseU32(s) ?? bad()));
    return { name: f[0]!, pwd: f[1]!, lstchg: num(f[2]!), min: num(f[3]!), max: num(f[4]!), warn: num(f[5]!), inact: num(f[6]!), expire: num(f[7]!), flag: f[8]! };
  });
}

export const formatPasswdEntry = (e: PasswdEntry): string => `${e.name}:${e.passwd}:${e.uid}:${e.gid}:${e.gecos}:${e.home}:${e.shell}\n`;
export const formatGroupEntry = (e: GroupEntry): string => `${e.name}:${e.passwd}:${e.gid}:${e.members.join(',')}\n`;
const num = (v: number | null): string => (v === null ? '' : String(v));
export const formatShadowEntry = (e: ShadowEntry): string =>
  `${e.name}:${e.pwd}:${num(e.lstchg)}:${num(e.min)}:${num(e.max)}:${num(e.warn)}:${num(e.inact)}:${num(e.expire)}:${e.flag}\n`;

async function readOrNull(path: string): Promise<string | null> {
  try {
    return await fsp.readFile(path, 'utf8');
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}

/** Replace a file atomically with the given mode (a hardlink into the pkgcache is never written through). */
async function replaceFile(path: string, data: string, mode: number): Promise<void> {
  const tmp = `${path}.coreforge-tmp`;
  await fsp.rm(tmp, { force: true });
  await fsp.writeFile(tmp, data, { mode });
  await fsp.chmod(tmp, mode);
  await fsp.rename(tmp, path);
}

// ---------------------------------------------------------------------------------------------------------------
// The previous build

/** The passwd/group files of the previous build's commit; null where the commit has no such file. */
export interface PreviousPwGrp {
  /** /usr/etc/passwd */
  etcPasswd: string | null;
  /** /usr/lib/passwd */
  usrlibPasswd: string | null;
  /** /usr/etc/group */
  etcGroup: string | null;
  /** /usr/lib/group */
  usrlibGroup: string | null;
}

async function readCommitFile(repo: Repo, commit: Checksum, path: string): Promise<string | null> {
  let ent;
  try {
    ent = await resolvePath(repo, commit, path);
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
  if (ent.kind !== 'file') return null;
  const obj = await repo.loadContent(ent.checksum);
  if ((obj.header.mode & 0o170000) !== 0o100000) return null;
  const chunks: Buffer[] = [];
  for await (const c of obj.open()) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads /usr/etc/{passwd,group} and /usr/lib/{passwd,group} of a commit (rpm-ostree reads them via read_commit). */
export async function readPreviousPwGrp(repo: Repo, commit: Checksum): Promise<PreviousPwGrp> {
  const [etcPasswd, usrlibPasswd, etcGroup, usrlibGroup] = await Promise.all(
    ['usr/etc/passwd', 'usr/lib/passwd', 'usr/etc/group', 'usr/lib/group'].map((p) => readCommitFile(repo, commit, p)),
  );
  return { etcPasswd: etcPasswd!, usrlibPasswd: usrlibPasswd!, etcGroup: etcGroup!, usrlibGroup: usrlibGroup! };
}

// ---------------------------------------------------------------------------------------------------------------
// Before the scriptlets

/** Entries of the given sources in order, the first occurrence of each name winning (rpm-ostree's append_unique). */
function uniqueByName<T extends { name: string }>(lists: T[][]): T[] {
  const seen = new Set<string>();
  const out: T[] = [];
  for (const l of lists) {
    for (const e of l) {
      if (seen.has(e.name)) continue;
      seen.add(e.name);
      out.push(e);
    }
  }
  return out;
}

export interface PreparePasswdOptions {
  /** Directory (relative to rootfs) the scriptlets see as /etc; default 'etc'. */
  etcDir?: string;
}

/**
 * rpm-ostree's passwd_compose_prep: seeds the target's /etc/passwd and /etc/group before any package is laid down
 * and before any scriptlet runs. Nothing is done when `preserve-passwd` is false. With `check-passwd`/`check-groups`
 * `{type: file}` the files' entries are written (and /etc/shadow, /etc/gshadow regenerated to match, mode 0);
 * otherwise, given a previous build, /etc/{passwd,group} = its /usr/etc entries then its /usr/lib entries, first
 * occurrence of a name winning (a target whose previous commit lacks either file is left alone).
 */
export async function preparePasswd(rootfs: string, previous: PreviousPwGrp | null, tf: LoadedTreefile, opts: PreparePasswdOptions = {}): Promise<void> {
  const t = tf.treefile;
  if (t['preserve-passwd'] === false) return;
  const etc = join(rootfs, opts.etcDir ?? 'etc');
  await fsp.mkdir(etc, { recursive: true, mode: 0o755 });

  const passwdFile = t['check-passwd']?.type === 'file' ? tf.externals.passwd : undefined;
  const groupFile = t['check-groups']?.type === 'file' ? tf.externals.group : undefined;
  if (passwdFile) {
    const entries = uniqueByName([parsePasswd(await fsp.readFile(passwdFile, 'utf8'), passwdFile)]);
    await replaceFile(join(etc, 'passwd'), entries.map(formatPasswdEntry).join(''), 0o644);
    await replaceFile(join(etc, 'shadow'), entries.map((e) => `${e.name}:*::0:99999:7:::\n`).join(''), 0);
  }
  if (groupFile) {
    const entries = uniqueByName([parseGroup(await fsp.readFile(groupFile, 'utf8'), groupFile)]);
    await replaceFile(join(etc, 'group'), entries.map(formatGroupEntry).join(''), 0o644);
    await replaceFile(join(etc, 'gshadow'), entries.map((e) => `${e.name}:::\n`).join(''), 0);
  }
  // Mixed sources would confuse everyone when ids drift; rpm-ostree refuses them.
  if (passwdFile && !groupFile) throw new InvalidInputError(`${tf.path}: check-passwd takes passwd data from a file but check-groups does not take group data from one; configure both or neither`);
  if (!passwdFile && groupFile) throw new InvalidInputError(`${tf.path}: check-groups takes group data from a file but check-passwd does not take passwd data from one; configure both or neither`);
  if (passwdFile || !previous) return;

  const merge = async (kind: 'passwd' | 'group', etcText: string | null, usrlibText: string | null): Promise<void> => {
    // After a move to systemd-sysusers a previous tree may have no preallocated data; nothing to carry then.
    if (etcText === null || usrlibText === null) return;
    const text =
      kind === 'passwd'
        ? uniqueByName([parsePasswd(etcText, 'previous commit /usr/etc/passwd'), parsePasswd(usrlibText, 'previous commit /usr/lib/passwd')]).map(formatPasswdEntry).join('')
        : uniqueByName([parseGroup(etcText, 'previous commit /usr/etc/group'), parseGroup(usrlibText, 'previous commit /usr/lib/group')]).map(formatGroupEntry).join('');
    await replaceFile(join(etc, kind), text, 0o644);
  };
  await merge('passwd', previous.etcPasswd, previous.usrlibPasswd);
  await merge('group', previous.etcGroup, previous.usrlibGroup);
}

// ---------------------------------------------------------------------------------------------------------------
// After the scriptlets

/** Lock and backup files shadow-utils leaves behind; never part of a base commit (rpm-ostree's passwd_cleanup). */
export const PWGRP_LOCK_AND_BACKUP_FILES = ['.pwd.lock', 'passwd-', 'group-', 'shadow-', 'gshadow-', 'subuid-', 'subgid-'];

export interface SplitPasswdOptions {
  /** Where /etc is at this point, relative to rootfs; default 'usr/etc' if that directory exists, else 'etc'. */
  etcDir?: string;
}

async function defaultEtcDir(rootfs: string): Promise<string> {
  const st = await fsp.lstat(join(rootfs, 'usr/etc')).catch(() => null);
  return st?.isDirectory() ? 'usr/etc' : 'etc';
}

/**
 * Blanks the last-change field of locked/passwordless accounts in /etc/shadow (it holds the build day), creating an
 * empty shadow (mode 0400) when there is none — rpm-ostree's normalize_etc_shadow.
 */
export async function normalizeEtcShadow(rootfs: string, etcDir: string): Promise<void> {
  const path = join(rootfs, etcDir, 'shadow');
  const text = await readOrNull(path);
  if (text === null) {
    await fsp.writeFile(path, '', { mode: 0o400 });
    return;
  }
  const entries = parseShadow(text, `/${etcDir}/shadow`);
  for (const e of entries) if (e.pwd.startsWith('!') || e.pwd.startsWith('*')) e.lstchg = null;
  const st = await fsp.stat(path);
  await replaceFile(path, entries.map(formatShadowEntry).join(''), st.mode & 0o7777);
}

/**
 * After scriptlets and postprocessing: rpm-ostree's passwd_cleanup, normalize_etc_shadow, then
 * migrate_passwd_except_root and migrate_group_except_root. /etc/passwd keeps the uid-0 entries, /etc/group the
 * gid-0 entries plus the `etc-group-members` groups (which are written to both files); everything else is appended
 * to /usr/lib/passwd and /usr/lib/group (created 0644). /etc/shadow and /etc/gshadow stay whole in /etc.
 */
export async function splitPasswd(rootfs: string, tf: LoadedTreefile, opts: SplitPasswdOptions = {}): Promise<void> {
  const etcDir = opts.etcDir ?? (await defaultEtcDir(rootfs));
  const etc = join(rootfs, etcDir);
  for (const f of PWGRP_LOCK_AND_BACKUP_FILES) await fsp.rm(join(etc, f), { force: true });
  await normalizeEtcShadow(rootfs, etcDir);

  const usrlib = join(rootfs, 'usr/lib');
  await fsp.mkdir(usrlib, { recursive: true, mode: 0o755 });
  const need = async (name: string): Promise<string> => {
    const text = await readOrNull(join(etc, name));
    if (text === null) throw new NotFoundError(`/${etcDir}/${name} not found: no package created it (the 'setup' package provides it in Fedora); rpm-ostree needs it to split ${name} into /usr/lib/${name}`);
    return text;
  };
  // rpm-ostree appends (O_APPEND, created 0644). Rewriting via rename instead never writes through a hardlink
  // into the pkgcache should a package ship the file.
  const append = async (path: string, text: string): Promise<void> => {
    const st = await fsp.stat(path).catch(() => null);
    const old = st ? await fsp.readFile(path, 'utf8') : '';
    await replaceFile(path, old + text, st ? st.mode & 0o7777 : 0o644);
  };

  const users = parsePasswd(await need('passwd'), `/${etcDir}/passwd`);
  await append(join(usrlib, 'passwd'), users.filter((u) => u.uid !== 0).map(formatPasswdEntry).join(''));
  await replaceFile(join(etc, 'passwd'), users.filter((u) => u.uid === 0).map(formatPasswdEntry).join(''), 0o644);

  const preserved = new Set(tf.treefile['etc-group-members'] ?? []);
  const groups = parseGroup(await need('group'), `/${etcDir}/group`);
  const others = groups.filter((g) => g.gid !== 0);
  await append(join(usrlib, 'group'), others.map(formatGroupEntry).join(''));
  // Root groups first, then preserved ones in file order (rpm-ostree's order).
  const keep = [...groups.filter((g) => g.gid === 0), ...others.filter((g) => preserved.has(g.name))];
  await replaceFile(join(etc, 'group'), keep.map(formatGroupEntry).join(''), 0o644);
}

// ---------------------------------------------------------------------------------------------------------------
// check-passwd / check-groups

export interface CheckPasswdOptions {
  /**
   * Owners the commit will record (from owners.ts): a removed user/group is only an error while some file is still
   * owned by its old id. Paths not in the map are root-owned in the commit, so the on-disk owner is not consulted.
   */
  owners?: FileMetaMap;
  /** rpm-ostree prints what it found; receives those lines. */
  log?: (line: string) => void;
}

export interface CheckPasswdReport {
  newUsers: string[];
  newGroups: string[];
  /** Removed, owning no file. */
  removedUsers: string[];
  removedGroups: string[];
  /** Removed and listed in ignore-removed-users/-groups. */
  ignoredUsers: string[];
  ignoredGroups: string[];
}

/**
 * rpm-ostree's check_passwd_group_entries: the new /usr/lib/passwd and /usr/lib/group (after `splitPasswd`)
 * against the reference `check-passwd`/`check-groups` selects (default `previous`: the previous build's
 * /usr/lib/passwd and /usr/lib/group; nothing to check without a previous build or file). A user whose uid or
 * primary gid, or a group whose gid, differs from the reference is an error; one missing from the new files is an
 * error when files still belong to its old id, unless `ignore-removed-users`/`-groups` lists it (or '*').
 */
export async function checkPasswd(rootfs: string, tf: LoadedTreefile, previous: PreviousPwGrp | null, opts: CheckPasswdOptions = {}): Promise<CheckPasswdReport> {
  const t = tf.treefile;
  const log = opts.log ?? (() => {});
  const newUsers = new Map<string, [number, number]>();
  const newGroups = new Map<string, number>();
  const need = async (rel: string): Promise<string> => {
    const text = await readOrNull(join(rootfs, rel));
    if (text === null) throw new NotFoundError(`/${rel} not found in the composed tree (check-passwd/check-groups read it)`);
    return text;
  };
  for (const u of parsePasswd(await need('usr/lib/passwd'), '/usr/lib/passwd')) newUsers.set(u.name, [u.uid, u.gid]);
  for (const g of parseGroup(await need('usr/lib/group'), '/usr/lib/group')) newGroups.set(g.name, g.gid);

  const oldUsers = new Map<string, [number, number]>();
  const oldGroups = new Map<string, number>();
  const cp = t['check-passwd'] ?? { type: 'previous' };
  if (cp.type === 'file') {
    const f = tf.externals.passwd!;
    for (const u of parsePasswd(await fsp.readFile(f, 'utf8'), f)) oldUsers.set(u.name, [u.uid, u.gid]);
  } else if (cp.type === 'previous' && previous?.usrlibPasswd != null) {
    for (const u of parsePasswd(previous.usrlibPasswd, 'previous commit /usr/lib/passwd')) oldUsers.set(u.name, [u.uid, u.gid]);
  } else if (cp.type === 'data') {
    for (const [name, v] of Object.entries(cp.entries ?? {})) {
      const ids = typeof v === 'number' ? [v, v] : v.length === 1 ? [v[0]!, v[0]!] : [v[0]!, v[1]!];
      oldUsers.set(name, ids as [number, number]);
    }
  }
  const cg = t['check-groups'] ?? { type: 'previous' };
  if (cg.type === 'file') {
    const f = tf.externals.group!;
    for (const g of parseGroup(await fsp.readFile(f, 'utf8'), f)) oldGroups.set(g.name, g.gid);
  } else if (cg.type === 'previous' && previous?.usrlibGroup != null) {
    for (const g of parseGroup(previous.usrlibGroup, 'previous commit /usr/lib/group')) oldGroups.set(g.name, g.gid);
  } else if (cg.type === 'data') {
    for (const [name, v] of Object.entries(cg.entries ?? {})) oldGroups.set(name, v as number);
  }

  const ownedUids = new Set<number>();
  const ownedGids = new Set<number>();
  for (const m of opts.owners?.values() ?? []) {
    ownedUids.add(m.uid ?? 0);
    ownedGids.add(m.gid ?? 0);
  }
  // Every path not in the map is root-owned in the commit (assumed to exist: the tree has a root directory).
  ownedUids.add(0);
  ownedGids.add(0);

  const report: CheckPasswdReport = { newUsers: [], newGroups: [], removedUsers: [], removedGroups: [], ignoredUsers: [], ignoredGroups: [] };
  const sorted = <V>(m: Map<string, V>): [string, V][] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));

  const ignoredU = new Set(t['ignore-removed-users'] ?? []);
  for (const [name, [uid]] of sorted(oldUsers)) {
    if (newUsers.has(name)) continue;
    if (ignoredU.has('*') || ignoredU.has(name)) {
      log(`Ignored user missing from new passwd file: ${name}`);
      report.ignoredUsers.push(name);
      continue;
    }
    if (ownedUids.has(uid)) throw new InvalidInputError(`User missing from new passwd file: ${name} (files are still owned by uid ${uid}; add it to ignore-removed-users to allow)`);
    log(`Unused user removed from new passwd file: ${name}`);
    report.removedUsers.push(name);
  }
  for (const [name, [uid, gid]] of sorted(newUsers)) {
    const old = oldUsers.get(name);
    if (!old) {
      report.newUsers.push(name);
      continue;
    }
    if (uid !== old[0]) throw new InvalidInputError(`passwd UID changed: ${name} (${old[0]} to ${uid})`);
    if (gid !== old[1]) throw new InvalidInputError(`passwd GID changed: ${name} (${old[1]} to ${gid})`);
  }
  if (report.newUsers.length) log(`New passwd entries: ${report.newUsers.join(', ')}`);

  const ignoredG = new Set(t['ignore-removed-groups'] ?? []);
  for (const [name, gid] of sorted(oldGroups)) {
    if (newGroups.has(name)) continue;
    if (ignoredG.has('*') || ignoredG.has(name)) {
      log(`Ignored group missing from new group file: ${name}`);
      report.ignoredGroups.push(name);
      continue;
    }
    if (ownedGids.has(gid)) throw new InvalidInputError(`Group missing from new group file: ${name} (files are still owned by gid ${gid}; add it to ignore-removed-groups to allow)`);
    log(`Unused group removed from new group file: ${name}`);
    report.removedGroups.push(name);
  }
  for (const [name, gid] of sorted(newGroups)) {
    const old = oldGroups.get(name);
    if (old === undefined) {
      report.newGroups.push(name);
      continue;
    }
    if (gid !== old) throw new InvalidInputError(`group GID changed: ${name} (${old} to ${gid})`);
  }
  if (report.newGroups.length) log(`New group entries: ${report.newGroups.join(', ')}`);
  return report;
}

// ---------------------------------------------------------------------------------------------------------------
// Name lookups for owners.ts

/** Users and groups by name, from passwd/group text (later duplicates win, as rpm-ostree's BTreeMap insert). */
export class PasswdDb {
  readonly users = new Map<string, number>();
  readonly groups = new Map<string, number>();
  /** id → name; the first entry for an id wins, as getpwuid's linear scan does. */
  readonly userNames = new Map<number, string>();
  readonly groupNames = new Map<number, string>();

  addPasswd(text: string, source: string): this {
    for (const u of parsePasswd(text, source)) {
      this.users.set(u.name, u.uid);
      if (!this.userNames.has(u.uid)) this.userNames.set(u.uid, u.name);
    }
    return this;
  }
  addGroup(text: string, source: string): this {
    for (const g of parseGroup(text, source)) {
      this.groups.set(g.name, g.gid);
      if (!this.groupNames.has(g.gid)) this.groupNames.set(g.gid, g.name);
    }
    return this;
  }

  /** /etc/passwd and /etc/group of a tree (each optional), as rpm-ostree reads them after %pre. */
  static async fromRootfs(rootfs: string, etcDir = 'etc'): Promise<PasswdDb> {
    const db = new PasswdDb();
    const p = await readOrNull(join(rootfs, etcDir, 'passwd'));
    if (p !== null) db.addPasswd(p, `/${etcDir}/passwd`);
    const g = await readOrNull(join(rootfs, etcDir, 'group'));
    if (g !== null) db.addGroup(g, `/${etcDir}/group`);
    return db;
  }

  /** A finished tree's users and groups: /usr/etc first, then the split-off /usr/lib files (nss-altfiles order). */
  static async fromFinalTree(root: string): Promise<PasswdDb> {
    const db = new PasswdDb();
    for (const f of ['usr/etc/passwd', 'usr/lib/passwd']) {
      const t = await readOrNull(join(root, f));
      if (t !== null) db.addPasswd(t, `/${f}`);
    }
    for (const f of ['usr/etc/group', 'usr/lib/group']) {
      const t = await readOrNull(join(root, f));
      if (t !== null) db.addGroup(t, `/${f}`);
    }
    return db;
  }

  /** The name of a uid, or an error naming the tree's passwd. */
  user(uid: number): string {
    const n = this.userNames.get(uid);
    if (n === undefined) throw new InvalidInputError(`failed to find user ID '${uid}' in the tree's passwd`);
    return n;
  }

  group(gid: number): string {
    const n = this.groupNames.get(gid);
    if (n === undefined) throw new InvalidInputError(`failed to find group ID '${gid}' in the tree's group`);
    return n;
  }
}
