import { resolve } from 'node:path';
import { readFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { publishBuild, type PublishOptions } from '../../publish/publish.js';
import { parseTarget } from '../../publish/targets.js';
import { formatOptions, parseArgs } from '../args.js';
import type { Command } from '../command.js';

const SPECS = {
  repo: { kind: 'string', arg: 'DIR', help: 'The distribution repository (archive mode; created if missing)' },
  builddir: { kind: 'string', arg: 'DIR', help: 'Build directory holding builds/ (default: the current directory)' },
  to: { kind: 'string', arg: 'TARGET', help: 'Also sync the repository to TARGET (a directory)' },
  build: { kind: 'string', arg: 'ID', help: 'Publish this build instead of the newest' },
  arch: { kind: 'string', arg: 'ARCH', help: 'Architecture of the build to publish' },
  'gpg-sign': { kind: 'strings', arg: 'KEYID', help: 'Sign commit and summary with this GPG key' },
  'gpg-homedir': { kind: 'string', arg: 'DIR', help: 'GnuPG home directory for --gpg-sign' },
  'sign-ed25519': { kind: 'strings', arg: 'KEYFILE', help: 'Sign with the base64 ed25519 secret key in KEYFILE' },
  keep: { kind: 'string', arg: 'N', help: 'Keep the N newest commits of the ref; prune the rest (and their deltas)' },
  'scratch-delta': { kind: 'boolean', help: 'Also generate a from-scratch static delta' },
  json: { kind: 'boolean', help: 'Print the result as JSON' },
  help: { kind: 'boolean', short: 'h', help: 'Show this help' },
} as const;

export const publishCommand: Command = {
  name: 'publish',
  async run(argv, ctx) {
    const { opts } = parseArgs(argv, SPECS);
    if (opts.help) {
      ctx.stdout.write(`Usage: coreforge publish --repo DIR [--to TARGET] [--gpg-sign KEYID [--gpg-homedir DIR] | --sign-ed25519 KEYFILE] [--keep N]\n\n${formatOptions(SPECS)}\n`);
      return 0;
    }
    if (!opts.repo) throw new UsageError('publish: --repo DIR is required');
    const o: PublishOptions = { buildDir: resolve(ctx.cwd, opts.builddir ?? '.'), repo: resolve(ctx.cwd, opts.repo), scratchDelta: opts['scratch-delta'] };
    if (opts.build) o.buildId = opts.build;
    if (opts.arch) o.arch = opts.arch;
    if (opts.keep !== undefined) {
      if (!/^\d+$/.test(opts.keep)) throw new UsageError(`publish: --keep takes a number, not '${opts.keep}'`);
      o.keep = Number(opts.keep);
    }
    const homedir = opts['gpg-homedir'] ? resolve(ctx.cwd, opts['gpg-homedir']) : undefined;
    o.sign = {
      gpg: opts['gpg-sign'].map((keyId) => ({ keyId, ...(homedir ? { homedir } : {}) })),
      ed25519: opts['sign-ed25519'].map((f) => readFileSync(resolve(ctx.cwd, f), 'utf8').trim()),
    };
    if (opts.to) o.target = parseTarget(opts.to, ctx.cwd);
    if (!opts.json) o.log = (l) => ctx.stderr.write(l + '\n');
    const r = await publishBuild(o);
    if (opts.json) ctx.stdout.write(JSON.stringify(r, null, 2) + '\n');
    else ctx.stdout.write(`${r.ref} ${r.commit}\n`);
    return 0;
  },
};
