/**
 * The target's rpm database at /usr/share/rpm (sqlite backend), as rpm-ostree leaves it in a composed tree:
 * `rpm -qa` on the booted system lists exactly the composed packages, `rpm -qf`/`-ql`/`-V` work.
 *
 * The database is written by the host's rpm (Debian 12's rpm 4.18 has the sqlite backend) with --justdb: rpm then
 * records the headers only — no payload, no scriptlets, no chroot — so it runs unprivileged. rpm 4.18 takes
 * INSTALLTIME and INSTALLTID from SOURCE_DATE_EPOCH (rpmtsCreate's overrideTime), which is what makes two runs over
 * the same packages byte-identical. rpm leaves the database in WAL mode with persistent -wal/-shm files
 * (rpm issue 2219); like rpm-ostree's normalize_rpmdb we switch it back to journal_mode=DELETE (sqlite3 CLI), which
 * folds and removes them, and drop lock files as postprocess_cleanup_rpmdb does.
 *
 * Also what rpm-ostree adds around it: /var/lib/rpm → ../../usr/share/rpm and /usr/lib/sysimage/rpm → ../../share/rpm
 * (compose_postprocess_rpmdb) and /usr/lib/rpm/macros.d/macros.rpm-ostree with `%_dbpath /usr/share/rpm`
 * (compose_postprocess_rpm_macro), so the target's rpm finds the database.
 */
import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreforgeError, NotFoundError, UnsupportedError } from '../errors.js';
import type { ComposePackage } from './types.js';

/** rpm-ostree's RPMOSTREE_RPMDB_LOCATION. */
export const RPMDB_LOCATION = 'usr/share/rpm';
export const TRADITIONAL_RPMDB_LOCATION = 'var/lib/rpm';
export const SYSIMAGE_RPMDB_LOCATION = 'usr/lib/sysimage/rpm';
export const RPM_MACRO_FILE = 'usr/lib/rpm/macros.d/macros.rpm-ostree';

export class RpmdbError extends CoreforgeError {
  constructor(message: string) {
    super('ERPMDB', message);
  }
}

