import { readFileSync } from 'node:fs';
import { isCoreforgeError } from '../errors.js';
import type { CliContext, Command } from './command.js';
import { commands } from './registry.js';

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function help(): string {
  const w = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: coreforge COMMAND [OPTIONS…]',
    '',
    'Build, sign, publish and serve a Fedora CoreOS derivative.',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(w)}  ${c.summary}`),
    '',
    'Options:',
    '  --help      show this help (or COMMAND --help)',
    '  --version   print the version',
    '',
  ].join('\n');
}

export async function main(argv: string[], ctx: CliContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    ctx.stdout.write(help());
    return first === undefined ? 2 : 0;
  }
  if (first === '--version' || first === '-V') {
    ctx.stdout.write(`coreforge ${version()}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === first);
  if (!entry) {
    ctx.stderr.write(`error: unknown command '${first}'\n\n${help()}`);
    return 2;
  }
  try {
    const cmd: Command = await entry.load();
    const rc = await cmd.run(rest, ctx);
    return typeof rc === 'number' ? rc : 0;
  } catch (e) {
    return reportError(e, ctx);
  }
}

export function reportError(e: unknown, ctx: CliContext): number {
  if (isCoreforgeError(e)) {
    ctx.stderr.write(`error: ${e.message}\n`);
    if (ctx.env.COREFORGE_DEBUG && e.stack) ctx.stderr.write(e.stack + '\n');
    return e.exitCode;
  }
  const err = e as Error;
  ctx.stderr.write(`internal error (a bug in coreforge): ${err?.stack ?? String(e)}\n`);
  return 70;
}

export async function runFromProcess(): Promise<void> {
  const ctx: CliContext = {
    stdout: process.stdout,
    stderr: process.stderr,
    cwd: process.cwd(),
    env: process.env,
    interactive: Boolean(process.stderr.isTTY) && !process.argv.includes('--json'),
  };
  // A closed stdout (e.g. `| head`) is not an error worth a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });
  const rc = await main(process.argv.slice(2), ctx);
  process.exitCode = rc;
}
