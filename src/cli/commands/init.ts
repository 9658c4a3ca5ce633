import { formatOptions, parseArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { initBuildDir } from '../../config/builddir.js';
import { UsageError } from '../../errors.js';

const specs = {
  branch: { kind: 'string', short: 'b', arg: 'BRANCH', help: 'config branch to check out' },
  force: { kind: 'boolean', help: 'use a non-empty directory (keeps an existing src/config)' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const;

export const initCommand: Command = {
  name: 'init',
  async run(argv, ctx) {
    const { opts, args } = parseArgs(argv, specs);
    if (opts.help) {
      out(ctx, `Usage: coreforge init [--branch B] [--force] GIT_URL_OR_PATH [SUBDIR]\n\nRun in an empty build directory: clones the config (with submodules) to src/config\nand creates builds/, cache/, tmp/. Set COREFORGE_CONFIG_GIT=DIR to use a local config instead.\n\n${formatOptions(specs)}`);
      return 0;
    }
    if (args.length < 1 || args.length > 2) throw new UsageError('usage: coreforge init [--branch B] [--force] GIT_URL_OR_PATH [SUBDIR]');
    const r = initBuildDir({ dir: ctx.cwd, source: args[0]!, branch: opts.branch, force: opts.force, subdir: args[1] });
    out(ctx, `Initialized build directory ${ctx.cwd} (config in ${r.configDir})`);
    return 0;
  },
};