export interface WriteRpmdbOptions {
  /** The treefile's `rpmdb` backend; only sqlite (the default) is written (bdb/ndb/target are refused). */
  backend?: string;
  /** INSTALLTIME/INSTALLTID of every package; default: SOURCE_DATE_EPOCH of the environment, else the clock. */
  sourceDateEpoch?: number;
  /** Also write the /var/lib/rpm and /usr/lib/sysimage/rpm links and the %_dbpath macro file (default true). */
  links?: boolean;
  /** Binaries (default from PATH). */
  rpm?: string;
  sqlite3?: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(e.code === 'ENOENT' ? new NotFoundError(`${what}: '${cmd}' not found (install it: Debian package ${cmd === 'sqlite3' ? 'sqlite3' : 'rpm'})`) : e);
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString());
      else reject(new RpmdbError(`${what}: ${cmd} failed (${signal ?? `exit ${code}`}): ${Buffer.concat(err).toString().trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

/** Replace whatever is at `path` with a symlink (rpm-ostree: remove_all_optional + symlink). */
async function forceSymlink(rootfs: string, rel: string, target: string): Promise<void> {
  const path = join(rootfs, rel);
  await fsp.rm(path, { recursive: true, force: true });
  await fsp.mkdir(join(path, '..'), { recursive: true, mode: 0o755 });
  await fsp.symlink(target, path);
}

/** /var/lib/rpm and /usr/lib/sysimage/rpm → /usr/share/rpm (compose_postprocess_rpmdb). */
export async function writeRpmdbLinks(rootfs: string): Promise<void> {
  await forceSymlink(rootfs, TRADITIONAL_RPMDB_LOCATION, `../../${RPMDB_LOCATION}`);
  await forceSymlink(rootfs, SYSIMAGE_RPMDB_LOCATION, '../../share/rpm');
}

/** /usr/lib/rpm/macros.d/macros.rpm-ostree (compose_postprocess_rpm_macro). */
export async function writeRpmMacro(rootfs: string): Promise<void> {
  await fsp.mkdir(join(rootfs, 'usr/lib/rpm/macros.d'), { recursive: true, mode: 0o755 });
  const path = join(rootfs, RPM_MACRO_FILE);
  await fsp.rm(path, { force: true });
  await fsp.writeFile(path, `%_dbpath /${RPMDB_LOCATION}\n`, { mode: 0o644 });
  await fsp.chmod(path, 0o644);
}

const byNevra = (a: ComposePackage, b: ComposePackage): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.nevra < b.nevra ? -1 : a.nevra > b.nevra ? 1 : 0);

/**
 * Writes /usr/share/rpm (replacing any database there) recording `pkgs`. Packages are added in name order, so the
 * result does not depend on the caller's order; rpm orders the transaction itself.
 */
export async function writeRpmdb(rootfs: string, pkgs: readonly ComposePackage[], opts: WriteRpmdbOptions = {}): Promise<void> {
  await createRpmdb(rootfs, pkgs, opts);
  await installRpmdb(rootfs, rootfs, opts);
}

/**
 * The rpm half of writeRpmdb: `rpm --justdb` writes the packages' database
 * under `dbRoot`/usr/share/rpm. It reads only the RPM files, never the tree,
 * so it can run beside the steps that build the tree (dbRoot a scratch
 * directory) and be installed into it later (installRpmdb).
 */
export async function createRpmdb(dbRoot: string, pkgs: readonly ComposePackage[], opts: WriteRpmdbOptions = {}): Promise<void> {
  if (opts.backend !== undefined && opts.backend !== 'sqlite') throw new UnsupportedError(`rpmdb: ${opts.backend}: only the sqlite rpmdb backend is supported`);
  const dbdir = join(dbRoot, RPMDB_LOCATION);
  await fsp.rm(dbdir, { recursive: true, force: true });
  await fsp.mkdir(dbdir, { recursive: true, mode: 0o755 });
  await fsp.chmod(dbdir, 0o755);

  if (pkgs.length > 0) {
    // An empty HOME keeps the builder's ~/.rpmmacros out of the database.
    const home = await mkdtemp(join(tmpdir(), 'coreforge-rpmhome-'));
    try {
      const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, LC_ALL: 'C' };
      const sde = opts.sourceDateEpoch ?? (process.env.SOURCE_DATE_EPOCH !== undefined ? Number(process.env.SOURCE_DATE_EPOCH) : undefined);
      if (sde !== undefined) {
        if (!Number.isInteger(sde) || sde < 0 || sde > 0xffffffff) throw new RpmdbError(`SOURCE_DATE_EPOCH ${sde} is not a valid timestamp`);
        env.SOURCE_DATE_EPOCH = String(sde);
      }
      const args = [
        '--root', dbRoot,
        '--dbpath', `/${RPMDB_LOCATION}`,
        '--define', '_db_backend sqlite',
        // rpm-ostree's write_rpmdb: RPMTRANS_FLAG_JUSTDB | NOCONTEXTS, no dependency check, problem filters
        // DISKSPACE | OLDPACKAGE | REPLACE{NEW,OLD}FILES. Like it, no NODOCS: every file is recorded 'normal'
        // even when `documentation: false` left doc files out of the tree.
        '--justdb', '--noscripts', '--notriggers', '--nodeps', '--nocontexts',
        '--ignorearch', '--ignoreos', '--ignoresize', '--oldpackage', '--replacepkgs', '--replacefiles',
        '--nosignature', '--nodigest',
      ];
      args.push('-i', '--', ...[...pkgs].sort(byNevra).map((p) => p.rpmPath));
      await run(opts.rpm ?? 'rpm', args, env, `writing the rpmdb of ${pkgs.length} packages`);
    } finally {
      await fsp.rm(home, { recursive: true, force: true });
    }
  } else {
    // rpm refuses an empty transaction; `rpm --initdb` gives the empty database.
    const home = await mkdtemp(join(tmpdir(), 'coreforge-rpmhome-'));
    try {
      await run(opts.rpm ?? 'rpm', ['--root', dbRoot, '--dbpath', `/${RPMDB_LOCATION}`, '--define', '_db_backend sqlite', '--initdb'], { ...process.env, HOME: home, LC_ALL: 'C' }, 'initializing an empty rpmdb');
    } finally {
      await fsp.rm(home, { recursive: true, force: true });
    }
  }
  await normalizeRpmdb(dbRoot, opts);
}

/** The database createRpmdb wrote under `dbRoot` becomes the tree's (replacing any), with its links and macro file. */
export async function installRpmdb(rootfs: string, dbRoot: string, opts: Pick<WriteRpmdbOptions, 'links'> = {}): Promise<void> {
  if (dbRoot !== rootfs) {
    const dbdir = join(rootfs, RPMDB_LOCATION);
    await fsp.rm(dbdir, { recursive: true, force: true });
    await fsp.mkdir(join(dbdir, '..'), { recursive: true, mode: 0o755 });
    await fsp.rename(join(dbRoot, RPMDB_LOCATION), dbdir);
  }
  if (opts.links !== false) {
    await writeRpmdbLinks(rootfs);
    await writeRpmMacro(rootfs);
  }
}

/**
 * Leaves only rpmdb.sqlite in /usr/share/rpm, in rollback-journal mode (readable without creating -wal/-shm where
 * possible, and no stale sqlite side files in the commit), mode 0644.
 */
export async function normalizeRpmdb(rootfs: string, opts: { sqlite3?: string } = {}): Promise<void> {
  const dbdir = join(rootfs, RPMDB_LOCATION);
  const db = join(dbdir, 'rpmdb.sqlite');
  try {
    await fsp.access(db);
  } catch {
    throw new RpmdbError(`rpm wrote no ${RPMDB_LOCATION}/rpmdb.sqlite (is the host rpm's %_db_backend sqlite?)`);
  }
  const mode = (await run(opts.sqlite3 ?? 'sqlite3', [db, 'PRAGMA journal_mode=DELETE;'], process.env, 'normalizing the rpmdb')).trim();
  if (mode !== 'delete') throw new RpmdbError(`normalizing the rpmdb: sqlite3 left journal_mode '${mode}'`);
  for (const name of await fsp.readdir(dbdir)) {
    if (name === '.dbenv.lock' || name === '.rpm.lock' || name.startsWith('__db.') || name === 'rpmdb.sqlite-wal' || name === 'rpmdb.sqlite-shm' || name === 'rpmdb.sqlite-journal') {
      await fsp.rm(join(dbdir, name), { force: true });
    }
  }
  await fsp.chmod(db, 0o644);
}
