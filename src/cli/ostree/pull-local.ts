import { resolve } from 'node:path';
import { UnsupportedError, UsageError } from '../../errors.js';
import { pullLocal } from '../../ostree/pull-local.js';
import { Repo } from '../../ostree/repo/repo.js';
import { formatSize } from '../../ostree/prune.js';
import { REPO_OPT, openRepo, parseIntArg, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const pullLocalVerb: OstreeVerb = {
  name: 'pull-local',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        remote: { kind: 'string', arg: 'REMOTE', help: 'Add REMOTE to refspec' },
        depth: { kind: 'string', arg: 'DEPTH', help: 'Traverse DEPTH parents (-1=infinite) (default: 0)' },
        untrusted: { kind: 'boolean', help: 'Verify checksums of local sources (always enabled for HTTP pulls)' },
        'disable-fsync': { kind: 'boolean', help: 'Do not invoke fsync()' },
        'gpg-verify': { kind: 'boolean', help: 'GPG verify commits (must specify --remote)' },
        'gpg-verify-summary': { kind: 'boolean', help: 'GPG verify summary (must specify --remote)' },
        'commit-metadata-only': { kind: 'boolean', help: 'Fetch only the commit metadata' },
        'per-object-fsync': { kind: 'boolean', help: 'Accepted for compatibility' },
        'bareuseronly-files': { kind: 'boolean', help: 'Reject regular files with mode outside of 0775 (world writable, suid, etc.)' },
        'require-static-deltas': { kind: 'boolean', help: 'Require static deltas' },
        'disable-verify-bindings': { kind: 'boolean', help: 'Do not verify commit bindings' },
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
    // silently skipping a requested verification would be worse than failing
    if (p.opts['gpg-verify'] || p.opts['gpg-verify-summary']) throw new UnsupportedError('GPG verification is not supported by coreforge yet');
    const depth = p.opts.depth === undefined ? 0 : parseIntArg(p.opts.depth, '--depth');
    const r = await pullLocal(dst, src, p.args.slice(1), { depth, remote: p.opts.remote ?? null, untrusted: p.opts.untrusted, bareuseronlyFiles: p.opts['bareuseronly-files'], commitMetadataOnly: p.opts['commit-metadata-only'] });
    ctx.stdout.write(`${r.metadataCopied} metadata, ${r.contentCopied} content objects imported; ${formatSize(0)} content written\n`);
    return 0;
  },
};
