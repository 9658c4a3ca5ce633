import type { Command } from './command.js';
import { ostreeCommand } from './commands/ostree.js';
import { manifestCommand } from './commands/manifest.js';

/** Every top-level command, in the order --help lists them. */
export const commands: Command[] = [ostreeCommand, manifestCommand];
