import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { importGpgKeys } from '../../ostree/pull/gpg-verify.js';
import { addRemote, deleteRemote, getRemote, listRemotes } from '../../ostree/remotes.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

export const remoteVerb: OstreeVerb = {
  name: 'remote',
  summary: 'Remote commands that may involve network access',
  async run(argv, ctx) {
    const sub = argv.find((a) => !a.startsWith('-'));
    const rest = argv.filter((a, i) => i !== argv.indexOf(sub!));
    switch (sub) {
      case 'add': {
        const p = parseVerbArgs(
          rest,
          {
            ...REPO_OPT,
            set: { kind: 'strings', arg: 'KEY=VALUE', help: 'Set config option KEY=VALUE for remote' },
            'no-gpg-verify': { kind: 'boolean', help: 'Disable GPG verification' },
            'if-not-exists': { kind: 'boolean', help: 'Do nothing if the provided remote exists' },
            force: { kind: 'boolean', help: 'Replace the provided remote if it exists' },
            'collection-id': { kind: 'string', arg: 'COLLECTION-ID', help: 'Globally unique ID for this repository' },
            'gpg-import': { kind: 'string', arg: 'FILE', help: 'Import GPG key from FILE' },
            sysroot: { kind: 'string', arg: 'PATH', help: 'Accepted for compatibility' },
            'sign-verify': { kind: 'strings', arg: 'KEY=VALUE', help: 'Verification keys' },
          },
          'remote add [OPTION…] NAME [metalink=|mirrorlist=]URL [BRANCH…]',
          ctx,
        );
        if (!p) return 0;
        if (p.args.length < 2) throw new UsageError('NAME and URL must be specified');
        const repo = await openRepo(p.opts.repo, ctx);
        const [name, url, ...branches] = p.args as [string, string, ...string[]];
        const options = new Map<string, string>();
        if (branches.length > 0) options.set('branches', branches.map((b) => b + ';').join(''));
        if (p.opts['collection-id']) options.set('collection-id', p.opts['collection-id']);
        for (const kv of p.opts.set) {
          const eq = kv.indexOf('=');
          if (eq < 0) throw new UsageError(`Missing '=' in --set=${kv}`);
          options.set(kv.slice(0, eq), kv.slice(eq + 1));
        }
        if (p.opts['no-gpg-verify']) options.set('gpg-verify', 'false');
        if (p.opts.force) await deleteRemote(repo, name, { ifExists: true });
        await addRemote(repo, name, url, options, { ifNotExists: p.opts['if-not-exists'] });
        if (p.opts['gpg-import']) await importGpgKeys(repo.path, name, resolve(ctx.cwd, p.opts['gpg-import']));
        return 0;
      }
      case 'delete': {
        const p = parseVerbArgs(rest, { ...REPO_OPT, 'if-exists': { kind: 'boolean', help: 'Do nothing if the provided remote does not exist' }, sysroot: { kind: 'string', arg: 'PATH' } }, 'remote delete [OPTION…] NAME', ctx);
        if (!p) return 0;
        if (p.args.length < 1) throw new UsageError('NAME must be specified');
        await deleteRemote(await openRepo(p.opts.repo, ctx), p.args[0]!, { ifExists: p.opts['if-exists'] });
        return 0;
      }
      case 'list': {
        const p = parseVerbArgs(rest, { ...REPO_OPT, 'show-urls': { kind: 'boolean', short: 'u', help: 'Show remote URLs in list' } }, 'remote list [OPTION…]', ctx);
        if (!p) return 0;
        const remotes = (await listRemotes(await openRepo(p.opts.repo, ctx))).sort((a, b) => (a.name < b.name ? -1 : 1));
        const w = Math.max(0, ...remotes.map((r) => r.name.length));
        for (const r of remotes) ctx.stdout.write(p.opts['show-urls'] ? `${r.name.padEnd(w)}  ${r.url}\n` : `${r.name}\n`);
        return 0;
      }
      case 'show-url': {
        const p = parseVerbArgs(rest, { ...REPO_OPT }, 'remote show-url NAME', ctx);
        if (!p) return 0;
        if (p.args.length < 1) throw new UsageError('NAME must be specified');
        ctx.stdout.write(`${(await getRemote(await openRepo(p.opts.repo, ctx), p.args[0]!)).url}\n`);
        return 0;
      }
      default:
        ctx.stderr.write('Usage:\n  ostree remote [OPTION…] COMMAND\n\nBuiltin "remote" Commands:\n  add\n  delete\n  show-url\n  list\n');
        return sub ? 1 : 1;
    }
  },
};
