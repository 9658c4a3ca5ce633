import type { Command } from './command.js';
import { ostreeCommand } from './commands/ostree.js';
import { manifestCommand } from './commands/manifest.js';
import { configCommand } from './commands/config.js';
import { initCommand } from './commands/init.js';
import { checkCommand } from './commands/check.js';

/** Every top-level command, in the order --help lists them. */
export const commands: Command[] = [ostreeCommand, initCommand, configCommand, manifestCommand, checkCommand];
