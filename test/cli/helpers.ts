import { Readable } from 'node:stream';
import { main } from '../../src/cli/main.js';
import type { Cli } from '../../src/cli/context.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process with captured output. */
export async function runInProcess(argv: string[], opts: { stdin?: string | Buffer; env?: NodeJS.ProcessEnv; tty?: boolean } = {}): Promise<RunResult> {
  let stdout = '';
  let stderr = '';
  const cli: Cli = {
    prog: 'wgts',
    env: opts.env ?? { WGTS_UAPI_DIR: '/nonexistent-wgts-test' },
    stdin: Readable.from(opts.stdin === undefined ? [] : [typeof opts.stdin === 'string' ? Buffer.from(opts.stdin) : opts.stdin]),
    stdoutIsTTY: opts.tty ?? false,
    out: (t) => {
      stdout += t;
    },
    err: (t) => {
      stderr += t;
    },
  };
  const code = await main(cli, argv);
  return { code, stdout, stderr };
}
