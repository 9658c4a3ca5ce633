import { CoreforgeError, NotFoundError, UsageError } from '../../errors.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

/** "section.key" splits at the first dot, as ostree's split_key_string does. */
function splitKey(s: string): [string, string] {
  const dot = s.indexOf('.');
  if (dot < 0) throw new CoreforgeError('EINVAL', 'Key must be of the form "sectionname.keyname"');
  return [s.slice(0, dot), s.slice(dot + 1)];
}

/** `ostree config get|set|unset`, following ot-builtin-config.c (messages included). */
export const configVerb: OstreeVerb = {
  name: 'config',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT, group: { kind: 'string', arg: 'GROUP', help: 'Group name' } }, 'config [OPTION…] (get KEY|set KEY VALUE|unset KEY)', ctx);
    if (!p) return 0;
    const repo = await openRepo(p.opts.repo, ctx);
    const [op, ...rest] = p.args;
    if (!op) throw new UsageError('OPERATION must be specified');
    if (rest.length > (op === 'set' ? 2 : 1)) throw new UsageError('Too many arguments given');
    const group = p.opts.group;
    const target = (): [string, string] => {
      if (rest.length < 1) throw new CoreforgeError('EINVAL', group !== undefined ? 'Group name and key must be specified' : 'KEY must be specified');
      return group !== undefined ? [group, rest[0]!] : splitKey(rest[0]!);
    };
    if (op === 'set') {
      if (rest.length < 2) throw new CoreforgeError('EINVAL', group !== undefined ? 'GROUP name, KEY and VALUE must be specified' : 'KEY and VALUE must be specified');
      const [g, k] = target();
      repo.config.setString(g, k, rest[1]!);
      await repo.writeConfig();
    } else if (op === 'get') {
      const [g, k] = target();
      if (!repo.config.hasGroup(g)) throw new NotFoundError(`Key file does not have group “${g}”`);
      const v = repo.config.getString(g, k);
      if (v === undefined) throw new NotFoundError(`Key file does not have key “${k}” in group “${g}”`);
      ctx.stdout.write(`${v}\n`);
    } else if (op === 'unset') {
      const [g, k] = target();
      // unsetting a missing key (or group) is not an error, and leaves the file alone
      if (repo.config.getRaw(g, k) !== undefined) {
        repo.config.removeKey(g, k);
        await repo.writeConfig();
      }
    } else throw new CoreforgeError('EINVAL', `Unknown operation ${op}`);
    return 0;
  },
};
