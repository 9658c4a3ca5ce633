import { formatValue, dictGet, Variant, type GValue, type GVType } from '../../gvariant/index.js';
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
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        'print-metadata-key': { kind: 'string', arg: 'KEY', help: 'Print string value of metadata key' },
        'print-detached-metadata-key': { kind: 'string', arg: 'KEY', help: 'Print string value of detached metadata key' },
        raw: { kind: 'boolean', help: 'Show raw variant data' },
        'no-byteswap': { kind: 'boolean', short: 'B', help: 'Do not automatically convert variant data from big endian' },
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
      ctx.stdout.write(formatValue(v.type, p.opts['no-byteswap'] ? v.value : byteswapValue(v.type, v.value)) + '\n');
      return 0;
    }
    if (p.opts['print-detached-metadata-key']) {
      const meta = await repo.loadCommitMeta(csum);
      if (!meta) throw new NotFoundError(`No detached metadata for commit ${csum}`);
      const v = dictGet(meta, p.opts['print-detached-metadata-key']);
      if (!v) throw new NotFoundError(`No such metadata key '${p.opts['print-detached-metadata-key']}'`);
      ctx.stdout.write(formatValue(v.type, p.opts['no-byteswap'] ? v.value : byteswapValue(v.type, v.value)) + '\n');
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

/** g_variant_byteswap: what `ostree show` prints on little-endian hosts unless -B (ostree data is big-endian). */
export function byteswapValue(type: GVType, v: GValue): GValue {
  switch (type.kind) {
    case 'basic': {
      const size = type.fixedSize;
      if (type.code === 'y' || type.code === 'b' || size === null || size < 2) return v;
      const buf = Buffer.alloc(size);
      if (type.code === 'd') buf.writeDoubleLE(v as number);
      else if (size === 8) buf.writeBigUInt64LE(BigInt.asUintN(64, v as bigint));
      else if (size === 4) buf.writeUInt32LE((v as number) >>> 0);
      else buf.writeUInt16LE((v as number) & 0xffff);
      buf.reverse();
      switch (type.code) {
        case 'n':
          return buf.readInt16LE();
        case 'q':
          return buf.readUInt16LE();
        case 'i':
        case 'h':
          return buf.readInt32LE();
        case 'u':
          return buf.readUInt32LE();
        case 'x':
          return buf.readBigInt64LE();
        case 't':
          return buf.readBigUInt64LE();
        case 'd':
          return buf.readDoubleLE();
        default:
          return v;
      }
    }
    case 'variant': {
      const inner = v as Variant;
      return new Variant(inner.type, byteswapValue(inner.type, inner.value));
    }
    case 'array':
      if (type.elem.kind === 'basic' && type.elem.code === 'y') return v;
      return (v as readonly GValue[]).map((e) => byteswapValue(type.elem, e));
    case 'maybe':
      return (v as readonly GValue[]).map((e) => byteswapValue(type.elem, e));
    case 'tuple':
      return type.items.map((t, i) => byteswapValue(t, (v as readonly GValue[])[i]!));
    case 'dict': {
      const [k, val] = v as readonly GValue[];
      return [byteswapValue(type.key, k!), byteswapValue(type.value, val!)];
    }
  }
}
