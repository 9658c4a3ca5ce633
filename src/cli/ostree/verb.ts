import type { CliContext } from '../command.js';

/** One `coreforge ostree VERB`; each lives in its own file in this directory. */
export interface OstreeVerb {
  name: string;
  run(argv: string[], ctx: CliContext): Promise<number | void>;
}
