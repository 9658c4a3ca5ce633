import { resolve } from 'node:path';
import { formatOptions, parseArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { checkArch, hostBasearch } from '../../config/arch.js';
import { resolveConfigDir } from '../../config/builddir.js';
import { manifestPath } from '../../config/configrepo.js';
import { loadTreefile } from '../../config/treefile/load.js';
import { UsageError } from '../../errors.js';

const specs = {
  config: { kind: 'string', arg: 'DIR', help: 'config directory (default: $COREFORGE_CONFIG_GIT, src/config, or .)' },
  arch: { kind: 'string', arg: 'ARCH', help: 'target basearch (default: this host)' },
  json: { kind: 'boolean', help: 'print the flattened treefile as JSON (like rpm-ostree compose tree --print-only)' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const;

export const manifestCommand: Command = {
  name: 'manifest',
  async run(argv, ctx) {
    const { opts, args } = parseArgs(argv, specs);
    if (opts.help) {
      out(ctx, `Usage: coreforge manifest [--config DIR] [--arch ARCH] [--json] [TREEFILE]\n\n${formatOptions(specs)}`);
      return 0;
    }
    if (args.length > 1) throw new UsageError('manifest takes at most one TREEFILE argument');
    const arch = checkArch(opts.arch ?? hostBasearch());
    const file = args[0] ? resolve(ctx.cwd, args[0]) : manifestPath(resolveConfigDir({ config: opts.config, cwd: ctx.cwd, env: ctx.env }));
    const t = loadTreefile(file, { arch });
    for (const w of t.warnings) ctx.stderr.write(`warning: ${w}\n`);
    if (opts.json) {
      out(ctx, JSON.stringify(t.treefile, null, 2));
      return 0;
    }
    const tf = t.treefile;
    const lines = [
      `manifest: ${t.path}`,
      `arch: ${arch}`,
      `ref: ${tf.ref ?? '(none)'}`,
      `repos: ${(tf.repos ?? []).join(', ')}`,
      `lockfile-repos: ${(tf['lockfile-repos'] ?? []).join(', ')}`,
      `packages: ${tf.packages.length}`,
      `ostree-layers: ${(tf['ostree-layers'] ?? []).join(', ')}`,
      `postprocess scripts: ${(tf.postprocess ?? []).length}`,
      `files: ${t.files.length}`,
    ];
    out(ctx, lines.join('\n'));
    return 0;
  },
};
