import type { Command } from '../command.js';
import { verbs } from '../ostree/verbs.js';

function help(): string {
  const w = Math.max(0, ...verbs.map((v) => v.name.length));
  return ['Usage: coreforge ostree [--repo=PATH] VERB [OPTIONS…]', '', 'OSTree repository operations, flag-compatible with ostree(1).', '', 'Verbs:', ...verbs.map((v) => `  ${v.name.padEnd(w)}  ${v.summary}`), ''].join('\n');
}

export const ostreeCommand: Command = {
  name: 'ostree',
  summary: 'ostree-compatible repository operations (init, commit, checkout, pull-local, fsck, …)',
  async run(argv, ctx) {
    // ostree accepts global options before the verb (e.g. `ostree --repo=R refs`);
    // hand them to the verb, which owns --repo.
    const idx = argv.findIndex((a) => !a.startsWith('-'));
    if (idx < 0) {
      if (argv.includes('--version')) {
        ctx.stdout.write("libostree:\n Version: '2022.7'\n Features:\n  - coreforge\n");
        return 0;
      }
      ctx.stdout.write(help());
      return argv.includes('--help') || argv.includes('-h') ? 0 : 1;
    }
    const name = argv[idx]!;
    const verb = verbs.find((v) => v.name === name);
    if (!verb) {
      ctx.stderr.write(`error: Unknown command '${name}'\n${help()}`);
      return 1;
    }
    return verb.run([...argv.slice(0, idx), ...argv.slice(idx + 1)], ctx);
  },
};
