import { constants } from 'node:fs';
import { chmod, chown, link, lstat, mkdir, open, symlink, unlink, utimes, lutimes } from 'node:fs/promises';
import { join } from 'node:path';
import { RpmFormatError, RpmUnsafePathError } from './errors.js';
import { openPayload, type OpenPayloadOptions } from './payload.js';
import { isErrno } from '../../errors.js';

export interface ExtractOptions extends OpenPayloadOptions {
  /** chown to the header's owners (uid/gid resolved by `resolveOwner`); default false. */
  preserveOwners?: boolean;
  resolveOwner?: (user: string, group: string) => { uid: number; gid: number };
  /** Set mtimes from the header (default true). */
  preserveMtimes?: boolean;
}

export interface ExtractResult {
  files: number;
  dirs: number;
  symlinks: number;
  hardlinks: number;
  /** Device nodes, fifos and sockets (node cannot mknod); their paths. */
  skipped: string[];
  bytes: number;
}

/**
 * Makes every directory of `rel` under `root`, refusing any existing
 * component that is not a real directory (never follows a symlink).
 */
async function safeParents(root: string, rel: string[], pkg: string, path: string): Promise<string> {
  let cur = root;
  for (const c of rel) {
    cur = join(cur, c);
    try {
      const st = await lstat(cur);
      if (!st.isDirectory()) throw new RpmUnsafePathError(pkg, path, `parent ${cur} is not a directory (symlink or file)`);
    } catch (e) {
      if (!isErrno(e, 'ENOENT')) throw e;
      await mkdir(cur, { mode: 0o755 });
    }
  }
  return cur;
}

async function removeIfPresent(p: string, pkg: string, path: string): Promise<void> {
  try {
    const st = await lstat(p);
    if (st.isDirectory()) throw new RpmUnsafePathError(pkg, path, 'a directory exists where a file goes');
    await unlink(p);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}

/**
 * Extracts an RPM's payload under `dir` (which must exist), without ever
 * following a symlink: parents are checked with lstat, files opened with
 * O_NOFOLLOW|O_EXCL. Modes come from the header; hardlink sets become real
 * hardlinks to the member that carries the content.
 */
export async function extractTo(input: string | Buffer | AsyncIterable<Buffer>, dir: string, opts: ExtractOptions = {}): Promise<ExtractResult> {
  const res: ExtractResult = { files: 0, dirs: 0, symlinks: 0, hardlinks: 0, skipped: [], bytes: 0 };
  const pendingLinks = new Map<number[], string[]>();
  const contentOf = new Map<number[], string>();
  const dirModes: [string, number, number, string, string][] = [];
  for await (const e of openPayload(input, opts)) {
    const parts = e.path.split('/').filter(Boolean);
    const parent = await safeParents(dir, parts.slice(0, -1), e.pkg, e.path);
    const target = join(parent, parts[parts.length - 1]!);
    switch (e.type) {
      case 'dir': {
        try {
          const st = await lstat(target);
          if (!st.isDirectory()) throw new RpmUnsafePathError(e.pkg, e.path, 'a non-directory exists where a directory goes');
        } catch (err) {
          if (!isErrno(err, 'ENOENT')) throw err;
          await mkdir(target, { mode: 0o700 });
        }
        // Applied at the end so restrictive modes do not block extraction of children.
        dirModes.push([target, e.mode & 0o7777, e.file.mtime, e.file.user, e.file.group]);
        res.dirs++;
        break;
      }
      case 'symlink':
        await removeIfPresent(target, e.pkg, e.path);
        await symlink(e.linkTarget, target);
        if (opts.preserveMtimes ?? true) await lutimes(target, e.file.mtime, e.file.mtime).catch(() => {});
        res.symlinks++;
        break;
      case 'file': {
        await removeIfPresent(target, e.pkg, e.path);
        if (e.hardlinkSet && !e.hasContent) {
          const holder = contentOf.get(e.hardlinkSet);
          if (holder) {
            await link(holder, target);
            res.hardlinks++;
          } else {
            const l = pendingLinks.get(e.hardlinkSet) ?? [];
            l.push(target);
            pendingLinks.set(e.hardlinkSet, l);
          }
          break;
        }
        const fh = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        try {
          for await (const c of e.content()) {
            await fh.write(c);
            res.bytes += c.length;
          }
          await fh.chmod(e.mode & 0o7777);
          if (opts.preserveOwners && opts.resolveOwner) {
            const { uid, gid } = opts.resolveOwner(e.file.user, e.file.group);
            await fh.chown(uid, gid);
            await fh.chmod(e.mode & 0o7777); // chown clears setuid bits
          }
        } finally {
          await fh.close();
        }
        if (opts.preserveMtimes ?? true) await utimes(target, e.file.mtime, e.file.mtime);
        res.files++;
        if (e.hardlinkSet) {
          contentOf.set(e.hardlinkSet, target);
          for (const p of pendingLinks.get(e.hardlinkSet) ?? []) {
            await link(target, p);
            res.hardlinks++;
          }
          pendingLinks.delete(e.hardlinkSet);
        }
        break;
      }
      default:
        res.skipped.push(e.path);
    }
  }
  for (const paths of pendingLinks.values()) {
    // openPayload guarantees the content holder arrives; this is a safety net.
    throw new RpmFormatError(`${dir}`, `hardlink set without content (${paths.join(', ')})`);
  }
  for (const [p, mode, mtime, user, group] of dirModes.reverse()) {
    if (opts.preserveOwners && opts.resolveOwner) {
      const { uid, gid } = opts.resolveOwner(user, group);
      await chown(p, uid, gid);
    }
    await chmod(p, mode);
    if (opts.preserveMtimes ?? true) await utimes(p, mtime, mtime);
  }
  return res;
}
