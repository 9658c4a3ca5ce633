import { fsckRepo } from '../../ostree/fsck.js';
import { CoreforgeError } from '../../errors.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

/** `ostree fsck`, with ot-builtin-fsck.c's messages and exit status. */
export const fsckVerb: OstreeVerb = {
  name: 'fsck',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        'add-tombstones': { kind: 'boolean', help: 'Add tombstones for missing commits' },
        quiet: { kind: 'boolean', short: 'q', help: 'Only print error messages' },
        all: { kind: 'boolean', short: 'a', help: "Don't stop on first error" },
        delete: { kind: 'boolean', help: 'Remove corrupted objects' },
        'verify-bindings': { kind: 'boolean', help: 'Verify ref bindings' },
        'verify-back-refs': { kind: 'boolean', help: 'Verify back-references (implies --verify-bindings)' },
      },
      'fsck [OPTION…]',
      ctx,
    );
    if (!p) return 0;
    if (p.opts['add-tombstones']) throw new CoreforgeError('EUNSUPPORTED', '--add-tombstones is not supported by coreforge ostree yet');
    const repo = await openRepo(p.opts.repo, ctx);
    const log = p.opts.quiet ? () => undefined : (l: string) => ctx.stdout.write(l + '\n');
    const warn = (l: string) => ctx.stderr.write(l + '\n');
    const r = await fsckRepo(repo, { delete: p.opts.delete, all: p.opts.all, verifyBindings: p.opts['verify-bindings'], verifyBackRefs: p.opts['verify-back-refs'], log, warn });
    if (r.fatal !== null) throw new CoreforgeError('ECORRUPT', r.fatal);
    if (r.partialCommits > 0) log(`${r.partialCommits} partial commits not verified`);
    if (r.errors.length > 0) throw new CoreforgeError('ECORRUPT', 'Repository corruption encountered');
    if (r.fsckPartialCommits > 0) throw new CoreforgeError('ECORRUPT', `${r.partialCommits} partial commits from fsck-detected corruption`);
    log(`object fsck of ${r.commits} commits completed successfully - no errors found.`);
    return 0;
  },
};
