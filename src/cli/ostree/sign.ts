import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { ObjectType } from '../../ostree/objects/types.js';
import { readEd25519KeyFile, signCommit, verifyEd25519 } from '../../ostree/sign/index.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const signVerb: OstreeVerb = {
  name: 'sign',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        verify: { kind: 'boolean', help: 'Verify signatures' },
        'sign-type': { kind: 'string', short: 's', arg: 'NAME', help: 'Signature type to use (ed25519)' },
        'keys-file': { kind: 'string', arg: 'PATH', help: 'Read key(s) from file' },
        'keys-dir': { kind: 'string', arg: 'PATH', help: 'Accepted for compatibility' },
      },
      'sign [OPTION…] COMMIT KEY-ID…',
      ctx,
    );
    if (!p) return 0;
    if ((p.opts['sign-type'] ?? 'ed25519') !== 'ed25519') throw new UsageError(`Requested signature type is not implemented: ${p.opts['sign-type']}`);
    if (p.args.length < 1) throw new UsageError('Need a COMMIT to sign or verify');
    const repo = await openRepo(p.opts.repo, ctx);
    const commit = (await repo.resolveRev(p.args[0]!))!;
    const keys = [...p.args.slice(1), ...(p.opts['keys-file'] ? readEd25519KeyFile(resolve(ctx.cwd, p.opts['keys-file'])) : [])];
    if (p.opts.verify) {
      const bytes = await repo.readMetadata(ObjectType.Commit, commit);
      verifyEd25519(bytes, await repo.loadCommitMeta(commit), keys, `commit ${commit}`);
      ctx.stdout.write(`Signature verified successfully with key ${keys[0] ?? ''}\n`);
      return 0;
    }
    if (keys.length === 0) throw new UsageError('Need at least one KEY-ID to sign with');
    await signCommit(repo, commit, { ed25519: keys });
    return 0;
  },
};
