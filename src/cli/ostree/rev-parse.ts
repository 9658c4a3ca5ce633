import { CoreforgeError, UsageError } from '../../errors.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const revParseVerb: OstreeVerb = {
  name: 'rev-parse',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT, single: { kind: 'boolean', short: 'S', help: 'If the repository has exactly one commit, print it' } }, 'rev-parse [OPTION…] REV', ctx);
    if (!p) return 0;
    const repo = await openRepo(p.opts.repo, ctx);
    if (p.opts.single) {
      if (p.args.length > 0) throw new UsageError('Cannot specify arguments with --single');
      const commits = await repo.listCommits();
      if (commits.length > 1) throw new CoreforgeError('EINVAL', 'Multiple commit objects found');
      if (commits.length === 0) throw new CoreforgeError('ENOTFOUND', 'No commit objects found');
      ctx.stdout.write(`${commits[0]}\n`);
      return 0;
    }
    if (p.args.length === 0) throw new UsageError('REV must be specified');
    for (const rev of p.args) ctx.stdout.write(`${await repo.resolveRev(rev)}\n`);
    return 0;
  },
};
