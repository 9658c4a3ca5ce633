/** One CLI command; each lives in its own file under src/cli/commands/. */
export interface Command {
  /** Name as typed, e.g. "ostree" or "config". */
  name: string;
  run(argv: string[], ctx: CliContext): Promise<number | void>;
}

export interface CliContext {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Working directory for relative paths. */
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** True when progress output may be drawn (stderr is a TTY and --json is off). */
  interactive: boolean;
}

export function out(ctx: CliContext, s: string): void {
  ctx.stdout.write(s.endsWith('\n') ? s : s + '\n');
}
