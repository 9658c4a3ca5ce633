import { UsageError, NotFoundError } from '../../errors.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

function splitKey(s: string, group?: string): [string, string] {
  if (group) return [group, s];
  const dot = s.lastIndexOf('.');
  if (dot < 0) throw new UsageError(`Section.key '${s}' must be in the form SECTION.KEY`);
  return [s.slice(0, dot), s.slice(dot + 1)];
}

export const configVerb: OstreeVerb = {
  name: 'config',
  summary: 'Change repo configuration settings',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT, group: { kind: 'string', arg: 'GROUP', help: 'Group name for remote config options' } }, 'config [OPTION…] (get KEY|set KEY VALUE|unset KEY)', ctx);
    if (!p) return 0;
    const repo = await openRepo(p.opts.repo, ctx);
    const [op, key, value] = p.args;
    if (!op || !key) throw new UsageError('OPERATION and KEY must be specified');
    const [g, k] = splitKey(key, p.opts.group);
    if (op === 'get') {
      const v = repo.config.getRaw(g, k);
      if (v === undefined) throw new NotFoundError(`Key file does not have key “${k}” in group “${g}”`);
      ctx.stdout.write(`${v}\n`);
    } else if (op === 'set') {
      if (value === undefined) throw new UsageError('VALUE must be specified');
      repo.config.setRaw(g, k, value);
      await repo.writeConfig();
    } else if (op === 'unset') {
      repo.config.removeKey(g, k);
      await repo.writeConfig();
    } else throw new UsageError(`Unknown operation ${op}`);
    return 0;
  },
};
