import { promises as fsp } from 'node:fs';
import { resolve } from 'node:path';
import { CoreforgeError, UnsupportedError, UsageError } from '../../errors.js';
import { checkoutCommit, type CheckoutOptions } from '../../ostree/checkout.js';
import type { Repo } from '../../ostree/repo/repo.js';
import type { CliContext } from '../command.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

const SPECS = {
  ...REPO_OPT,
  'user-mode': { kind: 'boolean', short: 'U', help: 'Do not change file ownership or initialize extended attributes' },
  'disable-cache': { kind: 'boolean', help: 'Do not update or use the internal repository uncompressed object cache' },
  subpath: { kind: 'string', arg: 'PATH', help: 'Checkout sub-directory PATH' },
  union: { kind: 'boolean', help: 'Keep existing directories, overwrite existing files' },
  'union-add': { kind: 'boolean', help: 'Keep existing files/directories, only add new' },
  'union-identical': { kind: 'boolean', help: 'When layering checkouts, error out if a file would be replaced with a different version, but add new files and directories' },
  whiteouts: { kind: 'boolean', help: "Process 'whiteout' (Docker style) entries" },
  'process-passthrough-whiteouts': { kind: 'boolean', help: 'Enable overlayfs whiteout extraction into char 0:0 devices' },
  'allow-noent': { kind: 'boolean', help: 'Do nothing if specified path does not exist' },
  'from-stdin': { kind: 'boolean', help: 'Process many checkouts from standard input' },
  'from-file': { kind: 'string', arg: 'FILE', help: 'Process many checkouts from input file' },
  fsync: { kind: 'string', arg: 'POLICY', help: 'Specify how to invoke fsync()' },
  'require-hardlinks': { kind: 'boolean', short: 'H', help: 'Do not fall back to full copies if hardlinking fails' },
  'force-copy-zerosized': { kind: 'boolean', short: 'z', help: 'Do not hardlink zero-sized files' },
  'force-copy': { kind: 'boolean', short: 'C', help: 'Never hardlink (but may reflink if available)' },
  'bareuseronly-dirs': { kind: 'boolean', short: 'M', help: 'Suppress mode bits outside of 0775 for directories (suid, world writable, etc.)' },
  'skip-list': { kind: 'string', arg: 'FILE', help: 'File containing list of files to skip' },
  'selinux-policy': { kind: 'string', arg: 'PATH', help: 'Set SELinux labels based on policy in root filesystem PATH (may be /); implies --force-copy' },
  'selinux-prefix': { kind: 'string', arg: 'PREFIX', help: 'When setting SELinux labels, prefix all paths by PREFIX' },
} as const;

/** `ostree checkout`, following ot-builtin-checkout.c (option conflicts and messages included). */
export const checkoutVerb: OstreeVerb = {
  name: 'checkout',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, SPECS, 'checkout [OPTION…] COMMIT [DESTINATION]', ctx);
    if (!p) return 0;
    const o = p.opts;
    if (p.args.length === 0) throw new UsageError('COMMIT must be specified');
    if (o['selinux-policy'] || o['selinux-prefix']) throw new UnsupportedError('SELinux labeling is not supported by coreforge ostree yet');
    const fail = (m: string) => new CoreforgeError('EINVAL', m);
    if (o.union && o['union-add']) throw fail('Cannot specify both --union and --union-add');
    if (o.union && o['union-identical']) throw fail('Cannot specify both --union and --union-identical');
    if (o['union-add'] && o['union-identical']) throw fail('Cannot specify both --union-add and --union-identical');
    if (o['require-hardlinks'] && o['force-copy']) throw fail('Cannot specify both --require-hardlinks and --force-copy');
    if (o['union-identical'] && !o['require-hardlinks']) throw fail('--union-identical requires --require-hardlinks');
    const repo = await openRepo(o.repo, ctx);
    const base: CheckoutOptions = {
      // bare-user-only objects cannot carry ownership, so ostree always checks them out in user mode
      userMode: o['user-mode'] || repo.mode === 'bare-user-only',
      union: o.union,
      unionAdd: o['union-add'],
      unionIdentical: o['union-identical'],
      forceCopy: o['force-copy'],
      requireHardlinks: o['require-hardlinks'],
      processWhiteouts: o.whiteouts,
      processPassthroughWhiteouts: o['process-passthrough-whiteouts'],
      bareuseronlyDirs: o['bareuseronly-dirs'],
    };
    if (o['skip-list']) base.skipList = new Set((await fsp.readFile(resolve(ctx.cwd, o['skip-list']), 'utf8')).split('\n').filter((l) => l !== ''));
    if (o['from-stdin'] || o['from-file']) {
      const dest = resolve(ctx.cwd, p.args[0]!);
      const input = o['from-stdin'] ? await readStdin() : await fsp.readFile(resolve(ctx.cwd, o['from-file']!));
      // records of REVISION NUL SUBPATH NUL
      const parts = input.toString('utf8').split('\0');
      for (let i = 0; i + 1 < parts.length && parts[i] !== ''; i += 2) {
        const commit = (await repo.resolveRev(parts[i]!))!;
        try {
          await checkoutOne(repo, commit, parts[i + 1]!, dest, base, o['allow-noent'], ctx);
        } catch (e) {
          if (e instanceof CoreforgeError) throw new CoreforgeError(e.code, `Processing tree ${commit}: ${e.message}`, { exitCode: e.exitCode });
          throw e;
        }
      }
      return 0;
    }
    const rev = p.args[0]!;
    const commit = (await repo.resolveRev(rev))!;
    await checkoutOne(repo, commit, o.subpath, resolve(ctx.cwd, p.args[1] ?? rev), base, o['allow-noent'], ctx);
    return 0;
  },
};

async function checkoutOne(repo: Repo, commit: string, subpath: string | undefined, dest: string, base: CheckoutOptions, allowNoent: boolean, _ctx: CliContext): Promise<void> {
  const opts: CheckoutOptions = { ...base };
  if (subpath) opts.subpath = subpath;
  try {
    await checkoutCommit(repo, commit, dest, opts);
  } catch (e) {
    if (allowNoent && e instanceof CoreforgeError && e.code === 'ENOTFOUND' && e.message.startsWith('No such file or directory')) return;
    throw e;
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
