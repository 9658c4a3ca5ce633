import { InvalidInputError } from '../../errors.js';

export type RepoMode = 'bare' | 'bare-user' | 'bare-user-only' | 'archive';

/** Parse a mode as `ostree init --mode` and the config file spell it. */
export function parseRepoMode(s: string, what = 'repository mode'): RepoMode {
  switch (s) {
    case 'bare':
    case 'bare-user':
    case 'bare-user-only':
      return s;
    case 'archive':
    case 'archive-z2':
      return 'archive';
    default:
      throw new InvalidInputError(`invalid ${what} '${s}' (expected bare, bare-user, bare-user-only or archive)`);
  }
}

/** The spelling written to `config` (`archive` is written as `archive-z2`, as ostree does). */
export function repoModeConfigString(m: RepoMode): string {
  return m === 'archive' ? 'archive-z2' : m;
}
