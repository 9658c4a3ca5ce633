import { CoreforgeError, UsageError } from '../../errors.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

/** `ostree reset REF COMMIT`: point an existing local ref at another commit (ot-builtin-reset.c). */
export const resetVerb: OstreeVerb = {
  name: 'reset',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT }, 'reset [OPTION…] REF COMMIT', ctx);
    if (!p) return 0;
    if (p.args.length < 2) throw new UsageError('A REF and COMMIT argument is required');
    const [ref, target] = p.args as [string, string];
    const repo = await openRepo(p.opts.repo, ctx);
    if (!(await repo.listRefsExt(null)).has(ref)) throw new CoreforgeError('EINVAL', `Invalid ref '${ref}'`);
    const csum = (await repo.resolveRev(target))!;
    // ostree writes the ref at transaction commit; the write itself is atomic
    const unlock = await repo.lock('sh');
    try {
      await repo.setRef(ref, csum);
      await repo.maybeRegenerateSummary();
    } finally {
      unlock();
    }
    return 0;
  },
};
