import { NotFoundError, UsageError } from '../../errors.js';
import { deleteDelta, generateDelta, listDeltas, parseSuperblock, deltaDir } from '../../ostree/deltas/index.js';
import { promises as fsp } from 'node:fs';
import { join } from 'node:path';
import { REPO_OPT, groupFallback, openRepo, parseVerbArgs } from './common.js';
import type { OstreeVerb } from './verb.js';

const DELTA_SUBCOMMANDS = [
  ['list', 'List static delta files'],
  ['show', 'Dump information on a delta'],
  ['delete', 'Remove a delta'],
  ['generate', 'Generate static delta files'],
] as const;

export const staticDeltaVerb: OstreeVerb = {
  name: 'static-delta',
  async run(argv, ctx) {
    const sub = argv.find((a) => !a.startsWith('-'));
    const rest = argv.filter((_, i) => i !== argv.indexOf(sub!));
    switch (sub) {
      case 'generate': {
        const p = parseVerbArgs(
          rest,
          {
            ...REPO_OPT,
            from: { kind: 'string', arg: 'REV', help: 'Create delta from revision REV' },
            to: { kind: 'string', arg: 'REV', help: 'Create delta to revision REV' },
            empty: { kind: 'boolean', help: 'Create delta from scratch' },
            'min-fallback-size': { kind: 'string', arg: 'SIZE', help: 'Minimum size in MB for a loose fallback (0 disables)' },
            'max-chunk-size': { kind: 'string', arg: 'SIZE', help: 'Maximum size of delta parts in MB' },
            'disable-bsdiff': { kind: 'boolean', help: 'Accepted for compatibility (bsdiff is never used)' },
            inline: { kind: 'boolean', help: 'Accepted for compatibility' },
          },
          'static-delta generate [OPTION…] [--from=REV] --to=REV',
          ctx,
        );
        if (!p) return 0;
        const toRev = p.opts.to ?? p.args[0];
        if (!toRev) throw new UsageError('--to=REV must be specified');
        const repo = await openRepo(p.opts.repo, ctx);
        const to = (await repo.resolveRev(toRev))!;
        let from: string | null = null;
        if (!p.opts.empty) {
          if (p.opts.from) from = await repo.resolveRev(p.opts.from);
          else {
            const c = await repo.loadCommit(to);
            if (!c.parent) throw new UsageError(`Commit ${to} has no parent; use --empty for a delta from scratch`);
            from = c.parent;
          }
        }
        const o: Parameters<typeof generateDelta>[1] = { from, to };
        if (p.opts['min-fallback-size'] !== undefined) o.minFallbackSize = Number(p.opts['min-fallback-size']) * 1_000_000;
        if (p.opts['max-chunk-size'] !== undefined) o.maxChunkSize = Number(p.opts['max-chunk-size']) * 1_000_000;
        ctx.stdout.write(`Generating static delta:\n  From: ${from ?? 'empty'}\n  To:   ${to}\n`);
        await generateDelta(repo, o);
        return 0;
      }
      case 'list': {
        const p = parseVerbArgs(rest, { ...REPO_OPT }, 'static-delta list', ctx);
        if (!p) return 0;
        const ds = await listDeltas(await openRepo(p.opts.repo, ctx));
        if (ds.length === 0) ctx.stdout.write('(No static deltas)\n');
        for (const d of ds) ctx.stdout.write(`${d.name}\n`);
        return 0;
      }
      case 'show': {
        const p = parseVerbArgs(rest, { ...REPO_OPT }, 'static-delta show DELTA', ctx);
        if (!p) return 0;
        if (!p.args[0]) throw new UsageError('DELTA must be specified');
        const repo = await openRepo(p.opts.repo, ctx);
        const [a, b] = p.args[0].includes('-') ? p.args[0].split('-') : [null, p.args[0]];
        const sbPath = join(repo.path, deltaDir(a ?? null, b!), 'superblock');
        const raw = await fsp.readFile(sbPath).catch(() => {
          throw new NotFoundError(`No such static delta ${p.args[0]}`);
        });
        const sb = parseSuperblock(new Uint8Array(raw), `static delta ${p.args[0]}`);
        ctx.stdout.write(`Delta: ${p.args[0]}\nTimestamp: ${new Date(sb.timestamp * 1000).toISOString()}\nNumber of parts: ${sb.parts.length}\nNumber of fallback entries: ${sb.fallbacks.length}\n`);
        let c = 0;
        let u = 0;
        for (const part of sb.parts) {
          c += part.compressedSize;
          u += part.uncompressedSize;
        }
        ctx.stdout.write(`Total Part Size: ${c}\nTotal Uncompressed Part Size: ${u}\n`);
        return 0;
      }
      case 'delete': {
        const p = parseVerbArgs(rest, { ...REPO_OPT }, 'static-delta delete DELTA', ctx);
        if (!p) return 0;
        if (!p.args[0]) throw new UsageError('DELTA must be specified');
        const [a, b] = p.args[0].includes('-') ? p.args[0].split('-') : [null, p.args[0]];
        await deleteDelta(await openRepo(p.opts.repo, ctx), { from: a ?? null, to: b! });
        return 0;
      }
      default:
        return groupFallback('static-delta', DELTA_SUBCOMMANDS, sub, rest, ctx);
    }
  },
};
