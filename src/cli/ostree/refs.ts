import { CoreforgeError, InvalidInputError } from '../../errors.js';
import type { Repo } from '../../ostree/repo/repo.js';
import { parseRefspec } from '../../ostree/repo/refs.js';
import type { CliContext } from '../command.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

const SPECS = {
  ...REPO_OPT,
  delete: { kind: 'boolean', help: 'Delete refs which match PREFIX, rather than listing them' },
  list: { kind: 'boolean', help: 'Do not remove the prefix from the refs' },
  alias: { kind: 'boolean', short: 'A', help: 'If used with --create, create an alias, otherwise just list aliases' },
  create: { kind: 'string', arg: 'NEWREF', help: 'Create a new ref for an existing commit' },
  collections: { kind: 'boolean', short: 'c', help: 'Enable listing collection IDs for refs' },
  force: { kind: 'boolean', help: 'Overwrite existing refs when creating' },
  revision: { kind: 'boolean', short: 'r', help: 'Show the checksum of each ref' },
} as const;

interface RefsOpts {
  delete: boolean;
  list: boolean;
  alias: boolean;
  create: string | undefined;
  collections: boolean;
  force: boolean;
  revision: boolean;
}

/** `ostree refs`, following ot-builtin-refs.c: list, --delete, --create, aliases (-A). */
export const refsVerb: OstreeVerb = {
  name: 'refs',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, SPECS, 'refs [OPTION…] [PREFIX]', ctx);
    if (!p) return 0;
    const o = p.opts;
    const repo = await openRepo(o.repo, ctx);
    if (p.args.length >= 1) {
      if (o.create && p.args.length > 1) throw new CoreforgeError('EINVAL', 'You must specify only 1 existing ref when creating a new ref');
      for (const prefix of p.args) await doRef(repo, prefix, o, ctx);
      if (o.create || o.delete) await repo.maybeRegenerateSummary();
    } else {
      // a prefix is required when deleting, to help avoid accidents
      if (o.delete) throw new CoreforgeError('EINVAL', 'At least one PREFIX is required when deleting refs');
      if (o.create) throw new CoreforgeError('EINVAL', 'You must specify a revision when creating a new ref');
      await doRef(repo, null, o, ctx);
    }
    return 0;
  },
};

async function doRef(repo: Repo, prefix: string | null, o: RefsOpts, ctx: CliContext): Promise<void> {
  if (o.collections) return doCollectionRefs(repo, prefix, o, ctx);
  const aliases = o.alias || o.delete ? await repo.listRefsExt(null, { aliasesOnly: true }) : new Map<string, string>();
  if (!o.delete && !o.create) {
    const refs = o.list || o.alias ? await repo.listRefsExt(prefix, { aliasesOnly: o.alias }) : await repo.listRefsExt(prefix, { cutPrefix: true });
    for (const [name, value] of refs) {
      if (o.alias) ctx.stdout.write(`${name} -> ${value}\n`);
      else ctx.stdout.write(o.revision ? `${name}\t${value}\n` : `${name}\n`);
    }
    return;
  }
  if (o.create) {
    const existing = await repo.resolveRev(o.create, true, { localOnly: true });
    const replacingAlias = o.alias && aliases.has(o.create);
    if (!replacingAlias && !o.force && existing !== null) throw new CoreforgeError('EEXIST', `--create specified but ref ${o.create} already exists`);
    const { remote, ref } = parseRefspec(o.create);
    if (o.alias) {
      if (remote) throw new InvalidInputError(`Cannot create alias to remote ref: ${remote}`);
      const all = await repo.listRefsExt(null);
      if (prefix === null || !all.has(prefix)) throw new InvalidInputError(`Cannot create alias to non-existent ref: ${prefix}`);
      await repo.setAliasRef(ref, prefix);
    } else {
      const csum = await repo.resolveRev(prefix!);
      await repo.setRef(ref, csum, remote);
    }
    return;
  }
  // --delete
  const refs = await repo.listRefsExt(prefix);
  for (const refspec of refs.keys()) {
    const { remote, ref } = parseRefspec(refspec);
    for (const [alias, target] of aliases) {
      if (target === ref) throw new CoreforgeError('ECONFLICT', `Ref '${ref}' has an active alias: '${alias}'`);
    }
    await repo.setRef(ref, null, remote);
  }
}

/** `refs -c`: refs as (COLLECTION, REF); local refs carry the repo's own collection ID. */
async function doCollectionRefs(repo: Repo, prefix: string | null, o: RefsOpts, ctx: CliContext): Promise<void> {
  const own = repo.collectionId;
  const all: Array<[string, string, string]> = [];
  if (own) for (const [n, c] of await repo.listRefsExt(null, { excludeRemotes: true })) all.push([own, n, c]);
  for (const [k, c] of await repo.listRefs({ local: false, remotes: false, mirrors: true })) {
    const m = /^\((.*), (.*)\)$/.exec(k);
    if (m) all.push([m[1]!, m[2]!, c]);
  }
  // with --collections the PREFIX argument selects a collection ID (ostree_repo_list_collection_refs)
  const match = (col: string) => prefix === null || col === prefix;
  if (!o.delete && !o.create) {
    for (const [col, ref] of all.filter(([c]) => match(c)).sort()) ctx.stdout.write(`(${col}, ${ref})\n`);
    return;
  }
  if (o.create) {
    if (!o.force && (await repo.resolveRev(o.create, true, { localOnly: true }).catch(() => null)) !== null) throw new CoreforgeError('EEXIST', `--create specified but ref ${o.create} already exists`);
    const csum = await repo.resolveRev(prefix!);
    const colon = o.create.indexOf(':');
    if (colon < 0) throw new InvalidInputError(`Invalid collection ID ${o.create}`);
    const col = o.create.slice(0, colon);
    const ref = o.create.slice(colon + 1);
    if (col === own) await repo.setRef(ref, csum);
    else await repo.setRef(ref, csum, null, col);
    return;
  }
  for (const [col, ref] of all.filter(([c]) => match(c))) {
    if (col === own) await repo.setRef(ref, null);
    else await repo.setRef(ref, null, null, col);
  }
}
