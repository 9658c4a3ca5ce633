import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { checkoutCommit } from '../../ostree/checkout.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const checkoutVerb: OstreeVerb = {
  name: 'checkout',
  summary: 'Check out a commit into a filesystem tree',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        'user-mode': { kind: 'boolean', short: 'U', help: 'Do not change file ownership or initialize extended attributes' },
        union: { kind: 'boolean', help: 'Keep existing directories, overwrite existing files' },
        'union-add': { kind: 'boolean', help: 'Keep existing files/directories, only add new' },
        subpath: { kind: 'string', arg: 'PATH', help: 'Checkout sub-directory PATH' },
        'force-copy': { kind: 'boolean', short: 'C', help: 'Never hardlink (but may reflink if available)' },
        'require-hardlinks': { kind: 'boolean', short: 'H', help: 'Do not fall back to full copies if hardlinking fails' },
        'no-copy-fallback': { kind: 'boolean', help: 'Accepted for compatibility' },
        fsync: { kind: 'string', arg: 'POLICY', help: 'Accepted for compatibility' },
        'bareuseronly-dirs': { kind: 'boolean', short: 'M', help: 'Accepted for compatibility' },
      },
      'checkout [OPTION…] COMMIT [DESTINATION]',
      ctx,
    );
    if (!p) return 0;
    if (p.args.length === 0) throw new UsageError('COMMIT must be specified');
    const repo = await openRepo(p.opts.repo, ctx);
    const rev = p.args[0]!;
    const commit = (await repo.resolveRev(rev))!;
    const dest = resolve(ctx.cwd, p.args[1] ?? rev);
    const opts: Parameters<typeof checkoutCommit>[3] = { userMode: p.opts['user-mode'], union: p.opts.union, unionAdd: p.opts['union-add'], forceCopy: p.opts['force-copy'] };
    if (p.opts.subpath) opts.subpath = p.opts.subpath;
    await checkoutCommit(repo, commit, dest, opts);
    return 0;
  },
};
