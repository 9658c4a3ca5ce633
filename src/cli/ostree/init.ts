import { Repo } from '../../ostree/repo/repo.js';
import { parseRepoMode } from '../../ostree/repo/mode.js';
import { REPO_OPT, parseVerbArgs, repoPath } from './common.js';
import type { OstreeVerb } from './verb.js';

export const initVerb: OstreeVerb = {
  name: 'init',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT, mode: { kind: 'string', arg: 'MODE', help: 'bare, bare-user, bare-user-only, archive' }, 'collection-id': { kind: 'string', arg: 'COLLECTION-ID' } }, 'init [OPTION…]', ctx);
    if (!p) return 0;
    const mode = parseRepoMode(p.opts.mode ?? 'bare');
    const opts: { collectionId?: string } = {};
    if (p.opts['collection-id']) opts.collectionId = p.opts['collection-id'];
    await Repo.create(repoPath(p.opts.repo, ctx), mode, opts);
    return 0;
  },
};
