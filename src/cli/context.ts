/**
 * What every subcommand gets: output functions, the environment and stdin, so
 * commands can be run in-process by tests as well as from bin/wgts.
 */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export interface Cli {
  /** argv[0] as shown in messages ("wgts"). */
  readonly prog: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: NodeJS.ReadableStream;
  /** fd 1 is a terminal (for colours). */
  readonly stdoutIsTTY: boolean;
  out(text: string): void;
  err(text: string): void;
}

/** Bad arguments or a bad config: exit 2. The message is printed as is. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** Print the command's usage line after the message. */
  readonly showUsage: boolean;
  constructor(message: string, showUsage = false) {
    super(message);
    this.showUsage = showUsage;
  }
}

/** Something failed at run time (no such interface, endpoint refused, I/O): exit 1. */
export class CliFailure extends Error {
  override readonly name = 'CliFailure';
}

export type Command = (cli: Cli, args: string[]) => Promise<number>;

export function processCli(prog = 'wgts'): Cli {
  return {
    prog,
    env: process.env,
    stdin: process.stdin,
    stdoutIsTTY: process.stdout.isTTY === true,
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
  };
}

/** True for the help flags every subcommand accepts. */
export function isHelpFlag(a: string | undefined): boolean {
  return a === '-h' || a === '--help' || a === 'help';
}
