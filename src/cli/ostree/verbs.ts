import type { OstreeVerb } from './verb.js';

/**
 * Every `coreforge ostree` verb, in the order --help lists them. A verb's
 * module is imported only when it runs (see ../registry.ts for why).
 */
export interface VerbEntry {
  name: string;
  summary: string;
  load(): Promise<OstreeVerb>;
}

export const verbs: VerbEntry[] = [
  { name: 'admin', summary: 'Commands for managing a host system booted with ostree', load: async () => (await import('./admin.js')).adminVerb },
  { name: 'cat', summary: 'Concatenate contents of files', load: async () => (await import('./cat.js')).catVerb },
  { name: 'checkout', summary: 'Check out a commit into a filesystem tree', load: async () => (await import('./checkout.js')).checkoutVerb },
  { name: 'checksum', summary: 'Checksum a file or directory', load: async () => (await import('./checksum.js')).checksumVerb },
  { name: 'commit', summary: 'Commit a new revision', load: async () => (await import('./commit.js')).commitVerb },
  { name: 'config', summary: 'Change repo configuration settings', load: async () => (await import('./config.js')).configVerb },
  { name: 'diff', summary: 'Compare directory TARGETDIR against revision REV', load: async () => (await import('./diff.js')).diffVerb },
  { name: 'export', summary: 'Stream COMMIT to stdout in tar format', load: async () => (await import('./export.js')).exportVerb },
  { name: 'fsck', summary: 'Check the repository for consistency', load: async () => (await import('./fsck.js')).fsckVerb },
  { name: 'gpg-sign', summary: 'Sign a commit', load: async () => (await import('./gpg-sign.js')).gpgSignVerb },
  { name: 'init', summary: 'Initialize a new empty repository', load: async () => (await import('./init.js')).initVerb },
  { name: 'log', summary: 'Show log starting at commit or ref', load: async () => (await import('./show.js')).logVerb },
  { name: 'ls', summary: 'List file paths', load: async () => (await import('./ls.js')).lsVerb },
  { name: 'prune', summary: 'Search for unreachable objects', load: async () => (await import('./prune.js')).pruneVerb },
  { name: 'pull', summary: 'Download data from remote repository', load: async () => (await import('./pull.js')).pullVerb },
  { name: 'pull-local', summary: 'Copy data from SRC_REPO', load: async () => (await import('./pull-local.js')).pullLocalVerb },
  { name: 'refs', summary: 'List refs', load: async () => (await import('./refs.js')).refsVerb },
  { name: 'remote', summary: 'Remote commands that may involve network access', load: async () => (await import('./remote.js')).remoteVerb },
  { name: 'reset', summary: 'Reset a REF to a previous COMMIT', load: async () => (await import('./reset.js')).resetVerb },
  { name: 'rev-parse', summary: 'Output the target of a rev', load: async () => (await import('./rev-parse.js')).revParseVerb },
  { name: 'show', summary: 'Output a metadata object', load: async () => (await import('./show.js')).showVerb },
  { name: 'sign', summary: 'Sign a commit (ed25519)', load: async () => (await import('./sign.js')).signVerb },
  { name: 'static-delta', summary: 'Static delta related commands', load: async () => (await import('./static-delta.js')).staticDeltaVerb },
  { name: 'summary', summary: 'Manage summary metadata', load: async () => (await import('./summary.js')).summaryVerb },
];
