import { formatOptions, parseArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { checkArch, hostBasearch } from '../../config/arch.js';
import { resolveConfigDir } from '../../config/builddir.js';
import { checkConfig } from '../../config/check.js';
import { UsageError } from '../../errors.js';

const specs = {
  config: { kind: 'string', arg: 'DIR', help: 'config directory (default: $COREFORGE_CONFIG_GIT, src/config, or .)' },
  arch: { kind: 'string', arg: 'ARCH', help: 'architecture to check for (default: this host)' },
  json: { kind: 'boolean', help: 'print findings as JSON' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const;

export const checkCommand: Command = {
  name: 'check',
  summary: 'lint a config repository and print a one-line fix for each finding',
  async run(argv, ctx) {
    const { opts, args } = parseArgs(argv, specs);
    if (opts.help) {
      out(ctx, `Usage: coreforge check [--config DIR] [--arch ARCH] [--json]\n\n${formatOptions(specs)}`);
      return 0;
    }
    if (args.length > 0) throw new UsageError('check takes no arguments (use --config DIR)');
    const dir = resolveConfigDir({ config: opts.config, cwd: ctx.cwd, env: ctx.env });
    const arch = checkArch(opts.arch ?? hostBasearch());
    const findings = checkConfig(dir, arch);
    const errors = findings.filter((f) => f.level === 'error').length;
    if (opts.json) out(ctx, JSON.stringify({ config: dir, arch, findings }, null, 2));
    else {
      for (const f of findings) out(ctx, `${f.level}: ${f.where}: ${f.message}\n  fix: ${f.fix}`);
      out(ctx, findings.length === 0 ? `${dir}: no problems found (${arch})` : `${errors} error(s), ${findings.length - errors} warning(s) (${arch})`);
    }
    return errors > 0 ? 1 : 0;
  },
};
