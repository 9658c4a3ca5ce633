import { formatValue, dictGet } from '../../gvariant/index.js';
import { NotFoundError, UsageError } from '../../errors.js';
import { ObjectType } from '../../ostree/objects/types.js';
import type { Repo } from '../../ostree/repo/repo.js';
import { REPO_OPT, formatCommitDate, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

/** The commit block `ostree log` and `ostree show` print. */
export async function formatCommitBlock(repo: Repo, csum: string): Promise<string> {
  const c = await repo.loadCommit(csum);
  let s = `commit ${csum}\n`;
  if (c.parent) s += `Parent:  ${c.parent}\n`;
  s += `ContentChecksum:  ${c.contentChecksum()}\n`;
  s += `Date:  ${formatCommitDate(c.timestamp)}\n`;
  if (c.version !== undefined) s += `Version: ${c.version}\n`;
  if (c.subject) s += `\n    ${c.subject}\n`;
  if (c.body) s += `\n${c.body.split('\n').map((l) => `    ${l}`).join('\n')}\n`;
  if (!c.subject && !c.body) s += `\n    (no subject)\n`;
  s += '\n';
  return s;
}

export const showVerb: OstreeVerb = {
  name: 'show',
  summary: 'Output a metadata object',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        'print-metadata-key': { kind: 'string', arg: 'KEY', help: 'Print string value of metadata key' },
        'print-detached-metadata-key': { kind: 'string', arg: 'KEY', help: 'Print string value of detached metadata key' },
        raw: { kind: 'boolean', help: 'Show raw variant data' },
      },
      'show [OPTION…] OBJECT',
      ctx,
    );
    if (!p) return 0;
    if (p.args.length === 0) throw new UsageError('An object argument is required');
    const repo = await openRepo(p.opts.repo, ctx);
    const csum = (await repo.resolveRev(p.args[0]!))!;
    const c = await repo.loadCommit(csum);
    if (p.opts['print-metadata-key']) {
      const v = dictGet(c.metadata, p.opts['print-metadata-key']);
      if (!v) throw new NotFoundError(`No such metadata key '${p.opts['print-metadata-key']}'`);
      ctx.stdout.write(formatValue(v.type, v.value) + '\n');
      return 0;
    }
    if (p.opts['print-detached-metadata-key']) {
      const meta = await repo.loadCommitMeta(csum);
      const v = meta ? dictGet(meta, p.opts['print-detached-metadata-key']) : undefined;
      if (!v) throw new NotFoundError(`No such detached metadata key '${p.opts['print-detached-metadata-key']}'`);
      ctx.stdout.write(formatValue(v.type, v.value) + '\n');
      return 0;
    }
    if (p.opts.raw) {
      const { parseType } = await import('../../gvariant/index.js');
      const { deserialize } = await import('../../gvariant/index.js');
      const t = parseType('(a{sv}aya(say)sstayay)');
      ctx.stdout.write(formatValue(t, deserialize(t, await repo.readMetadata(ObjectType.Commit, csum))) + '\n');
      return 0;
    }
    ctx.stdout.write(await formatCommitBlock(repo, csum));
    return 0;
  },
};

export const logVerb: OstreeVerb = {
  name: 'log',
  summary: 'Show log starting at commit or ref',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, { ...REPO_OPT, raw: { kind: 'boolean', help: 'Show raw variant data' } }, 'log [OPTION…] REF', ctx);
    if (!p) return 0;
    if (p.args.length === 0) throw new UsageError('A ref argument is required');
    const repo = await openRepo(p.opts.repo, ctx);
    let cur: string | null = (await repo.resolveRev(p.args[0]!))!;
    while (cur) {
      if (!(await repo.hasObject(ObjectType.Commit, cur))) {
        ctx.stdout.write('<< History beyond this commit not fetched >>\n');
        break;
      }
      ctx.stdout.write(await formatCommitBlock(repo, cur));
      cur = (await repo.loadCommit(cur)).parent;
    }
    return 0;
  },
};
