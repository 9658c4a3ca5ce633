import type { Command } from './command.js';

/**
 * Every top-level command, in the order --help lists them (the workflow's
 * order). A command's module is imported only when it runs: the whole CLI
 * (the AWS SDK, the YAML parser, …) would cost every invocation ~0.3 s of
 * start-up, which is most of a small `coreforge ostree` call.
 */
export interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

export const commands: CommandEntry[] = [
  { name: 'init', summary: 'set up a build directory from a config git repository (like cosa init)', load: async () => (await import('./commands/init.js')).initCommand },
  { name: 'config', summary: 'create (config new) or inspect (config show) a config repository', load: async () => (await import('./commands/config.js')).configCommand },
  { name: 'manifest', summary: 'flatten the config manifest (includes, variables, arch) and print it', load: async () => (await import('./commands/manifest.js')).manifestCommand },
  { name: 'check', summary: 'lint a config repository and print a one-line fix for each finding', load: async () => (await import('./commands/check.js')).checkCommand },
  { name: 'fetch', summary: 'download repo metadata and every RPM the manifest needs into cache/, honouring lockfiles', load: async () => (await import('./commands/fetch.js')).fetchCommand },
  { name: 'build', summary: 'compose an OSTree commit from the config (rpm-ostree compose tree) into builds/, like cosa build', load: async () => (await import('./commands/build.js')).buildCommand },
  { name: 'prune', summary: 'delete older untagged builds from builds/ (like cosa prune; build keeps the newest 3)', load: async () => (await import('./commands/prune.js')).pruneCommand },
  { name: 'publish', summary: 'import the latest build into the distribution repo, sign it, make deltas and the summary, sync it', load: async () => (await import('./commands/publish.js')).publishCommand },
  { name: 'serve', summary: 'serve OSTree repositories over HTTP (objects, deltas, summary) for machines to pull from', load: async () => (await import('./commands/serve.js')).serveCommand },
  { name: 'ostree', summary: 'ostree-compatible repository operations (init, commit, checkout, pull-local, fsck, …)', load: async () => (await import('./commands/ostree.js')).ostreeCommand },
];
