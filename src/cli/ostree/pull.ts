import { UsageError } from '../../errors.js';
import { pull } from '../../ostree/pull/pull.js';
import { REPO_OPT, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

function kib(n: number): string {
  return n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} kB` : `${(n / 1024 / 1024).toFixed(1)} MB`;
}

export const pullVerb: OstreeVerb = {
  name: 'pull',
  async run(argv, ctx) {
    const p = parseVerbArgs(
      argv,
      {
        ...REPO_OPT,
        mirror: { kind: 'boolean', help: 'Write refs suitable for a mirror and fetch all refs if none provided' },
        depth: { kind: 'string', arg: 'DEPTH', help: 'Traverse DEPTH parents (-1=infinite) (default: 0)' },
        'commit-metadata-only': { kind: 'boolean', help: 'Fetch only the commit metadata' },
        'disable-fsync': { kind: 'boolean', help: 'Do not invoke fsync()' },
        'disable-static-deltas': { kind: 'boolean', help: 'Do not use static deltas' },
        'require-static-deltas': { kind: 'boolean', help: 'Require static deltas' },
        'dry-run': { kind: 'boolean', help: 'Only print information on what will be downloaded' },
        'untrusted': { kind: 'boolean', help: 'Accepted for compatibility (objects are always verified)' },
      },
      'pull [OPTION…] REMOTE [BRANCH…]',
      ctx,
    );
    if (!p) return 0;
    if (p.args.length === 0) throw new UsageError('REMOTE must be specified');
    const repo = await openRepo(p.opts.repo, ctx);
    if (p.opts['disable-fsync']) repo.config.setRaw('core', 'fsync', 'false');
    let [remote, ...refs] = p.args as [string, ...string[]];
    if (remote.includes(':')) {
      refs = [remote.slice(remote.indexOf(':') + 1), ...refs];
      remote = remote.slice(0, remote.indexOf(':'));
    }
    const started = Date.now();
    const opts: Parameters<typeof pull>[3] = { mirror: p.opts.mirror, commitMetadataOnly: p.opts['commit-metadata-only'], disableStaticDeltas: p.opts['disable-static-deltas'] };
    if (p.opts.depth !== undefined) opts.depth = Number(p.opts.depth);
    if (ctx.interactive) {
      opts.onProgress = (s) => ctx.stderr.write(`\rReceiving objects: ${s.deltaParts} delta parts, ${s.fetchedMetadata} metadata, ${s.fetchedContent}/${s.requested} content, ${kib(s.bytesTransferred)}   `);
    }
    const r = await pull(repo, remote, refs, opts);
    if (ctx.interactive) ctx.stderr.write('\r\x1b[K');
    const secs = Math.round((Date.now() - started) / 1000);
    if (r.deltaParts > 0) ctx.stdout.write(`${r.deltaParts} delta parts, ${r.fetchedMetadata + r.fetchedContent} loose fetched; ${kib(r.bytesTransferred)} transferred in ${secs} seconds\n`);
    else ctx.stdout.write(`${r.fetchedMetadata} metadata, ${r.fetchedContent} content objects fetched; ${kib(r.bytesTransferred)} transferred in ${secs} seconds\n`);
    return 0;
  },
};
