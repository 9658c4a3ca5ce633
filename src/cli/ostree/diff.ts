import { UsageError } from '../../errors.js';
import { diffCommits } from '../../ostree/diff.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const diffVerb: OstreeVerb = {
  name: 'diff',
  summary: 'Compare directory TARGETDIR against revision REV',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT, stats: { kind: 'boolean', help: 'Print various statistics' }, 'fs-diff': { kind: 'boolean', help: 'Accepted for compatibility' }, 'no-xattrs': { kind: 'boolean', help: 'Accepted for compatibility' } }, 'diff [OPTION…] REV TARGETDIR', ctx);
    if (!p) return 0;
    if (p.args.length < 2) throw new UsageError('REV and TARGETDIR must be specified');
    const repo = await openRepo(p.opts.repo, ctx);
    const a = (await repo.resolveRev(p.args[0]!))!;
    const b = (await repo.resolveRev(p.args[1]!))!;
    const d = await diffCommits(repo, a, b);
    for (const m of d.modified) ctx.stdout.write(`M    ${m}\n`);
    for (const m of d.removed) ctx.stdout.write(`D    ${m}\n`);
    for (const m of d.added) ctx.stdout.write(`A    ${m}\n`);
    return 0;
  },
};
