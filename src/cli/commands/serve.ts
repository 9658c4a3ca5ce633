import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../../errors.js';
import { RepoServer } from '../../server/static-repo.js';
import { formatOptions, parseArgs } from '../args.js';
import type { Command } from '../command.js';

const SPECS = {
  repo: { kind: 'strings', arg: 'DIR', help: 'Repository to serve (repeatable; NAME=DIR to choose its path)' },
  bind: { kind: 'string', arg: 'ADDR', help: 'Address to listen on (default 127.0.0.1)' },
  port: { kind: 'string', short: 'p', arg: 'PORT', help: 'Port (default 8080; 0 picks a free one)' },
  'access-log': { kind: 'string', arg: 'FILE', help: "Append an access log to FILE ('-' for stderr)" },
  'port-file': { kind: 'string', arg: 'FILE', help: 'Write the port number to FILE once listening' },
  help: { kind: 'boolean', short: 'h', help: 'Show this help' },
} as const;

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve OSTree repositories over HTTP (objects, deltas, summary) for machines to pull from',
  async run(argv, ctx) {
    const { opts } = parseArgs(argv, SPECS);
    if (opts.help) {
      ctx.stdout.write(`Usage: coreforge serve --repo DIR [--repo DIR…] [--bind ADDR] [--port N]\n\n${formatOptions(SPECS)}\n`);
      return 0;
    }
    if (opts.repo.length === 0) throw new UsageError('serve: at least one --repo is required');
    const port = opts.port === undefined ? 8080 : Number(opts.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`serve: invalid port '${opts.port}'`);
    let log: ((l: string) => void) | undefined;
    if (opts['access-log'] === '-') log = (l) => ctx.stderr.write(l + '\n');
    else if (opts['access-log']) {
      const s = createWriteStream(resolve(ctx.cwd, opts['access-log']), { flags: 'a' });
      log = (l) => s.write(l + '\n');
    }
    const repos = opts.repo.map((r) => {
      const eq = r.indexOf('=');
      return eq > 0 ? { name: r.slice(0, eq), path: resolve(ctx.cwd, r.slice(eq + 1)) } : { path: resolve(ctx.cwd, r) };
    });
    const server = new RepoServer({ repos, host: opts.bind ?? '127.0.0.1', port, ...(log ? { accessLog: log } : {}) });
    const { url, port: actual } = await server.start();
    if (opts['port-file']) {
      const { writeFileAtomic } = await import('../../util/fs.js');
      await writeFileAtomic(resolve(ctx.cwd, opts['port-file']), `${actual}\n`);
    }
    ctx.stderr.write(`Serving ${repos.map((r) => r.path).join(', ')} at ${url}/\n`);
    await new Promise<void>((done) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void server.stop().then(done);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
