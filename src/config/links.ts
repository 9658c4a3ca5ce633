import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { isErrno } from '../errors.js';
import { ConfigError } from './errors.js';

/** Said of every broken link into the upstream: the usual cause is a submodule not checked out. */
export const SUBMODULE_HINT = '(is the upstream submodule checked out? try: git submodule update --init)';

/**
 * Whether an optional config entry (lockfile, image.yaml, overlay.d …) is
 * there. Absent is false; a symlink whose target is missing is an error, not
 * "absent": config new links lockfiles and overlays into the upstream
 * submodule, and silently building without them would be wrong.
 */
export function configEntryExists(path: string, shown: string = path): boolean {
  let l;
  try {
    l = lstatSync(path);
  } catch (e) {
    if (isErrno(e, 'ENOENT') || isErrno(e, 'ENOTDIR')) return false;
    throw new ConfigError(`${shown}: ${(e as Error).message}`);
  }
  if (l.isSymbolicLink() && !existsSync(path)) throw new ConfigError(`${shown}: broken symlink to ${readlinkSync(path)} ${SUBMODULE_HINT}`);
  return true;
}
