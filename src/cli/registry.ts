import type { Command } from './command.js';
import { ostreeCommand } from './commands/ostree.js';

/** Every top-level command, in the order --help lists them. */
export const commands: Command[] = [ostreeCommand];
