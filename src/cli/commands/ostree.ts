import { spawnSync } from 'node:child_process';
import { accessSync, constants as C, statSync } from 'node:fs';
import { join } from 'node:path';
import { CoreforgeError } from '../../errors.js';
import type { Command } from '../command.js';
import { verbs } from '../ostree/verbs.js';

/** ostree's top-level help: the usage line, then the "Builtin Commands:" list (scripts parse it). */
function help(): string {
  const w = Math.max(0, ...verbs.map((v) => v.name.length));
  return [
    'Usage:',
    '  ostree [OPTION…] COMMAND',
    '',
    'Builtin Commands:',
    ...verbs.map((v) => `  ${v.name.padEnd(w)}  ${v.summary}`),
    '',
    'Help Options:',
    '  -h, --help   Show help options',
    '',
    'Application Options:',
    '  --repo=PATH  Path to OSTree repository',
    '  --version    Print version information and exit',
    '',
  ].join('\n');
}

export const ostreeCommand: Command = {
  name: 'ostree',
  async run(argv, ctx) {
    // ostree accepts global options before the verb (e.g. `ostree --repo=R refs`);
    // hand them to the verb, which owns --repo.
    const idx = argv.findIndex((a) => !a.startsWith('-'));
    if (idx < 0) {
      if (argv.includes('--version')) {
        ctx.stdout.write("libostree:\n Version: '2022.7'\n Features:\n  - coreforge\n");
        return 0;
      }
      if (argv.includes('--help') || argv.includes('-h')) {
        ctx.stdout.write(help());
        return 0;
      }
      ctx.stderr.write(`${help()}\nerror: No command specified\n`);
      return 1;
    }
    const name = argv[idx]!;
    const verb = verbs.find((v) => v.name === name);
    if (!verb) {
      // like ostree, an unknown verb runs an `ostree-VERB` extension found on PATH
      const ext = findExtension(name, ctx.env.PATH ?? '');
      if (ext) {
        const r = spawnSync(ext, argv.slice(idx + 1), { stdio: 'inherit', env: ctx.env, cwd: ctx.cwd });
        if (r.error) throw new CoreforgeError('EIO', `Running ${ext}: ${r.error.message}`);
        return r.status ?? 1;
      }
      ctx.stderr.write(`${help()}\nerror: Unknown command '${name}'\n`);
      return 1;
    }
    return (await verb.load()).run([...argv.slice(0, idx), ...argv.slice(idx + 1)], ctx);
  },
};

/** The first executable `ostree-NAME` on PATH (ostree's CLI extension lookup), or null. */
function findExtension(name: string, path: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) return null;
  for (const dir of path.split(':')) {
    if (!dir) continue;
    const p = join(dir, `ostree-${name}`);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, C.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return null;
}
