import { fileURLToPath } from 'node:url';
import { CoreforgeError, UnsupportedError, UsageError } from '../../errors.js';
import { isChecksum } from '../../ostree/checksum.js';
import { pullLocal } from '../../ostree/pull-local.js';
import { parseRefspec } from '../../ostree/repo/refs.js';
import { Repo } from '../../ostree/repo/repo.js';
import { getRemote } from '../../ostree/remotes.js';
import { REPO_OPT, openRepo, parseIntArg, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

const SPECS = {
  ...REPO_OPT,
  'commit-metadata-only': { kind: 'boolean', help: 'Fetch only the commit metadata' },
  'disable-fsync': { kind: 'boolean', help: 'Do not invoke fsync()' },
  'per-object-fsync': { kind: 'boolean', help: 'Accepted for compatibility' },
  'disable-static-deltas': { kind: 'boolean', help: 'Do not use static deltas' },
  'require-static-deltas': { kind: 'boolean', help: 'Require static deltas' },
  mirror: { kind: 'boolean', help: 'Write refs suitable for a mirror and fetches all refs if none provided' },
  untrusted: { kind: 'boolean', help: 'Verify checksums of local sources (always enabled for HTTP pulls)' },
  'bareuseronly-files': { kind: 'boolean', help: 'Reject regular files with mode outside of 0775 (world writable, suid, etc.)' },
  depth: { kind: 'string', arg: 'DEPTH', help: 'Traverse DEPTH parents (-1=infinite) (default: 0)' },
  url: { kind: 'string', arg: 'URL', help: 'Pull objects from this URL instead of the one from the remote config' },
  'disable-verify-bindings': { kind: 'boolean', help: 'Do not verify commit bindings' },
} as const;

/**
 * `ostree pull REMOTE [BRANCH…]` for remotes whose URL is file:// — ostree
 * itself pulls those through its local-repository path, as pull-local does.
 * Refs land in refs/remotes/REMOTE/ (refs/heads/ with --mirror). HTTP
 * remotes and signature verification are not implemented yet, and a remote
 * that asks for GPG verification is refused rather than pulled unverified.
 */
export const pullVerb: OstreeVerb = {
  name: 'pull',
  summary: 'Download data from a remote repository',
  async run(argv, ctx) {
    const p = parseVerbArgs(argv, SPECS, 'pull [OPTION…] REMOTE [BRANCH…]', ctx);
    if (!p) return 0;
    const o = p.opts;
    if (p.args.length < 1) throw new UsageError('REMOTE must be specified');
    if (o['require-static-deltas']) throw new UnsupportedError('Static deltas are not supported by coreforge ostree yet');
    const repo = await openRepo(o.repo, ctx);
    if (o['disable-fsync']) repo.config.setRaw('core', 'fsync', 'false');

    let remoteName: string;
    let refs: string[];
    if (p.args[0]!.includes(':')) {
      const rs = parseRefspec(p.args[0]!);
      remoteName = rs.remote!;
      refs = [rs.ref];
    } else {
      remoteName = p.args[0]!;
      refs = p.args.slice(1);
    }
    if (refs.some((r) => r.includes('@'))) throw new UnsupportedError('REF@COMMIT overrides are not supported by coreforge ostree yet');
    const remote = await getRemote(repo, remoteName);
    const url = o.url ?? remote.options.get('url');
    if (!url) throw new CoreforgeError('ENOTFOUND', `No "url" option in remote "${remoteName}"`);
    if (!url.startsWith('file://')) throw new UnsupportedError(`Pulling from ${url}: only file:// remotes are supported by coreforge ostree yet`);
    const gpgVerify = parseBool(remote.options.get('gpg-verify'), true);
    const gpgVerifySummary = parseBool(remote.options.get('gpg-verify-summary'), false);
    const signVerify = remote.options.get('sign-verify');
    if (gpgVerify || gpgVerifySummary || (signVerify !== undefined && signVerify !== 'false')) {
      throw new UnsupportedError(`Remote "${remoteName}" requires signature verification (gpg-verify), which coreforge ostree does not support yet; set gpg-verify=false to pull unverified`);
    }
    const src = await Repo.open(fileURLToPath(url));
    if (refs.length === 0) {
      const branches = remote.options.has('branches') ? splitList(remote.options.get('branches')!) : [];
      if (branches.length > 0) refs = branches;
      else if (o.mirror) refs = [...(await src.listRefs({ remotes: false })).keys()];
      else throw new CoreforgeError('EINVAL', `No configured branches for remote ${remoteName}`);
    }
    for (const r of refs) if (!isChecksum(r)) parseRefspec(r);
    const depth = o.depth === undefined ? 0 : parseIntArg(o.depth, '--depth');
    const r = await pullLocal(repo, src, refs, {
      depth,
      remote: o.mirror ? null : remoteName,
      untrusted: o.untrusted,
      bareuseronlyFiles: o['bareuseronly-files'],
      commitMetadataOnly: o['commit-metadata-only'],
    });
    ctx.stdout.write(`${r.metadataCopied} metadata, ${r.contentCopied} content objects fetched (local)\n`);
    return 0;
  },
};

function parseBool(v: string | undefined, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  const t = v.trim();
  if (t === 'true' || t === '1') return true;
  if (t === 'false' || t === '0') return false;
  throw new CoreforgeError('ECONFIG', `Invalid boolean value '${v}' in remote config`);
}

/** The key-file list form (`a;b;`); `RemoteConfig.options` holds unescaped strings. */
function splitList(v: string): string[] {
  return v.split(';').filter((s) => s !== '');
}
