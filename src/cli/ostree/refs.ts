import { UsageError } from '../../errors.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const refsVerb: OstreeVerb = {
  name: 'refs',
  summary: 'List refs',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        delete: { kind: 'boolean', help: 'Delete refs which match PREFIX' },
        list: { kind: 'boolean', help: 'Do not remove the prefix from the refs' },
        create: { kind: 'string', arg: 'NEWREF', help: 'Create a new ref for an existing commit' },
        force: { kind: 'boolean', help: 'Overwrite existing refs with --create' },
        'revision': { kind: 'boolean', short: 'r', help: 'Show the checksum of each ref' },
      },
      'refs [OPTION…] [PREFIX]',
      ctx,
    );
    if (!p) return 0;
    const repo = await openRepo(p.opts.repo, ctx);
    const prefix = p.args[0];
    if (p.opts.create) {
      if (!prefix) throw new UsageError('Usage: ostree refs --create=NEWREF EXISTING');
      const target = await repo.resolveRev(prefix);
      const newref = p.opts.create;
      const colon = newref.indexOf(':');
      const remote = colon >= 0 ? newref.slice(0, colon) : null;
      const ref = colon >= 0 ? newref.slice(colon + 1) : newref;
      if (!p.opts.force && (await repo.resolveRev(newref, true)) && (await repo.listRefs()).has(newref)) throw new UsageError(`--create specified but ref ${newref} already exists`);
      await repo.setRef(ref, target, remote);
      return 0;
    }
    let refs: Map<string, string>;
    if (prefix && prefix.endsWith(':')) {
      const remote = prefix.slice(0, -1);
      refs = new Map([...(await repo.listRefs({ local: false }))].filter(([k]) => k.startsWith(`${remote}:`)));
    } else refs = await repo.listRefs(prefix ? { prefix } : {});
    if (p.opts.delete) {
      if (!prefix) throw new UsageError('At least one PREFIX is required when deleting refs');
      for (const name of refs.keys()) {
        const colon = name.indexOf(':');
        if (colon >= 0) await repo.setRef(name.slice(colon + 1), null, name.slice(0, colon));
        else await repo.setRef(name, null);
      }
      return 0;
    }
    for (const [name, csum] of refs) {
      let shown = name;
      if (prefix && !p.opts.list && !prefix.endsWith(':') && name.startsWith(prefix + '/')) shown = name.slice(prefix.length + 1);
      ctx.stdout.write(p.opts.revision ? `${shown}\t${csum}\n` : `${shown}\n`);
    }
    return 0;
  },
};
