import { pipeline } from 'node:stream/promises';
import { InvalidInputError, UsageError } from '../../errors.js';
import { resolvePath } from '../../ostree/path.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const catVerb: OstreeVerb = {
  name: 'cat',
  summary: 'Concatenate contents of files',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT }, 'cat [OPTION…] COMMIT PATH…', ctx);
    if (!p) return 0;
    if (p.args.length < 2) throw new UsageError('A COMMIT and at least one PATH argument are required');
    const repo = await openRepo(p.opts.repo, ctx);
    const commit = (await repo.resolveRev(p.args[0]!))!;
    for (const path of p.args.slice(1)) {
      const e = await resolvePath(repo, commit, path);
      if (e.kind !== 'file') throw new InvalidInputError(`${path} is a directory`);
      const obj = await repo.loadContent(e.checksum);
      if (obj.header.isSymlink) throw new InvalidInputError(`${path} is a symbolic link`);
      await pipeline(obj.open(), ctx.stdout, { end: false });
    }
    return 0;
  },
};
