import { formatOptions, parseArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { UsageError } from '../../errors.js';
import { DEFAULT_KEEP_LAST_N, pruneBuilds } from '../../compose/prune.js';

const specs = {
  'keep-last-n': { kind: 'string', arg: 'N', help: `untagged builds to keep, newest first; 0 keeps all (default ${DEFAULT_KEEP_LAST_N})` },
  build: { kind: 'strings', arg: 'BUILDID', help: 'prune this build (repeatable) instead of all but the newest' },
  'dry-run': { kind: 'boolean', help: "say what would be pruned; don't delete anything" },
  json: { kind: 'boolean', help: 'print the result as JSON' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const;

/** cosa prune: delete older untagged builds from builds/ (build does this after each build). */
export const pruneCommand: Command = {
  name: 'prune',
  async run(argv, ctx) {
    const { opts } = parseArgs(argv, specs);
    if (opts.help) {
      out(ctx, `Usage: coreforge prune [--keep-last-n N | --build BUILDID…] [--dry-run]\n\nDelete older untagged builds; run in a build directory. By default the newest ${DEFAULT_KEEP_LAST_N} stay.\n\n${formatOptions(specs)}`);
      return 0;
    }
    const builds = opts.build;
    if (builds.length > 0 && opts['keep-last-n'] !== undefined) throw new UsageError('--keep-last-n and --build cannot be combined');
    let keepLastN: number | undefined;
    if (opts['keep-last-n'] !== undefined) {
      keepLastN = Number(opts['keep-last-n']);
      if (!/^\d+$/.test(opts['keep-last-n'])) throw new UsageError(`--keep-last-n: expected a whole number, got '${opts['keep-last-n']}'`);
    }
    const r = await pruneBuilds(ctx.cwd, { ...(keepLastN !== undefined ? { keepLastN } : {}), builds, dryRun: opts['dry-run'] });
    if (opts.json) {
      out(ctx, JSON.stringify({ kept: r.kept, pruned: r.pruned, dryRun: Boolean(opts['dry-run']) }, null, 2));
      return 0;
    }
    for (const [id, tags] of r.tagged) if (r.kept.includes(id)) out(ctx, `Skipping tagged build ${id} (${tags.join(', ')})`);
    for (const id of r.pruned) out(ctx, opts['dry-run'] ? `Would prune build ${id}` : `Pruning build ${id}`);
    if (r.pruned.length === 0) out(ctx, 'Nothing to prune');
    return 0;
  },
};
