import { UsageError } from '../../errors.js';
import { signCommit } from '../../ostree/sign/index.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const gpgSignVerb: OstreeVerb = {
  name: 'gpg-sign',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT, 'gpg-homedir': { kind: 'string', arg: 'HOMEDIR', help: 'GPG Homedir to use when looking for keyrings' } }, 'gpg-sign [OPTION…] COMMIT KEY-ID…', ctx);
    if (!p) return 0;
    if (p.args.length < 2) throw new UsageError('Need a COMMIT to sign and at least one KEY-ID');
    const repo = await openRepo(p.opts.repo, ctx);
    const commit = (await repo.resolveRev(p.args[0]!))!;
    await signCommit(repo, commit, { gpg: p.args.slice(1).map((keyId) => ({ keyId, ...(p.opts['gpg-homedir'] ? { homedir: p.opts['gpg-homedir'] } : {}) })) });
    return 0;
  },
};
