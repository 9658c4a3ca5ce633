import { formatOptions, parseArgs } from '../args.js';
import { out, type Command } from '../command.js';
import { checkArch, hostBasearch } from '../../config/arch.js';
import { resolveConfigDir } from '../../config/builddir.js';
import { fetchForBuild } from '../../fetch/fetch.js';

const specs = {
  config: { kind: 'string', arg: 'DIR', help: 'config directory (default: $COREFORGE_CONFIG_GIT, src/config, or .)' },
  arch: { kind: 'string', arg: 'ARCH', help: 'target basearch (default: this host)' },
  'update-lockfile': { kind: 'boolean', help: 'resolve without the base lockfile (override lockfiles still pin) and write manifest-lock.$arch.json into the config' },
  json: { kind: 'boolean', help: 'print the result as JSON' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const;

export const fetchCommand: Command = {
  name: 'fetch',
  async run(argv, ctx) {
    const { opts } = parseArgs(argv, specs);
    if (opts.help) {
      out(ctx, `Usage: coreforge fetch [--config DIR] [--arch ARCH] [--update-lockfile]\n\n${formatOptions(specs)}`);
      return 0;
    }
    const arch = checkArch(opts.arch ?? hostBasearch());
    const configDir = resolveConfigDir({ config: opts.config, cwd: ctx.cwd, env: ctx.env });
    let last = '';
    const r = await fetchForBuild({
      configDir,
      buildDir: ctx.cwd,
      arch,
      updateLockfile: opts['update-lockfile'],
      onProgress: ctx.interactive
        ? (ev) => {
            const line = ev.phase === 'download' ? `Downloading packages: ${ev.done}/${ev.total} ${ev.name ?? ''}` : ev.phase === 'resolve' ? 'Resolving dependencies…' : 'Loading repository metadata…';
            if (line !== last) ctx.stderr.write(`\r\x1b[K${line}`);
            last = line;
          }
        : undefined,
    });
    if (ctx.interactive) ctx.stderr.write('\r\x1b[K');
    if (opts.json) {
      out(ctx, JSON.stringify({ packages: r.packages.map((p) => p.nevra), downloaded: r.downloaded, cached: r.cached, lockfile: r.lockfileWritten ?? null }, null, 2));
      return 0;
    }
    out(ctx, `${r.packages.length} packages: ${r.downloaded} downloaded, ${r.cached} already cached`);
    if (r.lockfileWritten) out(ctx, `Wrote ${r.lockfileWritten}`);
    return 0;
  },
};
