import type { Command } from './command.js';
import { checkCommand } from './commands/check.js';
import { configCommand } from './commands/config.js';
import { fetchCommand } from './commands/fetch.js';
import { buildCommand } from './commands/build.js';
import { initCommand } from './commands/init.js';
import { manifestCommand } from './commands/manifest.js';
import { ostreeCommand } from './commands/ostree.js';
import { publishCommand } from './commands/publish.js';
import { serveCommand } from './commands/serve.js';

/** Every top-level command, in the order --help lists them (the workflow's order). */
export const commands: Command[] = [
  initCommand,
  configCommand,
  manifestCommand,
  checkCommand,
  fetchCommand,
  buildCommand,
  publishCommand,
  serveCommand,
  ostreeCommand,
];
