/**
 * How a bare-family repository keeps an object's metadata on its file: one
 * place for the rules, used by transactions and by the package cache's
 * import workers, which write bare-user objects straight into staging.
 */
import { fchmodSync, fchownSync, futimesSync } from 'node:fs';
import { native } from '../../native/index.js';
import { serializeBareUserMeta, type FileHeader } from '../objects/content.js';
import { OSTREEMETA_XATTR, writeXattrs } from '../objects/xattrs.js';
import type { RepoMode } from './mode.js';

/** What a bare-user (or, for symlinks, any user-mode) object file holds for a symlink: the target and a NUL. */
export function bareSymlinkBody(target: string): Buffer {
  return Buffer.from(target + '\0');
}

/**
 * The object's metadata on its open file, by repository mode (a few cheap
 * calls on one inode, so synchronous). bare-user: the real metadata in the
 * xattr (`userMeta`: its serialized value when the caller has it already) —
 * set first, as an unprivileged owner may not set user.* xattrs on a file it
 * cannot write (mode 0400).
 */
export function setBareObjectMeta(fd: number, header: FileHeader, mode: RepoMode, userMeta?: Uint8Array): void {
  if (mode === 'bare-user') {
    native().setXattr(fd, OSTREEMETA_XATTR, Buffer.from(userMeta ?? serializeBareUserMeta(header)));
    fchmodSync(fd, header.isSymlink ? 0o644 : (header.mode & 0o775) | 0o400);
  } else if (mode === 'bare') {
    fchownSync(fd, header.uid, header.gid);
    fchmodSync(fd, header.mode & 0o7777);
    writeXattrs(fd, header.xattrs);
  } else fchmodSync(fd, header.mode & 0o7777);
  futimesSync(fd, 0, 0);
}
