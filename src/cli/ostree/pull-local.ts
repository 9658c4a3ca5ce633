import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { pullLocal } from '../../ostree/pull-local.js';
import { Repo } from '../../ostree/repo/repo.js';
import { formatSize } from '../../ostree/prune.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const pullLocalVerb: OstreeVerb = {
  name: 'pull-local',
  summary: 'Copy data from SRC_REPO',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        remote: { kind: 'string', arg: 'REMOTE', help: 'Add REMOTE to refspec' },
        depth: { kind: 'string', arg: 'DEPTH', help: 'Traverse DEPTH parents (-1=infinite) (default: 0)' },
        untrusted: { kind: 'boolean', help: 'Verify checksums of local sources (always enabled for HTTP pulls)' },
        'disable-fsync': { kind: 'boolean', help: 'Do not invoke fsync()' },
        'gpg-verify': { kind: 'boolean', help: 'Accepted for compatibility' },
        'gpg-verify-summary': { kind: 'boolean', help: 'Accepted for compatibility' },
        'commit-metadata-only': { kind: 'boolean', help: 'Accepted for compatibility' },
        bareuseronly: { kind: 'boolean', help: 'Accepted for compatibility' },
      },
      'pull-local [OPTION…] SRC_REPO [REFS…]',
      ctx,
    );
    if (!p) return 0;
    if (p.args.length === 0) throw new UsageError('DESTINATION must be specified');
    const dst = await openRepo(p.opts.repo, ctx);
    if (p.opts['disable-fsync']) dst.config.setRaw('core', 'fsync', 'false');
    const srcPath = p.args[0]!.replace(/^file:\/\//, '');
    const src = await Repo.open(resolve(ctx.cwd, srcPath));
    let depth = 0;
    if (p.opts.depth !== undefined) depth = Number(p.opts.depth);
    const r = await pullLocal(dst, src, p.args.slice(1), { depth, remote: p.opts.remote ?? null, untrusted: p.opts.untrusted });
    ctx.stdout.write(`${r.metadataCopied} metadata, ${r.contentCopied} content objects imported; ${formatSize(0)} content written\n`);
    return 0;
  },
};
