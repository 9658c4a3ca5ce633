import { resolve } from 'node:path';
import { CoreforgeError, UnsupportedError, UsageError } from '../../errors.js';
import { importGpgKeys } from '../../ostree/pull/gpg-verify.js';
import { addRemote, deleteRemote, getRemote, listRemotes, type RemoteOptionValue } from '../../ostree/remotes.js';
import { REPO_OPT, groupFallback, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

const SUBCOMMANDS: Array<[string, string]> = [
  ['add', 'Add a remote repository'],
  ['delete', 'Delete a remote repository'],
  ['show-url', 'Show remote repository URL'],
  ['list', 'List remote repository names'],
];

/** `ostree remote add|delete|show-url|list`, following ot-remote-builtin-*.c. */
export const remoteVerb: OstreeVerb = {
  name: 'remote',
  async run(argv, ctx) {
    const idx = argv.findIndex((a) => !a.startsWith('-'));
    const sub = idx < 0 ? undefined : argv[idx];
    const rest = idx < 0 ? argv : [...argv.slice(0, idx), ...argv.slice(idx + 1)];
    switch (sub) {
      case 'add': {
        const p = parseVerbArgs(
          rest,
          {
            ...REPO_OPT,
            set: { kind: 'strings', arg: 'KEY=VALUE', help: 'Set config option KEY=VALUE for remote' },
            'no-gpg-verify': { kind: 'boolean', help: 'Disable GPG verification' },
            'no-sign-verify': { kind: 'boolean', help: 'Disable signature verification' },
            'sign-verify': { kind: 'strings', arg: 'KEYTYPE=[inline|file]:PUBKEY', help: 'Verify signatures using KEYTYPE=inline:PUBKEY or KEYTYPE=file:/path/to/key' },
            'if-not-exists': { kind: 'boolean', help: 'Do nothing if the provided remote exists' },
            force: { kind: 'boolean', help: 'Replace the provided remote if it exists' },
            'gpg-import': { kind: 'string', arg: 'FILE', help: 'Import GPG key from FILE' },
            'custom-backend': { kind: 'string', arg: 'NAME', help: 'This remote has content not fetched via libostree' },
            contenturl: { kind: 'string', arg: 'URL', help: 'Use URL when fetching content' },
            'collection-id': { kind: 'string', arg: 'COLLECTION-ID', help: 'Globally unique ID for this repository as an collection of refs for redistribution to other repositories' },
            sysroot: { kind: 'string', arg: 'PATH', help: 'Use sysroot at PATH (overrides --repo)' },
          },
          'remote add [OPTION…] NAME [metalink=|mirrorlist=]URL [BRANCH…]',
          ctx,
        );
        if (!p) return 0;
        const o = p.opts;
        if (o.sysroot) throw new UnsupportedError('--sysroot is not supported by coreforge ostree yet');
        let url: string | null = null;
        if (o['custom-backend']) {
          if (p.args.length < 1) throw new UsageError('NAME must be specified');
          url = p.args[1] ?? null;
        } else {
          if (p.args.length < 2) throw new UsageError('NAME and URL must be specified');
          url = p.args[1]!;
        }
        const name = p.args[0]!;
        if (o['if-not-exists'] && o.force) throw new UsageError('Can only specify one of --if-not-exists and --force');
        const options: Array<[string, RemoteOptionValue]> = [];
        if (p.args.length > 2) options.push(['branches', p.args.slice(2)]);
        if (o.contenturl) options.push(['contenturl', o.contenturl]);
        if (o['custom-backend']) options.push(['custom-backend', o['custom-backend']]);
        for (const kv of o.set) {
          const eq = kv.indexOf('=');
          if (eq < 0) throw new CoreforgeError('EINVAL', `Missing '=' in KEY=VALUE pair '${kv}'`);
          options.push([kv.slice(0, eq), kv.slice(eq + 1)]);
        }
        if (o['no-gpg-verify'] || o['no-sign-verify']) options.push(['gpg-verify', false]);
        if (o['no-sign-verify']) options.push(['sign-verify', false]);
        if (o['collection-id']) options.push(['collection-id', o['collection-id']]);
        // --sign-verify=ed25519=inline:KEY or =file:PATH, as ostree takes them
        for (const sv of o['sign-verify']) {
          const m = /^([a-z0-9]+)=(inline|file):(.+)$/.exec(sv);
          if (!m) throw new UsageError(`Invalid --sign-verify '${sv}' (expected ed25519=inline:KEY or ed25519=file:PATH)`);
          if (m[1] !== 'ed25519') throw new UsageError(`Requested signature type is not implemented: ${m[1]}`);
          options.push(['sign-verify', 'ed25519']);
          options.push([m[2] === 'inline' ? 'verification-ed25519-key' : 'verification-ed25519-file', m[3]!]);
        }
        const repo = await openRepo(o.repo, ctx);
        await addRemote(repo, name, url, options, { ifNotExists: o['if-not-exists'], replace: o.force });
        if (o['gpg-import']) await importGpgKeys(repo.path, name, resolve(ctx.cwd, o['gpg-import']));
        return 0;
      }
      case 'delete': {
        const p = parseVerbArgs(
          rest,
          { ...REPO_OPT, 'if-exists': { kind: 'boolean', help: 'Do nothing if the provided remote does not exist' }, sysroot: { kind: 'string', arg: 'PATH', help: 'Use sysroot at PATH (overrides --repo)' } },
          'remote delete [OPTION…] NAME',
          ctx,
        );
        if (!p) return 0;
        if (p.opts.sysroot) throw new UnsupportedError('--sysroot is not supported by coreforge ostree yet');
        if (p.args.length < 1) throw new UsageError('NAME must be specified');
        await deleteRemote(await openRepo(p.opts.repo, ctx), p.args[0]!, { ifExists: p.opts['if-exists'] });
        return 0;
      }
      case 'list': {
        const p = parseVerbArgs(rest, { ...REPO_OPT, 'show-urls': { kind: 'boolean', short: 'u', help: 'Show remote URLs in list' } }, 'remote list [OPTION…]', ctx);
        if (!p) return 0;
        const remotes = await listRemotes(await openRepo(p.opts.repo, ctx));
        const w = Math.max(0, ...remotes.map((r) => r.name.length));
        for (const r of remotes) {
          if (p.opts['show-urls']) {
            const url = r.options.get('url');
            if (url === undefined) throw new CoreforgeError('ENOTFOUND', `No "url" option in remote "${r.name}"`);
            ctx.stdout.write(`${r.name.padEnd(w)}  ${url}\n`);
          } else ctx.stdout.write(`${r.name}\n`);
        }
        return 0;
      }
      case 'show-url': {
        const p = parseVerbArgs(rest, { ...REPO_OPT }, 'remote show-url NAME', ctx);
        if (!p) return 0;
        if (p.args.length < 1) throw new UsageError('NAME must be specified');
        const r = await getRemote(await openRepo(p.opts.repo, ctx), p.args[0]!);
        const url = r.options.get('url');
        if (url === undefined) throw new CoreforgeError('ENOTFOUND', `No "url" option in remote "${r.name}"`);
        ctx.stdout.write(`${url}\n`);
        return 0;
      }
      default:
        return groupFallback('remote', SUBCOMMANDS, sub, rest, ctx);
    }
  },
};
