import { formatOptions, parseArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { configFromEnv, initBuildDir } from '../../config/builddir.js';
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
      out(ctx, `Usage: coreforge init [--branch B] [--force] GIT_URL_OR_PATH [SUBDIR]\n\nRun in an empty build directory: clones the config (with submodules) to src/config\nand creates builds/, cache/, tmp/. With COREFORGE_CONFIG_GIT=DIR (or COREOS_ASSEMBLER_CONFIG_GIT) set, src/config links to that\nlocal config instead and GIT_URL_OR_PATH may be omitted (cosa users pass /dev/null).\n\n${formatOptions(specs)}`);
      return 0;
    }
    const fromEnv = configFromEnv(ctx.env, ctx.cwd);
    // With a config in the environment the GIT argument is optional and unused (cosa users pass /dev/null).
    if (args.length > 2 || (args.length < 1 && !fromEnv)) throw new UsageError('usage: coreforge init [--branch B] [--force] GIT_URL_OR_PATH [SUBDIR]');
    if (fromEnv && args.length > 0) ctx.stderr.write(`note: $${fromEnv[0]} is set: using ${fromEnv[1]}, not ${args.join(' ')}\n`);
    const r = initBuildDir({ dir: ctx.cwd, source: args[0] ?? fromEnv![1], branch: opts.branch, force: opts.force, subdir: args[1], env: ctx.env });
    out(ctx, `Initialized build directory ${ctx.cwd} (config in ${r.configDir}${fromEnv ? ` -> ${fromEnv[1]}` : ''})`);
    return 0;
  },
};
