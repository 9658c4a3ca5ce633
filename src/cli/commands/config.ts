import { formatOptions, parseArgs } from '../args.js';
import { out, type Command } from '../command.js';
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

function help(): string {
  return ['Usage: coreforge config new DIR --upstream GIT_URL_OR_PATH [OPTIONS…]', '', 'Create a config repository derived from an upstream one (fedora-coreos-config).', '', formatOptions(newSpecs), ''].join('\n');
}

export const configCommand: Command = {
  name: 'config',
  summary: 'create a config repository derived from fedora-coreos-config (config new)',
  async run(argv, ctx) {
    const [sub, ...rest] = argv;
    if (sub === undefined || sub === '--help' || sub === '-h') {
      ctx.stdout.write(help());
      return sub === undefined ? 2 : 0;
    }
    if (sub !== 'new') throw new UsageError(`unknown config subcommand '${sub}' (expected: new)`);
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
