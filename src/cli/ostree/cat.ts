import { posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InvalidInputError, UsageError } from '../../errors.js';
import { resolvePath } from '../../ostree/path.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const catVerb: OstreeVerb = {
  name: 'cat',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT }, 'cat [OPTION…] COMMIT PATH…', ctx);
    if (!p) return 0;
    if (p.args.length < 2) throw new UsageError('A COMMIT and at least one PATH argument are required');
    const repo = await openRepo(p.opts.repo, ctx);
    const commit = (await repo.resolveRev(p.args[0]!))!;
    for (const path of p.args.slice(1)) {
      // symlinks are followed inside the commit (never onto the host), as reading the GFile does in ostree
      let cur = posix.resolve('/', path);
      for (let hops = 0; ; hops++) {
        if (hops > 40) throw new InvalidInputError(`${path}: Too many levels of symbolic links`);
        const e = await resolvePath(repo, commit, cur);
        if (e.kind !== 'file') throw new InvalidInputError(`${path}: Can't open directory`);
        const obj = await repo.loadContent(e.checksum);
        if (obj.header.isSymlink) {
          cur = posix.resolve(posix.dirname(cur), obj.header.symlinkTarget);
          continue;
        }
        await pipeline(obj.open(), ctx.stdout, { end: false });
        break;
      }
    }
    return 0;
  },
};
