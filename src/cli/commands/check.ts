import { formatOptions, parseArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { BASEARCHES, checkArch, hostBasearch } from '../../config/arch.js';
import { resolveConfigDir } from '../../config/builddir.js';
import { checkConfig, type Finding } from '../../config/check.js';
import { UsageError } from '../../errors.js';

const specs = {
  config: { kind: 'string', arg: 'DIR', help: 'config directory (default: $COREFORGE_CONFIG_GIT, src/config, or .)' },
  arch: { kind: 'string', arg: 'ARCH', help: "architecture to check for (default: this host; 'all': x86_64, aarch64, ppc64le, s390x)" },
  json: { kind: 'boolean', help: 'print findings as JSON' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const;

export const checkCommand: Command = {
  name: 'check',
  async run(argv, ctx) {
    const { opts, args } = parseArgs(argv, specs);
    if (opts.help) {
      out(ctx, `Usage: coreforge check [--config DIR] [--arch ARCH] [--json]\n\n${formatOptions(specs)}`);
      return 0;
    }
    if (args.length > 0) throw new UsageError('check takes no arguments (use --config DIR)');
    const dir = resolveConfigDir({ config: opts.config, cwd: ctx.cwd, env: ctx.env });
    const arches = opts.arch === 'all' ? [...BASEARCHES] : [checkArch(opts.arch ?? hostBasearch())];
    // One finding per problem: a problem seen for several arches is listed once, naming them.
    const merged = new Map<string, Finding & { arches: string[] }>();
    for (const arch of arches)
      for (const f of checkConfig(dir, arch)) {
        const k = `${f.level}\0${f.where}\0${f.message.replaceAll(arch, '${basearch}')}`;
        const prev = merged.get(k);
        if (prev) prev.arches.push(arch);
        else merged.set(k, { ...f, arches: [arch] });
      }
    const findings = [...merged.values()];
    const errors = findings.filter((f) => f.level === 'error').length;
    const archNote = (f: { arches: string[] }) => (arches.length > 1 && f.arches.length < arches.length ? ` [${f.arches.join(', ')}]` : '');
    if (opts.json) out(ctx, JSON.stringify({ config: dir, arches, findings }, null, 2));
    else {
      for (const f of findings) out(ctx, `${f.level}: ${f.where}: ${f.message}${archNote(f)}\n  fix: ${f.fix}`);
      out(ctx, findings.length === 0 ? `${dir}: no problems found (${arches.join(', ')})` : `${errors} error(s), ${findings.length - errors} warning(s) (${arches.join(', ')})`);
    }
    return errors > 0 ? 1 : 0;
  },
};
