import { realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from './errors.js';
import { configEntryExists } from './links.js';
import { listTree } from './overlays.js';

export interface LiveDir {
  /** live/ in the config (maybe a symlink into the upstream). */
  path: string;
  realPath: string;
  /** Files relative to live/, e.g. `EFI/fedora/grub.cfg`, `isolinux/isolinux.cfg`, `zipl.prm`. */
  files: string[];
}

/** live/ ISO/PXE boot templates, when the config has them. */
export function loadLive(configDir: string): LiveDir | undefined {
  const path = join(configDir, 'live');
  if (!configEntryExists(path, 'live')) return undefined;
  const realPath = realpathSync(path);
  if (!statSync(realPath).isDirectory()) throw new ConfigError(`${path}: expected a directory`);
  return { path, realPath, files: listTree(realPath) };
}
