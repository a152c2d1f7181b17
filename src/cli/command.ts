/** One CLI command: `ganfit <name> …`. Commands throw GanfitError for user errors (src/io/errors.ts). */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the exit code. */
  run(argv: string[]): Promise<number>;
}
