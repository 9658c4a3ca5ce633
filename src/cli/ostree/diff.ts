import { UsageError } from '../../errors.js';
import { resolve } from 'node:path';
import { commitDir, diffDirs, fsDir, type FsDiffOptions } from '../../ostree/diff.js';
import { REPO_OPT, openRepo, parseIntArg, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const diffVerb: OstreeVerb = {
  name: 'diff',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        stats: { kind: 'boolean', help: 'Print various statistics' },
        'fs-diff': { kind: 'boolean', help: 'Print filesystem diff' },
        'no-xattrs': { kind: 'boolean', help: 'Skip output of extended attributes' },
        'owner-uid': { kind: 'string', arg: 'UID', help: 'Use file ownership user id for local files' },
        'owner-gid': { kind: 'string', arg: 'GID', help: 'Use file ownership group id for local files' },
      },
      'diff [OPTION…] REV TARGETDIR',
      ctx,
    );
    if (!p) return 0;
    if (p.args.length < 1) throw new UsageError('REV must be specified');
    const repo = await openRepo(p.opts.repo, ctx);
    const fsOpts: FsDiffOptions = { noXattrs: p.opts['no-xattrs'] };
    if (p.opts['owner-uid'] !== undefined) fsOpts.ownerUid = parseIntArg(p.opts['owner-uid'], '--owner-uid');
    if (p.opts['owner-gid'] !== undefined) fsOpts.ownerGid = parseIntArg(p.opts['owner-gid'], '--owner-gid');
    // as ostree's parse_file_or_commit: "/…" and "./…" are directories on disk, anything else a revision
    const side = async (arg: string) => (arg.startsWith('/') || arg.startsWith('./') ? fsDir(resolve(ctx.cwd, arg), fsOpts) : commitDir(repo, (await repo.resolveRev(arg))!));
    const src = p.args.length === 1 ? `${p.args[0]}^` : p.args[0]!;
    const target = p.args.length === 1 ? p.args[0]! : p.args[1]!;
    const d = await diffDirs(await side(src), await side(target));
    // ostree prints paths on disk relative to their directory, paths in commits absolute
    const isFs = (arg: string) => arg.startsWith('/') || arg.startsWith('./');
    const show = (fs: boolean, path: string) => (fs ? path.replace(/^\//, '') : path);
    for (const m of d.modified) ctx.stdout.write(`M    ${show(isFs(src), m)}\n`);
    for (const m of d.removed) ctx.stdout.write(`D    ${show(isFs(src), m)}\n`);
    for (const m of d.added) ctx.stdout.write(`A    ${show(isFs(target), m)}\n`);
    return 0;
  },
};
