import { formatOptions, parseArgs } from '../args.js';
import { out, type CliContext, type Command } from '../command.js';
import { checkArch, hostBasearch } from '../../config/arch.js';
import { resolveConfigDir } from '../../config/builddir.js';
import { ConfigRepo } from '../../config/configrepo.js';
import { newConfig } from '../../config/scaffold.js';
import { UsageError } from '../../errors.js';

const newSpecs = {
  upstream: { kind: 'string', arg: 'GIT_URL_OR_PATH', help: 'upstream config (e.g. https://github.com/coreos/fedora-coreos-config)' },
  branch: { kind: 'string', arg: 'BRANCH', help: 'upstream branch (stream), e.g. stable' },
  ref: { kind: 'string', arg: 'REF', help: "your ostree ref, e.g. 'my/${basearch}/coreos/stable'" },
  package: { kind: 'strings', arg: 'NAME', help: 'add a package (repeatable)' },
  repo: { kind: 'strings', arg: 'ID', help: 'enable an upstream repo by id and copy its .repo file (repeatable)' },
  'remote-name': { kind: 'string', arg: 'NAME', help: 'ostree remote machines update from (default: first component of the ref)' },
  'remote-url': { kind: 'string', arg: 'URL', help: 'URL of that remote' },
  'gpg-key': { kind: 'string', arg: 'FILE', help: 'public key to verify the remote with (ships it; gpg-verify=true)' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const;

const showSpecs = {
  config: { kind: 'string', arg: 'DIR', help: 'config directory (default: $COREFORGE_CONFIG_GIT, src/config, or .)' },
  arch: { kind: 'string', arg: 'ARCH', help: 'target basearch (default: this host)' },
  json: { kind: 'boolean', help: 'print as JSON' },
  help: { kind: 'boolean', short: 'h', help: 'show this help' },
} as const;

function help(): string {
  return [
    'Usage: coreforge config new DIR --upstream GIT_URL_OR_PATH [OPTIONS…]',
    '       coreforge config show [--config DIR] [--arch ARCH] [--json]',
    '',
    'new:  create a config repository derived from an upstream one (fedora-coreos-config).',
    formatOptions(newSpecs),
    '',
    'show: load and validate the whole config (manifest, repos, lockfiles, image.yaml, overlays, live/, platforms) and summarize it.',
    formatOptions(showSpecs),
    '',
  ].join('\n');
}

async function show(argv: string[], ctx: CliContext): Promise<number> {
  const { opts, args } = parseArgs(argv, showSpecs);
  if (opts.help) {
    ctx.stdout.write(help());
    return 0;
  }
  if (args.length > 0) throw new UsageError('config show takes no arguments (use --config DIR)');
  const dir = resolveConfigDir({ config: opts.config, cwd: ctx.cwd, env: ctx.env });
  const c = ConfigRepo.load(dir, { arch: checkArch(opts.arch ?? hostBasearch()) });
  for (const w of c.manifest.warnings) ctx.stderr.write(`warning: ${w}\n`);
  const summary = {
    config: c.dir,
    arch: c.arch,
    manifest: c.manifest.path,
    ref: c.treefile.ref ?? null,
    packages: c.treefile.packages.length,
    repos: c.repos.map((r) => ({ id: r.id, file: r.file, baseurl: r.baseurl, metalink: r.metalink ?? null, mirrorlist: r.mirrorlist ?? null, gpgcheck: r.gpgcheck, gpgkey: r.gpgkey, lockfileRepo: r.lockfileRepo })),
    lockfiles: c.lockfile.files,
    lockedPackages: c.lockfile.packages.size,
    image: c.image ? { files: c.image.files, 'ostree-remote': c.image.config['ostree-remote'] ?? null, size: c.image.config.size ?? null } : null,
    layers: c.layers().map((o) => ({ ref: o.ref, path: o.realPath })),
    overlays: c.overlays.map((o) => o.name),
    live: c.live ? c.live.files.length : null,
    platforms: Object.keys(c.platformsForArch()),
  };
  if (opts.json) out(ctx, JSON.stringify(summary, null, 2));
  else
    out(
      ctx,
      [
        `config: ${summary.config} (${summary.arch})`,
        `ref: ${summary.ref ?? '(none)'}`,
        `packages: ${summary.packages}`,
        ...summary.repos.map((r) => `repo ${r.id}${r.lockfileRepo ? ' (lockfile-repo)' : ''}: ${r.baseurl[0] ?? r.metalink ?? r.mirrorlist} (gpgcheck ${r.gpgcheck ? 'on' : 'off'})`),
        `lockfiles: ${summary.lockfiles.map((f) => f.slice(c.dir.length + 1)).join(', ') || '(none)'} (${summary.lockedPackages} packages locked)`,
        `image: ${summary.image ? `ostree-remote ${summary.image['ostree-remote']}, size ${summary.image.size}` : '(no image.yaml)'}`,
        `layers: ${summary.layers.map((l) => l.ref).join(', ')}`,
        `live: ${summary.live === null ? '(none)' : `${summary.live} files`}`,
        `platforms: ${summary.platforms.join(', ') || '(none)'}`,
      ].join('\n'),
    );
  return 0;
}

export const configCommand: Command = {
  name: 'config',
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      ctx.stdout.write(help());
      return sub === undefined ? 2 : 0;
    }
    if (sub === 'show') return show(rest, ctx);
    if (sub !== 'new') throw new UsageError(`unknown config subcommand '${sub}' (expected: new, show)`);
    const { opts, args } = parseArgs(rest, newSpecs);
    if (opts.help) {
      ctx.stdout.write(help());
      return 0;
    }
    if (args.length !== 1) throw new UsageError('config new takes exactly one DIR');
    if (!opts.upstream) throw new UsageError('config new needs --upstream GIT_URL_OR_PATH');
    const r = newConfig({
      dir: args[0]!,
      upstream: opts.upstream,
      branch: opts.branch,
      ref: opts.ref,
      packages: opts.package,
      repos: opts.repo,
      remoteName: opts['remote-name'],
      remoteUrl: opts['remote-url'],
      gpgKey: opts['gpg-key'],
      cwd: ctx.cwd,
    });
    out(ctx, `Created ${r.dir} (upstream in ${r.submodule}/, ref ${r.ref}, remote ${r.remote}, overlay overlay.d/${r.overlay})`);
    for (const n of r.notes) ctx.stderr.write(`note: ${n}\n`);
    return 0;
  },
};
