import { UsageError } from '../../errors.js';
import { ObjectType } from '../../ostree/objects/types.js';
import { formatSize, pruneRepo, type PruneOptions } from '../../ostree/prune.js';
import { REPO_OPT, openRepo, parseDateTime, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';
import { promises as fsp } from 'node:fs';

export const pruneVerb: OstreeVerb = {
  name: 'prune',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        'no-prune': { kind: 'boolean', help: 'Only display unreachable objects; do not delete' },
        'refs-only': { kind: 'boolean', help: 'Only compute reachability via refs' },
        depth: { kind: 'string', arg: 'DEPTH', help: 'Only traverse DEPTH parents for each commit (default: -1=infinite)' },
        'delete-commit': { kind: 'string', arg: 'COMMIT', help: 'Specify a commit to delete' },
        'keep-younger-than': { kind: 'string', arg: 'DATE', help: 'Prune all commits older than the specified date' },
        'retain-branch-depth': { kind: 'strings', arg: 'BRANCH=DEPTH', help: 'Additionally retain BRANCH=DEPTH commits' },
        'only-branch': { kind: 'strings', arg: 'BRANCH', help: 'Only prune BRANCH (may be specified multiple times)' },
        'commit-only': { kind: 'boolean', help: 'Only traverse commit objects by checksum' },
        'static-deltas-only': { kind: 'boolean', help: 'Accepted for compatibility' },
      },
      'prune [OPTION…]',
      ctx,
    );
    if (!p) return 0;
    const repo = await openRepo(p.opts.repo, ctx);
    const opts: PruneOptions = { refsOnly: p.opts['refs-only'], noPrune: p.opts['no-prune'], commitOnly: p.opts['commit-only'] };
    if (p.opts.depth !== undefined) {
      if (!/^-?\d+$/.test(p.opts.depth)) throw new UsageError(`Cannot parse integer value '${p.opts.depth}' for --depth`);
      opts.depth = Number(p.opts.depth);
    }
    if (p.opts['delete-commit']) {
      if (p.opts['no-prune']) throw new UsageError('Cannot specify both --delete-commit and --no-prune');
      const c = (await repo.resolveRev(p.opts['delete-commit']))!;
      for (const [ref, csum] of await repo.listRefs()) if (csum === c) throw new UsageError(`Commit '${c}' is referenced by '${ref}'`);
      await fsp.rm(repo.objectPath(ObjectType.Commit, c), { force: true });
      await fsp.rm(repo.objectPath(ObjectType.CommitMeta, c), { force: true });
    }
    if (p.opts['keep-younger-than']) opts.keepYoungerThan = parseDateTime(p.opts['keep-younger-than']);
    if (p.opts['only-branch'].length > 0) {
      for (const b of p.opts['only-branch']) await repo.resolveRev(b);
      opts.onlyBranches = p.opts['only-branch'];
    }
    if (p.opts['retain-branch-depth'].length > 0) {
      opts.retainBranchDepth = new Map();
      for (const bd of p.opts['retain-branch-depth']) {
        const eq = bd.indexOf('=');
        if (eq < 0) throw new UsageError(`Invalid value ${bd}, must specify BRANCH=DEPTH`);
        opts.retainBranchDepth.set(bd.slice(0, eq), Number(bd.slice(eq + 1)));
      }
    }
    const r = await pruneRepo(repo, opts);
    ctx.stdout.write(p.opts['commit-only'] ? `Total (commit only) objects: ${r.total}\n` : `Total objects: ${r.total}\n`);
    if (r.pruned === 0) ctx.stdout.write('No unreachable objects\n');
    else if (p.opts['no-prune']) ctx.stdout.write(`Would delete: ${r.pruned} objects, freeing ${formatSize(r.freedBytes)}\n`);
    else ctx.stdout.write(`Deleted ${r.pruned} objects, ${formatSize(r.freedBytes)} freed\n`);
    return 0;
  },
};
