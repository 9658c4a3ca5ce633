import { fsckRepo } from '../../ostree/fsck.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const fsckVerb: OstreeVerb = {
  name: 'fsck',
  summary: 'Check the repository for consistency',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        quiet: { kind: 'boolean', short: 'q', help: 'Only print error messages' },
        delete: { kind: 'boolean', help: 'Remove corrupted objects' },
        'add-tombstones': { kind: 'boolean', help: 'Accepted for compatibility' },
        verify: { kind: 'boolean', help: 'Accepted for compatibility' },
        'verify-bindings': { kind: 'boolean', help: 'Accepted for compatibility' },
        'verify-back-refs': { kind: 'boolean', help: 'Accepted for compatibility' },
      },
      'fsck [OPTION…]',
      ctx,
    );
    if (!p) return 0;
    const repo = await openRepo(p.opts.repo, ctx);
    const log = p.opts.quiet ? () => undefined : (l: string) => ctx.stdout.write(l + '\n');
    const r = await fsckRepo(repo, { delete: p.opts.delete, log });
    if (r.errors.length > 0) {
      for (const e of r.errors) ctx.stderr.write(`error: ${e}\n`);
      return 1;
    }
    if (r.partialCommits > 0) log(`${r.partialCommits} partial commits not verified`);
    log(`object fsck of ${r.commits} commits completed successfully - no errors found.`);
    return 0;
  },
};
