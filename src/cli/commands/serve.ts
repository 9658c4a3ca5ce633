import cluster from 'node:cluster';
import { createWriteStream } from 'node:fs';
import { availableParallelism } from 'node:os';
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
  workers: { kind: 'string', arg: 'N', help: 'Worker processes sharing the port (default: number of CPUs)' },
  'port-file': { kind: 'string', arg: 'FILE', help: 'Write the port number to FILE once listening' },
  help: { kind: 'boolean', short: 'h', help: 'Show this help' },
} as const;

export const serveCommand: Command = {
  name: 'serve',
  async run(argv, ctx) {
    const { opts } = parseArgs(argv, SPECS);
    if (opts.help) {
      ctx.stdout.write(`Usage: coreforge serve --repo DIR [--repo DIR…] [--bind ADDR] [--port N] [--workers N]\n\n${formatOptions(SPECS)}\n`);
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
    const workers = opts.workers === undefined ? availableParallelism() : Number(opts.workers);
    if (!Number.isInteger(workers) || workers < 1 || workers > 256) throw new UsageError(`serve: invalid --workers '${opts.workers}'`);
    if (workers > 1 && cluster.isPrimary) {
      // the repositories are checked once here, so a bad --repo fails before any worker starts
      const probe = new RepoServer({ repos, host: opts.bind ?? '127.0.0.1', port: 0 });
      await probe.start();
      await probe.stop();
      return superviseWorkers(workers, async (actual) => {
        if (opts['port-file']) {
          const { writeFileAtomic } = await import('../../util/fs.js');
          await writeFileAtomic(resolve(ctx.cwd, opts['port-file']), `${actual}\n`);
        }
        const host = (opts.bind ?? '127.0.0.1').includes(':') ? `[${opts.bind}]` : (opts.bind ?? '127.0.0.1');
        ctx.stderr.write(`Serving ${repos.map((r) => r.path).join(', ')} at http://${host}:${actual}/ (${workers} workers)\n`);
      });
    }
    const server = new RepoServer({ repos, host: opts.bind ?? '127.0.0.1', port, ...(log ? { accessLog: log } : {}) });
    const { url, port: actual } = await server.start();
    if (cluster.isWorker) {
      process.send?.({ coreforgeServe: 'listening', port: actual });
      await new Promise<void>((done) => {
        const stop = () => void server.stop().then(done);
        process.once('SIGTERM', stop);
        // ^C in a terminal reaches every worker; the primary decides when to stop
        process.on('SIGINT', () => {});
        cluster.worker?.on('disconnect', stop);
      });
      // the IPC channel would keep this process alive
      if (process.connected) process.disconnect();
      return 0;
    }
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

/**
 * Run `n` copies of this command as cluster workers sharing one listening
 * socket (port 0 gives them all the same port). A worker that dies is
 * replaced; SIGINT/SIGTERM stop them gracefully, then the primary exits.
 */
async function superviseWorkers(n: number, onListening: (port: number) => Promise<void>): Promise<number> {
  let stopping = false;
  let announced = false;
  let failure: Error | null = null;
  const fork = () => {
    const w = cluster.fork();
    w.on('message', (m: { coreforgeServe?: string; port?: number }) => {
      if (m?.coreforgeServe !== 'listening' || announced) return;
      announced = true;
      void onListening(m.port!);
    });
    w.on('exit', (code) => {
      if (stopping) return;
      if (!announced) {
        // a worker that cannot even start (port taken…) would fail forever
        failure = new UsageError(`serve: worker exited with code ${code} before listening`);
        stopAll();
        return;
      }
      fork();
    });
  };
  let stopAll = () => {};
  await new Promise<void>((done) => {
    stopAll = () => {
      if (stopping) return;
      stopping = true;
      process.off('SIGINT', stopAll);
      process.off('SIGTERM', stopAll);
      const alive = Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead());
      if (alive.length === 0) return done();
      let left = alive.length;
      for (const w of alive) {
        w!.once('exit', () => {
          if (--left === 0) done();
        });
        w!.process.kill('SIGTERM');
      }
    };
    process.on('SIGINT', stopAll);
    process.on('SIGTERM', stopAll);
    for (let i = 0; i < n; i++) fork();
  });
  if (failure) throw failure;
  return 0;
}
